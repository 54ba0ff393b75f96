package reconcile

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/rolling"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

const (
	unit0 = "magnum-capi-graft/0"
	unit1 = "magnum-capi-graft/1"
)

// rollBed is the apply bed as unit 0 of two in the peer relation, with
// the fake Juju's state behind its hook tools; leader says whether unit 0
// leads. answers records the HTTP proofs asked for and fails them with
// answerErr.
type rollBed struct {
	*applyBed
	state     string
	answers   int
	answerErr error
	// cmdline is every restarted service's live command line.
	cmdline []string
}

func newRollBed(t *testing.T, leader bool) *rollBed {
	t.Helper()
	b := &rollBed{applyBed: newApplyBed(t), state: filepath.Join(t.TempDir(), "state.json")}
	st := fakejuju.NewState(unit0)
	st.Leader = leader
	r := st.AddRelation(1, rolling.Endpoint, "magnum-capi-graft")
	r.Join(unit0, unit0, nil)
	r.Join(unit0, unit1, map[string]string{"roll-want": "other"})
	require.NoError(t, fakejuju.Create(b.state, st))
	b.r.Juju = hooktool.New(fakejuju.NewRunner(b.state))
	b.r.Env.UnitName = unit0
	b.r.APIAnswers = func(ctx context.Context, pid int, timeout time.Duration) error {
		b.answers++
		return b.answerErr
	}
	b.cmdline = []string{"/usr/bin/uwsgi", "--ini", "/etc/magnum/magnum-api-uwsgi.ini"}
	b.r.Cmdline = func(pid uint32) ([]string, error) { return b.cmdline, nil }
	return b
}

// hook is one hook's converge and what it tells the others, committed.
func (b *rollBed) hook() (bool, error) {
	b.t.Helper()
	b.r.roll = roll{}
	applied, err := b.converge(false)
	// As reconcile marks it once the converge is committed.
	b.r.roll.converged = err == nil
	var w waiting
	if err == nil || artifact.IsBlocked(err) || errors.As(err, &w) {
		_, err := b.r.roll.outcome(b.change).Tell(context.Background(), b.r.peers, "")
		require.NoError(b.t, err)
	}
	require.NoError(b.t, fakejuju.EndHook(b.state, true))
	return applied, err
}

func (b *rollBed) settings() (own, app map[string]string) {
	b.t.Helper()
	st, err := fakejuju.Load(b.state)
	require.NoError(b.t, err)
	r, err := st.Relation(1)
	require.NoError(b.t, err)
	return r.Units[unit0], r.Applications["magnum-capi-graft"]
}

// A unit that serves and has no turn asks for one and changes nothing.
func TestServingUnitWaitsForItsTurn(t *testing.T) {
	b := newRollBed(t, false)
	applied, err := b.hook()
	var w waiting
	require.True(t, errors.As(err, &w), "waiting: %v", err)
	assert.Equal(t, "rolling restart: asked the leader for a turn", w.msg)
	assert.False(t, applied)
	b.untouched()
	assert.Empty(t, b.sd.Restarts)
	own, _ := b.settings()
	assert.Equal(t, b.change, own["roll-want"])
	assert.Equal(t, "config", own["roll-kind"])
}

// A unit whose services are down takes no turn: nothing it serves goes
// down.
func TestDownUnitNeedsNoTurn(t *testing.T) {
	b := newRollBed(t, false)
	for i := range b.unit.Services {
		b.unit.Services[i].ActiveState, b.unit.Services[i].MainPID, b.unit.Services[i].Cmdline = "inactive", 0, nil
	}
	_, err := b.hook()
	require.NoError(t, err)
	own, _ := b.settings()
	assert.Empty(t, own["roll-want"])
	assert.Equal(t, b.change, own["roll-done"], "the others hear the unit runs the change")
	assert.Zero(t, b.answers)
}

// A paused unit (charm-magnum masks and stops the services) takes no turn:
// it writes the graft, restarts nothing, and reads it when resumed.
func TestPausedUnitNeedsNoTurn(t *testing.T) {
	b := newRollBed(t, false)
	for i := range b.unit.Services {
		b.unit.Services[i].UnitFileState, b.unit.Services[i].ActiveState, b.unit.Services[i].MainPID = "masked", "inactive", 0
		b.unit.Services[i].Cmdline = nil
	}
	_, err := b.hook()
	require.NoError(t, err)
	assert.Empty(t, b.sd.Restarts)
	own, _ := b.settings()
	assert.Empty(t, own["roll-want"])
	assert.Equal(t, b.change, own["roll-done"])
}

