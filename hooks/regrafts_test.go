package hooks

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
)

// The record of the watcher's failed re-grafts through a story: two failed
// re-grafts stop the watcher and the status says so; Juju's own
// update-status keeps saying so; a config change starts again.
func TestRegraftFailuresStopAndRestart(t *testing.T) {
	rt := &Runtime{State: state.Dir(t.TempDir())}
	fromWatcher := Event{Kind: Hook, Name: "update-status", FromWatcher: true}
	updateStatus := Event{Kind: Hook, Name: "update-status"}
	const broken = "driver resource is missing: juju attach-resource magnum-capi-graft driver=..."

	msg, err := rt.noteRegraft(fromWatcher, false, hooktool.Blocked, broken)
	assert.EqualError(t, err, "re-graft ended blocked (1 in a row): "+broken, "the watcher hears of the failure through the hook's exit")
	assert.Equal(t, broken, msg, "one failure does not stop anything yet")
	_, stopped := rt.watcherStopped()
	assert.False(t, stopped)

	// A paused principal is neither success nor failure.
	msg, err = rt.noteRegraft(fromWatcher, false, hooktool.Waiting, "magnum-conductor is masked (paused)")
	require.NoError(t, err)
	assert.Equal(t, "magnum-conductor is masked (paused)", msg)

	msg, err = rt.noteRegraft(fromWatcher, false, hooktool.Blocked, broken)
	assert.ErrorContains(t, err, "(2 in a row)")
	assert.Equal(t, broken+"; automatic re-grafts stopped after 2 failures in a row: fix the cause, then change the config or run the regraft action", msg)
	f, stopped := rt.watcherStopped()
	assert.True(t, stopped)
	assert.Equal(t, broken, f.Reason)

	// Juju's update-status, still blocked: no count, the status keeps the hint.
	msg, err = rt.noteRegraft(updateStatus, false, hooktool.Blocked, broken)
	require.NoError(t, err, "Juju's own hook must not fail")
	assert.Contains(t, msg, "automatic re-grafts stopped after 2 failures")
	f, _ = rt.watcherStopped()
	assert.Equal(t, 2, f.Count)

	// The operator fixes it and changes the config: a forced hook, even one
	// that ends blocked for another reason, starts again.
	msg, err = rt.noteRegraft(Event{Kind: Hook, Name: "config-changed"}, true, hooktool.Blocked, "something else")
	require.NoError(t, err)
	assert.Equal(t, "something else", msg)
	_, stopped = rt.watcherStopped()
	assert.False(t, stopped)
	assert.NoFileExists(t, rt.State.Path(state.RegraftFailures))
}

// stoppedRuntime is a Runtime whose record says the watcher stopped after
// failures ending in reason.
func stoppedRuntime(t *testing.T, reason string) *Runtime {
	rt := &Runtime{State: state.Dir(t.TempDir())}
	for range watcher.MaxFailures {
		_, err := watcher.RecordFailure(rt.State, reason, time.Now())
		require.NoError(t, err)
	}
	return rt
}

func TestRegraftFailuresClearedByAnActiveUnit(t *testing.T) {
	rt := stoppedRuntime(t, "x")
	// Juju's update-status finds the graft converged and the cluster fine.
	msg, err := rt.noteRegraft(Event{Kind: Hook, Name: "update-status"}, false, hooktool.Active, "grafted")
	require.NoError(t, err)
	assert.Equal(t, "grafted", msg)
	assert.NoFileExists(t, rt.State.Path(state.RegraftFailures))
}

// While stopped, a re-graft the watcher asks for is refused before anything
// runs (this Runtime has no hook tools and no systemd to touch).
func TestWatcherRegraftRefusedWhileStopped(t *testing.T) {
	rt := stoppedRuntime(t, "blocked: x")
	err := rt.Run(context.Background(), Event{Kind: Hook, Name: "update-status", FromWatcher: true})
	assert.EqualError(t, err, "automatic re-grafts are stopped after 2 failures in a row (last: blocked: x)")
}

// The watcher hears that a re-graft changed the unit when it applied a
// plan or staged an artifact, and only then.
func TestChangedUnit(t *testing.T) {
	applied := &plan.Plan{Changes: []plan.Change{{Path: "/etc/magnum/magnum.conf.d/99-capi.conf"}}}
	assert.False(t, changedUnit(reconcile.Outcome{Plan: &plan.Plan{}}), "converged")
	assert.False(t, changedUnit(reconcile.Outcome{}), "stopped before a plan")
	assert.True(t, changedUnit(reconcile.Outcome{Plan: applied}), "a plan applied")
	assert.True(t, changedUnit(reconcile.Outcome{Plan: &plan.Plan{}, Staged: true}), "a version directory put back")
}
