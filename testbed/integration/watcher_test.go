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

// reconvergeGoal is the bound from disruption to converged.
const reconvergeGoal = 10 * time.Second

func graftedWithWatcher(t *testing.T) (*unit, testbed.GraftState) {
	u := bootRelabelled140(t, "bookworm")
	u.graft()
	u.requireStatus("active", "conf.d read by")
	require.Equal(t, "active", u.service("magnum-capi-graft-watcher").ActiveState, "the watcher runs after install")
	u.awaitAPIReady()
	// Let the watcher's echo of the graft itself pass.
	time.Sleep(4 * time.Second)
	return u, u.box.GraftState()
}

// awaitAPIReady waits until magnum-api has loaded Magnum in all its
// workers (see testbed.Box.AwaitAPIReady).
func (u *unit) awaitAPIReady() {
	u.t.Helper()
	require.NoError(u.t, u.box.AwaitAPIReady(u.ctx, 90*time.Second))
}

func (u *unit) awaitConverged(want testbed.GraftState, start time.Time, limit time.Duration) time.Duration {
	u.t.Helper()
	took, err := u.box.AwaitConverged(u.ctx, want, start, limit)
	require.NoError(u.t, err)
	return took
}

// assertQuick judges a re-graft's time from start against the goal. The
// time systemd spent stopping Magnum's services is the principal's, not the
// charm's (bookworm's magnum-api often takes 15 s to stop: see
// testbed.Box.StopTime), so that time is logged and left out.
func (u *unit) assertQuick(what string, took time.Duration, start time.Time) {
	u.t.Helper()
	stops := u.box.StopTime(u.ctx, start)
	u.t.Logf("%s: converged %s later (%s of it stopping Magnum's services)", what, took.Round(time.Millisecond), stops.Round(time.Millisecond))
	assert.Less(u.t, took-stops, reconvergeGoal, "%s: the charm's share", what)
}

func scenario(name string) testbed.Scenario {
	for _, s := range testbed.Scenarios {
		if strings.HasPrefix(s.Name, name) {
			return s
		}
	}
	panic("no scenario " + name)
}

// TestWatcherRegraftsDeletedWiring: the wiring file deleted, systemd reloaded
// and the services restarted by hand; the graft comes back by itself.
func TestWatcherRegraftsDeletedWiring(t *testing.T) {
	u, want := graftedWithWatcher(t)
	start := time.Now()
	require.NoError(t, scenario("wiring deleted").Disrupt(u.ctx, u.box))
	took := u.awaitConverged(want, start, 30*time.Second)
	u.assertQuick("wiring deleted", took, start)
}

// TestGraftSurvivesPackageReinstall: the principal's packages are
// reinstalled as a package upgrade would (conffiles replaced, services
// restarted by the maintainer scripts). The graft's files are not conffiles,
// so nothing needs re-grafting: the test proves the restarted services come
// back reading conf.d within the goal, and that the watcher's reaction to the
// storm of changes is at most one (no-op) re-graft.
func TestGraftSurvivesPackageReinstall(t *testing.T) {
	u, want := graftedWithWatcher(t)
	condStarts := u.starts("magnum-conductor")
	before := u.box.Regrafts(u.ctx)
	start := time.Now()
	require.NoError(t, scenario("apt-get install --reinstall").Disrupt(u.ctx, u.box))
	// The goal counts from the principal's change having happened: apt's own
	// run (unpacking, restarting services) is not the charm's to speed up.
	done := time.Now()
	took := u.awaitConverged(want, done, 60*time.Second)
	t.Logf("the reinstall took %s", done.Sub(start).Round(time.Millisecond))
	u.assertQuick("after the reinstall finished", took, done)
	require.Greater(t, u.starts("magnum-conductor"), condStarts, "the reinstall did not restart the conductor: the test proves nothing")
	// Debounced: the reinstall restarted both services and rewrote dpkg's
	// status several times; wait out the watcher and count its re-grafts.
	time.Sleep(8 * time.Second)
	assert.LessOrEqual(t, u.box.Regrafts(u.ctx)-before, 1, "one package reinstall should give at most one re-graft")
}

