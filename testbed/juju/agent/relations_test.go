package agent_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// withPeers puts the bed's unit in the peer relation graft:4 with
// magnum-capi-graft/1, which asked for a turn.
func (b *bed) withPeers(t *testing.T, leader bool) {
	t.Helper()
	require.NoError(t, fakejuju.Update(b.state, func(st *fakejuju.State) error {
		st.Leader = leader
		r := st.AddRelation(4, "graft", "magnum-capi-graft")
		r.Join(st.Unit, st.Unit, map[string]string{"private-address": "10.0.0.10"})
		r.Join(st.Unit, "magnum-capi-graft/1", map[string]string{"private-address": "10.0.0.11", "turn": "wanted"})
		return nil
	}))
}

func (b *bed) peers(t *testing.T) *fakejuju.Relation {
	t.Helper()
	r, err := b.load(t).Relation(4)
	require.NoError(t, err)
	return r
}

// TestRelationHook: a relation hook gets the relation's variables, its
// tools answer for that relation and remote unit, and what it set is
// committed because it succeeded.
func TestRelationHook(t *testing.T) {
	b := newBed(t)
	b.withPeers(t, true)
	stdout, stderr, code := b.run(t, "hook", "graft-relation-changed", "--relation", "graft:4", "--remote-unit", "magnum-capi-graft/1")
	require.Equal(t, 0, code, stderr)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	env := envMap(rep.Env)
	assert.Equal(t, "graft", env["JUJU_RELATION"])
	assert.Equal(t, "graft:4", env["JUJU_RELATION_ID"])
	assert.Equal(t, "magnum-capi-graft/1", env["JUJU_REMOTE_UNIT"])
	assert.Equal(t, "magnum-capi-graft", env["JUJU_REMOTE_APP"], "the remote unit's application by default")
	assert.NotContains(t, env, "JUJU_DEPARTING_UNIT")

	r := b.peers(t)
	assert.Equal(t, map[string]string{"private-address": "10.0.0.10", "saw": "magnum-capi-graft/1 wanted"}, r.Units[unit])
	assert.Equal(t, map[string]string{"turn": "magnum-capi-graft/1"}, r.Applications["magnum-capi-graft"])
}

// TestFailedRelationHookCommitsNothing: a hook that exits non-zero leaves
// the relation as it was, whatever it set (HookContext.Flush with an error
// does not commit).
func TestFailedRelationHookCommitsNothing(t *testing.T) {
	b := newBed(t)
	b.withPeers(t, true)
	before := b.peers(t)
	_, _, code := b.run(t, "hook", "graft-relation-changed", "--relation", "4", "--remote-unit", "magnum-capi-graft/1", "--env", "HOOK_EXIT=1")
	require.Equal(t, 1, code)
	after := b.peers(t)
	assert.Equal(t, before.Units, after.Units)
	assert.Equal(t, before.Applications, after.Applications)
}

// TestRelationHookOfAnotherRelation: the uniter runs no hook for a
// relation the unit is not in, nor a hook of one relation for another.
func TestRelationHookOfAnotherRelation(t *testing.T) {
	b := newBed(t)
	b.withPeers(t, false)
	_, stderr, code := b.run(t, "hook", "graft-relation-changed", "--relation", "graft:9", "--remote-unit", "magnum-capi-graft/1")
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR unknown relation id: 9\n", stderr)
	_, stderr, code = b.run(t, "hook", "juju-info-relation-changed", "--relation", "graft:4")
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR hook \"juju-info-relation-changed\" is not a hook of relation graft:4\n", stderr)
	_, stderr, code = b.run(t, "hook", "graft-relation-changed", "--remote-unit", "magnum-capi-graft/1")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "need --relation")
}

// TestNonLeaderSets: a unit that is not the leader sets and commits its
// own settings; relation-set --app is refused with Juju's words. (Tests
// that start the agent keep short names: its sockets live under the
// test's directory, and a socket's path has at most 107 bytes.)
func TestNonLeaderSets(t *testing.T) {
	b := newBed(t)
	b.withPeers(t, false)
	_, stderr, code := b.run(t, "hook", "graft-relation-changed", "--relation", "graft:4", "--remote-unit", "magnum-capi-graft/1")
	require.Equal(t, 0, code, stderr)
	r := b.peers(t)
	assert.Equal(t, "magnum-capi-graft/1 wanted", r.Units[unit]["saw"])
	assert.Empty(t, r.Applications["magnum-capi-graft"])

	b.startAgent(t)
	_, stderr, code = b.jujuExec(t, nil, "-u", unit, "--", "relation-set -r graft:4 --app roll=1")
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR cannot write relation settings\n", stderr)
	assert.Empty(t, b.peers(t).Applications["magnum-capi-graft"])
}

// TestExecCommits: juju-exec's commands commit what they set even when
// they exit non-zero (runner.RunCommands flushes with the error of running
// them, not their exit code).
func TestExecCommits(t *testing.T) {
	b := newBed(t)
	b.withPeers(t, true)
	b.startAgent(t)
	_, stderr, code := b.jujuExec(t, nil, "-u", unit, "--", "relation-set -r graft:4 via=exec; relation-set -r graft:4 --app roll=1; exit 3")
	require.Equal(t, 3, code, stderr)
	r := b.peers(t)
	assert.Equal(t, "exec", r.Units[unit]["via"])
	assert.Equal(t, "1", r.Applications["magnum-capi-graft"]["roll"])
}
