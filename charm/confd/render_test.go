package confd

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/ini.v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const kubeconfig = "/etc/magnum/capi-kubeconfig"

// fullConfig sets every catalogue option the driver version reads, as
// config-get --format=json decodes it, plus options of other packages.
func fullConfig(version string) map[string]any {
	cfg := map[string]any{
		"service-wiring":                    "auto",
		"driver-version":                    version,
		"namespace-prefix":                  "magnum-east",
		"helm-chart-repo":                   "https://charts.example.com/capi",
		"helm-chart-name":                   "openstack-cluster",
		"default-helm-chart-version":        "0.16.0",
		"minimum-flavor-ram":                4096.0,
		"minimum-flavor-vcpus":              2.0,
		"csi-cinder-default-volume-type":    "ssd",
		"csi-cinder-reclaim-policy":         "Delete",
		"csi-cinder-allow-volume-expansion": false,
		"csi-cinder-allowed-topologies":     "topology.cinder.csi.openstack.org/zone=nova, topology.cinder.csi.openstack.org/zone=az2",
		"csi-cinder-fstype":                 "xfs",
		"csi-cinder-volume-binding-mode":    "Immediate",
		"csi-cinder-availability-zone":      "az2",
		"app-cred-interface-type":           "internal",
		"disabled-drivers":                  "k8s_fedora_coreos_v1,k8s_coreos_v1",
	}
	if version == "1.4.0" {
		cfg["api-resources"] = `{
  "K8sControlPlane": {"api_version": "controlplane.cluster.x-k8s.io/v1beta2", "plural_name": "kubeadmcontrolplanes"},
  "Cluster": {"api_version": "cluster.x-k8s.io/v1beta2"}
}`
		cfg["k8s-control-plane-resource-conditions"] = "Ready,Available"
		cfg["cluster-labels"] = `{"monitoring_enabled": true, "max_node_count": 10,
  "octavia_provider": "ovn", "api_master_lb_allowed_cidrs": "10.0.0.0/8,192.168.0.0/16"}`
	}
	return cfg
}

