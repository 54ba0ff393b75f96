package hookcontext_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/juju/cmd/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/juju/juju/internal/worker/uniter/runner/jujuc"

	"github.com/juju/juju/magnum-capi-graft-testbed/hookcontext"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// newContext writes the agreement table's state, changed by setup, and
// returns a context over it for a relation hook h (nil: no relation hook).
func newContext(t *testing.T, h *fakejuju.RelationHook, setup ...func(*fakejuju.State)) (*hookcontext.Context, fakejuju.Paths) {
	t.Helper()
	dir := t.TempDir()
	paths := fakejuju.Paths{Unit: fakejuju.DefaultUnit, AgentDir: dir, CharmDir: filepath.Join(dir, "charm"), State: filepath.Join(dir, "state.json")}
	require.NoError(t, os.MkdirAll(paths.CharmDir, 0o755))
	st := fakejuju.NewAgreementState(filepath.Join(dir, "none"))
	for _, fn := range setup {
		fn(st)
	}
	require.NoError(t, fakejuju.Create(paths.State, st))
	return hookcontext.New(hookcontext.Config{ID: "ctx", Paths: paths, Relation: h}), paths
}

// tool runs one of Juju's hook tools in ctx and returns its stdout; a
// failing tool fails the test with its stderr.
func tool(t *testing.T, ctx *hookcontext.Context, argv ...string) string {
	t.Helper()
	c, err := jujuc.NewCommand(ctx, argv[0])
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := cmd.Main(c, &cmd.Context{Dir: t.TempDir(), Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}, argv[1:])
	require.Equal(t, 0, code, "%v: %s", argv, stderr.String())
	return stdout.String()
}

func peerRelation(t *testing.T, path string) *fakejuju.Relation {
	t.Helper()
	st, err := fakejuju.Load(path)
	require.NoError(t, err)
	r, err := st.Relation(fakejuju.AgreementRelation)
	require.NoError(t, err)
	return r
}

// TestRelationSettingsWaitForTheHookToSucceed: what relation-set writes,
// the hook itself reads back at once, the state (what other units read)
// only after Commit; a context that is never committed (a failed hook)
// leaves no trace.
func TestRelationSettingsWaitForTheHookToSucceed(t *testing.T) {
	ctx, paths := newContext(t, nil)
	tool(t, ctx, "relation-set", "-r", "graft:3", "turn=wanted", "note=")
	tool(t, ctx, "relation-set", "-r", "graft:3", "--app", "turn=magnum-capi-graft/0")
	assert.Equal(t, "wanted\n", tool(t, ctx, "relation-get", "-r", "graft:3", "turn", "magnum-capi-graft/0"))
	assert.Equal(t, "", tool(t, ctx, "relation-get", "-r", "graft:3", "note", "magnum-capi-graft/0"))
	assert.Equal(t, "magnum-capi-graft/0\n", tool(t, ctx, "relation-get", "-r", "graft:3", "--app", "turn", "magnum-capi-graft"))

	r := peerRelation(t, paths.State)
	assert.Equal(t, "mine", r.Units[fakejuju.DefaultUnit]["note"], "nothing committed before the hook ends")
	assert.Equal(t, "magnum-capi-graft/1", r.Applications["magnum-capi-graft"]["turn"])

	require.NoError(t, ctx.Commit())
	r = peerRelation(t, paths.State)
	assert.Equal(t, "wanted", r.Units[fakejuju.DefaultUnit]["turn"])
	assert.NotContains(t, r.Units[fakejuju.DefaultUnit], "note")
	assert.Equal(t, "10.0.0.10", r.Units[fakejuju.DefaultUnit]["private-address"], "settings not set are kept")
	assert.Equal(t, map[string]string{"roll": "2", "turn": "magnum-capi-graft/0"}, r.Applications["magnum-capi-graft"])

	failed, paths := newContext(t, nil)
	tool(t, failed, "relation-set", "-r", "graft:3", "turn=wanted")
	// The hook failed: the agent does not commit.
	assert.NotContains(t, peerRelation(t, paths.State).Units[fakejuju.DefaultUnit], "turn")
}

