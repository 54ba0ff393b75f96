package confd

import (
	"fmt"
	"regexp"
	"strings"
)

// Versions are the magnum-capi-helm releases the catalogue describes, oldest
// first. A driver-version outside this list is refused: the charm cannot know
// which options such a release reads, and guessing would write keys that
// oslo.config ignores without a word.
var Versions = []string{"1.2.0", "1.2.1", "1.3.0", "1.4.0"}

// The ini groups the rendered file may contain.
const (
	GroupCapiHelm      = "capi_helm"
	GroupClusterLabels = "capi_helm_cluster_labels"
	GroupDrivers       = "drivers"
)

// KubeconfigKey is the one [capi_helm] key that is not a charm option: it is
// always written, pointing at the kubeconfig the charm itself manages.
const KubeconfigKey = "kubeconfig_file"

// OwnDriver is the entry point of the driver this charm installs; disabling
// it in Magnum would undo the graft.
const OwnDriver = "k8s_capi_helm_v1"

// Type is the kind of value an option holds.
type Type string

const (
	// String is a single-line string written as it is.
	String Type = "string"
	// Int is an integer; Juju gives it as a JSON number.
	Int Type = "int"
	// Bool is written as True or False, which oslo.config reads.
	Bool Type = "bool"
	// List is a comma-separated string in Juju and an oslo.config ListOpt.
	List Type = "list"
	// JSON is a string holding a JSON object, checked and written compactly.
	JSON Type = "json"
)

// Range bounds an integer option, inclusive at both ends.
type Range struct {
	Min, Max int64
}

// maxInt32 bounds integer options because the values end up in Nova and
// Kubernetes fields that are 32-bit (flavor RAM and vCPUs, node counts, volume
// sizes); oslo.config itself would accept any Python int.
const maxInt32 = 1<<31 - 1

// Option is one charm option and the ini setting it becomes.
type Option struct {
	// Name is the charm option, kebab-case.
	Name string
	// Group and Key are where the value is written. Key is empty for
	// cluster-labels, whose value supplies the keys.
	Group string
	Key   string
	Type  Type
	// Choices, when not empty, are the only values accepted.
	Choices []string
	// Range, when not nil, bounds an Int option.
	Range *Range
	// Since is the first driver version that reads the option and Until the
	// last one (empty: still read). Both empty: every version, because the
	// option is Magnum's own.
	Since string
	Until string
	// MovedTo is the group the key lives in from driver version MovedIn on.
	MovedTo string
	MovedIn string
	// AllowEmpty makes the empty string a value that is written rather than
	// the same as unset.
	AllowEmpty bool
	// Description is the human text for charmcraft.yaml.
	Description string

	// item checks each element of a List option; value checks a String
	// option's whole value. They return the end of an error sentence, or "".
	item  func(string) string
	value func(string) string
}