func TestRenderGolden(t *testing.T) {
	for _, version := range []string{"1.2.1", "1.4.0"} {
		t.Run(version, func(t *testing.T) {
			got, err := Render(fullConfig(version), version, kubeconfig)
			require.NoError(t, err)
			golden := filepath.Join("testdata", "99-capi.conf."+version+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

func TestRenderMovesCinderOptionsIn140(t *testing.T) {
	cfg := map[string]any{"csi-cinder-fstype": "xfs", "csi-cinder-default-volume-type": "ssd"}

	old, err := Render(cfg, "1.3.0", kubeconfig)
	require.NoError(t, err)
	assert.Equal(t, []string{"capi_helm.csi_cinder_default_volume_type", "capi_helm.csi_cinder_fstype", "capi_helm.kubeconfig_file"}, Keys(old))

	moved, err := Render(cfg, "1.4.0", kubeconfig)
	require.NoError(t, err)
	assert.Equal(t, []string{"capi_helm.csi_cinder_default_volume_type", "capi_helm.kubeconfig_file", "capi_helm_cluster_labels.csi_cinder_fstype"}, Keys(moved))
}

func TestRenderUnsetWritesOnlyKubeconfig(t *testing.T) {
	got, err := Render(map[string]any{"namespace-prefix": nil, "helm-chart-name": ""}, "1.2.0", kubeconfig)
	require.NoError(t, err)
	assert.Equal(t, Header+"\n[capi_helm]\nkubeconfig_file = /etc/magnum/capi-kubeconfig\n", string(got))
}

func TestRenderEmptyRepoIsWritten(t *testing.T) {
	got, err := Render(map[string]any{"helm-chart-repo": "", "helm-chart-name": "oci://r.example.com/c"}, "1.2.0", kubeconfig)
	require.NoError(t, err)
	values := parseOslo(got)[GroupCapiHelm]
	v, ok := values["helm_chart_repo"]
	assert.True(t, ok, "helm_chart_repo must be written when set to the empty string")
	assert.Equal(t, "", v)
}

func TestRenderIsDeterministic(t *testing.T) {
	// Go randomises map iteration, so a render that depended on it would
	// differ between these runs.
	first, err := Render(fullConfig("1.4.0"), "1.4.0", kubeconfig)
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		again, err := Render(fullConfig("1.4.0"), "1.4.0", kubeconfig)
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestRenderShape(t *testing.T) {
	got, err := Render(fullConfig("1.4.0"), "1.4.0", kubeconfig)
	require.NoError(t, err)
	text := string(got)
	assert.True(t, strings.HasPrefix(text, "# Managed by the magnum-capi-graft charm"))
	assert.True(t, strings.HasSuffix(text, "\n"))
	for i, c := range got {
		require.Less(t, c, byte(0x80), "non-ASCII byte at %d", i)
	}
	assert.NotContains(t, text, "enabled_drivers =")
	assert.Contains(t, text, "disabled_drivers")

	// ini.v1 reads it back to the values the charm meant.
	f, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true}, got)
	require.NoError(t, err)
	assert.Equal(t, "True", f.Section(GroupClusterLabels).Key("monitoring_enabled").String())
	assert.Equal(t, "False", f.Section(GroupClusterLabels).Key("csi_cinder_allow_volume_expansion").String())
	assert.Equal(t, "10.0.0.0/8,192.168.0.0/16", f.Section(GroupClusterLabels).Key("api_master_lb_allowed_cidrs").String())
	assert.Equal(t, "4096", f.Section(GroupCapiHelm).Key("minimum_flavor_ram").String())
	assert.Equal(t, "topology.cinder.csi.openstack.org/zone=nova,topology.cinder.csi.openstack.org/zone=az2",
		f.Section(GroupCapiHelm).Key("csi_cinder_allowed_topologies").String())
	assert.Equal(t, `{"Cluster":{"api_version":"cluster.x-k8s.io/v1beta2"},"K8sControlPlane":{"api_version":"controlplane.cluster.x-k8s.io/v1beta2","plural_name":"kubeadmcontrolplanes"}}`,
		f.Section(GroupCapiHelm).Key("api_resources").String())
}

func TestRenderKeepsInlineCommentCharacters(t *testing.T) {
	// ini.v1 would wrap these in backquotes unless told there are no inline
	// comments; oslo.config would then keep the backquotes.
	got, err := Render(map[string]any{"helm-chart-repo": "https://example.com/charts#a;b"}, "1.2.0", kubeconfig)
	require.NoError(t, err)
	assert.Contains(t, string(got), "helm_chart_repo = https://example.com/charts#a;b\n")
}

func TestRenderRefuses(t *testing.T) {
	_, err := Render(map[string]any{"api-resources": "{}"}, "1.2.0", kubeconfig)
	assert.EqualError(t, err, "cannot render 99-capi.conf: api-resources needs driver-version >= 1.4.0 (have 1.2.0)")

	for path, msg := range map[string]string{
		"":                       `kubeconfig path "" must not be empty`,
		"etc/kubeconfig":         `kubeconfig path "etc/kubeconfig" must be absolute`,
		"/etc/magnum/../kube":    `kubeconfig path "/etc/magnum/../kube" must be clean (no //, . or ..)`,
		"/etc/magnum/kube\n[x]":  `kubeconfig path "/etc/magnum/kube\n[x]" must be a single line`,
		"/etc/magnum/$HOME/kube": `kubeconfig path "/etc/magnum/$HOME/kube" must not contain "$" (oslo.config would expand it)`,
		"/etc/magnum/k\u00fcbe":  `kubeconfig path "/etc/magnum/k\u00fcbe" must contain only ASCII characters`,
	} {
		_, err := Render(map[string]any{}, "1.4.0", path)
		assert.EqualError(t, err, "cannot render 99-capi.conf: "+msg, "path %q", path)
	}
}

func TestKeys(t *testing.T) {
	conf := []byte(`[DEFAULT]
debug = True
[CAPI_HELM]
# kubeconfig_file = /commented/out
namespace_prefix: other
helm_chart_name = a
  continued
[drivers]
disabled_drivers=x
`)
	assert.Equal(t, []string{
		"DEFAULT.debug",
		"capi_helm.helm_chart_name",
		"capi_helm.namespace_prefix",
		"drivers.disabled_drivers",
	}, Keys(conf))
	assert.Equal(t, "a\ncontinued", parseOslo(conf)["capi_helm"]["helm_chart_name"])
}

func TestOverridden(t *testing.T) {
	ours, err := Render(map[string]any{
		"namespace-prefix":  "mine",
		"csi-cinder-fstype": "xfs",
		"cluster-labels":    `{"extra_network_names": "storage"}`,
	}, "1.4.0", kubeconfig)
	require.NoError(t, err)

	magnumConf := []byte(`[DEFAULT]
namespace_prefix = not-a-capi-key
[capi_helm]
namespace_prefix = theirs
kubeconfig_file = /root/.kube/config
csi_cinder_fstype = ext4
helm_chart_name = not-set-by-us
[capi_helm_cluster_labels]
extra_network_name = old-spelling
[drivers]
# disabled_drivers = commented
`)
	assert.Equal(t, []string{
		"capi_helm.csi_cinder_fstype", // deprecated spelling of our labels key
		"capi_helm.kubeconfig_file",
		"capi_helm.namespace_prefix",
		"capi_helm_cluster_labels.extra_network_name",
	}, Overridden(magnumConf, ours))

	assert.Empty(t, Overridden([]byte("[capi_helm]\n"), ours))
}

// Every release the catalogue knows has the chart defaults, and each names
// an option of the catalogue that release reads.
func TestDriverDefaults(t *testing.T) {
	for _, v := range Versions {
		for _, name := range []string{"helm-chart-repo", "helm-chart-name", "default-helm-chart-version"} {
			value, ok := DriverDefault(name, v)
			if !ok || value == "" {
				t.Errorf("no driver default of %s for %s", name, v)
			}
			o, found := Lookup(name)
			if !found || !o.KnownBy(v) {
				t.Errorf("%s is not an option driver %s reads", name, v)
			}
		}
	}
	if v, _ := DriverDefault("default-helm-chart-version", "1.4.0"); v != "0.10.1" {
		t.Errorf("driver 1.4.0's default chart version is %q", v)
	}
	if _, ok := DriverDefault("default-helm-chart-version", "9.9.9"); ok {
		t.Error("an unknown release has no defaults")
	}
}
