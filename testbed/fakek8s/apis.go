package fakek8s

import (
	"fmt"
	"slices"
	"strings"
)

// Resource is one entry of an APIResourceList, as discovery documents it.
type Resource struct {
	Name         string   `json:"name"`
	SingularName string   `json:"singularName"`
	Namespaced   bool     `json:"namespaced"`
	Kind         string   `json:"kind"`
	Verbs        []string `json:"verbs"`
}

// GroupVersion is one API group version the server serves. The core group
// ("" group, served under /api/v1) is not among them: the driver only reads
// named groups, and the server always serves a fixed /api/v1.
type GroupVersion struct {
	Group     string
	Version   string
	Resources []Resource
}

// String returns "group/version" as Kubernetes writes it.
func (gv GroupVersion) String() string {
	return gv.Group + "/" + gv.Version
}

// InfraVersions are the infrastructure.cluster.x-k8s.io versions Preset
// knows, oldest first: cluster-api-provider-openstack 0.7 serves v1alpha6,
// 0.8 and 0.9 add v1alpha7, 0.10 adds v1beta1.
var InfraVersions = []string{"v1alpha6", "v1alpha7", "v1beta1"}

// DefaultInfraVersion is what a current management cluster serves and what
// driver 1.4.0 reads.
const DefaultInfraVersion = "v1beta1"

var (
	crudVerbs        = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	subresourceVerbs = []string{"get", "patch", "update"}
)

// crd returns a custom resource and its subresources the way the API server
// lists them for a CRD.
func crd(kind, plural string, subresources ...string) []Resource {
	out := []Resource{{Name: plural, SingularName: strings.ToLower(kind), Namespaced: true, Kind: kind, Verbs: crudVerbs}}
	for _, sub := range subresources {
		kind := kind
		if sub == "scale" {
			kind = "Scale"
		}
		out = append(out, Resource{Name: plural + "/" + sub, Namespaced: true, Kind: kind, Verbs: subresourceVerbs})
	}
	return out
}

func concat(lists ...[]Resource) []Resource {
	return slices.Concat(lists...)
}

// Preset returns the API group versions of a Cluster API management cluster
// with the OpenStack infrastructure provider serving infraVersions (none
// means DefaultInfraVersion), the kubeadm control plane and bootstrap
// providers, the StackHPC addon provider, and authorization.k8s.io for
// SelfSubjectAccessReviews. Only the infrastructure group differs between
// the driver's releases; serving exactly one version of it is what lets a
// test show a driver release meeting the wrong provider.
func Preset(infraVersions ...string) ([]GroupVersion, error) {
	if len(infraVersions) == 0 {
		infraVersions = []string{DefaultInfraVersion}
	}
	apis := []GroupVersion{
		{"cluster.x-k8s.io", "v1beta1", concat(
			crd("Cluster", "clusters", "status"),
			crd("ClusterClass", "clusterclasses", "status"),
			crd("Machine", "machines", "status"),
			crd("MachineSet", "machinesets", "status", "scale"),
			crd("MachineDeployment", "machinedeployments", "status", "scale"),
			crd("MachineHealthCheck", "machinehealthchecks", "status"),
		)},
		{"bootstrap.cluster.x-k8s.io", "v1beta1", concat(
			crd("KubeadmConfig", "kubeadmconfigs", "status"),
			crd("KubeadmConfigTemplate", "kubeadmconfigtemplates"),
		)},
		{"controlplane.cluster.x-k8s.io", "v1beta1", concat(
			crd("KubeadmControlPlane", "kubeadmcontrolplanes", "status", "scale"),
			crd("KubeadmControlPlaneTemplate", "kubeadmcontrolplanetemplates"),
		)},
	}
	seen := map[string]bool{}
	// Newest first, so that /apis/infrastructure.cluster.x-k8s.io prefers
	// the newest version as a real server does.
	for _, v := range slices.Backward(InfraVersions) {
		if !slices.Contains(infraVersions, v) {
			continue
		}
		seen[v] = true
		apis = append(apis, GroupVersion{"infrastructure.cluster.x-k8s.io", v, concat(
			crd("OpenStackCluster", "openstackclusters", "status"),
			crd("OpenStackClusterTemplate", "openstackclustertemplates"),
			crd("OpenStackMachine", "openstackmachines", "status"),
			crd("OpenStackMachineTemplate", "openstackmachinetemplates"),
		)})
	}
	for _, v := range infraVersions {
		if !seen[v] {
			return nil, fmt.Errorf("unknown infrastructure.cluster.x-k8s.io version %q (known: %s)", v, strings.Join(InfraVersions, ", "))
		}
	}
	apis = append(apis,
		GroupVersion{"addons.stackhpc.com", "v1alpha1", concat(
			crd("HelmRelease", "helmreleases", "status"),
			crd("Manifests", "manifests", "status"),
		)},
		authorizationAPI(),
	)
	return apis, nil
}