var (
	// A Kubernetes namespace is a DNS-1123 label of at most 63 characters and
	// the driver names it "<prefix>-<project id>" with a 32-character project
	// id, which leaves 30 characters for the prefix.
	namespacePrefixRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$`)
	// Entry point names as Magnum's setup.cfg files spell them.
	driverNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	// Kubernetes condition types: CamelCase words, optionally domain-prefixed.
	conditionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
)

func checkNamespacePrefix(s string) string {
	if !namespacePrefixRE.MatchString(s) {
		return fmt.Sprintf(`must be lowercase letters, digits and "-", at most 30 characters (got %s)`, quote(s))
	}
	return ""
}

func checkDriverName(s string) string {
	if !driverNameRE.MatchString(s) {
		return fmt.Sprintf("item %s is not a driver entry point name", quote(s))
	}
	if s == OwnDriver {
		return fmt.Sprintf("must not list %s, the driver this charm installs", OwnDriver)
	}
	return ""
}

func checkCondition(s string) string {
	if !conditionRE.MatchString(s) {
		return fmt.Sprintf("item %s is not a condition type", quote(s))
	}
	return ""
}

// catalogue is every charm option this package turns into a setting, in the
// order the driver's conf.py registers them, Magnum's own last.
var catalogue = []Option{{
	Name:        "namespace-prefix",
	Group:       GroupCapiHelm,
	Key:         "namespace_prefix",
	Type:        String,
	Since:       "1.2.0",
	Description: "Prefix of the namespace the driver makes on the management cluster for each OpenStack project (<prefix>-<project id>). Change it when two Magnum deployments share one management cluster. Lowercase letters, digits and '-', at most 30 characters. Unset: the driver's default, magnum.",
	value:       checkNamespacePrefix,
}, {
	Name:        "helm-chart-repo",
	Group:       GroupCapiHelm,
	Key:         "helm_chart_repo",
	Type:        String,
	Since:       "1.2.0",
	AllowEmpty:  true,
	Description: "Helm repository of the cluster chart. Set it to the empty string when helm-chart-name is an oci:// reference: the driver then passes no --repo. Unset: the driver's default, https://azimuth-cloud.github.io/capi-helm-charts.",
}, {
	Name:        "helm-chart-name",
	Group:       GroupCapiHelm,
	Key:         "helm_chart_name",
	Type:        String,
	Since:       "1.2.0",
	Description: "Name of the cluster chart in helm-chart-repo, or an oci:// reference. Unset: the driver's default, openstack-cluster.",
}, {
	Name:        "default-helm-chart-version",
	Group:       GroupCapiHelm,
	Key:         "default_helm_chart_version",
	Type:        String,
	Since:       "1.2.0",
	Description: "Chart version for cluster templates without a capi_helm_chart_version label. Unset: the driver's default (0.10.1 in 1.2.0 to 1.4.0).",
}, {
	Name:        "minimum-flavor-ram",
	Group:       GroupCapiHelm,
	Key:         "minimum_flavor_ram",
	Type:        Int,
	Range:       &Range{0, maxInt32},
	Since:       "1.2.0",
	Description: "Smallest flavor RAM, in MB, the driver accepts for a Kubernetes node. Unset: the driver's default, 2048.",
}, {
	Name:        "minimum-flavor-vcpus",
	Group:       GroupCapiHelm,
	Key:         "minimum_flavor_vcpus",
	Type:        Int,
	Range:       &Range{0, maxInt32},
	Since:       "1.2.0",
	Description: "Smallest flavor vCPU count the driver accepts for a Kubernetes node. Unset: the driver's default, 2.",
}, {
	Name:        "csi-cinder-default-volume-type",
	Group:       GroupCapiHelm,
	Key:         "csi_cinder_default_volume_type",
	Type:        String,
	Since:       "1.2.0",
	Description: "Cinder volume type of the clusters' default StorageClass; it must exist in Cinder. Unset: the first volume type Cinder lists.",
}, {
	Name:        "csi-cinder-reclaim-policy",
	Group:       GroupCapiHelm,
	Key:         "csi_cinder_reclaim_policy",
	Type:        String,
	Choices:     []string{"Retain", "Delete"},
	Since:       "1.2.0",
	MovedTo:     GroupClusterLabels,
	MovedIn:     "1.4.0",
	Description: "Reclaim policy of the clusters' StorageClasses: Retain or Delete. Unset: the driver's default, Retain.",
}, {
	Name:        "csi-cinder-allow-volume-expansion",
	Group:       GroupCapiHelm,
	Key:         "csi_cinder_allow_volume_expansion",
	Type:        Bool,
	Since:       "1.2.0",
	MovedTo:     GroupClusterLabels,
	MovedIn:     "1.4.0",
	Description: "Whether users may grow volumes by editing their PVC. Unset: the driver's default, true.",
}, {
	Name:        "csi-cinder-allowed-topologies",
	Group:       GroupCapiHelm,
	Key:         "csi_cinder_allowed_topologies",
	Type:        List,
	Since:       "1.2.0",
	Description: "Comma-separated allowedTopologies of the clusters' StorageClasses. Unset: the driver's default, none.",
}, {
	Name:        "csi-cinder-fstype",
	Group:       GroupCapiHelm,
	Key:         "csi_cinder_fstype",
	Type:        String,
	Since:       "1.2.0",
	MovedTo:     GroupClusterLabels,
	MovedIn:     "1.4.0",
	Description: "Filesystem of persistent volumes. Unset: the driver's default, ext4.",
}, {
	Name:        "csi-cinder-volume-binding-mode",
	Group:       GroupCapiHelm,
	Key:         "csi_cinder_volume_binding_mode",
	Type:        String,
	Choices:     []string{"WaitForFirstConsumer", "Immediate"},
	Since:       "1.2.0",
	MovedTo:     GroupClusterLabels,
	MovedIn:     "1.4.0",
	Description: "volumeBindingMode of the clusters' StorageClasses: WaitForFirstConsumer or Immediate. Driver 1.2.0 accepts it but ignores it. Unset: the driver's default (WaitForFirstConsumer where it is used).",
}, {
	Name:        "csi-cinder-availability-zone",
	Group:       GroupCapiHelm,
	Key:         "csi_cinder_availability_zone",
	Type:        String,
	Since:       "1.2.0",
	MovedTo:     GroupClusterLabels,
	MovedIn:     "1.4.0",
	Description: "Availability zone of the clusters' Cinder volumes. Unset: the driver's default, nova.",
}, {
	Name:  "app-cred-interface-type",
	Group: GroupCapiHelm,
	Key:   "app_cred_interface_type",
	Type:  String,
	// The driver takes any string, but it becomes the interface of the
	// clouds.yaml it gives each cluster, where only these three mean anything.
	Choices:     []string{"public", "internal", "admin"},
	Since:       "1.2.0",
	Description: "Keystone endpoint interface written into each cluster's application credential: public, internal or admin. Unset: the driver's default, public.",
}, {
	Name:        "api-resources",
	Group:       GroupCapiHelm,
	Key:         "api_resources",
	Type:        JSON,
	Since:       "1.4.0",
	Description: `JSON object overriding the api_version (and, for K8sControlPlane, plural_name) of the Cluster API resources the driver uses, e.g. {"K8sControlPlane": {"api_version": "controlplane.cluster.x-k8s.io/v1beta1"}}. The driver parses it when it is imported, so bad JSON would break every driver lookup: the charm refuses it. Unset: the driver's built-in versions.`,
}, {
	Name:        "k8s-control-plane-resource-conditions",
	Group:       GroupCapiHelm,
	Key:         "k8s_control_plane_resource_conditions",
	Type:        List,
	Since:       "1.4.0",
	Description: "Comma-separated conditions that must be True on the control plane resource for it to count as ready. Unset: the driver's default, MachinesReady,Ready,EtcdClusterHealthy,ControlPlaneComponentsHealthy.",
	item:        checkCondition,
}, {
	Name:        "cluster-labels",
	Group:       GroupClusterLabels,
	Type:        JSON,
	Since:       "1.4.0",
	Description: `Site-wide defaults of cluster labels, as a JSON object of label name to value, e.g. {"monitoring_enabled": true, "octavia_provider": "ovn"}. Each becomes a key of [capi_helm_cluster_labels]; values are JSON booleans, integers or strings as the label's type needs. Users can still override them per cluster or template. Unknown labels are refused.`,
}, {
	Name:        "disabled-drivers",
	Group:       GroupDrivers,
	Key:         "disabled_drivers",
	Type:        List,
	Description: "Comma-separated Magnum driver entry points to disable, e.g. k8s_fedora_coreos_v1. Magnum's own option; it cannot list k8s_capi_helm_v1. Unset: Magnum's default, none.",
	item:        checkDriverName,
}}

