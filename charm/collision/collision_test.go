package collision_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// probeOutput is what the probe prints, shaped as it prints it on trixie's
// Magnum 20 with the real driver in /usr/local and a rival package in
// /usr/lib/python3/dist-packages, which loads later and wins.
func probeOutput(mod func(map[string]any)) []byte {
	claim := func(name, value, dist, version, loc string, provides ...[]string) map[string]any {
		return map[string]any{"name": name, "value": value, "dist": dist, "version": version, "location": loc,
			"module_file": loc + "/x.py", "beta": false, "provides": provides}
	}
	out := map[string]any{
		"loader":          "/usr/lib/python3/dist-packages/magnum/drivers/common/driver.py",
		"disabled":        []string{},
		"enabled_beta":    []string{},
		"driver_name_arg": true,
		"claims": []any{
			claim("k8s_capi_helm_v1", "magnum_capi_helm.driver:Driver", "magnum-capi-helm", "1.2.0", "/usr/local/lib/python3.13/dist-packages",
				[]string{"vm", "ubuntu", "kubernetes"}, []string{"vm", "flatcar", "kubernetes"}),
			claim("k8s_cluster_api_ubuntu", "testbed_rival_driver.driver:UbuntuDriver", "testbed-rival-driver", "1.0.0", "/usr/lib/python3/dist-packages",
				[]string{"vm", "ubuntu", "kubernetes"}),
			claim("k8s_cluster_api_flatcar", "testbed_rival_driver.driver:FlatcarDriver", "testbed-rival-driver", "1.0.0", "/usr/lib/python3/dist-packages",
				[]string{"vm", "flatcar", "kubernetes"}),
			claim("k8s_cluster_api_debian", "testbed_rival_driver.driver:DebianDriver", "testbed-rival-driver", "1.0.0", "/usr/lib/python3/dist-packages",
				[]string{"vm", "debian", "kubernetes"}),
		},
		"winners": map[string]string{"vm/ubuntu/kubernetes": "k8s_cluster_api_ubuntu", "vm/flatcar/kubernetes": "k8s_cluster_api_flatcar",
			"vm/debian/kubernetes": "k8s_cluster_api_debian"},
		"returned": map[string]string{"vm/ubuntu/kubernetes": "testbed_rival_driver.driver.UbuntuDriver",
			"vm/flatcar/kubernetes": "testbed_rival_driver.driver.FlatcarDriver"},
	}
	if mod != nil {
		mod(out)
	}
	data, _ := json.Marshal(out)
	return append([]byte("a warning oslo.log printed\n"), data...)
}

func analyse(t *testing.T, mod func(map[string]any)) collision.Analysis {
	t.Helper()
	r, err := collision.Parse(probeOutput(mod))
	require.NoError(t, err)
	a := collision.Analyse(r)
	if a.DisabledDrivers != "" {
		assert.Empty(t, confd.Check(map[string]any{"disabled-drivers": a.DisabledDrivers}, "1.4.0"), "the value is one the charm accepts")
	}
	return a
}

func TestRivalWins(t *testing.T) {
	a := analyse(t, nil)
	assert.False(t, a.OursWins)
	assert.Equal(t, []string{"vm/ubuntu/kubernetes", "vm/flatcar/kubernetes"}, a.OurTuples)
	assert.Equal(t, "k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar", a.DisabledDrivers)
	assert.Empty(t, a.AlsoDisables)
	assert.Equal(t, "magnum_driver=k8s_capi_helm_v1", a.ImageProperty)
	assert.Equal(t, "another Magnum driver wins: vm/ubuntu/kubernetes goes to k8s_cluster_api_ubuntu (testbed-rival-driver 1.0.0), "+
		"vm/flatcar/kubernetes goes to k8s_cluster_api_flatcar (testbed-rival-driver 1.0.0); "+
		"set disabled-drivers=k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar "+
		"(or give the images the property magnum_driver=k8s_capi_helm_v1 before making templates)", a.Problem)
	assert.Equal(t, []collision.Collision{
		{Tuple: "vm/ubuntu/kubernetes", Winner: "k8s_cluster_api_ubuntu", Claimants: []collision.Claimant{
			{Name: "k8s_capi_helm_v1", Dist: "magnum-capi-helm"}, {Name: "k8s_cluster_api_ubuntu", Dist: "testbed-rival-driver"}}},
		{Tuple: "vm/flatcar/kubernetes", Winner: "k8s_cluster_api_flatcar", Claimants: []collision.Claimant{
			{Name: "k8s_capi_helm_v1", Dist: "magnum-capi-helm"}, {Name: "k8s_cluster_api_flatcar", Dist: "testbed-rival-driver"}}},
	}, a.Collisions)
}

