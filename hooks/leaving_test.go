package hooks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/removal"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// After a removal hook, no hook, juju-exec command or action grafts again:
// they ask Juju nothing and touch nothing (this Runtime has no systemd, so
// a reconcile that ran would fail).
func TestALeavingUnitIsNeverGraftedAgain(t *testing.T) {
	ctx := context.Background()
	jujuState := t.TempDir() + "/state.json"
	st := fakejuju.NewState(fakejuju.DefaultUnit)
	st.Config = map[string]any{"namespace-prefix": "graft"}
	require.NoError(t, fakejuju.Create(jujuState, st))
	runner := &countingRunner{Runner: fakejuju.NewRunner(jujuState), calls: map[string]int{}}
	rt := &Runtime{Juju: hooktool.New(runner), State: state.Dir(t.TempDir()), CharmDir: t.TempDir()}
	assert.Equal(t, "", rt.leaving())

	rt.setLeaving(leftDone)
	for _, ev := range []Event{
		{Kind: Hook, Name: "update-status"},
		{Kind: Hook, Name: "update-status", FromWatcher: true},
		{Kind: Hook, Name: "secret-changed"},
		{Kind: Hook, Name: "leader-elected"},
		{Kind: Hook, Name: "config-changed"},
	} {
		require.NoError(t, rt.Run(ctx, ev), "%s", ev)
	}
	assert.Zero(t, runner.calls["config-get"])
	assert.Zero(t, runner.calls["status-set"])
	assert.NoDirExists(t, rt.State.Path(state.WheelCache))

	require.NoError(t, fakejuju.Update(jujuState, func(st *fakejuju.State) error {
		st.Action = &fakejuju.Action{Name: "regraft"}
		return nil
	}))
	require.NoError(t, rt.Run(ctx, Event{Kind: Action, Name: "regraft"}))
	s, err := fakejuju.Load(jujuState)
	require.NoError(t, err)
	assert.True(t, s.ActionFailed)
	assert.Contains(t, s.ActionMessage, "this unit is leaving its principal")
	assert.Zero(t, runner.calls["config-get"])
}

// The first removal hook says what it did and left; a later one that finds
// nothing left keeps that status; one that did something says it.
func TestRemovalIsSaidOnce(t *testing.T) {
	nothing, something := &removal.Removal{}, &removal.Removal{Changed: true}
	assert.True(t, sayRemoval(false, nothing), "the first removal hook always says it, even with nothing to do")
	assert.True(t, sayRemoval(false, something))
	assert.False(t, sayRemoval(true, nothing), "stop and remove after relation-broken keep its status")
	assert.True(t, sayRemoval(true, something))

	rt := &Runtime{CharmDir: t.TempDir()}
	rt.setLeaving(leftRemoving)
	assert.Equal(t, leftRemoving, rt.leaving())
	rt.setLeaving(leftDone)
	assert.Equal(t, leftDone, rt.leaving())
	assert.Equal(t, "", (&Runtime{}).leaving(), "outside a unit nothing is noted")
}

// A unit leaving its principal tells its peers it takes no more turns: a
// turn it holds goes back before it departs.
func TestLeavingUnitGivesUpItsTurn(t *testing.T) {
	ctx := context.Background()
	t.Setenv("JUJU_UNIT_NAME", fakejuju.DefaultUnit)
	jujuState := t.TempDir() + "/state.json"
	st := fakejuju.NewState(fakejuju.DefaultUnit)
	r := st.AddRelation(1, "graft", "magnum-capi-graft")
	r.Join(fakejuju.DefaultUnit, fakejuju.DefaultUnit, map[string]string{"roll-want": "abc"})
	require.NoError(t, fakejuju.Create(jujuState, st))
	rt := &Runtime{Juju: hooktool.New(fakejuju.NewRunner(jujuState)), State: state.Dir(t.TempDir()), CharmDir: t.TempDir()}
	var logged []string
	rt.leaveRoll(ctx, func(s string) { logged = append(logged, s) })
	assert.Empty(t, logged)
	require.NoError(t, fakejuju.EndHook(jujuState, true))
	got, err := fakejuju.Load(jujuState)
	require.NoError(t, err)
	rel, err := got.Relation(1)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"roll-leaving": "true"}, rel.Units[fakejuju.DefaultUnit])
}
