package rolling

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// model is several units of the application in the peer relation, each
// with the fake Juju's state of its own; it carries what a hook commits to
// the others, as the controller does, so a test plays hooks on any unit
// in any order.
type model struct {
	t      *testing.T
	dir    string
	units  []string
	leader string
}

const relID = 1

func newModel(t *testing.T, units ...string) *model {
	t.Helper()
	m := &model{t: t, dir: t.TempDir(), units: units, leader: units[0]}
	for _, u := range units {
		st := fakejuju.NewState(u)
		st.Leader = u == m.leader
		r := st.AddRelation(relID, Endpoint, "magnum-capi-graft")
		for _, o := range units {
			r.Join(u, o, map[string]string{"private-address": "10.0.0.1"})
		}
		require.NoError(t, fakejuju.Create(m.path(u), st))
	}
	return m
}

func (m *model) path(u string) string {
	return filepath.Join(m.dir, fmt.Sprintf("%s.json", filepath.Base(u)))
}

// hook runs fn on unit u as one hook: its relation-set calls are committed
// when fn returns nil, and carried to every other unit.
func (m *model) hook(u string, fn func(p *Peers) error) {
	m.t.Helper()
	ctx := context.Background()
	p, err := Open(ctx, hooktool.New(fakejuju.NewRunner(m.path(u))), u)
	require.NoError(m.t, err)
	ferr := fn(p)
	require.NoError(m.t, fakejuju.EndHook(m.path(u), ferr == nil))
	require.NoError(m.t, ferr)
	st, err := fakejuju.Load(m.path(u))
	require.NoError(m.t, err)
	r, err := st.Relation(relID)
	require.NoError(m.t, err)
	own, app := r.Units[u], r.Applications["magnum-capi-graft"]
	for _, o := range m.units {
		if o == u {
			continue
		}
		require.NoError(m.t, fakejuju.Update(m.path(o), func(st *fakejuju.State) error {
			r, err := st.Relation(relID)
			if err != nil {
				return err
			}
			r.Units[u] = maps.Clone(own)
			if u == m.leader {
				r.Applications["magnum-capi-graft"] = maps.Clone(app)
			}
			return nil
		}))
	}
}

// ask runs a hook on u that asks for the turn for fp.
func (m *model) ask(u, fp string, kind Kind) Turn {
	m.t.Helper()
	var turn Turn
	m.hook(u, func(p *Peers) error {
		var err error
		turn, err = p.Ask(context.Background(), fp, kind)
		return err
	})
	return turn
}

func (m *model) done(u, fp string) {
	m.t.Helper()
	m.hook(u, func(p *Peers) error { return p.Done(context.Background(), fp) })
}

// lead runs a hook on the leader that only takes its step (a relation hook
// on a unit that wants nothing).
func (m *model) lead() {
	m.t.Helper()
	m.hook(m.leader, func(p *Peers) error { return p.Lead(context.Background()) })
}

func (m *model) roll() Roll {
	m.t.Helper()
	var r Roll
	m.hook(m.leader, func(p *Peers) error {
		var err error
		r, err = p.Roll(context.Background())
		return err
	})
	return r
}

func (m *model) setLeader(u string) {
	m.t.Helper()
	m.leader = u
	for _, o := range m.units {
		require.NoError(m.t, fakejuju.Update(m.path(o), func(st *fakejuju.State) error {
			st.Leader = o == u
			return nil
		}))
	}
}

// remove takes u out of the relation: the others no longer list it.
func (m *model) remove(u string) {
	m.t.Helper()
	m.units = slices.DeleteFunc(m.units, func(o string) bool { return o == u })
	for _, o := range m.units {
		require.NoError(m.t, fakejuju.Update(m.path(o), func(st *fakejuju.State) error {
			r, err := st.Relation(relID)
			if err != nil {
				return err
			}
			r.Depart(u)
			return nil
		}))
	}
}

