//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// The watcher's re-grafts through Juju's own juju-exec (testbed/juju), with
// the unit agent's rule that a unit runs one operation at a time.

const stateDir = state.DefaultDir

// triggerRecord reads the watcher's record of its last trigger.
func (u *unit) triggerRecord() watcher.TriggerRecord {
	u.t.Helper()
	r, err := watcher.LoadTrigger(state.Dir(u.box.Path(stateDir)))
	require.NoError(u.t, err)
	return r
}

// awaitTrigger waits until the watcher's record says outcome.
func (u *unit) awaitTrigger(outcome string, limit time.Duration) watcher.TriggerRecord {
	u.t.Helper()
	var r watcher.TriggerRecord
	require.Eventually(u.t, func() bool { r = u.triggerRecord(); return r.Outcome == outcome }, limit, 200*time.Millisecond,
		"the watcher's trigger never ended %s; last record %+v", outcome, r)
	return r
}

// verifyCheck runs verify and returns its watcher check's result and
// evidence.
func (u *unit) verifyCheck(name string) (bool, string) {
	u.t.Helper()
	out := u.action("verify", nil)
	c, ok := out.Results[name].(map[string]any)
	require.True(u.t, ok, "verify has no %s check: %v", name, out.Results)
	return str(c["pass"]) == "true", str(c["evidence"])
}

// TestWatcherWaitsBehindALongAction: a smoke-test (a parallel action, held
// long by the contract server) runs on the unit when the principal's
// wiring is deleted. Juju runs one operation per unit at a time, so the
// watcher's juju-exec waits: no re-graft while the action runs, the
// watcher says it waits and is not stopped, and the graft is back within
// the goal once the action ends.
func TestWatcherWaitsBehindALongAction(t *testing.T) {
	u, want := graftedWithWatcher(t)
	const hold = 50 * time.Second
	conn, err := u.box.StartFakeCloud(u.ctx, artifacts.FakeCloud, "--hold", hold.String())
	require.NoError(t, err)
	args := []string{"add-secret", "--grant"}
	for k, v := range conn.SecretContent(nil) {
		if k != "cacert" {
			args = append(args, k+"="+v)
		}
	}
	out, err := u.box.Fake(u.ctx, append(args, "cacert#file="+conn.CAFile)...)
	require.NoError(t, err)
	params := conn.SmokeTestParams()
	params["credentials"] = strings.TrimSpace(out)
	params["timeout"] = "5m"

	type result struct {
		out *testbed.ActionOutcome
		err error
		end time.Time
	}
	done := make(chan result, 1)
	go func() {
		out, err := u.box.Action(u.ctx, "smoke-test", params)
		done <- result{out, err, time.Now()}
	}()
	// The action runs once its first progress line is logged.
	require.Eventually(t, func() bool {
		st, err := u.box.State()
		return err == nil && st.Action != nil && st.Action.Name == "smoke-test" && len(st.ActionLogs) > 0
	}, time.Minute, 200*time.Millisecond, "the smoke test never started")

	regrafts := u.box.Regrafts(u.ctx)
	require.NoError(t, scenario("wiring deleted").Disrupt(u.ctx, u.box))
	rec := u.awaitTrigger(watcher.TriggerWaiting, 45*time.Second)
	t.Logf("while the action runs, the watcher's record: %s", rec.Reason)
	select {
	case r := <-done:
		t.Fatalf("the action ended (%v) before the test saw the watcher wait: make the hold longer", r.err)
	default:
	}
	assert.Equal(t, regrafts, u.box.Regrafts(u.ctx), "no re-graft ran while the action held the unit")
	_, err = u.box.AwaitConverged(u.ctx, want, time.Now(), time.Second)
	require.Error(t, err, "the graft must still be broken while the action runs")

	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, "completed", r.out.Status, "the smoke test: %s", r.out.Message)
	took := u.awaitConverged(want, r.end, 30*time.Second)
	u.assertQuick("wiring deleted behind a smoke test, from the action's end", took, r.end)
	rec = u.awaitTrigger(watcher.TriggerOK, 30*time.Second)
	assert.Equal(t, 0, rec.Failed)
	ok, evidence := u.verifyCheck("watcher")
	assert.True(t, ok, "the watcher is not stopped and its triggers work: %s", evidence)
}

// TestVerifySaysWhenTriggersFail: with the unit agent down, juju-exec
// cannot deliver the watcher's re-graft. verify's watcher check fails and
// says why; once the agent is back, the watcher's retry repairs the unit
// without any new change, and the check passes again.
func TestVerifySaysWhenTriggersFail(t *testing.T) {
	u, want := graftedWithWatcher(t)
	u.run("systemctl", "stop", testbed.AgentService)
	require.NoError(t, scenario("wiring deleted").Disrupt(u.ctx, u.box))
	rec := u.awaitTrigger(watcher.TriggerFailed, 30*time.Second)
	t.Logf("trigger failed: %s", rec.Reason)
	assert.Contains(t, rec.Reason, "dialing juju run socket", "juju-exec's own words")

	ok, evidence := u.verifyCheck("watcher")
	assert.False(t, ok, "verify must fail the watcher check while triggers fail")
	assert.Contains(t, evidence, "failed before the charm's hook could run its re-graft")
	assert.Contains(t, evidence, "dialing juju run socket")

	u.run("systemctl", "start", testbed.AgentService)
	back := time.Now()
	// The retry comes after the backoff one failure owes (2 x 30 s).
	took := u.awaitConverged(want, back, 90*time.Second)
	t.Logf("repaired %s after the agent came back, by the watcher's retry", took.Round(time.Millisecond))
	rec = u.awaitTrigger(watcher.TriggerOK, 30*time.Second)
	assert.Equal(t, 0, rec.Failed)
	ok, evidence = u.verifyCheck("watcher")
	assert.True(t, ok, "%s", evidence)
}
