package confd

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name    string
		version string
		cfg     map[string]any
	}{
		{"empty config", "1.2.0", map[string]any{}},
		{"nil and empty strings are unset", "1.2.1", map[string]any{
			"namespace-prefix":        nil,
			"helm-chart-name":         "",
			"api-resources":           "", // unset, so not refused on 1.2.1
			"cluster-labels":          nil,
			"minimum-flavor-ram":      nil,
			"disabled-drivers":        "",
			"csi-cinder-fstype":       "",
			"app-cred-interface-type": nil,
		}},
		{"other charm options are ignored", "1.3.0", map[string]any{
			"service-wiring": "auto",
			"driver-version": 42.0,
			"kubeconfig":     "secret:abc",
		}},
		{"every type on 1.4.0", "1.4.0", map[string]any{
			"namespace-prefix":                      "magnum-east",
			"helm-chart-repo":                       "https://charts.example.com/capi#mirror;1",
			"default-helm-chart-version":            "0.16.0",
			"minimum-flavor-ram":                    4096.0,
			"minimum-flavor-vcpus":                  2,
			"csi-cinder-allow-volume-expansion":     false,
			"csi-cinder-allowed-topologies":         " zone=a , zone=b ",
			"csi-cinder-reclaim-policy":             "Delete",
			"app-cred-interface-type":               "internal",
			"api-resources":                         "{\n  \"K8sControlPlane\": {\"plural_name\": \"kubeadmcontrolplanes\"}\n}",
			"k8s-control-plane-resource-conditions": "Ready,MachinesReady",
			"cluster-labels":                        `{"monitoring_enabled": true, "max_node_count": 5, "octavia_provider": "ovn"}`,
			"disabled-drivers":                      "k8s_fedora_coreos_v1",
		}},
		{"int as json.Number", "1.2.0", map[string]any{"minimum-flavor-vcpus": json.Number("4")}},
		{"oci chart with empty repo", "1.2.0", map[string]any{
			"helm-chart-name": "oci://registry.example.com/charts/openstack-cluster",
			"helm-chart-repo": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.NoError(t, Validate(tt.cfg, tt.version))
		})
	}
}