// TestRollOneAtATime: three units want the same change; the leader (unit
// 0) takes the first turn itself within its own hook, and each unit done
// hands the turn to the next in unit order; waiting units say their place.
func TestRollOneAtATime(t *testing.T) {
	m := newModel(t, u0, u1, u2)
	assert.Equal(t, Turn{Granted: true}, m.ask(u0, "A", KindConfig))
	// The others ask while unit 0 restarts: the leader has not seen them.
	assert.Equal(t, Turn{Status: hooktool.Waiting, Message: "rolling restart: asked the leader for a turn"}, m.ask(u2, "A", KindConfig))
	assert.False(t, m.ask(u1, "A", KindConfig).Granted)
	// The leader's relation-changed for them queues them.
	m.lead()
	assert.Equal(t, Turn{Status: hooktool.Waiting, Message: "rolling restart, 3rd of 3 (magnum-capi-graft/0 restarting)"}, m.ask(u2, "A", KindConfig))
	m.done(u0, "A")
	// The leader's own Done gives the turn to unit 1 in the same hook.
	assert.Equal(t, Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u1, TurnFP: "A"}, m.roll())
	assert.False(t, m.ask(u2, "A", KindConfig).Granted)
	assert.True(t, m.ask(u1, "A", KindConfig).Granted)
	m.done(u1, "A")
	// A non-leader's Done changes nothing of the roll until the leader's
	// relation-changed for it.
	assert.Equal(t, u1, m.roll().Turn)
	m.lead()
	assert.True(t, m.ask(u2, "A", KindConfig).Granted)
	m.done(u2, "A")
	m.lead()
	assert.Equal(t, Roll{FP: "A", Order: []string{u0, u1, u2}}, m.roll())
}

// TestOnlyTheLeaderDecides: a unit that does not lead never writes the
// application's settings (Juju would refuse them), whatever it sees.
func TestOnlyTheLeaderDecides(t *testing.T) {
	m := newModel(t, u0, u1)
	assert.False(t, m.ask(u1, "A", KindConfig).Granted)
	m.hook(u1, func(p *Peers) error { return p.Lead(context.Background()) })
	assert.Equal(t, Roll{}, m.roll())
	m.lead()
	assert.Equal(t, Roll{FP: "A", Order: []string{u1}, Turn: u1, TurnFP: "A"}, m.roll())
}

// TestLeaderChangesMidRoll: the roll is all in the relation data, so a
// new leader carries on from it.
func TestLeaderChangesMidRoll(t *testing.T) {
	m := newModel(t, u0, u1, u2)
	m.ask(u0, "A", KindConfig)
	m.ask(u1, "A", KindConfig)
	m.ask(u2, "A", KindConfig)
	m.lead()
	m.done(u0, "A")
	require.Equal(t, u1, m.roll().Turn)
	// Leadership moves to unit 2 while unit 1 restarts.
	m.setLeader(u2)
	m.lead() // leader-elected: unit 1 still at work
	assert.Equal(t, u1, m.roll().Turn)
	m.done(u1, "A")
	m.lead() // relation-changed for unit 1
	assert.True(t, m.ask(u2, "A", KindConfig).Granted)
	m.done(u2, "A")
	assert.Equal(t, Roll{FP: "A", Order: []string{u0, u1, u2}}, m.roll())
}

// TestUnitRemovedMidRoll: a unit that leaves while it holds the turn, or
// before its turn, does not hold up the roll.
func TestUnitRemovedMidRoll(t *testing.T) {
	m := newModel(t, u0, u1, u2)
	m.ask(u1, "A", KindConfig)
	m.ask(u2, "A", KindConfig)
	m.lead()
	require.Equal(t, u1, m.roll().Turn)
	// Unit 1 takes its graft off (relation-broken), then departs.
	m.hook(u1, func(p *Peers) error { return p.Leave(context.Background()) })
	m.lead()
	assert.Equal(t, u2, m.roll().Turn, "the leaving unit's turn is reclaimed")
	m.remove(u1)
	m.lead() // relation-departed
	assert.Equal(t, Roll{FP: "A", Order: []string{u2}, Turn: u2, TurnFP: "A"}, m.roll())
	assert.True(t, m.ask(u2, "A", KindConfig).Granted)
}