// An unwired unit (the principal reinstalled under the charm) takes no
// turn either.
func TestUnwiredUnitNeedsNoTurn(t *testing.T) {
	b := newRollBed(t, false)
	for i := range b.unit.Services {
		b.unit.Services[i].Cmdline = []string{"/usr/bin/" + b.unit.Services[i].Name, "--config-dir=/elsewhere"}
	}
	applied, err := b.hook()
	require.NoError(t, err)
	assert.True(t, applied)
	assert.Equal(t, []string{"magnum-api.service", "magnum-conductor.service"}, b.sd.Restarts)
}

// The leader grants itself the first turn (unit order), restarts, proves
// magnum-api answers, and hands the turn to unit 1 in the same hook.
func TestLeaderTakesItsTurnAndHandsItOn(t *testing.T) {
	b := newRollBed(t, true)
	// Unit 1 wants the same change.
	b.unit1Wants(t)
	applied, err := b.hook()
	require.NoError(t, err)
	assert.True(t, applied)
	assert.Equal(t, 1, b.answers, "magnum-api proved to answer before the turn went on")
	own, app := b.settings()
	assert.Equal(t, b.change, own["roll-done"])
	assert.Empty(t, own["roll-want"])
	assert.Equal(t, unit1, app["roll-turn"])
	assert.Equal(t, unit0+","+unit1, app["roll-order"])
}

// A restarted magnum-api that does not answer: the unit rolls back on
// itself, the failure is remembered and said, and the roll stops naming
// the unit and why.
func TestNoAnswerRollsBackAndStopsTheRoll(t *testing.T) {
	b := newRollBed(t, true)
	b.unit1Wants(t)
	b.answerErr = errors.New("connection refused")
	_, err := b.hook()
	require.True(t, artifact.IsBlocked(err), "%v", err)
	assert.Contains(t, err.Error(), "magnum-api does not answer HTTP after its restart: connection refused; rolled back")
	b.untouched()
	assert.Equal(t, []string{"magnum-api.service", "magnum-conductor.service", "magnum-api.service", "magnum-conductor.service"}, b.sd.Restarts,
		"restarted into the change, then back onto the old files")
	own, app := b.settings()
	assert.Equal(t, b.change, own["roll-failed"])
	assert.Empty(t, app["roll-turn"], "unit 1 gets no turn")
	assert.Equal(t, unit0, app["roll-stopped-by"])
	assert.Contains(t, app["roll-stopped"], "does not answer HTTP")

	// The next hook says the failure again and restarts nothing.
	_, err = b.hook()
	require.True(t, artifact.IsBlocked(err))
	assert.Len(t, b.sd.Restarts, 4)
}

// A restarted service whose live command line does not keep the wiring's
// promise fails the turn's proof as a canary's failure does: the unit
// rolls back, magnum-api is not even asked, and the roll stops naming the
// unit and why.
func TestBrokenWiringAfterRestartStopsTheRoll(t *testing.T) {
	b := newRollBed(t, true)
	b.unit1Wants(t)
	b.cmdline = []string{"/usr/bin/uwsgi", "--pyargv", "--config-dir=/etc/elsewhere"}
	_, err := b.hook()
	require.True(t, artifact.IsBlocked(err), "%v", err)
	assert.Contains(t, err.Error(), "magnum-api does not keep the wiring's promise (default-dirs) after its restart")
	assert.Contains(t, err.Error(), "rolled back")
	b.untouched()
	assert.Zero(t, b.answers, "the wiring is proved before magnum-api is asked")
	assert.Equal(t, []string{"magnum-api.service", "magnum-conductor.service", "magnum-api.service", "magnum-conductor.service"}, b.sd.Restarts)
	own, app := b.settings()
	assert.Equal(t, b.change, own["roll-failed"])
	assert.Empty(t, app["roll-turn"], "unit 1 gets no turn")
	assert.Equal(t, unit0, app["roll-stopped-by"])
	assert.Contains(t, app["roll-stopped"], "does not keep the wiring's promise")
}