// What is disabled already stays disabled: the charm's value replaces
// magnum.conf's wherever conf.d wins.
func TestTheValueKeepsWhatIsDisabled(t *testing.T) {
	a := analyse(t, func(o map[string]any) { o["disabled"] = []string{"k8s_fedora_coreos_v1"} })
	assert.Equal(t, "k8s_fedora_coreos_v1,k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar", a.DisabledDrivers)
}

// After disabled-drivers is set: ours wins, nothing to say.
func TestDisabledRivalLoses(t *testing.T) {
	a := analyse(t, func(o map[string]any) {
		o["disabled"] = []string{"k8s_cluster_api_ubuntu", "k8s_cluster_api_flatcar"}
		o["winners"] = map[string]string{"vm/ubuntu/kubernetes": "k8s_capi_helm_v1", "vm/flatcar/kubernetes": "k8s_capi_helm_v1",
			"vm/debian/kubernetes": "k8s_cluster_api_debian"}
		o["returned"] = map[string]string{"vm/ubuntu/kubernetes": "magnum_capi_helm.driver.Driver", "vm/flatcar/kubernetes": "magnum_capi_helm.driver.Driver"}
	})
	assert.True(t, a.OursWins)
	assert.Empty(t, a.Problem)
	assert.Empty(t, a.Warning)
	assert.Empty(t, a.DisabledDrivers)
	require.Len(t, a.Collisions, 2)
	assert.True(t, a.Collisions[0].Claimants[1].Disabled)
}

// Ours loaded last wins, but a package install can change the order.
func TestOursWinsByLoadOrderOnly(t *testing.T) {
	a := analyse(t, func(o map[string]any) {
		o["winners"] = map[string]string{"vm/ubuntu/kubernetes": "k8s_capi_helm_v1", "vm/flatcar/kubernetes": "k8s_capi_helm_v1"}
		o["returned"] = map[string]string{"vm/ubuntu/kubernetes": "magnum_capi_helm.driver.Driver", "vm/flatcar/kubernetes": "magnum_capi_helm.driver.Driver"}
		o["driver_name_arg"] = false
	})
	assert.True(t, a.OursWins)
	assert.Empty(t, a.Problem)
	assert.Empty(t, a.ImageProperty, "Magnum before 18 has no magnum_driver")
	assert.Equal(t, "k8s_capi_helm_v1 wins only by load order over k8s_cluster_api_ubuntu, k8s_cluster_api_flatcar; "+
		"set disabled-drivers=k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar", a.Warning)
}

// An entry point that claims more than our types takes those with it.
func TestAlsoDisables(t *testing.T) {
	a := analyse(t, func(o map[string]any) {
		claims := o["claims"].([]any)
		c := claims[1].(map[string]any)
		c["provides"] = [][]string{{"vm", "ubuntu", "kubernetes"}, {"vm", "ubuntu-focal", "kubernetes"}}
	})
	assert.Equal(t, []string{"vm/ubuntu-focal/kubernetes"}, a.AlsoDisables)
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(map[string]any)
		want string
	}{
		{"a broken entry point breaks the loader", func(o map[string]any) {
			o["load_error"] = "ModuleNotFoundError: No module named 'x'"
		}, "Magnum's driver loader fails, so no driver loads: ModuleNotFoundError: No module named 'x'"},
		{"ours not installed", func(o map[string]any) { o["claims"] = o["claims"].([]any)[1:] },
			"Magnum's loader finds no k8s_capi_helm_v1 entry point"},
		{"ours disabled", func(o map[string]any) { o["disabled"] = []string{"k8s_capi_helm_v1"} },
			"[drivers] disabled_drivers names k8s_capi_helm_v1: remove it there"},
		{"two distributions of ours", func(o map[string]any) {
			claims := o["claims"].([]any)
			dup := map[string]any{"name": "k8s_capi_helm_v1", "value": "magnum_capi_helm.driver:Driver", "dist": "magnum-capi-helm",
				"version": "1.2.0", "location": "/usr/lib/python3/dist-packages", "provides": [][]string{{"vm", "ubuntu", "kubernetes"}}}
			o["claims"] = append(claims, dup)
		}, "2 installed distributions provide k8s_capi_helm_v1 (magnum-capi-helm 1.2.0 (/usr/local/lib/python3.13/dist-packages), " +
			"magnum-capi-helm 1.2.0 (/usr/lib/python3/dist-packages)): Magnum cannot load it by name; remove all but one"},
		{"get_driver refuses", func(o map[string]any) {
			o["winners"] = map[string]string{"vm/ubuntu/kubernetes": "k8s_capi_helm_v1", "vm/flatcar/kubernetes": "k8s_capi_helm_v1"}
			o["returned"] = map[string]string{"vm/ubuntu/kubernetes": "error: ClusterTypeNotSupported: no", "vm/flatcar/kubernetes": "magnum_capi_helm.driver.Driver"}
		}, "get_driver(vm/ubuntu/kubernetes) fails: ClusterTypeNotSupported: no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := analyse(t, tc.mod)
			assert.Equal(t, tc.want, a.Problem)
			assert.False(t, a.OursWins)
		})
	}
}

