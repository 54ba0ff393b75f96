package kubeconfig

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// What the magnum-capi-helm driver does with the management cluster, by
// release. Everything here was read from the driver's source, repository
// openstack/magnum-capi-helm (opendev; the GitHub stackhpc repository is its
// deprecated predecessor), file magnum_capi_helm/kubernetes.py:
//
//   - At commit a8ff5871498146bba76fefc33925c4196b1587e3 Client.__init__
//     asserts a client certificate and key (no other auth), and
//     OpenstackCluster.api_version is "infrastructure.cluster.x-k8s.io/v1alpha6".
//   - At commit 1bc80ffb7a0794cf7ec9efd64dbca5ba8aa738c9 OpenstackCluster moves
//     to "infrastructure.cluster.x-k8s.io/v1beta1" (release note
//     openstackcluster-v1beta1-2699449249aa0e27.yaml: "updated from v1alpha6
//     to v1beta1 ... cluster-api-provider-openstack should be upgraded to at
//     least v0.10.0"). Client.__init__ there already falls back to
//     user["token"] as a bearer token.
//   - At commit ccf4ebbb48b9b5f9568a37ce73977eaa63873421 (1.4.0's
//     [capi_helm] api_resources, release note
//     generalize-api-resources-e3b9f1606a51fb6f.yaml) every api_version is read
//     from that JSON option, defaulting to v1beta1 for OpenstackCluster.
//   - In all of them: Cluster, MachineDeployment and Machine are
//     cluster.x-k8s.io/v1beta1, the control plane is
//     controlplane.cluster.x-k8s.io/v1beta1 kubeadmcontrolplanes, Manifests
//     and HelmRelease are addons.stackhpc.com/v1alpha1, and the driver
//     deletes secrets by label and applies namespaces.
//   - exec plugins, auth-provider and tokenFile are read by no version.
//
// `git tag --contains 1bc80ffb` in the driver repository lists only 1.4.0,
// and kubernetes.py at tags 1.2.0, 1.2.1 and 1.3.0 reads OpenstackCluster at
// v1alpha6: v1alpha6 up to 1.3.x, v1beta1 from 1.4.0. Options.APIVersions
// overrides it on a unit either way.

// tokenAuthSince is the first driver release that sends a kubeconfig bearer
// token; earlier releases assert a client certificate.
var tokenAuthSince = version{1, 3, 0}

// infraV1beta1Since is the first driver release that reads OpenStackCluster at
// infrastructure.cluster.x-k8s.io/v1beta1 rather than v1alpha6.
var infraV1beta1Since = version{1, 4, 0}

// version is a release number such as 1.2.1, compared numerically.
type version []int

// parseVersion reads "1.2.1" (a leading "v" is allowed). Anything that is
// not dot-separated numbers is refused rather than guessed at: the answer
// decides which auth and APIs are checked.
func parseVersion(s string) (version, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return nil, fmt.Errorf("too many version components")
	}
	v := make(version, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strings.HasPrefix(p, "+") {
			return nil, fmt.Errorf("version component %d is not a number", i+1)
		}
		v[i] = n
	}
	return v, nil
}