const authorizationGroup = "authorization.k8s.io"

// authorizationAPI is authorization.k8s.io/v1, for SelfSubjectAccessReviews.
func authorizationAPI() GroupVersion {
	return GroupVersion{authorizationGroup, "v1", []Resource{
		{Name: "selfsubjectaccessreviews", SingularName: "selfsubjectaccessreview", Kind: "SelfSubjectAccessReview", Verbs: []string{"create"}},
		{Name: "selfsubjectrulesreviews", SingularName: "selfsubjectrulesreview", Kind: "SelfSubjectRulesReview", Verbs: []string{"create"}},
		{Name: "subjectaccessreviews", SingularName: "subjectaccessreview", Kind: "SubjectAccessReview", Verbs: []string{"create"}},
		{Name: "localsubjectaccessreviews", SingularName: "localsubjectaccessreview", Namespaced: true, Kind: "LocalSubjectAccessReview", Verbs: []string{"create"}},
	}}
}

// coreResources is /api/v1, reduced to what the driver touches and its
// neighbours.
var coreResources = []Resource{
	{Name: "configmaps", SingularName: "configmap", Namespaced: true, Kind: "ConfigMap", Verbs: crudVerbs},
	{Name: "namespaces", SingularName: "namespace", Kind: "Namespace", Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
	{Name: "namespaces/status", Kind: "Namespace", Verbs: subresourceVerbs},
	{Name: "secrets", SingularName: "secret", Namespaced: true, Kind: "Secret", Verbs: crudVerbs},
	{Name: "serviceaccounts", SingularName: "serviceaccount", Namespaced: true, Kind: "ServiceAccount", Verbs: crudVerbs},
}

// removeMissing drops what missingGroups ("group" or "group/version") and
// missingResources ("group/version/plural", which takes its subresources
// with it) name. Every entry must match something: a typo would otherwise
// leave the API served and the test asserting the wrong thing.
func removeMissing(apis []GroupVersion, missingGroups, missingResources []string) ([]GroupVersion, error) {
	// The caller's slice may be a preset it reuses; edits go to a copy.
	apis = slices.Clone(apis)
	for _, m := range missingGroups {
		if m == "" || strings.Count(m, "/") > 1 {
			return nil, fmt.Errorf("missing group %q is not group or group/version", m)
		}
		n := len(apis)
		apis = slices.DeleteFunc(apis, func(gv GroupVersion) bool {
			return gv.Group == m || gv.String() == m
		})
		if len(apis) == n {
			return nil, fmt.Errorf("missing group %q: not served anyway", m)
		}
	}
	for _, m := range missingResources {
		i := strings.LastIndex(m, "/")
		if i <= 0 || strings.Count(m, "/") != 2 || i == len(m)-1 {
			return nil, fmt.Errorf("missing resource %q is not group/version/plural", m)
		}
		gvName, plural := m[:i], m[i+1:]
		found := false
		for j := range apis {
			if apis[j].String() != gvName {
				continue
			}
			n := len(apis[j].Resources)
			apis[j].Resources = slices.DeleteFunc(slices.Clone(apis[j].Resources), func(r Resource) bool {
				return r.Name == plural || strings.HasPrefix(r.Name, plural+"/")
			})
			found = found || len(apis[j].Resources) < n
		}
		if !found {
			return nil, fmt.Errorf("missing resource %q: not served anyway", m)
		}
	}
	return apis, nil
}