// TestWatcherRestoresTheDriver: the driver's version directory removed, then
// its activation file; each time the driver loads as magnum again by itself.
// A removed directory is reinstalled byte for byte and costs no restart. A
// removed .pth put back costs no restart either while both services are
// the processes that read it when they started (charm/readings: Python
// reads a .pth only then), and it keeps its mtime; when one started while
// it was missing, both restart (all or none: the fresh mtime is what owes
// a restart to a service a killed hook did not restart).
func TestWatcherRestoresTheDriver(t *testing.T) {
	u, want := graftedWithWatcher(t)
	pth := u.box.ActivationFile()
	for _, sc := range []struct {
		name string
		// by hand restarts the conductor after the disruption, before the
		// watcher re-grafts.
		by       bool
		api, con int
	}{
		{name: "driver version directory removed"},
		{name: "driver activation (.pth) removed"},
		{name: "driver activation (.pth) removed", by: true, api: 1, con: 2},
	} {
		api, cond := u.starts("magnum-api"), u.starts("magnum-conductor")
		before, err := os.Stat(u.box.Path(pth))
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, scenario(sc.name).Disrupt(u.ctx, u.box))
		if sc.by {
			u.run("systemctl", "restart", "magnum-conductor")
		}
		require.Error(t, u.box.DriverLoadsAsMagnum(u.ctx), "%s: the driver still loads: the disruption proves nothing", sc.name)
		took := u.awaitConverged(want, start, 30*time.Second)
		u.assertQuick(sc.name, took, start)
		t.Logf("%s: the services and the watcher since:\n%s", sc.name, u.run("journalctl", "--no-pager", "-o", "short-precise",
			"-u", "magnum-api", "-u", "magnum-conductor", "-u", "magnum-capi-graft-watcher", "--since", fmt.Sprintf("@%d", start.Unix())))
		assert.Equal(t, api+sc.api, u.starts("magnum-api"), "%s (conductor restarted by hand: %v)", sc.name, sc.by)
		assert.Equal(t, cond+sc.con, u.starts("magnum-conductor"), "%s (conductor restarted by hand: %v)", sc.name, sc.by)
		after, err := os.Stat(u.box.Path(pth))
		require.NoError(t, err)
		if !sc.by {
			assert.True(t, after.ModTime().Equal(before.ModTime()), "%s: the .pth has mtime %s, had %s", sc.name, after.ModTime(), before.ModTime())
		} else {
			assert.True(t, after.ModTime().After(before.ModTime()), "%s: the .pth has mtime %s, had %s", sc.name, after.ModTime(), before.ModTime())
		}
		u.requireStatus("active", "conf.d read by")
		// The next disruption must not fall in this re-graft's 30 s window.
		time.Sleep(31 * time.Second)
		u.awaitAPIReady()
	}
}

