//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	confDir  = "/etc/magnum/magnum.conf.d"
	confFile = confDir + "/99-capi.conf"
	kubeFile = "/etc/magnum/kubeconfig"
	condDef  = "/etc/default/magnum-conductor"
)

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// requireVerified runs the verify action and requires every check to pass.
func (u *unit) requireVerified() map[string]any {
	u.t.Helper()
	out := u.action("verify", nil)
	require.Equal(u.t, "completed", out.Status, "verify failed: %s", out.Message)
	return out.Results
}

// TestGraftConvergesAndRemovesExactly is the runbook's Steps 4-6 done by the
// charm on a real bookworm unit: exact owners and modes, live command lines
// as promised, oslo.config seeing the graft, nothing done a second time, one
// restart per changed option, and removal leaving the unit as it was.
func TestGraftConvergesAndRemovesExactly(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	// An operator's own defaults file, which the graft must extend and
	// removal must put back byte for byte.
	writeFile(t, u, condDef, "# site settings\nUSE_SYSLOG=no\n", 0o644)
	pristine := u.manifest()

	u.graft()
	u.requireStatus("active", "conf.d read by api (default-dirs) + conductor (default-file)")

	gid := u.magnumGID()
	assert.Equal(t, fmt.Sprintf("0:%d 0750", gid), u.owner(confDir))
	assert.Equal(t, fmt.Sprintf("0:%d 0640", gid), u.owner(confFile))
	assert.Equal(t, fmt.Sprintf("0:%d 0640", gid), u.owner(kubeFile))
	assert.Equal(t, "0:0 0644", u.owner(condDef))
	def, err := os.ReadFile(u.box.Path(condDef))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(def), "# site settings\nUSE_SYSLOG=no\n"), "the operator's lines stay first:\n%s", def)
	conf, err := os.ReadFile(u.box.Path(confFile))
	require.NoError(t, err)
	assert.Contains(t, string(conf), "kubeconfig_file = /etc/magnum/kubeconfig")
	assert.NotContains(t, string(conf), "enabled_drivers")

	cond := u.service("magnum-conductor")
	fileAt := indexOf(cond.Cmdline, "--config-file=/etc/magnum/magnum.conf")
	dirAt := indexOf(cond.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d")
	require.True(t, fileAt >= 0 && dirAt > fileAt, "conductor's live command line: %q", cond.Cmdline)
	api := u.service("magnum-api")
	assert.Equal(t, -1, indexOf(api.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d"), "uwsgi api reads the default conf dirs: %q", api.Cmdline)

	results := u.requireVerified()
	assert.Equal(t, "true", results["magnum-conductor"].(map[string]any)["conf-d"].(map[string]any)["pass"])

	// Converged: a second config-changed writes, reloads and restarts nothing.
	graftFiles := []string{confDir, confFile, kubeFile, condDef}
	mtimes := u.mtimes(graftFiles...)
	reloads := u.reloads()
	api, cond = u.service("magnum-api"), u.service("magnum-conductor")
	u.hook("config-changed")
	u.hook("update-status")
	u.requireStatus("active", "conf.d read by")
	assert.Equal(t, mtimes, u.mtimes(graftFiles...), "a converged hook wrote files")
	assert.Equal(t, reloads, u.reloads(), "a converged hook ran daemon-reload")
	for name, before := range map[string]struct{ pid, nr int }{
		"magnum-api": {api.MainPID, api.NRestarts}, "magnum-conductor": {cond.MainPID, cond.NRestarts}} {
		now := u.service(name)
		assert.Equal(t, before.pid, now.MainPID, "%s restarted by a converged hook", name)
		assert.Equal(t, before.nr, now.NRestarts, name)
	}

	// The converged unit's update-status glances (charm/glance): it finds
	// every stamp as the last full reconcile kept it and says the status
	// the record holds, here one the test wrote into it, which no
	// reconcile would say.
	const glanceFile = "/var/lib/magnum-capi-graft/glance.json"
	var rec map[string]any
	raw, err := os.ReadFile(u.box.Path(glanceFile))
	require.NoError(t, err, "a converged unit kept no glance record")
	require.NoError(t, json.Unmarshal(raw, &rec))
	rec["message"] = "said from the glance record"
	raw, err = json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(u.box.Path(glanceFile), raw, 0o600))
	u.hook("update-status")
	u.requireStatus("active", "said from the glance record")
	assert.Equal(t, api.MainPID, u.service("magnum-api").MainPID, "a glance restarted magnum-api")

	// One changed option: each service restarts exactly once and sees it.
	apiStarts, condStarts := u.starts("magnum-api"), u.starts("magnum-conductor")
	u.config("namespace-prefix", "graft")
	u.hook("config-changed")
	u.requireStatus("active", "conf.d read by")
	assert.Equal(t, apiStarts+1, u.starts("magnum-api"), "magnum-api starts")
	assert.Equal(t, condStarts+1, u.starts("magnum-conductor"), "magnum-conductor starts")
	assert.Equal(t, reloads, u.reloads(), "no unit file changed, so no daemon-reload")
	results = u.requireVerified()
	assert.Contains(t, results["magnum-conductor"].(map[string]any)["conf-d"].(map[string]any)["evidence"], "all 2 keys")

	// Removal: Juju's hooks for a departing subordinate.
	u.removeCharm()
	requireSame(t, pristine, u.manifest(), "removal")
	u.requireStatus("maintenance", "graft removed")
	_, msg := u.status()
	assert.Equal(t, "graft removed", msg, "nothing of anyone else's was there to keep")
	for _, p := range []string{"/opt/magnum-capi-graft", "/usr/bin/helm"} {
		_, err = os.Lstat(u.box.Path(p))
		assert.True(t, os.IsNotExist(err), "%s outlived removal", p)
	}
	cond = u.service("magnum-conductor")
	assert.Equal(t, -1, indexOf(cond.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d"), "conductor still wired after removal: %q", cond.Cmdline)
	assert.Equal(t, "active", cond.ActiveState)
	assert.Equal(t, "active", u.service("magnum-api").ActiveState)
	_, err = os.Stat(u.box.Path("/var/lib/magnum-capi-graft"))
	assert.True(t, os.IsNotExist(err), "the charm's state outlived removal")
}

// TestDefaultFileWiringMakesConfDWinForBoth: with service-wiring=default-file
// both services read conf.d after magnum.conf (uwsgi through PYARGV), so the
// graft's values win over a key magnum.conf also sets, as oslo.config run with
// each live command line proves. With auto, the uwsgi api would read conf.d
// first, and the charm refuses that.
func TestDefaultFileWiringMakesConfDWinForBoth(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	conf, err := os.ReadFile(u.box.Path("/etc/magnum/magnum.conf"))
	require.NoError(t, err)
	writeFile(t, u, "/etc/magnum/magnum.conf", string(conf)+"\n[capi_helm]\nnamespace_prefix = frommagnumconf\n", 0o640)
	pristine := u.manifest()

	u.graft("namespace-prefix", "graft")
	u.requireStatus("blocked", "sets capi_helm.namespace_prefix, which magnum-api reads after 99-capi.conf")
	requireSame(t, pristine, u.manifest(), "a refused graft")

	u.config("service-wiring", "default-file")
	u.hook("config-changed")
	u.requireStatus("active", "conf.d read by api (default-file) + conductor (default-file)")
	api := u.service("magnum-api")
	pyargv := indexOf(api.Cmdline, "--pyargv")
	require.True(t, pyargv >= 0 && pyargv+1 < len(api.Cmdline), "api live command line: %q", api.Cmdline)
	assert.Equal(t, "--config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d", api.Cmdline[pyargv+1])
	results := u.requireVerified()
	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		c := results[svc].(map[string]any)["conf-d"].(map[string]any)
		assert.Equal(t, "true", c["pass"], "%s: %v", svc, c["evidence"])
	}

	u.removeCharm()
	requireSame(t, pristine, u.manifest(), "removal")
}

// TestBadInputsChangeNothing: each bad input gives blocked (or waiting, for a
// paused service) naming the problem, and leaves the unit byte-identical.
func TestBadInputsChangeNothing(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	u.graft()
	u.requireStatus("active", "conf.d read by")
	grafted := u.manifest()
	api, cond := u.service("magnum-api"), u.service("magnum-conductor")

	for _, tc := range []struct {
		name   string
		config []any
		want   string
	}{
		{"non-ASCII", []any{"namespace-prefix", "magn\u00fcm"}, "namespace-prefix"},
		{"newline injection", []any{"helm-chart-name", "x\n[DEFAULT]\ndebug = true"}, "helm-chart-name"},
		{"option unknown to the driver version", []any{"driver-version", "1.2.1", "api-resources", `{}`}, "api-resources needs driver-version >= 1.4.0"},
		{"bad JSON", []any{"api-resources", `{"openstackclusters": `}, "api-resources"},
		{"wrong type", []any{"minimum-flavor-ram", "lots"}, "minimum-flavor-ram"},
		{"out of range", []any{"minimum-flavor-vcpus", float64(-2)}, "minimum-flavor-vcpus"},
		{"unknown wiring", []any{"service-wiring", "sideways"}, `service-wiring "sideways" is not one of`},
		{"unknown driver version", []any{"driver-version", "9.9.9"}, "driver-version"},
		{"unset kubeconfig", []any{"kubeconfig", nil}, "kubeconfig is not set"},
		{"kubeconfig secret that does not exist", []any{"kubeconfig", "secret:d5ibqdnmp25c7793pr3g"}, "is not readable: juju grant-secret"},
		// Juju takes any secret:... as the option's value; secret-get refuses it.
		{"kubeconfig that is no secret URI", []any{"kubeconfig", "secret:capi-kubeconfig"}, `kubeconfig "secret:capi-kubeconfig" is not a secret URI Juju knows`},
		{"kubeconfig set to nothing", []any{"kubeconfig", ""}, "kubeconfig is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u.t = t
			u.config(tc.config...)
			u.hook("config-changed")
			s, m := u.status()
			assert.Equal(t, "blocked", s, m)
			assert.Contains(t, m, tc.want)
			assert.NotContains(t, m, "BEGIN CERTIFICATE")
			requireSame(t, grafted, u.manifest(), tc.name)
			// Put the good config back for the next case.
			u.config("namespace-prefix", nil, "helm-chart-name", nil, "driver-version", "1.4.0", "api-resources", nil,
				"minimum-flavor-ram", nil, "minimum-flavor-vcpus", nil, "service-wiring", "auto", "kubeconfig", u.secret)
		})
	}
	u.t = t

	t.Run("secret not granted", func(t *testing.T) {
		u.t = t
		_, err := u.box.Fake(u.ctx, "revoke-secret", u.secret)
		require.NoError(t, err)
		u.hook("config-changed")
		u.requireStatus("blocked", "juju grant-secret "+u.secret+" magnum-capi-graft")
		requireSame(t, grafted, u.manifest(), "an ungranted secret")
		_, err = u.box.Fake(u.ctx, "grant-secret", u.secret)
		require.NoError(t, err)
	})
	u.t = t

	// Nothing above restarted a service.
	assert.Equal(t, api.MainPID, u.service("magnum-api").MainPID)
	assert.Equal(t, cond.MainPID, u.service("magnum-conductor").MainPID)
	u.hook("config-changed")
	u.requireStatus("active", "conf.d read by")
}

// TestMagnumMissingIsBlocked: a unit without Magnum gets a blocked status
// saying to relate to magnum, and nothing is written.
func TestMagnumMissingIsBlocked(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	u.run("systemctl", "stop", "magnum-api", "magnum-conductor")
	// Without the packages there is neither a unit file nor an init script
	// (systemd's SysV generator would make a unit from the script).
	for _, p := range []string{"/lib/systemd/system/magnum-api.service", "/lib/systemd/system/magnum-conductor.service",
		"/etc/init.d/magnum-api", "/etc/init.d/magnum-conductor", "/usr/lib/python3/dist-packages/magnum-15.0.1.egg-info"} {
		u.run("mv", p, "/root/")
	}
	u.run("systemctl", "daemon-reload")
	before := u.manifest()
	u.graft()
	u.requireStatus("blocked", "Magnum is not installed on this machine")
	requireSame(t, before, u.manifest(), "a unit without Magnum")
}

// TestPausedServiceIsNeverRestarted: charm-magnum's pause (disable + mask,
// service stopped) makes the charm wait: the graft is written, nothing masked
// is started, and resume brings the graft into effect.
func TestPausedServiceIsNeverRestarted(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	u.graft()
	u.requireStatus("active", "conf.d read by")

	u.run("systemctl", "stop", "magnum-conductor")
	u.run("systemctl", "disable", "magnum-conductor")
	u.run("systemctl", "mask", "magnum-conductor")
	condStarts := u.starts("magnum-conductor")
	u.config("namespace-prefix", "paused")
	u.hook("config-changed")
	u.requireStatus("waiting", "magnum-conductor is masked (paused)")
	assert.Equal(t, condStarts, u.starts("magnum-conductor"), "a masked service was started")
	assert.Equal(t, "inactive", u.service("magnum-conductor").ActiveState)

	// Resume, as charm-magnum does it.
	u.run("systemctl", "unmask", "magnum-conductor")
	u.run("systemctl", "enable", "magnum-conductor")
	u.run("systemctl", "start", "magnum-conductor")
	time.Sleep(3 * time.Second)
	u.hook("update-status")
	u.requireStatus("active", "conf.d read by")
	u.requireVerified()
}

// TestFailedRestartRollsBack: an operator's stale file in conf.d that is
// harmless while magnum.conf wins breaks the conductor once the graft makes
// conf.d win. The charm puts every file back, restarts on the old ones, says
// why, and does not try the same graft again on the next hook.
func TestFailedRestartRollsBack(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	u.run("install", "-d", "-o", "root", "-g", "magnum", "-m", "0750", confDir)
	writeFile(t, u, confDir+"/50-stale.conf", "[DEFAULT]\ntransport_url = nosuchdriver://\n", 0o644)
	before := u.manifest()

	u.graft()
	u.requireStatus("blocked", "magnum-conductor failed to start with the new graft and was rolled back")
	requireSame(t, before, u.manifest(), "a rolled-back graft")
	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		assert.Equal(t, "active", u.service(svc).ActiveState, "%s after the rollback", svc)
	}
	cond := u.service("magnum-conductor")
	assert.Equal(t, -1, indexOf(cond.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d"), "%q", cond.Cmdline)

	// The next hook does not restart into the same failure.
	starts := u.starts("magnum-conductor")
	u.hook("update-status")
	u.requireStatus("blocked", "run the regraft action to try again")
	assert.Equal(t, starts, u.starts("magnum-conductor"))
	requireSame(t, before, u.manifest(), "update-status after a failed graft")
}

// TestUbuntuShapedAPIAndSystemdOverride: a magnum-api unit that runs the
// binary directly (Ubuntu's shape, written by the test) is wired with a
// drop-in; service-wiring=systemd-override moves the conductor to the
// runbook's drop-in too; removal restores both.
func TestUbuntuShapedAPIAndSystemdOverride(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	writeFile(t, u, "/etc/systemd/system/magnum-api.service", `[Unit]
Description=OpenStack Magnum API (Ubuntu shape)
After=network-online.target

[Service]
User=magnum
Group=magnum
Type=simple
WorkingDirectory=/var/lib/magnum
ExecStart=/usr/bin/magnum-api --config-file=/etc/magnum/magnum.conf --log-file=/var/log/magnum/magnum-api.log
Restart=on-failure

[Install]
WantedBy=multi-user.target
`, 0o644)
	u.run("systemctl", "daemon-reload")
	u.run("systemctl", "restart", "magnum-api")
	before := u.manifest()

	u.graft()
	u.requireStatus("active", "conf.d read by api (systemd-override) + conductor (default-file)")
	api := u.service("magnum-api")
	assert.Equal(t, []string{"/usr/bin/python3", "/usr/bin/magnum-api", "--config-file=/etc/magnum/magnum.conf",
		"--log-file=/var/log/magnum/magnum-api.log", "--config-dir=/etc/magnum/magnum.conf.d"}, api.Cmdline)
	dropIn, err := os.ReadFile(u.box.Path("/etc/systemd/system/magnum-api.service.d/50-magnum-capi-graft.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(dropIn), "ExecStart=\n")
	u.requireVerified()

	reloads := u.reloads()
	u.config("service-wiring", "systemd-override")
	u.hook("config-changed")
	u.requireStatus("active", "conf.d read by api (systemd-override) + conductor (systemd-override)")
	assert.Greater(t, u.reloads(), reloads, "a new drop-in needs a daemon-reload")
	cond := u.service("magnum-conductor")
	assert.Equal(t, []string{"/usr/bin/python3", "/usr/bin/magnum-conductor", "--config-file=/etc/magnum/magnum.conf",
		"--config-dir=/etc/magnum/magnum.conf.d", "--log-file=/var/log/magnum/magnum-conductor.log"}, cond.Cmdline)
	_, err = os.Stat(u.box.Path(condDef))
	assert.True(t, os.IsNotExist(err), "the default-file block the charm created must go when the wiring moves")
	u.requireVerified()

	// An operator's own override.conf in each drop-in directory the charm
	// made, taken into use with a daemon-reload, as an operator does.
	const siteDropIn = "[Service]\nEnvironment=SITE_DROPIN=kept\n"
	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		writeFile(t, u, "/etc/systemd/system/"+svc+".service.d/override.conf", siteDropIn, 0o644)
	}
	u.run("systemctl", "daemon-reload")

	u.removeCharm()
	// The charm's drop-ins are gone; the directories stay for the
	// operator's, which are in effect after the removal's reload and
	// restarts; the status says why they stayed.
	requireOnly(t, before, u.manifest(), map[string]string{
		"/etc/systemd/system/magnum-api.service.d": "+", "/etc/systemd/system/magnum-api.service.d/override.conf": "+",
		"/etc/systemd/system/magnum-conductor.service.d": "+", "/etc/systemd/system/magnum-conductor.service.d/override.conf": "+",
	}, "removal")
	_, msg := u.status()
	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		assert.Contains(t, msg, "/etc/systemd/system/"+svc+".service.d (holds override.conf, which the charm did not put there)")
		assert.Equal(t, "active", u.service(svc).ActiveState, svc)
		assert.Contains(t, u.environ(svc), "\nSITE_DROPIN=kept\n", svc)
	}
	assert.Equal(t, []string{"/usr/bin/python3", "/usr/bin/magnum-api", "--config-file=/etc/magnum/magnum.conf",
		"--log-file=/var/log/magnum/magnum-api.log"}, u.service("magnum-api").Cmdline)
}
