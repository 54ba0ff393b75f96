package hooks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// countingRunner counts the hook tools a hook runs, over the fake Juju.
type countingRunner struct {
	hooktool.Runner
	calls map[string]int
}

func (c *countingRunner) Run(ctx context.Context, argv []string) ([]byte, error) {
	c.calls[argv[0]]++
	return c.Runner.Run(ctx, argv)
}

func TestUpdateStatusAsksJujuNothingOnceRecorded(t *testing.T) {
	ctx := context.Background()
	jujuState := t.TempDir() + "/state.json"
	st := fakejuju.NewState(fakejuju.DefaultUnit)
	uri := st.AddSecret(map[string]string{"kubeconfig": "apiVersion: v1"})
	require.NoError(t, st.GrantSecret(uri, true))
	st.Config = map[string]any{"kubeconfig": uri, "namespace-prefix": "graft"}
	require.NoError(t, fakejuju.Create(jujuState, st))
	runner := &countingRunner{Runner: fakejuju.NewRunner(jujuState), calls: map[string]int{}}
	rt := &Runtime{Juju: hooktool.New(runner), State: state.Dir(t.TempDir())}

	// update-status before any full hook has nothing recorded: it asks.
	juju := rt.toolsFor("update-status")
	_, err := juju.ConfigGet(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, runner.calls["config-get"])

	// A full hook asks Juju and records the answers.
	juju = rt.toolsFor("config-changed")
	cfg, err := juju.ConfigGet(ctx)
	require.NoError(t, err)
	_, err = juju.SecretGet(ctx, uri, hooktool.SecretRefresh)
	require.NoError(t, err)
	require.NoError(t, juju.StatusSet(ctx, hooktool.Active, "grafted"))
	assert.Equal(t, 2, runner.calls["config-get"])
	assert.Equal(t, 1, runner.calls["secret-get"])
	assert.Equal(t, 1, runner.calls["status-set"])

	// update-status then answers from the record and skips an unchanged status.
	juju = rt.toolsFor("update-status")
	got, err := juju.ConfigGet(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	content, err := juju.SecretGet(ctx, uri, hooktool.SecretRefresh)
	require.NoError(t, err)
	assert.Equal(t, "apiVersion: v1", content["kubeconfig"])
	require.NoError(t, juju.StatusSet(ctx, hooktool.Active, "grafted"))
	assert.Equal(t, 2, runner.calls["config-get"], "update-status ran config-get")
	assert.Equal(t, 1, runner.calls["secret-get"], "update-status ran secret-get")
	assert.Equal(t, 1, runner.calls["status-set"], "an unchanged status was set again")

	// A changed status is still said.
	require.NoError(t, juju.StatusSet(ctx, hooktool.Blocked, "something broke"))
	assert.Equal(t, 2, runner.calls["status-set"])
	s, err := fakejuju.Load(jujuState)
	require.NoError(t, err)
	assert.Equal(t, "blocked", s.Status.Status)
}

// A status an action sets must reach the record, or the next update-status
// takes the old record for what Juju shows and leaves the action's status up.
func TestStatusSetByAnActionIsRecorded(t *testing.T) {
	ctx := context.Background()
	jujuState := t.TempDir() + "/state.json"
	st := fakejuju.NewState(fakejuju.DefaultUnit)
	st.Config = map[string]any{"namespace-prefix": "graft"}
	require.NoError(t, fakejuju.Create(jujuState, st))
	rt := &Runtime{Juju: hooktool.New(fakejuju.NewRunner(jujuState)), State: state.Dir(t.TempDir())}

	hook := rt.reconciler("config-changed", nil).Juju
	_, err := hook.ConfigGet(ctx)
	require.NoError(t, err)
	require.NoError(t, hook.StatusSet(ctx, hooktool.Active, "grafted"))
	// The regraft action fails and says so.
	require.NoError(t, rt.reconciler("regraft", nil).Juju.StatusSet(ctx, hooktool.Blocked, "broken"))
	// update-status finds the unit fine again: the status must go back.
	require.NoError(t, rt.reconciler("update-status", nil).Juju.StatusSet(ctx, hooktool.Active, "grafted"))
	s, err := fakejuju.Load(jujuState)
	require.NoError(t, err)
	assert.Equal(t, "active", s.Status.Status, "a stale blocked status was left showing")
}