// refusals are the options Validate refuses for a driver version, each
// with every problem it says, in order.
var refusals = []struct {
	name    string
	version string
	cfg     map[string]any
	want    []string
}{{
	name:    "unknown driver version",
	version: "1.5.0",
	cfg:     map[string]any{},
	want:    []string{`driver-version "1.5.0" is not one this charm knows (1.2.0, 1.2.1, 1.3.0, 1.4.0)`},
}, {
	name:    "option newer than the driver",
	version: "1.2.1",
	cfg:     map[string]any{"api-resources": `{}`},
	want:    []string{"api-resources needs driver-version >= 1.4.0 (have 1.2.1)"},
}, {
	name:    "cluster labels before 1.4.0",
	version: "1.3.0",
	cfg:     map[string]any{"cluster-labels": `{"monitoring_enabled": true}`, "k8s-control-plane-resource-conditions": "Ready"},
	want: []string{
		"k8s-control-plane-resource-conditions needs driver-version >= 1.4.0 (have 1.3.0)",
		"cluster-labels needs driver-version >= 1.4.0 (have 1.3.0)",
	},
}, {
	name:    "string given a number",
	version: "1.2.0",
	cfg:     map[string]any{"helm-chart-name": 3.0},
	want:    []string{"helm-chart-name must be a string (got a number)"},
}, {
	name:    "newline would inject a section",
	version: "1.2.0",
	cfg:     map[string]any{"helm-chart-name": "x\n[DEFAULT]\ndebug = True"},
	want:    []string{"helm-chart-name must be a single line"},
}, {
	name:    "carriage return",
	version: "1.2.0",
	cfg:     map[string]any{"csi-cinder-fstype": "ext4\rxfs"},
	want:    []string{"csi-cinder-fstype must be a single line"},
}, {
	name:    "NUL",
	version: "1.2.0",
	cfg:     map[string]any{"csi-cinder-default-volume-type": "ssd\x00"},
	want:    []string{"csi-cinder-default-volume-type must not contain control characters"},
}, {
	name:    "non-ASCII",
	version: "1.2.0",
	cfg:     map[string]any{"csi-cinder-availability-zone": "zone-\u00e9"},
	want:    []string{"csi-cinder-availability-zone must contain only ASCII characters"},
}, {
	name:    "dollar would be expanded by oslo.config",
	version: "1.2.0",
	cfg:     map[string]any{"helm-chart-repo": "https://example.com/$state_path"},
	want:    []string{`helm-chart-repo must not contain "$" (oslo.config would expand it)`},
}, {
	name:    "backquote",
	version: "1.2.0",
	cfg:     map[string]any{"helm-chart-name": "a`b"},
	want:    []string{"helm-chart-name must not contain a backquote"},
}, {
	name:    "surrounding quotes would be stripped",
	version: "1.2.0",
	cfg:     map[string]any{"default-helm-chart-version": `"0.16.0"`},
	want:    []string{"default-helm-chart-version must not begin or end with a quote"},
}, {
	name:    "surrounding spaces would be stripped",
	version: "1.2.0",
	cfg:     map[string]any{"default-helm-chart-version": " 0.16.0"},
	want:    []string{"default-helm-chart-version must not begin or end with spaces"},
}, {
	name:    "trailing backslash",
	version: "1.2.0",
	cfg:     map[string]any{"helm-chart-name": `chart\`},
	want:    []string{`helm-chart-name must not end with "\"`},
}, {
	name:    "not one of the choices",
	version: "1.2.0",
	cfg:     map[string]any{"csi-cinder-reclaim-policy": "Recycle"},
	want:    []string{`csi-cinder-reclaim-policy must be one of Retain, Delete (got "Recycle")`},
}, {
	name:    "choices are case-sensitive",
	version: "1.4.0",
	cfg:     map[string]any{"csi-cinder-volume-binding-mode": "immediate"},
	want:    []string{`csi-cinder-volume-binding-mode must be one of WaitForFirstConsumer, Immediate (got "immediate")`},
}, {
	name:    "namespace prefix must fit a namespace name",
	version: "1.2.0",
	cfg:     map[string]any{"namespace-prefix": "Magnum_East"},
	want:    []string{`namespace-prefix must be lowercase letters, digits and "-", at most 30 characters (got "Magnum_East")`},
}, {
	name:    "int given a string",
	version: "1.2.0",
	cfg:     map[string]any{"minimum-flavor-ram": "2048"},
	want:    []string{"minimum-flavor-ram must be an integer (got a string)"},
}, {
	name:    "int with a fraction",
	version: "1.2.0",
	cfg:     map[string]any{"minimum-flavor-vcpus": 1.5},
	want:    []string{"minimum-flavor-vcpus must be an integer (got 1.5)"},
}, {
	name:    "int out of range",
	version: "1.2.0",
	cfg:     map[string]any{"minimum-flavor-ram": -1.0, "minimum-flavor-vcpus": 1e12},
	want: []string{
		"minimum-flavor-ram must be between 0 and 2147483647 (got -1)",
		"minimum-flavor-vcpus must be between 0 and 2147483647 (got 1e+12)",
	},
}, {
	name:    "bool given a string",
	version: "1.2.0",
	cfg:     map[string]any{"csi-cinder-allow-volume-expansion": "true"},
	want:    []string{"csi-cinder-allow-volume-expansion must be true or false (got a string)"},
}, {
	name:    "list with an empty item",
	version: "1.2.0",
	cfg:     map[string]any{"csi-cinder-allowed-topologies": "zone=a,,zone=b"},
	want:    []string{"csi-cinder-allowed-topologies has an empty item"},
}, {
	name:    "list item that is not a driver name",
	version: "1.2.0",
	cfg:     map[string]any{"disabled-drivers": "k8s_fedora_coreos_v1, swarm driver"},
	want:    []string{`disabled-drivers item "swarm driver" is not a driver entry point name`},
}, {
	name:    "disabling our own driver",
	version: "1.3.0",
	cfg:     map[string]any{"disabled-drivers": "k8s_capi_helm_v1"},
	want:    []string{"disabled-drivers must not list k8s_capi_helm_v1, the driver this charm installs"},
}, {
	name:    "api-resources is not JSON",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{"Cluster": {"api_version": "cluster.x-k8s.io/v1beta2"}`},
	want:    []string{"api-resources is not valid JSON (it ends too early)"},
}, {
	name:    "api-resources with a syntax error",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{'Cluster': {}}`},
	want:    []string{"api-resources is not valid JSON (error at byte 2)"},
}, {
	name:    "api-resources is a list",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `[]`},
	want:    []string{"api-resources must be a JSON object (got a list)"},
}, {
	name:    "api-resources with trailing text",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{} {}`},
	want:    []string{"api-resources is not valid JSON (text after the value)"},
}, {
	name:    "api-resources names an unknown resource",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{"Clusters": {"api_version": "cluster.x-k8s.io/v1beta2"}}`},
	want:    []string{`api-resources has unknown resource "Clusters"`},
}, {
	name:    "api-resources field the driver does not read",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{"Cluster": {"plural_name": "clusters"}}`},
	want:    []string{`api-resources resource "Cluster" has unknown field "plural_name"`},
}, {
	name:    "api-resources field that is not a string",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{"Machine": {"api_version": 1}}`},
	want:    []string{`api-resources resource "Machine" field api_version must be a non-empty string`},
}, {
	name:    "api-resources with a dollar inside",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{"Machine": {"api_version": "$x"}}`},
	want:    []string{`api-resources resource "Machine" field api_version must not contain "$" (oslo.config would expand it)`},
}, {
	name:    "api-resources with an escaped non-ASCII character",
	version: "1.4.0",
	cfg:     map[string]any{"api-resources": `{"Machine": {"api_version": "caf\u00e9"}}`},
	want:    []string{`api-resources resource "Machine" field api_version must contain only ASCII characters`},
}, {
	name:    "cluster labels: unknown label, wrong types",
	version: "1.4.0",
	cfg: map[string]any{"cluster-labels": `{"monitoring": true, "auto_scaling_enabled": "yes",
		"min_node_count": 1.5, "etcd_blockdevice_type": "ssd", "boot_volume_size": -3}`},
	want: []string{
		`cluster-labels label auto_scaling_enabled must be true or false (got a string)`,
		`cluster-labels label boot_volume_size must be between 0 and 2147483647 (got -3)`,
		`cluster-labels label etcd_blockdevice_type must be one of volume, local (got "ssd")`,
		`cluster-labels label min_node_count must be an integer (got "1.5")`,
		`cluster-labels has unknown label "monitoring"`,
	},
}, {
	name:    "cluster labels is not an object",
	version: "1.4.0",
	cfg:     map[string]any{"cluster-labels": `"monitoring_enabled=true"`},
	want:    []string{"cluster-labels must be a JSON object (got a string)"},
}, {
	name:    "cluster label set twice",
	version: "1.4.0",
	cfg: map[string]any{
		"csi-cinder-fstype": "xfs",
		"cluster-labels":    `{"csi_cinder_fstype": "ext4"}`,
	},
	want: []string{"cluster-labels sets csi_cinder_fstype, which csi-cinder-fstype already sets"},
}, {
	name:    "oci chart with the default repo",
	version: "1.2.0",
	cfg:     map[string]any{"helm-chart-name": "oci://registry.example.com/openstack-cluster"},
	want:    []string{`helm-chart-name is an oci:// reference, so helm-chart-repo must be set to ""`},
}, {
	name:    "long bad values are cut short",
	version: "1.2.0",
	cfg:     map[string]any{"app-cred-interface-type": "publicpublicpublicpublicpublicpublicpublicpublic"},
	want:    []string{`app-cred-interface-type must be one of public, internal, admin (got "publicpublicpublicpublicpublicpublicpubl"...)`},
}}