// TestDepartedHolderReclaimed: a unit that vanishes holding the turn
// (its hooks never ran) loses it when the leader sees it depart.
func TestDepartedHolderReclaimed(t *testing.T) {
	m := newModel(t, u0, u1, u2)
	m.ask(u1, "A", KindConfig)
	m.ask(u2, "A", KindConfig)
	m.lead()
	require.Equal(t, u1, m.roll().Turn)
	m.remove(u1)
	m.lead()
	assert.True(t, m.ask(u2, "A", KindConfig).Granted)
}

// TestCanaryFails: a new driver goes to one unit first; its failure stops
// the roll, every other unit names the canary and the reason and never
// gets a turn for that change; a later change starts a new roll.
func TestCanaryFails(t *testing.T) {
	m := newModel(t, u0, u1, u2)
	assert.Equal(t, Turn{Granted: true, Canary: true}, m.ask(u0, "A", KindDriver))
	m.ask(u1, "A", KindDriver)
	m.ask(u2, "A", KindDriver)
	m.hook(u0, func(p *Peers) error {
		return p.Fail(context.Background(), "A", "magnum-capi-helm 9.9.9 (resource) does not load as user magnum: ImportError")
	})
	roll := m.roll()
	assert.Equal(t, u0, roll.StoppedBy)
	assert.Empty(t, roll.Turn)
	for _, u := range []string{u1, u2} {
		turn := m.ask(u, "A", KindDriver)
		assert.False(t, turn.Granted, u)
		assert.Equal(t, hooktool.Blocked, turn.Status, u)
		assert.Contains(t, turn.Message, "the canary magnum-capi-graft/0 failed: magnum-capi-helm 9.9.9 (resource) does not load as user magnum: ImportError", u)
	}
	m.lead()
	assert.Empty(t, m.roll().Turn, "nobody gets a turn for the failed change")

	// A later config change: a new roll, with unit 0 (the canary again,
	// since the driver is new to it) first.
	// The leader hears of it first and rolls it on itself while the
	// others still ask for the failed change: they start no roll of it.
	assert.Equal(t, Turn{Granted: true, Canary: true}, m.ask(u0, "B", KindDriver))
	m.done(u0, "B")
	m.lead()
	assert.Equal(t, Roll{FP: "B", Order: []string{u0}, Canary: u0, Refused: []string{"A"}}, m.roll())
	m.ask(u1, "B", KindDriver)
	m.ask(u2, "B", KindDriver)
	m.lead()
	assert.Equal(t, Roll{FP: "B", Order: []string{u0, u1, u2}, Turn: u1, TurnFP: "B", Canary: u0, Refused: []string{"A"}}, m.roll())
}

// TestLaterChangeMidRoll: a config change while a roll is under way starts
// a new roll from the first unit once the holder wants the new change.
func TestLaterChangeMidRoll(t *testing.T) {
	m := newModel(t, u0, u1, u2)
	m.ask(u0, "A", KindConfig)
	m.ask(u1, "A", KindConfig)
	m.ask(u2, "A", KindConfig)
	m.lead()
	m.done(u0, "A")
	require.Equal(t, u1, m.roll().Turn)
	// config-changed everywhere; unit 1 had not restarted yet and holds
	// the turn until it asks for the new change.
	assert.False(t, m.ask(u0, "B", KindConfig).Granted)
	m.ask(u1, "B", KindConfig)
	m.ask(u2, "B", KindConfig)
	m.lead()
	assert.Equal(t, Roll{FP: "B", Order: []string{u0, u1, u2}, Turn: u0, TurnFP: "B"}, m.roll())
	assert.True(t, m.ask(u0, "B", KindConfig).Granted)
}