// Options returns the catalogue, in a fixed order.
func Options() []Option {
	out := make([]Option, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup returns the catalogue entry for a charm option name.
func Lookup(name string) (Option, bool) {
	for _, o := range catalogue {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// KnownVersion reports whether the catalogue describes a driver version.
func KnownVersion(v string) bool {
	return versionIndex(v) >= 0
}

func versionIndex(v string) int {
	for i, known := range Versions {
		if known == v {
			return i
		}
	}
	return -1
}

// atLeast reports whether version v is at or after version min; both must be
// catalogue versions.
func atLeast(v, min string) bool {
	return versionIndex(v) >= versionIndex(min)
}

// KnownBy reports whether driver version v reads the option.
func (o Option) KnownBy(v string) bool {
	if !KnownVersion(v) {
		return false
	}
	if o.Since != "" && !atLeast(v, o.Since) {
		return false
	}
	if o.Until != "" && !atLeast(o.Until, v) {
		return false
	}
	return true
}

// GroupFor is the group the option is written to for driver version v. The
// new group is used as soon as a release reads it there, so the driver logs no
// deprecation warning.
func (o Option) GroupFor(v string) string {
	if o.MovedTo != "" && KnownVersion(v) && atLeast(v, o.MovedIn) {
		return o.MovedTo
	}
	return o.Group
}

// CharmType is the option's type in charmcraft.yaml.
func (o Option) CharmType() string {
	switch o.Type {
	case Int:
		return "int"
	case Bool:
		return "boolean"
	default:
		return "string"
	}
}

// Versions describes which driver versions read the option, for humans.
func (o Option) versions() string {
	switch {
	case o.Since == "" && o.Until == "":
		return "Magnum's own option: read with every driver-version."
	case o.Until == "":
		return fmt.Sprintf("Read by driver-version %s and later.", o.Since)
	default:
		return fmt.Sprintf("Read by driver-version %s to %s.", o.Since, o.Until)
	}
}

// Setting says where the value goes, for humans.
func (o Option) setting() string {
	key := o.Key
	if key == "" {
		key = "<label>"
	}
	s := fmt.Sprintf("Sets [%s] %s", o.Group, key)
	if o.MovedTo != "" {
		s += fmt.Sprintf(" ([%s] %s from driver-version %s)", o.MovedTo, key, o.MovedIn)
	}
	return s + "."
}

// CharmDescription is the description charmcraft.yaml carries for the option:
// the human text, the ini key it sets and the driver versions that read it.
func (o Option) CharmDescription() string {
	return strings.Join([]string{o.Description, o.setting(), o.versions()}, "\n")
}