// The regraft action after the roll stopped on this unit (not the leader):
// the unit asks again with the operator's retry, and forgets its failure,
// so the hook that gets the turn tries the change instead of refusing it
// from memory; once granted it makes the change and hands the turn on.
func TestRegraftRetriesAStoppedRoll(t *testing.T) {
	b := newRollBed(t, false)
	b.answerErr = errors.New("connection refused")
	fp := b.desiredChange(t)
	// The roll of fp stopped on this unit.
	require.NoError(t, fakejuju.Update(b.state, func(st *fakejuju.State) error {
		r, _ := st.Relation(1)
		r.Applications["magnum-capi-graft"] = map[string]string{"roll-fp": fp, "roll-order": unit0 + "," + unit1,
			"roll-stopped": "magnum-api does not answer", "roll-stopped-by": unit0, "roll-refused": fp}
		r.Units[unit0] = map[string]string{"roll-failed": fp, "roll-reason": "magnum-api does not answer"}
		r.Units[unit1] = map[string]string{"roll-want": fp}
		return nil
	}))
	require.NoError(t, b.r.State.RememberFailure(b.desiredHash(t), "magnum-api does not answer HTTP after its restart"))
	// An update-status: refused from memory, nothing restarts.
	_, err := b.hook()
	require.True(t, artifact.IsBlocked(err), "%v", err)
	assert.Empty(t, b.sd.Restarts)

	// The regraft action: forced, with the retry; no turn yet.
	b.r.roll = roll{retry: true}
	c := b.r.artifactContext(b.unit, Options{Force: true, Retry: true})
	_, _, err = b.r.converge(context.Background(), c, b.d, b.fp)
	var w waiting
	require.True(t, errors.As(err, &w), "waiting: %v", err)
	assert.Equal(t, "rolling restart: asked the leader to try this change again, on this unit first", w.msg)
	_, err = b.r.roll.outcome(fp).Tell(context.Background(), b.r.peers, "")
	require.NoError(t, err)
	require.NoError(t, fakejuju.EndHook(b.state, true))
	own, _ := b.settings()
	assert.Equal(t, fp, own["roll-want"])
	assert.Equal(t, fp, own["roll-retry"])
	assert.Empty(t, own["roll-failed"], "the failure on this unit is no longer said to the leader")
	_, remembered := b.r.State.FailedBefore(b.hash)
	assert.False(t, remembered, "the memory of the failure is gone")

	// The leader's relation-changed grants this unit the turn again.
	require.NoError(t, fakejuju.Update(b.state, func(st *fakejuju.State) error {
		r, _ := st.Relation(1)
		units := []rolling.Request{{Unit: unit0, Want: fp, Kind: rolling.KindConfig, Retry: fp}, {Unit: unit1, Want: fp}}
		app := r.Applications["magnum-capi-graft"]
		roll := rolling.Lead(rolling.Roll{FP: app["roll-fp"], Order: []string{unit0, unit1}, Stopped: app["roll-stopped"],
			StoppedBy: app["roll-stopped-by"], Refused: []string{fp}}, units)
		require.Equal(t, unit0, roll.Turn)
		r.Applications["magnum-capi-graft"] = map[string]string{"roll-fp": roll.FP, "roll-order": unit0 + "," + unit1,
			"roll-turn": roll.Turn, "roll-turn-fp": roll.TurnFP}
		return nil
	}))
	b.answerErr = nil
	applied, err := b.hook()
	require.NoError(t, err)
	assert.True(t, applied, "the granted, unforced hook makes the change")
	own, _ = b.settings()
	assert.Equal(t, fp, own["roll-done"])
	assert.Empty(t, own["roll-retry"])
}

// unit1Wants has unit 1 ask for the change this unit's next hook makes.
func (b *rollBed) unit1Wants(t *testing.T) {
	t.Helper()
	require.NoError(t, fakejuju.Update(b.state, func(st *fakejuju.State) error {
		r, _ := st.Relation(1)
		r.Units[unit1] = map[string]string{"roll-want": b.desiredChange(t)}
		return nil
	}))
}

// desiredChange is the change the bed's desired state resolves to, from a
// dry converge on a copy of the bed.
func (b *rollBed) desiredChange(t *testing.T) string {
	t.Helper()
	c := b.r.artifactContext(b.unit, Options{DryRun: true})
	target, err := b.r.resolve(context.Background(), c, b.d)
	require.NoError(t, err)
	return target.Change
}

// desiredHash is what the bed's desired state's failure is remembered
// under.
func (b *rollBed) desiredHash(t *testing.T) string {
	t.Helper()
	c := b.r.artifactContext(b.unit, Options{DryRun: true})
	target, err := b.r.resolve(context.Background(), c, b.d)
	require.NoError(t, err)
	return target.Hash
}