func TestParseErrors(t *testing.T) {
	_, err := collision.Parse([]byte(`{"error": "ImportError: No module named 'magnum'"}`))
	assert.EqualError(t, err, "driver collision probe: ImportError: No module named 'magnum'")
	_, err = collision.Parse([]byte("Traceback"))
	assert.EqualError(t, err, "driver collision probe printed no result")
}

// Probe runs Magnum's interpreter as the given user with an argv list: the
// script and one JSON argument with the service's configuration arguments.
func TestProbeRunsAnArgvList(t *testing.T) {
	var got command.Cmd
	run := func(ctx context.Context, c command.Cmd) (command.Result, error) {
		got = c
		return command.Result{Stdout: probeOutput(nil)}, nil
	}
	cmdline := []string{"/usr/bin/python3", "/usr/bin/magnum-conductor", "--config-file=/etc/magnum/magnum.conf",
		"--config-dir=/etc/magnum/magnum.conf.d", "--log-file=/var/log/magnum/magnum-conductor.log"}
	r, err := collision.Probe(context.Background(), run, "/usr/bin/python3", "magnum", []string{"PATH=/usr/bin:/bin"}, cmdline)
	require.NoError(t, err)
	assert.Len(t, r.Claims, 4)
	assert.Equal(t, "magnum", got.User)
	assert.Equal(t, []string{"PATH=/usr/bin:/bin"}, got.Env)
	require.Len(t, got.Argv, 5)
	assert.Equal(t, []string{"/usr/bin/python3", "-B", "-c"}, got.Argv[:3])
	var req map[string]any
	require.NoError(t, json.Unmarshal([]byte(got.Argv[4]), &req))
	assert.Equal(t, map[string]any{"args": []any{"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d"},
		"prog": "magnum-conductor", "ours": "k8s_capi_helm_v1"}, req)
}

// Remembered probes once and keeps the answer while nothing the loader
// reads changes; fresh probes again.
func TestRememberedProbesOnlyWhenAskedOrChanged(t *testing.T) {
	probes := 0
	run := func(ctx context.Context, c command.Cmd) (command.Result, error) {
		probes++
		return command.Result{Stdout: probeOutput(nil)}, nil
	}
	st := state.Dir(t.TempDir())
	unit := &unitshape.Unit{Python: "/usr/bin/python3", PythonVersion: "3.99"}
	first, err := collision.Remembered(context.Background(), st, run, unit, "desired-1", false)
	require.NoError(t, err)
	assert.Equal(t, 1, probes)
	again, err := collision.Remembered(context.Background(), st, run, unit, "desired-1", false)
	require.NoError(t, err)
	assert.Equal(t, 1, probes, "nothing changed: the memo answers")
	assert.Equal(t, first.Fingerprint, again.Fingerprint)
	_, err = collision.Remembered(context.Background(), st, run, unit, "desired-2", false)
	require.NoError(t, err)
	assert.Equal(t, 2, probes, "the desired state changed")
	_, err = collision.Remembered(context.Background(), st, run, unit, "desired-2", true)
	require.NoError(t, err)
	assert.Equal(t, 3, probes, "fresh")
}