// TestWatcherStopsAfterTwoFailedRegrafts: the driver's directory is removed
// while the charm cannot reinstall it (no resource). Two re-grafts fail, the
// watcher stops and the status says why and what to do; it stays stopped
// across a restart of the watcher; a config change starts it again.
func TestWatcherStopsAfterTwoFailedRegrafts(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	u.graft("driver-source", "resource")
	u.requireStatus("active", "conf.d read by")
	time.Sleep(4 * time.Second)
	require.NoError(t, u.box.DetachResource(u.ctx, "driver"))

	require.NoError(t, scenario("driver version directory removed").Disrupt(u.ctx, u.box))
	u.awaitJournal("re-graft failed", 1, 20*time.Second)
	u.requireStatus("blocked", "no driver resource")
	// One failure doubles the interval to 60 s: the second change is
	// re-grafted a minute after the first failure.
	u.run("systemctl", "restart", "magnum-conductor")
	u.awaitJournal("re-graft failed", 2, 90*time.Second)
	u.awaitJournal("re-grafts stopped: 2 failed in a row", 1, 5*time.Second)
	before := u.box.Regrafts(u.ctx)
	u.requireStatus("blocked", "automatic re-grafts stopped after 2 failures in a row: fix the cause, then change the config or run the regraft action")
	out := u.action("verify", nil)
	require.NotNil(t, out.Results["watcher"], "verify has a watcher check")
	watcher := out.Results["watcher"].(map[string]any)
	assert.Equal(t, "false", watcher["pass"])
	assert.Contains(t, watcher["evidence"], "re-grafts stopped after 2 failures in a row")

	// Stopped survives a restart (a reboot, a charm upgrade): a fresh
	// watcher would otherwise re-graft within seconds.
	u.run("systemctl", "restart", "magnum-capi-graft-watcher")
	u.awaitJournal("re-grafts stopped: 2 failed in a row", 2, 10*time.Second)
	u.run("systemctl", "restart", "magnum-conductor")
	time.Sleep(10 * time.Second)
	assert.Equal(t, before, u.box.Regrafts(u.ctx), "a stopped watcher re-grafted")

	// The operator attaches the driver again and changes the config.
	_, err := u.box.AttachGraftResources(u.ctx, testbed.Relabelled("1.4.0"))
	require.NoError(t, err)
	u.config("namespace-prefix", "graft2")
	u.hook("config-changed")
	u.requireStatus("active", "conf.d read by")
	u.awaitJournal("re-graft failures cleared by the charm: re-grafting again", 1, 10*time.Second)
	want := u.box.GraftState()
	u.awaitAPIReady()
	start := time.Now()
	require.NoError(t, scenario("driver activation (.pth) removed").Disrupt(u.ctx, u.box))
	took := u.awaitConverged(want, start, 45*time.Second)
	t.Logf("re-grafting again after the config change: converged %s after the .pth was removed (%s of it stopping Magnum's services)",
		took, u.box.StopTime(u.ctx, start))
}

// awaitJournal waits until the watcher's journal holds substr at least n
// times.
func (u *unit) awaitJournal(substr string, n int, limit time.Duration) {
	u.t.Helper()
	var out string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		out = u.run("journalctl", "-u", "magnum-capi-graft-watcher", "--no-pager", "-o", "cat")
		if strings.Count(out, substr) >= n {
			return
		}
	}
	u.t.Fatalf("the watcher's journal does not say %q %d times within %s:\n%s", substr, n, limit, out)
}

// TestWatcherSurvivesReboot: after a reboot the watcher is back (enabled,
// ordered after Magnum's services, whose start at boot it does not take for
// drift), the graft is in effect without any hook, and the watcher still
// re-grafts.
func TestWatcherSurvivesReboot(t *testing.T) {
	u, want := graftedWithWatcher(t)
	before := u.service("magnum-capi-graft-watcher").MainPID
	require.NoError(t, u.box.Reboot(u.ctx))
	require.NoError(t, u.box.StartManagementCluster(u.ctx, artifacts.FakeK8s))
	w := u.service("magnum-capi-graft-watcher")
	require.Equal(t, "active", w.ActiveState, "the watcher is not running after the reboot")
	require.NotEqual(t, before, w.MainPID)
	took := u.awaitConverged(want, time.Now(), 30*time.Second)
	t.Logf("graft in effect %s after Magnum came up", took)
	u.awaitAPIReady()
	// Magnum's start at boot is not a change; give the watcher time to
	// (wrongly) react before counting. The count reads this boot's journal:
	// make sure it is there to read, or zero would prove nothing.
	time.Sleep(5 * time.Second)
	require.Contains(t, u.run("journalctl", "-b", "-u", "magnum-capi-graft-watcher", "--no-pager", "-o", "cat"), "watching ",
		"this boot's journal has no watcher start")
	assert.Zero(t, u.box.Regrafts(u.ctx), "the watcher re-grafted at boot")
	u.requireStatus("active", "conf.d read by")

	start := time.Now()
	require.NoError(t, scenario("wiring deleted").Disrupt(u.ctx, u.box))
	took = u.awaitConverged(want, start, 30*time.Second)
	u.assertQuick("after the reboot, wiring deleted", took, start)
}