// The same desired state hashes the same whichever part an artifact's
// activation came in (its record held, or staging found it): a turn asked
// for by a forced hook is taken by the next, unforced, one.
func TestHashIgnoresOrder(t *testing.T) {
	a := &Desired{}
	a.Files = []files.File{{Path: "/a", Content: []byte("1")}, {Path: "/b", Content: []byte("2")}}
	a.Keys = []string{"helm x", "driver y"}
	b := &Desired{}
	b.Files = []files.File{{Path: "/b", Content: []byte("2")}, {Path: "/a", Content: []byte("1")}}
	b.Keys = []string{"driver y", "helm x"}
	assert.Equal(t, a.hash(), b.hash())
	b.Files[0].Content = []byte("3")
	assert.NotEqual(t, a.hash(), b.hash(), "content counts")
}

// The change a unit asks its peers for is the application's, not the
// unit's: a file that is the unit's own (the watcher's unit names it)
// changes its hash, not its change; the graft's options do.
func TestChangeIsTheApplications(t *testing.T) {
	unit := func(name string) *Desired {
		d := &Desired{}
		d.Files = []files.File{{Path: ConfFile, Content: []byte("[capi_helm]\n")},
			{Path: watcher.UnitPath, Content: []byte("juju-exec -u " + name)}}
		d.Keys = []string{"driver resource 1.4.0 abc"}
		return d
	}
	a, b := unit("magnum-capi-graft/0"), unit("magnum-capi-graft/1")
	assert.NotEqual(t, a.hash(), b.hash())
	assert.Equal(t, a.change(), b.change())
	b.Files[0].Content = []byte("[capi_helm]\nnamespace_prefix = x\n")
	assert.NotEqual(t, a.change(), b.change(), "99-capi.conf counts")
	b = unit("magnum-capi-graft/1")
	b.Keys = []string{"driver resource 1.4.0 def"}
	assert.NotEqual(t, a.change(), b.change(), "another wheel counts")
}

// countingRunner counts the hook tools run.
type countingRunner struct {
	hooktool.Runner
	calls int
}

func (c *countingRunner) Run(ctx context.Context, argv []string) ([]byte, error) {
	c.calls++
	return c.Runner.Run(ctx, argv)
}

// A converged unit that took no turn says again what it said last only when
// that was something else: update-status, which passes what was said, asks
// Juju nothing about its peers; a unit that took a turn always says it.
func TestConvergedUnitSaysItsOutcomeToThePeersOnce(t *testing.T) {
	ctx := context.Background()
	b := newRollBed(t, true)
	runner := &countingRunner{Runner: fakejuju.NewRunner(b.state)}
	b.r.Juju = hooktool.New(runner)
	b.unit1Wants(t)

	applied, err := b.hook()
	require.NoError(t, err)
	require.True(t, applied)
	assert.Empty(t, b.r.roll.outcome(b.change).Quiet(), "a unit that took a turn says so every time")

	// The next hook finds the unit converged (its services started after
	// the graft's files) and takes no turn.
	for i := range b.unit.Services {
		b.unit.Services[i].StartedAt = time.Now().Add(time.Second)
	}
	b.r.roll = roll{}
	applied, err = b.converge(false)
	require.NoError(t, err)
	require.False(t, applied)
	b.r.roll.converged = true
	before := runner.calls
	said, err := b.r.roll.outcome(b.change).Tell(ctx, b.r.peers, "")
	require.NoError(t, err)
	assert.Equal(t, "done "+b.change, said)
	assert.Greater(t, runner.calls, before, "said afresh when nothing was said before")

	// The next update-status, as converged, with what was said.
	b.r.roll = roll{converged: true}
	before = runner.calls
	again, err := b.r.roll.outcome(b.change).Tell(ctx, b.r.peers, said)
	require.NoError(t, err)
	assert.Equal(t, said, again)
	assert.Equal(t, before, runner.calls, "the same outcome is not said twice")

	// Another change, a failure or a wait is said whatever was said before.
	b.r.roll = roll{converged: true}
	_, err = b.r.roll.outcome("another").Tell(ctx, b.r.peers, said)
	require.NoError(t, err)
	assert.Greater(t, runner.calls, before)
	b.r.roll = roll{converged: true, failure: "it broke"}
	assert.Empty(t, b.r.roll.outcome(b.change).Quiet())
	b.r.roll = roll{asked: true}
	assert.Empty(t, b.r.roll.outcome(b.change).Quiet())
	require.NoError(t, fakejuju.EndHook(b.state, true))
	own, _ := b.settings()
	assert.Equal(t, "another", own["roll-done"])
}
