package hooks

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/glance"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// A plain update-status glances at a converged unit (charm/glance) and
// asks Juju nothing; the watcher's re-grafts, other inputs and a changed
// unit reconcile in full.
func TestUpdateStatusGlancesAtAConvergedUnit(t *testing.T) {
	ctx := context.Background()
	jujuState := t.TempDir() + "/state.json"
	st := fakejuju.NewState(fakejuju.DefaultUnit)
	st.Config = map[string]any{"namespace-prefix": "graft"}
	require.NoError(t, fakejuju.Create(jujuState, st))
	runner := &countingRunner{Runner: fakejuju.NewRunner(jujuState), calls: map[string]int{}}
	rt := &Runtime{Juju: hooktool.New(runner), State: state.Dir(t.TempDir())}
	updateStatus := Event{Kind: Hook, Name: "update-status"}

	// config-changed reconciles in full, records its inputs and finds
	// the unit converged: what it observed is kept.
	conf := filepath.Join(t.TempDir(), "99-capi.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[capi_helm]\n"), 0o640))
	time.Sleep(20 * time.Millisecond) // the reconcile observes after the last change
	full := rt.reconciler("config-changed", nil)
	_, err := full.Juju.ConfigGet(ctx)
	require.NoError(t, err)
	require.NoError(t, full.Juju.StatusSet(ctx, hooktool.Active, "grafted"))
	sight := &glance.Sight{Paths: []string{conf}, Until: time.Now().Add(time.Hour), Since: time.Now()}
	rt.keepSight(full, reconcile.Outcome{Status: hooktool.Active, Sight: sight}, "grafted", true)

	calls := len(runner.calls)
	said, err := rt.glanced(ctx, rt.reconciler("update-status", nil), updateStatus)
	require.NoError(t, err)
	assert.True(t, said, "update-status reconciled a converged unit in full")
	assert.Equal(t, calls, len(runner.calls), "the glance asked Juju: %v", runner.calls)

	// The watcher's re-graft means something changed: never a glance.
	said, _ = rt.glanced(ctx, rt.reconciler("update-status", nil), Event{Kind: Hook, Name: "update-status", FromWatcher: true})
	assert.False(t, said, "the watcher's re-graft glanced")

	// An action set another status: the glance says the kept one again.
	require.NoError(t, rt.reconciler("regraft", nil).Juju.StatusSet(ctx, hooktool.Blocked, "broken"))
	said, err = rt.glanced(ctx, rt.reconciler("update-status", nil), updateStatus)
	require.NoError(t, err)
	assert.True(t, said)
	s, err := fakejuju.Load(jujuState)
	require.NoError(t, err)
	assert.Equal(t, "active", s.Status.Status)
	assert.Equal(t, "grafted", s.Status.Message)

	// The unit changed: the next update-status reconciles.
	require.NoError(t, os.WriteFile(conf, []byte("[capi_helm]\n"), 0o640))
	said, _ = rt.glanced(ctx, rt.reconciler("update-status", nil), updateStatus)
	assert.False(t, said, "a changed unit was glanced at")
	time.Sleep(20 * time.Millisecond)
	sight.Since = time.Now()
	rt.keepSight(full, reconcile.Outcome{Status: hooktool.Active, Sight: sight}, "grafted", true)
	said, _ = rt.glanced(ctx, rt.reconciler("update-status", nil), updateStatus)
	require.True(t, said, "the reconcile after the change kept no sight")

	// The model's proxy changed: Juju runs no hook for it, so the glance
	// must see it in the hook's environment.
	t.Setenv("JUJU_CHARM_HTTPS_PROXY", "http://squid.internal:3128")
	said, _ = rt.glanced(ctx, rt.reconciler("update-status", nil), updateStatus)
	assert.False(t, said, "update-status glanced under another model proxy")
	os.Unsetenv("JUJU_CHARM_HTTPS_PROXY")
	said, _ = rt.glanced(ctx, rt.reconciler("update-status", nil), updateStatus)
	require.True(t, said)

	// Other config (config-changed records it): the kept sight is not
	// for these inputs.
	st.Config["namespace-prefix"] = "other"
	require.NoError(t, fakejuju.Create(jujuState, st))
	_, err = rt.reconciler("config-changed", nil).Juju.ConfigGet(ctx)
	require.NoError(t, err)
	said, _ = rt.glanced(ctx, rt.reconciler("update-status", nil), updateStatus)
	assert.False(t, said, "update-status glanced with other config")

	// A reconcile that is not converged forgets the sight.
	rt.keepSight(full, reconcile.Outcome{Status: hooktool.Blocked}, "broken", true)
	_, err = os.Stat(rt.State.Path(state.Glance))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