// less reports whether v sorts before w; missing components count as zero,
// so 1.3 equals 1.3.0.
func (v version) less(w version) bool {
	for i := 0; i < len(v) || i < len(w); i++ {
		a, b := 0, 0
		if i < len(v) {
			a = v[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return a < b
		}
	}
	return false
}

// badDriverVersion is the problem for a driver version this package cannot
// compare. It does not repeat the value: it is configuration, not a secret,
// but every text here keeps to naming fields.
const badDriverVersion = "kubeconfig: driver-version is not a release number like 1.3.0"

// API is one Kubernetes API group version the driver calls, and the
// resources it uses there.
type API struct {
	Group     string
	Version   string
	Resources []Resource
}

// GroupVersion returns "group/version" as Kubernetes writes it.
func (a API) GroupVersion() string {
	return a.Group + "/" + a.Version
}

// Resource is one resource the driver uses: its kind, for messages, and its
// plural name, which is what the driver puts in URLs and therefore what
// discovery must list.
type Resource struct {
	Kind string
	Name string
}

// driverResource is one resource class of the driver's kubernetes.py. Key is
// the class name, which is also the key of 1.4.0's api_resources option.
type driverResource struct {
	key      string
	resource Resource
	group    string
	version  func(v version) string
}

func always(ver string) func(version) string {
	return func(version) string { return ver }
}

var driverResources = []driverResource{
	{"Cluster", Resource{"Cluster", "clusters"}, "cluster.x-k8s.io", always("v1beta1")},
	{"MachineDeployment", Resource{"MachineDeployment", "machinedeployments"}, "cluster.x-k8s.io", always("v1beta1")},
	{"Machine", Resource{"Machine", "machines"}, "cluster.x-k8s.io", always("v1beta1")},
	{"OpenstackCluster", Resource{"OpenStackCluster", "openstackclusters"}, "infrastructure.cluster.x-k8s.io", func(v version) string {
		if v.less(infraV1beta1Since) {
			return "v1alpha6"
		}
		return "v1beta1"
	}},
	{"K8sControlPlane", Resource{"KubeadmControlPlane", "kubeadmcontrolplanes"}, "controlplane.cluster.x-k8s.io", always("v1beta1")},
	{"HelmRelease", Resource{"HelmRelease", "helmreleases"}, "addons.stackhpc.com", always("v1alpha1")},
	{"Manifests", Resource{"Manifests", "manifests"}, "addons.stackhpc.com", always("v1alpha1")},
}

// DriverResource is one resource class of the driver's kubernetes.py as a
// driver release configures it: Key is the class name (the key of 1.4.0's
// [capi_helm] api_resources option), Group and Version where it reads it.
type DriverResource struct {
	Key string
	Resource
	Group   string
	Version string
}

// GroupVersion returns "group/version" as Kubernetes writes it.
func (d DriverResource) GroupVersion() string { return d.Group + "/" + d.Version }

// DriverResources returns every resource the given driver release uses on
// the management cluster, in kubernetes.py's order, with overrides applied
// (see RequiredAPIs).
func DriverResources(driverVersion string, overrides map[string]string) ([]DriverResource, error) {
	v, err := parseVersion(driverVersion)
	if err != nil {
		return nil, fmt.Errorf("cannot read driver version: %w", err)
	}
	out := make([]DriverResource, 0, len(driverResources))
	for _, dr := range driverResources {
		group, ver := dr.group, dr.version(v)
		if o, ok := overrides[dr.key]; ok {
			g, vv, found := strings.Cut(o, "/")
			if !found || g == "" || vv == "" || strings.Contains(vv, "/") {
				return nil, fmt.Errorf("api version override for %s is not group/version", dr.key)
			}
			group, ver = g, vv
		}
		out = append(out, DriverResource{Key: dr.key, Resource: dr.resource, Group: group, Version: ver})
	}
	return out, nil
}

// RequiredAPIs returns the API group versions and resources the given driver
// release uses on the management cluster, in a stable order.
//
// overrides maps a driver resource name (the keys of 1.4.0's [capi_helm]
// api_resources option: Cluster, OpenstackCluster, MachineDeployment,
// K8sControlPlane, Machine, Manifests, HelmRelease) to the "group/version" it
// is configured with there; nil means the release's defaults.
func RequiredAPIs(driverVersion string, overrides map[string]string) ([]API, error) {
	resources, err := DriverResources(driverVersion, overrides)
	if err != nil {
		return nil, err
	}
	var apis []API
	index := map[string]int{}
	for _, dr := range resources {
		gv := dr.GroupVersion()
		i, ok := index[gv]
		if !ok {
			i = len(apis)
			index[gv] = i
			apis = append(apis, API{Group: dr.Group, Version: dr.Version})
		}
		apis[i].Resources = append(apis[i].Resources, dr.Resource)
	}
	return apis, nil
}

// ParseAPIResources reads the value of 1.4.0's [capi_helm] api_resources
// option (the api-resources charm option: a JSON object of resource class
// to {"api_version": "group/version", ...}) into the overrides RequiredAPIs,
// DriverResources and Options.APIVersions take. "" is no overrides.
func ParseAPIResources(value string) (map[string]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var raw map[string]struct {
		APIVersion string `json:"api_version"`
	}
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return nil, fmt.Errorf("api-resources is not a JSON object of resources")
	}
	out := map[string]string{}
	for key, r := range raw {
		if r.APIVersion != "" {
			out[key] = r.APIVersion
		}
	}
	return out, nil
}

// permission is one thing the driver's identity must be allowed to do.
type permission struct {
	verb, resource string
}

// requiredPermissions are checked with SelfSubjectAccessReviews across all
// namespaces, because the driver makes one namespace per OpenStack project and
// those do not exist yet when the charm checks.
var requiredPermissions = []permission{
	// _update_status_deleting removes a cluster's secrets by label.
	{"deletecollection", "secrets"},
	// ensure_namespace applies the per-project namespace.
	{"create", "namespaces"},
}
