package fakek8s

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A management cluster as real releases build it: Cluster API's core and
// kubeadm providers, cluster-api-provider-openstack (CAPO) and the StackHPC
// (now azimuth-cloud) addon provider, each serving exactly the API versions
// its CRDs mark served. Preset serves chosen infrastructure versions for
// tests that need a cluster no release builds (one serving only v1alpha6);
// Release serves what a CAPO release and the Cluster API it was built
// against really serve, so a driver release meets what it would in life.
//
// Where each fact comes from:
//   - CAPO: config/crd/bases/infrastructure.cluster.x-k8s.io_*.yaml at tags
//     v0.9.2, v0.10.8, v0.11.8, v0.12.5, v0.13.9 and v0.14.7 of
//     kubernetes-sigs/cluster-api-provider-openstack, every version with
//     served: true (v0.10 still lists v1alpha5 with served: false), and its
//     subresources; the Cluster API each was built against is the
//     sigs.k8s.io/cluster-api line of its go.mod (v1.6.0, v1.6.0, v1.8.1,
//     v1.9.4, v1.11.11, v1.12.10).
//   - Cluster API: config/crd/bases, bootstrap/kubeadm/config/crd/bases and
//     controlplane/kubeadm/config/crd/bases at tags v1.6.8, v1.8.0, v1.9.4,
//     v1.11.11 and v1.12.10 of kubernetes-sigs/cluster-api: up to v1.10,
//     cluster.x-k8s.io, bootstrap and control plane serve only v1beta1
//     (v1alpha3 and v1alpha4 are listed with served: false); v1.9 adds
//     MachineDrainRule; v1.11 serves every group at v1beta2 as well (the
//     storage version), with v1beta1 still served and marked deprecated,
//     ipam at v1alpha1, v1beta1 and v1beta2, runtime at v1alpha1 and v1beta2,
//     and a ClusterResourceSetBinding without a status subresource at
//     v1beta2. v1.12 serves the same.
//   - Addon provider: azimuth-cloud/cluster-api-addon-provider,
//     capi_addons/config.py (api_group "addons.stackhpc.com") and its models
//     in capi_addons/models/v1alpha1 (HelmRelease, Manifests).

// CAPORelease is one release line of cluster-api-provider-openstack.
type CAPORelease struct {
	// Name is the release line, e.g. "v0.10".
	Name string
	// CAPI is the Cluster API release line it was built against.
	CAPI string
	// InfraVersions are the versions its OpenStackCluster, -ClusterTemplate,
	// -Machine and -MachineTemplate CRDs serve, oldest first.
	InfraVersions []string
	// Alpha1 are its kinds served only at v1alpha1.
	Alpha1 []string
	// MachineTemplateStatus: OpenStackMachineTemplate has a status
	// subresource (v0.14 and later).
	MachineTemplateStatus bool
}

// CAPOReleases are the releases Release serves, oldest first: v0.9 is the
// last without infrastructure v1beta1 (what driver 1.4.0 reads), v0.10 the
// last with v1alpha6 (what driver 1.2.0 to 1.3.0 read), v0.13 the first
// whose Cluster API serves v1beta2 beside v1beta1.
var CAPOReleases = []CAPORelease{
	{Name: "v0.9", CAPI: "v1.6", InfraVersions: []string{"v1alpha5", "v1alpha6", "v1alpha7"}},
	{Name: "v0.10", CAPI: "v1.6", InfraVersions: []string{"v1alpha6", "v1alpha7", "v1beta1"},
		Alpha1: []string{"OpenStackFloatingIPPool"}},
	{Name: "v0.11", CAPI: "v1.8", InfraVersions: []string{"v1alpha7", "v1beta1"},
		Alpha1: []string{"OpenStackFloatingIPPool", "OpenStackServer"}},
	{Name: "v0.12", CAPI: "v1.9", InfraVersions: []string{"v1beta1"},
		Alpha1: []string{"OpenStackFloatingIPPool", "OpenStackServer"}},
	{Name: "v0.13", CAPI: "v1.11", InfraVersions: []string{"v1beta1"},
		Alpha1: []string{"OpenStackFloatingIPPool", "OpenStackServer"}},
	{Name: "v0.14", CAPI: "v1.12", InfraVersions: []string{"v1beta1"},
		Alpha1: []string{"OpenStackClusterIdentity", "OpenStackFloatingIPPool", "OpenStackServer"}, MachineTemplateStatus: true},
}