// TestAlone: a unit with no peer relation has every turn and writes
// nothing.
func TestAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, fakejuju.Create(path, fakejuju.NewState(u0)))
	ctx := context.Background()
	p, err := Open(ctx, hooktool.New(fakejuju.NewRunner(path)), u0)
	require.NoError(t, err)
	assert.True(t, p.Alone())
	turn, err := p.Ask(ctx, "A", KindDriver)
	require.NoError(t, err)
	assert.True(t, turn.Granted)
	require.NoError(t, p.Done(ctx, "A"))
	require.NoError(t, p.Fail(ctx, "A", "x"))
	require.NoError(t, p.Lead(ctx))

	// Outside Juju (no hook tools) the unit is alone too.
	p, err = Open(ctx, nil, u0)
	require.NoError(t, err)
	assert.True(t, p.Alone())
	turn, err = p.Ask(ctx, "A", KindDriver)
	require.NoError(t, err)
	assert.True(t, turn.Granted)
	require.NoError(t, p.Done(ctx, "A"))
}

// TestFailReasonIsOneLine: relation-set refuses values with spaces
// around them; the reason is made one line first.
func TestFailReasonIsOneLine(t *testing.T) {
	m := newModel(t, u0, u1)
	m.ask(u0, "A", KindConfig)
	m.hook(u0, func(p *Peers) error {
		return p.Fail(context.Background(), "A", "  magnum-api failed\n  journal: x  \n")
	})
	assert.Equal(t, "magnum-api failed journal: x", m.roll().Stopped)
}

// TestOperatorRetriesAStoppedRoll: after the canary failed, the regraft
// action on the canary (not the leader) tries the change again: its record
// of the failure goes, the leader starts the roll again from it, and once
// it is done the others follow. A second failure stops the roll again,
// and the retry is not honoured twice.
func TestOperatorRetriesAStoppedRoll(t *testing.T) {
	m := newModel(t, u0, u1, u2)
	m.setLeader(u2)
	m.ask(u0, "A", KindDriver)
	m.ask(u1, "A", KindDriver)
	m.ask(u2, "A", KindDriver)
	m.lead()
	require.Equal(t, u0, m.roll().Canary)
	m.hook(u0, func(p *Peers) error { return p.Fail(context.Background(), "A", "the index was unreachable") })
	m.lead()
	require.Equal(t, u0, m.roll().StoppedBy)
	assert.False(t, m.ask(u1, "A", KindDriver).Granted, "no turn without the retry")

	retry := func(u string) Turn {
		var turn Turn
		m.hook(u, func(p *Peers) error {
			var err error
			turn, err = p.Retry(context.Background(), "A", KindDriver)
			return err
		})
		return turn
	}
	turn := retry(u0)
	assert.Equal(t, Turn{Status: hooktool.Waiting, Message: "rolling restart: asked the leader to try this change again, on this unit first"}, turn,
		"the leader has not seen the retry yet")
	m.lead()
	assert.Equal(t, Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u0, TurnFP: "A", Canary: u0}, m.roll())
	assert.Equal(t, Turn{Granted: true, Canary: true}, m.ask(u0, "A", KindDriver))
	m.done(u0, "A")
	m.lead()
	assert.Equal(t, u1, m.roll().Turn)

	// Retried on unit 1 this time, after it failed there.
	m.hook(u1, func(p *Peers) error { return p.Fail(context.Background(), "A", "magnum-api does not answer") })
	m.lead()
	require.Equal(t, u1, m.roll().StoppedBy)
	retry(u1)
	m.lead()
	assert.Equal(t, Roll{FP: "A", Order: []string{u1, u2}, Turn: u1, TurnFP: "A", Canary: u1}, m.roll())
	m.hook(u1, func(p *Peers) error { return p.Fail(context.Background(), "A", "magnum-api does not answer") })
	m.lead()
	m.lead()
	roll := m.roll()
	assert.Equal(t, u1, roll.StoppedBy, "failed again: stopped again, and the spent retry does not start it")
	assert.Empty(t, roll.Turn)
	assert.Equal(t, []string{"A"}, roll.Refused)
}