func TestValidateRefuses(t *testing.T) {
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.cfg, tt.version)
			require.Error(t, err)
			var cerr *Error
			require.True(t, errors.As(err, &cerr))
			var got []string
			for _, p := range cerr.Problems {
				got = append(got, p.Message)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestProblemsNameTheirOption(t *testing.T) {
	problems := Check(map[string]any{
		"minimum-flavor-ram": "x",
		"cluster-labels":     `{"nope": 1}`,
	}, "1.4.0")
	require.Len(t, problems, 2)
	assert.Equal(t, "minimum-flavor-ram", problems[0].Option)
	assert.Equal(t, "cluster-labels", problems[1].Option)
	assert.Equal(t, `minimum-flavor-ram must be an integer (got a string); cluster-labels has unknown label "nope"`,
		(&Error{Problems: problems}).Error())
}

func TestVersionProblemForRemovedOption(t *testing.T) {
	// No option has been removed from the driver yet; this checks the
	// message the charm would give when one is.
	o := Option{Name: "old-option", Since: "1.2.0", Until: "1.2.1"}
	assert.False(t, o.KnownBy("1.3.0"))
	assert.True(t, o.KnownBy("1.2.1"))
	assert.Equal(t, "old-option needs driver-version <= 1.2.1 (have 1.3.0)", versionProblem(o, "1.3.0"))
}

func TestGroupFor(t *testing.T) {
	o, ok := Lookup("csi-cinder-reclaim-policy")
	require.True(t, ok)
	assert.Equal(t, GroupCapiHelm, o.GroupFor("1.3.0"))
	assert.Equal(t, GroupClusterLabels, o.GroupFor("1.4.0"))

	o, ok = Lookup("csi-cinder-default-volume-type")
	require.True(t, ok)
	assert.Equal(t, GroupCapiHelm, o.GroupFor("1.4.0"), "not moved in 1.4.0")
}

func TestLabelsOnlyFrom140(t *testing.T) {
	assert.Empty(t, Labels("1.3.0"))
	labels := Labels("1.4.0")
	assert.Len(t, labels, 28)
	for _, o := range catalogue {
		if o.MovedTo == "" {
			continue
		}
		_, ok := lookupLabel("1.4.0", o.Key)
		assert.True(t, ok, "%s moved to the labels group, so it must be a 1.4.0 label", o.Key)
	}
}
