//go:build integration

package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInvestigateReportsTheRealUnit runs the investigate action on a pristine
// bookworm unit and checks it reports what is really there.
func TestInvestigateReportsTheRealUnit(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	before := u.manifest()

	out := u.action("investigate", nil)
	require.Equal(t, "completed", out.Status, out.Message)
	r := out.Results
	assert.Equal(t, "/usr/bin/python3", r["python"])
	assert.Equal(t, "3.11", r["python-version"])
	assert.Equal(t, "15.0.1", r["magnum-version"])
	assert.Equal(t, "true", r["pep668"])
	assert.Equal(t, "/usr/lib/python3/dist-packages/magnum/__init__.py", r["magnum-module"])
	assert.Contains(t, r["import-path"], "/usr/lib/python3/dist-packages")

	svcs := r["services"].(map[string]any)
	cond := svcs["magnum-conductor"].(map[string]any)
	assert.Equal(t, "/etc/init.d/magnum-conductor systemd-start", cond["exec-start"])
	assert.Equal(t, "init-script", cond["shape"])
	assert.Equal(t, "/lib/systemd/system/magnum-conductor.service", cond["unit-file"])
	assert.Equal(t, "/usr/bin/magnum-conductor --config-file=/etc/magnum/magnum.conf --log-file=/var/log/magnum/magnum-conductor.log", cond["final-command"])
	assert.Equal(t, "/usr/bin/python3 /usr/bin/magnum-conductor --config-file=/etc/magnum/magnum.conf --log-file=/var/log/magnum/magnum-conductor.log", cond["cmdline"])
	assert.Equal(t, "enabled", cond["enabled"])
	assert.Equal(t, "false", cond["masked"])
	assert.Equal(t, "active/running", cond["active"])
	assert.Equal(t, "/sbin:/usr/sbin:/bin:/usr/bin", cond["path"])
	assert.Equal(t, "not found", cond["helm"])
	assert.Contains(t, cond["conf-d"], "not read")
	assert.NotEqual(t, "0", cond["main-pid"])

	api := svcs["magnum-api"].(map[string]any)
	assert.Equal(t, "/etc/init.d/magnum-api systemd-start", api["exec-start"])
	assert.Equal(t, "init-script-uwsgi", api["shape"])
	assert.Contains(t, api["cmdline"], "/usr/bin/uwsgi_python311")
	assert.Contains(t, api["cmdline"], "--ini /etc/magnum/magnum-api-uwsgi.ini")
	assert.Contains(t, api["final-command"], "uwsgi_python311")

	requireSame(t, before, u.manifest(), "investigate")
}

// TestInstallWithoutKubeconfigIsBlocked: the first hook with nothing
// configured says exactly what to run, and changes nothing.
func TestInstallWithoutKubeconfigIsBlocked(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	before := u.manifest()
	api, cond := u.service("magnum-api"), u.service("magnum-conductor")

	u.hook("install")
	u.requireStatus("blocked", "juju add-secret capi-kubeconfig kubeconfig#file=")
	u.requireStatus("blocked", "juju grant-secret capi-kubeconfig magnum-capi-graft")

	requireSame(t, before, u.manifest(), "a blocked install")
	assert.Equal(t, api.MainPID, u.service("magnum-api").MainPID, "magnum-api restarted")
	assert.Equal(t, cond.MainPID, u.service("magnum-conductor").MainPID, "magnum-conductor restarted")
}