// TestCommitRefusesAppSettingsAfterLeadershipMoved: a leader's hook that
// set application settings cannot commit them once another unit leads.
func TestCommitRefusesAppSettingsAfterLeadershipMoved(t *testing.T) {
	ctx, paths := newContext(t, nil)
	tool(t, ctx, "relation-set", "-r", "graft:3", "--app", "turn=magnum-capi-graft/0")
	tool(t, ctx, "relation-set", "-r", "graft:3", "asked=1")
	require.NoError(t, fakejuju.Update(paths.State, func(st *fakejuju.State) error {
		st.Leader = false
		return nil
	}))
	err := ctx.Commit()
	assert.EqualError(t, err, `cannot commit the settings of relation graft:3: "magnum-capi-graft/0" is not leader of "magnum-capi-graft"`)
	r := peerRelation(t, paths.State)
	assert.Equal(t, "magnum-capi-graft/1", r.Applications["magnum-capi-graft"]["turn"])
	assert.NotContains(t, r.Units[fakejuju.DefaultUnit], "asked", "one transaction: nothing of the hook is committed")
}

// TestRelationHookContext: a relation hook's relation, remote unit and
// application, and the variables HookVars gives it.
func TestRelationHookContext(t *testing.T) {
	h := &fakejuju.RelationHook{ID: 3, RemoteUnit: "magnum-capi-graft/2", RemoteApp: "magnum-capi-graft", DepartingUnit: "magnum-capi-graft/2"}
	ctx, _ := newContext(t, h, func(st *fakejuju.State) {
		r, _ := st.Relation(3)
		r.Depart("magnum-capi-graft/2")
	})
	vars, err := ctx.RelationVars()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"JUJU_RELATION=graft", "JUJU_RELATION_ID=graft:3", "JUJU_REMOTE_UNIT=magnum-capi-graft/2",
		"JUJU_REMOTE_APP=magnum-capi-graft", "JUJU_DEPARTING_UNIT=magnum-capi-graft/2",
	}, vars)
	assert.Equal(t, "magnum-capi-graft/1\n", tool(t, ctx, "relation-list"), "in relation-departed the departing unit is no member")
	assert.Equal(t, "10.0.0.12\n", tool(t, ctx, "relation-get", "private-address"), "its settings are still readable")

	plain, _ := newContext(t, nil)
	vars, err = plain.RelationVars()
	require.NoError(t, err)
	assert.Empty(t, vars)
	_, err = plain.RemoteUnitName()
	assert.EqualError(t, err, "remote unit not found")
	_, err = plain.RemoteApplicationName()
	assert.EqualError(t, err, "saas application not found")
}

// TestMembersAreTakenWhenTheContextBegins: a unit joining while a hook
// runs is not among that hook's members (Juju takes them when it builds
// the context), but a remote unit's settings are read when asked for.
func TestMembersAreTakenWhenTheContextBegins(t *testing.T) {
	ctx, paths := newContext(t, nil)
	assert.Equal(t, "magnum-capi-graft/1\nmagnum-capi-graft/2\n", tool(t, ctx, "relation-list", "-r", "3"))
	require.NoError(t, fakejuju.Update(paths.State, func(st *fakejuju.State) error {
		r, _ := st.Relation(3)
		r.Join(st.Unit, "magnum-capi-graft/3", map[string]string{"turn": "requested"})
		r.Units["magnum-capi-graft/2"]["turn"] = "requested"
		return nil
	}))
	assert.Equal(t, "magnum-capi-graft/1\nmagnum-capi-graft/2\n", tool(t, ctx, "relation-list", "-r", "3"))
	assert.Equal(t, "requested\n", tool(t, ctx, "relation-get", "-r", "3", "turn", "magnum-capi-graft/2"))
}
