//go:build integration

package integration

import (
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
	u := boot(t, "bookworm")
	u.graft()
	u.requireStatus("active", "conf.d read by")
	require.Equal(t, "active", u.service("magnum-capi-graft-watcher").ActiveState, "the watcher runs after install")
	// Let the watcher's echo of the graft itself pass.
	time.Sleep(4 * time.Second)
	return u, u.box.GraftState()
}

func (u *unit) awaitConverged(want testbed.GraftState, start time.Time, limit time.Duration) time.Duration {
	u.t.Helper()
	took, err := u.box.AwaitConverged(u.ctx, want, start, limit)
	require.NoError(u.t, err)
	return took
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
	t.Logf("re-grafted %s after the wiring was deleted", took)
	assert.Less(t, took, reconvergeGoal)
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
	t.Logf("converged %s after the reinstall finished (%s after it started)", took, time.Since(start).Round(time.Millisecond))
	assert.Less(t, took, reconvergeGoal)
	require.Greater(t, u.starts("magnum-conductor"), condStarts, "the reinstall did not restart the conductor: the test proves nothing")
	// Debounced: the reinstall restarted both services and rewrote dpkg's
	// status several times; wait out the watcher and count its re-grafts.
	time.Sleep(8 * time.Second)
	assert.LessOrEqual(t, u.box.Regrafts(u.ctx)-before, 1, "one package reinstall should give at most one re-graft")
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
	t.Logf("graft in effect %s after resume", took)
	assert.Less(t, took, reconvergeGoal)
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

// TestWatcherIsSmall: the idle watcher's memory.
func TestWatcherIsSmall(t *testing.T) {
	u, _ := graftedWithWatcher(t)
	pid := u.service("magnum-capi-graft-watcher").MainPID
	require.NotZero(t, pid)
	status := u.run("cat", "/proc/"+itoa(pid)+"/status")
	var rssKB int
	for _, l := range strings.Split(status, "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			rssKB = atoi(strings.Fields(l)[1])
		}
	}
	t.Logf("idle watcher RSS %d kB", rssKB)
	assert.Greater(t, rssKB, 0)
	assert.Less(t, rssKB, 15*1024, "idle watcher RSS must stay under 15 MB")
}
