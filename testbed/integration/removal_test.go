//go:build integration

package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// removalRoots are read besides testbed.ManifestRoots by the removal tests:
// the charm's install tree and its state directory.
var removalRoots = []string{"/opt", "/var/lib/magnum-capi-graft"}

// environ returns a running service's environment, as its main process has
// it (the box's /proc, read from inside).
func (u *unit) environ(name string) string {
	u.t.Helper()
	s := u.service(name)
	require.NotZero(u.t, s.MainPID, "%s is not running", name)
	return strings.ReplaceAll(u.run("cat", fmt.Sprintf("/proc/%d/environ", s.MainPID)), "\x00", "\n")
}

// requireOnly requires that the unit differs from before in exactly the
// paths want names, each with its sign (+ added, ~ changed, - gone).
func requireOnly(t *testing.T, before, after testbed.Manifest, want map[string]string, what string) {
	t.Helper()
	diff := before.Diff(after)
	require.Equal(t, want, testbed.Paths(diff), "%s: the unit differs from before in:\n%s", what, strings.Join(diff, "\n"))
}

// TestRemovalKeepsWhatIsNotTheCharms is removal as Juju 4.0 runs it
// (juju-info-relation-broken, then stop and remove, which may or may not
// come) on a unit where others have added to what the charm made: a file of
// theirs in every directory the charm created, and a line in
// /etc/default/magnum-api after the graft. Every hook succeeds; everything
// the charm added is gone and nothing of anyone else's is; both services
// run, magnum-api with the operator's line in effect; the status names what
// stayed and why; the later hooks change nothing and say nothing new; and
// no later hook grafts again.
func TestRemovalKeepsWhatIsNotTheCharms(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	// A unit without the /usr/local site directory (Debian's python3.11
	// ships it empty; a unit where it was never made or was cleaned): the
	// charm creates it for its .pth.
	u.run("rmdir", "/usr/local/lib/python3.11/dist-packages", "/usr/local/lib/python3.11")
	// An operator's own conductor defaults, which removal must put back
	// byte for byte.
	writeFile(t, u, condDef, "# site settings\nUSE_SYSLOG=no\n", 0o644)
	pristine := u.manifest(removalRoots...)
	_, err := os.Lstat(u.box.Path("/usr/bin/helm"))
	require.True(t, os.IsNotExist(err), "the box has a helm of its own")

	u.graft("service-wiring", "default-file")
	u.requireStatus("active", "conf.d read by api (default-file) + conductor (default-file)")

	const apiDef = "/etc/default/magnum-api"
	const site = "/usr/local/lib/python3.11/dist-packages"
	// Every directory the charm created, from the unit's files (the
	// driver's version directory is the wheel's files and nothing else:
	// the reconcile itself replaces one holding more, so it has no place
	// here).
	others := map[string]string{
		confDir + "/50-site.conf":                "[DEFAULT]\n# the site's own notes\n",
		site + "/site_tool.py":                   "SITE = True\n",
		"/opt/magnum-capi-graft/NOTES":           "the site's notes\n",
		"/opt/magnum-capi-graft/driver/NOTES":    "the site's notes\n",
		"/opt/magnum-capi-graft/helm/plugins.md": "the site's notes\n",
		"/var/lib/magnum-capi-graft/NOTES":       "the site's notes\n",
	}
	for p := range others {
		fi, err := os.Stat(u.box.Path(p[:strings.LastIndex(p, "/")]))
		require.NoError(t, err, "the graft did not create the directory of %s", p)
		require.True(t, fi.IsDir())
	}
	for p, content := range others {
		writeFile(t, u, p, content, 0o644)
	}
	// The operator's line, after the graft, in a file whose only other
	// content is the charm's block. The watcher re-grafts (the block moves
	// after the line) and restarts magnum-api onto it.
	def, err := os.ReadFile(u.box.Path(apiDef))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(def), "# BEGIN magnum-capi-graft"), "%s", def)
	writeFile(t, u, apiDef, string(def)+"export SITE_MARK=kept\n", 0o644)
	deadline := time.Now().Add(90 * time.Second)
	for {
		b, err := os.ReadFile(u.box.Path(apiDef))
		require.NoError(t, err)
		if strings.HasPrefix(string(b), "export SITE_MARK=kept\n# BEGIN magnum-capi-graft") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the watcher did not re-graft %s:\n%s", apiDef, b)
		time.Sleep(500 * time.Millisecond)
	}

	u.hook("juju-info-relation-broken")

	s, msg := u.status()
	t.Logf("status after relation-broken: %s: %s", s, msg)
	assert.Equal(t, "maintenance", s)
	assert.True(t, strings.HasPrefix(msg, "graft removed; left in place: "), msg)
	for _, said := range []string{
		confDir + " (holds 50-site.conf, which the charm did not put there)",
		site + " (holds site_tool.py, which the charm did not put there)",
		"/opt/magnum-capi-graft (holds NOTES, which the charm did not put there)",
		"/opt/magnum-capi-graft/driver (holds NOTES, which the charm did not put there)",
		"/opt/magnum-capi-graft/helm (holds plugins.md, which the charm did not put there)",
		"/var/lib/magnum-capi-graft (holds NOTES, which the charm did not put there)",
		apiDef + " (only the charm's block taken out: the lines others added since the graft are kept)",
	} {
		assert.Contains(t, msg, said)
		assert.Equal(t, 1, u.logsContaining("left in place: "+said), "the hook's log says %q", said)
	}
	assert.NotContains(t, msg, "/usr/local/lib/python3.11 (", "kept only for the kept site directory: said once")
	assert.NotContains(t, msg, condDef)

	// Everything the charm added is gone: the unit differs from before the
	// graft only by the others' files, the directories that hold them, and
	// the operator's line (all that is left of a file the charm created).
	want := map[string]string{apiDef: "+", confDir: "+", "/usr/local/lib/python3.11": "+", site: "+",
		"/opt/magnum-capi-graft": "+", "/opt/magnum-capi-graft/driver": "+", "/opt/magnum-capi-graft/helm": "+",
		"/var/lib/magnum-capi-graft": "+"}
	for p := range others {
		want[p] = "+"
	}
	removed := u.manifest(removalRoots...)
	requireOnly(t, pristine, removed, want, "relation-broken")
	for p, content := range others {
		b, err := os.ReadFile(u.box.Path(p))
		require.NoError(t, err)
		assert.Equal(t, content, string(b), p)
	}
	b, err := os.ReadFile(u.box.Path(apiDef))
	require.NoError(t, err)
	assert.Equal(t, "export SITE_MARK=kept\n", string(b))
	_, err = os.Lstat(u.box.Path("/usr/bin/helm"))
	assert.True(t, os.IsNotExist(err), "the charm's helm link outlived removal")
	assert.Equal(t, "inactive", u.service("magnum-capi-graft-watcher").ActiveState)

	// Both services run, on what is left: no conf.d on their command
	// lines, and magnum-api with the operator's line in effect.
	api, cond := u.service("magnum-api"), u.service("magnum-conductor")
	assert.Equal(t, "active", api.ActiveState)
	assert.Equal(t, "active", cond.ActiveState)
	assert.Equal(t, -1, indexOf(cond.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d"), "%q", cond.Cmdline)
	assert.Equal(t, -1, indexOf(api.Cmdline, "--pyargv"), "%q", api.Cmdline)
	assert.Contains(t, u.environ("magnum-api"), "\nSITE_MARK=kept\n")

	// stop and remove, when Juju gets to them, find nothing left: they
	// succeed, change and restart nothing, and leave the status as it is.
	pids := u.pids()
	u.hook("stop")
	u.hook("remove")
	s2, msg2 := u.status()
	assert.Equal(t, s, s2)
	assert.Equal(t, msg, msg2, "a later removal hook overwrote the status")
	requireSame(t, removed, u.manifest(removalRoots...), "stop and remove after relation-broken")
	assert.Equal(t, pids, u.pids(), "stop or remove restarted a service")

	// A hook the leaving unit still gets grafts nothing again.
	u.hook("update-status")
	u.hook("config-changed")
	requireSame(t, removed, u.manifest(removalRoots...), "a hook after removal")
	assert.Equal(t, pids, u.pids())
	_, msg3 := u.status()
	assert.Equal(t, msg, msg3)
}