// LookupCAPO returns the release line name ("v0.10"; "0.10" and a patch
// release such as "v0.10.8" are read as their line).
func LookupCAPO(name string) (CAPORelease, error) {
	line := strings.TrimPrefix(strings.TrimSpace(name), "v")
	if parts := strings.Split(line, "."); len(parts) == 3 {
		line = parts[0] + "." + parts[1]
	}
	for _, r := range CAPOReleases {
		if r.Name == "v"+line {
			return r, nil
		}
	}
	var known []string
	for _, r := range CAPOReleases {
		known = append(known, r.Name)
	}
	return CAPORelease{}, fmt.Errorf("unknown cluster-api-provider-openstack release %q (known: %s)", name, strings.Join(known, ", "))
}

// String describes the stack, e.g. "Cluster API v1.6 + cluster-api-provider-openstack
// v0.10 (infrastructure.cluster.x-k8s.io v1alpha6, v1alpha7, v1beta1) + addon
// provider (addons.stackhpc.com v1alpha1)".
func (r CAPORelease) String() string {
	return fmt.Sprintf("Cluster API %s + cluster-api-provider-openstack %s (infrastructure.cluster.x-k8s.io %s) + addon provider (addons.stackhpc.com v1alpha1)",
		r.CAPI, r.Name, strings.Join(r.InfraVersions, ", "))
}

func clusterScoped(rs []Resource) []Resource {
	for i := range rs {
		rs[i].Namespaced = false
	}
	return rs
}

// capiMachineDrainRule are the Cluster API lines that serve MachineDrainRule.
var capiMachineDrainRule = map[string]bool{"v1.9": true, "v1.11": true, "v1.12": true}

// capiV1beta2 are the Cluster API lines that serve v1beta2 beside v1beta1.
var capiV1beta2 = map[string]bool{"v1.11": true, "v1.12": true}

// CAPIServesV1beta2 reports whether Cluster API line capi ("v1.11") serves
// its groups at v1beta2 as well as v1beta1.
func CAPIServesV1beta2(capi string) bool { return capiV1beta2[capi] }

