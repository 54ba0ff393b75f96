package confd

// Label is one option of the driver's [capi_helm_cluster_labels] group: the
// site-wide default of a cluster label, set through the cluster-labels charm
// option.
type Label struct {
	Key     string
	Type    Type // String, Int or Bool
	Choices []string
	Range   *Range
	// Deprecated are other spellings oslo.config still reads for the same
	// option, as "group.key". A magnum.conf that sets one of them competes with
	// ours, so Overridden reports it.
	Deprecated []string
}

// labels140 is capi_helm_cluster_labels_opts of magnum-capi-helm 1.4.0, in
// conf.py order. The driver sets no minimum on its integer labels; the charm
// refuses negative sizes and counts, which the chart cannot use.
var labels140 = []Label{
	{Key: "etcd_blockdevice_size", Type: Int, Range: &Range{0, maxInt32}},
	{Key: "etcd_blockdevice_type", Type: String, Choices: []string{"volume", "local"}},
	{Key: "etcd_blockdevice_volume_type", Type: String},
	{Key: "etcd_blockdevice_volume_az", Type: String},
	{Key: "etcd_volume_size", Type: Int, Range: &Range{0, maxInt32}, Deprecated: []string{"capi_helm.etcd_volume_size"}},
	{Key: "etcd_volume_type", Type: String, Deprecated: []string{"capi_helm.etcd_volume_type"}},
	{Key: "monitoring_enabled", Type: Bool},
	{Key: "kube_dashboard_enabled", Type: Bool},
	{Key: "auto_healing_enabled", Type: Bool},
	{Key: "auto_scaling_enabled", Type: Bool},
	{Key: "min_node_count", Type: Int, Range: &Range{0, maxInt32}},
	{Key: "max_node_count", Type: Int, Range: &Range{0, maxInt32}},
	{Key: "keystone_auth_enabled", Type: Bool},
	{Key: "csi_cinder_availability_zone", Type: String, Deprecated: []string{"capi_helm.csi_cinder_availability_zone"}},
	{Key: "csi_cinder_reclaim_policy", Type: String, Choices: []string{"Retain", "Delete"}, Deprecated: []string{"capi_helm.csi_cinder_reclaim_policy"}},
	{Key: "csi_cinder_volume_binding_mode", Type: String, Choices: []string{"WaitForFirstConsumer", "Immediate"}, Deprecated: []string{"capi_helm.csi_cinder_volume_binding_mode"}},
	{Key: "csi_cinder_fstype", Type: String, Deprecated: []string{"capi_helm.csi_cinder_fstype"}},
	{Key: "csi_cinder_allow_volume_expansion", Type: Bool, Deprecated: []string{"capi_helm.csi_cinder_allow_volume_expansion"}},
	{Key: "octavia_provider", Type: String},
	{Key: "octavia_lb_algorithm", Type: String},
	{Key: "octavia_lb_healthcheck", Type: Bool},
	{Key: "master_lb_floating_ip_enabled", Type: Bool},
	{Key: "fixed_subnet_cidr", Type: String},
	{Key: "api_master_lb_allowed_cidrs", Type: String},
	{Key: "extra_network_names", Type: String, Deprecated: []string{"capi_helm_cluster_labels.extra_network_name"}},
	{Key: "boot_volume_type", Type: String},
	{Key: "boot_volume_size", Type: Int, Range: &Range{0, maxInt32}},
	{Key: "capi_helm_chart_version", Type: String},
}

// Labels returns the cluster labels driver version v reads from
// [capi_helm_cluster_labels], or nil if it has no such group.
func Labels(v string) []Label {
	if !KnownVersion(v) || !atLeast(v, "1.4.0") {
		return nil
	}
	out := make([]Label, len(labels140))
	copy(out, labels140)
	return out
}

func lookupLabel(v, key string) (Label, bool) {
	for _, l := range Labels(v) {
		if l.Key == key {
			return l, true
		}
	}
	return Label{}, false
}

// apiResourceFields are the resources api-resources may override in 1.4.0
// (the classes of kubernetes.py that read it) and the fields each reads.
// Anything else is ignored by the driver, so a typo would silently change
// nothing; the charm refuses it instead.
var apiResourceFields = map[string][]string{
	"Cluster":           {"api_version"},
	"OpenstackCluster":  {"api_version"},
	"MachineDeployment": {"api_version"},
	"K8sControlPlane":   {"api_version", "plural_name"},
	"Machine":           {"api_version"},
	"Manifests":         {"api_version"},
	"HelmRelease":       {"api_version"},
	"HelmChartProxy":    {"api_version"},
}