// TestWatcherHonoursPause: while the conductor is paused (stopped, disabled,
// masked) nothing starts it; after resume the graft is in effect.
func TestWatcherHonoursPause(t *testing.T) {
	u, want := graftedWithWatcher(t)
	starts := u.starts("magnum-conductor")
	pause := scenario("pause")
	require.NoError(t, pause.Disrupt(u.ctx, u.box))
	time.Sleep(8 * time.Second)
	assert.Equal(t, "inactive", u.service("magnum-conductor").ActiveState, "a paused service was started")
	assert.Equal(t, starts, u.starts("magnum-conductor"))
	u.requireStatus("waiting", "magnum-conductor is masked (paused)")

	start := time.Now()
	require.NoError(t, pause.Resume(u.ctx, u.box))
	took := u.awaitConverged(want, start, 30*time.Second)
	u.assertQuick("resumed", took, start)
	// The status catches up through the watcher's update-status, which
	// re-grafts at most once per 30 s (the pause itself triggered one).
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if s, _ := u.status(); s == "active" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	u.requireStatus("active", "conf.d read by")
}

// TestWatcherIsSmall: the idle watcher's memory, measured after its
// busiest moment (a package reinstall: a storm of D-Bus signals, dpkg
// status rewrites and a re-graft check), once it is idle again.
func TestWatcherIsSmall(t *testing.T) {
	u, want := graftedWithWatcher(t)
	require.NoError(t, scenario("apt-get install --reinstall").Disrupt(u.ctx, u.box))
	u.awaitConverged(want, time.Now(), 60*time.Second)
	time.Sleep(12 * time.Second)
	pid := u.service("magnum-capi-graft-watcher").MainPID
	require.NotZero(t, pid)
	status := u.run("cat", "/proc/"+itoa(pid)+"/status")
	kB := map[string]int{}
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(k, "Rss") || k == "VmRSS" {
			kB[k] = atoi(strings.Fields(v)[0])
		}
	}
	t.Logf("idle watcher after a package reinstall: VmRSS %d kB (anon %d kB, file %d kB)", kB["VmRSS"], kB["RssAnon"], kB["RssFile"])
	assert.Greater(t, kB["VmRSS"], 0)
	assert.Less(t, kB["VmRSS"], 15*1024, "idle watcher RSS must stay under 15 MB")
}

// TestWatcherFollowsCharmUpgrade: upgrade-charm puts the watcher onto the
// new binary (the unit file names the binary's identity, size and mtime), and
// a converged upgrade restarts nothing else.
func TestWatcherFollowsCharmUpgrade(t *testing.T) {
	u, _ := graftedWithWatcher(t)
	before := u.service("magnum-capi-graft-watcher").MainPID
	unitFile := func() string {
		b, err := os.ReadFile(u.box.Path("/etc/systemd/system/magnum-capi-graft-watcher.service"))
		require.NoError(t, err)
		return string(b)
	}
	oldUnit := unitFile()
	api, cond := u.starts("magnum-api"), u.starts("magnum-conductor")

	// Juju unpacks the new revision over the charm directory: here the same
	// bytes with a new mtime, which is all the identity check sees.
	u.run("touch", testbed.CharmDir+"/bin/magnum-capi-graft")
	u.hook("upgrade-charm")
	u.requireStatus("active", "conf.d read by")
	w := u.service("magnum-capi-graft-watcher")
	assert.Equal(t, "active", w.ActiveState)
	assert.NotEqual(t, before, w.MainPID, "the watcher still runs the old binary")
	assert.NotEqual(t, oldUnit, unitFile(), "the unit file does not name the new binary")
	assert.Contains(t, unitFile(), "MAGNUM_CAPI_GRAFT_BUILD=")
	assert.Equal(t, api, u.starts("magnum-api"), "upgrade-charm restarted magnum-api")
	assert.Equal(t, cond, u.starts("magnum-conductor"), "upgrade-charm restarted magnum-conductor")
}