// capiCore is what Cluster API's core and kubeadm providers serve at line
// capi (see the sources above), each group's versions newest first.
func capiCore(capi string) []GroupVersion {
	core := concat(
		crd("Cluster", "clusters", "status"),
		crd("ClusterClass", "clusterclasses", "status"),
		crd("Machine", "machines", "status"),
		crd("MachineSet", "machinesets", "status", "scale"),
		crd("MachineDeployment", "machinedeployments", "status", "scale"),
		crd("MachineHealthCheck", "machinehealthchecks", "status"),
		crd("MachinePool", "machinepools", "status", "scale"),
	)
	if capiMachineDrainRule[capi] {
		core = append(core, crd("MachineDrainRule", "machinedrainrules")...)
	}
	sort.Slice(core, func(i, j int) bool { return core[i].Name < core[j].Name })
	ipam := concat(crd("IPAddressClaim", "ipaddressclaims", "status"), crd("IPAddress", "ipaddresses"))
	addons := func(bindingStatus bool) []Resource {
		var binding []Resource
		if bindingStatus {
			binding = crd("ClusterResourceSetBinding", "clusterresourcesetbindings", "status")
		} else {
			binding = crd("ClusterResourceSetBinding", "clusterresourcesetbindings")
		}
		return concat(binding, crd("ClusterResourceSet", "clusterresourcesets", "status"))
	}
	bootstrap := concat(
		crd("KubeadmConfig", "kubeadmconfigs", "status"),
		crd("KubeadmConfigTemplate", "kubeadmconfigtemplates"),
	)
	controlPlane := concat(
		crd("KubeadmControlPlane", "kubeadmcontrolplanes", "status", "scale"),
		crd("KubeadmControlPlaneTemplate", "kubeadmcontrolplanetemplates"),
	)
	extensions := clusterScoped(crd("ExtensionConfig", "extensionconfigs", "status"))
	if !capiV1beta2[capi] {
		return []GroupVersion{
			{"cluster.x-k8s.io", "v1beta1", core},
			{"addons.cluster.x-k8s.io", "v1beta1", addons(true)},
			{"ipam.cluster.x-k8s.io", "v1beta1", ipam},
			{"ipam.cluster.x-k8s.io", "v1alpha1", slices.Clone(ipam)},
			{"runtime.cluster.x-k8s.io", "v1alpha1", extensions},
			{"bootstrap.cluster.x-k8s.io", "v1beta1", bootstrap},
			{"controlplane.cluster.x-k8s.io", "v1beta1", controlPlane},
		}
	}
	return []GroupVersion{
		{"cluster.x-k8s.io", "v1beta2", core},
		{"cluster.x-k8s.io", "v1beta1", slices.Clone(core)},
		{"addons.cluster.x-k8s.io", "v1beta2", addons(false)},
		{"addons.cluster.x-k8s.io", "v1beta1", addons(true)},
		{"ipam.cluster.x-k8s.io", "v1beta2", ipam},
		{"ipam.cluster.x-k8s.io", "v1beta1", slices.Clone(ipam)},
		{"ipam.cluster.x-k8s.io", "v1alpha1", slices.Clone(ipam)},
		{"runtime.cluster.x-k8s.io", "v1beta2", extensions},
		{"runtime.cluster.x-k8s.io", "v1alpha1", slices.Clone(extensions)},
		{"bootstrap.cluster.x-k8s.io", "v1beta2", bootstrap},
		{"bootstrap.cluster.x-k8s.io", "v1beta1", slices.Clone(bootstrap)},
		{"controlplane.cluster.x-k8s.io", "v1beta2", controlPlane},
		{"controlplane.cluster.x-k8s.io", "v1beta1", slices.Clone(controlPlane)},
	}
}

// alpha1Kinds are CAPO's v1alpha1-only kinds, their subresources and scope.
var alpha1Kinds = map[string]struct {
	plural        string
	subs          []string
	clusterScoped bool
}{
	"OpenStackClusterIdentity": {"openstackclusteridentities", nil, true},
	"OpenStackFloatingIPPool":  {"openstackfloatingippools", []string{"status"}, false},
	"OpenStackServer":          {"openstackservers", []string{"status"}, false},
}

// Release returns the API group versions of a management cluster running
// CAPO release name with the Cluster API it was built against, the kubeadm
// providers, the addon provider, and authorization.k8s.io.
func Release(name string) ([]GroupVersion, error) {
	r, err := LookupCAPO(name)
	if err != nil {
		return nil, err
	}
	apis := capiCore(r.CAPI)
	// Newest first: discovery prefers a group's first-listed version, and
	// the API server sorts a CRD group's versions by Kubernetes version
	// priority (v1beta1 before v1alpha7 before v1alpha1).
	for _, v := range slices.Backward(r.InfraVersions) {
		var machineTemplate []Resource
		if r.MachineTemplateStatus {
			machineTemplate = crd("OpenStackMachineTemplate", "openstackmachinetemplates", "status")
		} else {
			machineTemplate = crd("OpenStackMachineTemplate", "openstackmachinetemplates")
		}
		apis = append(apis, GroupVersion{"infrastructure.cluster.x-k8s.io", v, concat(
			crd("OpenStackCluster", "openstackclusters", "status"),
			crd("OpenStackClusterTemplate", "openstackclustertemplates"),
			crd("OpenStackMachine", "openstackmachines", "status"),
			machineTemplate,
		)})
	}
	var alpha1 []Resource
	for _, kind := range r.Alpha1 {
		k := alpha1Kinds[kind]
		rs := crd(kind, k.plural, k.subs...)
		if k.clusterScoped {
			rs = clusterScoped(rs)
		}
		alpha1 = append(alpha1, rs...)
	}
	if len(alpha1) > 0 {
		apis = append(apis, GroupVersion{"infrastructure.cluster.x-k8s.io", "v1alpha1", alpha1})
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
