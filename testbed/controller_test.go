package testbed

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// fakeHost is a unit without a box: its hooks run a script of hook-tool
// calls through the in-process fake's tools (the charm's own hooktool),
// and end as the uniter ends them (fakejuju.EndHook).
type fakeHost struct {
	unit, path string
	// script is what every hook does; nil does nothing.
	script func(ctx context.Context, juju *hooktool.Juju, hook string, rh *fakejuju.RelationHook) error
	// op is the unit's operation lock: a hook and the test's own calls
	// (standing in for juju-exec) never run at once.
	op sync.Mutex
	// env is what each hook's environment added, by hook.
	env map[string][]string
}

func (h *fakeHost) statePath() string { return h.path }

func (h *fakeHost) runHook(ctx context.Context, hook string, rh *fakejuju.RelationHook, env ...string) error {
	if len(env) > 0 {
		h.op.Lock()
		if h.env == nil {
			h.env = map[string][]string{}
		}
		h.env[hook] = append(h.env[hook], env...)
		h.op.Unlock()
	}
	return h.exec(func(juju *hooktool.Juju) error {
		if h.script == nil {
			return nil
		}
		return h.script(ctx, juju, hook, rh)
	}, rh)
}

// exec runs fn in the unit's context, as a hook or a juju-exec command,
// and ends it: its relation settings commit if it succeeded.
func (h *fakeHost) exec(fn func(*hooktool.Juju) error, rh *fakejuju.RelationHook) error {
	h.op.Lock()
	defer h.op.Unlock()
	r := fakejuju.NewRunner(h.path)
	if rh != nil {
		for _, kv := range rh.Vars(PeerEndpoint) {
			k, v, _ := strings.Cut(kv, "=")
			r.Env[k] = v
		}
	}
	err := fn(hooktool.New(r))
	if endErr := fakejuju.EndHook(h.path, err == nil); err == nil {
		err = endErr
	}
	return err
}

type testBed struct {
	t     *testing.T
	c     *Controller
	hosts map[string]*fakeHost
}

func newTestBed(t *testing.T) *testBed {
	c := NewController(t.Logf)
	t.Cleanup(c.Close)
	return &testBed{t: t, c: c, hosts: map[string]*fakeHost{}}
}

func (b *testBed) add(n int, script func(context.Context, *hooktool.Juju, string, *fakejuju.RelationHook) error) *fakeHost {
	b.t.Helper()
	unit := fmt.Sprintf("%s/%d", Application, n)
	h := &fakeHost{unit: unit, path: filepath.Join(b.t.TempDir(), "state.json"), script: script}
	st := fakejuju.NewState(unit)
	st.Principal = fmt.Sprintf("magnum/%d", n)
	require.NoError(b.t, fakejuju.Create(h.path, st))
	require.NoError(b.t, b.c.addUnit(unit, h))
	b.hosts[unit] = h
	return h
}

func (b *testBed) idle() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(b.t, b.c.WaitIdle(ctx))
}

// hooks lists what unit ran since run number from, as "hook" or
// "hook(remote)".
func (b *testBed) hooks(unit string, from int) []string {
	var out []string
	for _, r := range b.c.Runs()[from:] {
		if r.Unit == unit {
			s := r.Hook
			if r.Remote != "" {
				s += "(" + r.Remote + ")"
			}
			out = append(out, s)
		}
	}
	return out
}

func (b *testBed) state(unit string) *fakejuju.State {
	b.t.Helper()
	st, err := fakejuju.Load(b.hosts[unit].path)
	require.NoError(b.t, err)
	return st
}

func (b *testBed) peers(unit string) *fakejuju.Relation {
	b.t.Helper()
	r, err := b.state(unit).Relation(PeerRelationID)
	require.NoError(b.t, err)
	return r
}

const (
	unit0 = Application + "/0"
	unit1 = Application + "/1"
	unit2 = Application + "/2"
)

// TestControllerRunsJujusHooksInJujusOrder: three units join; each runs
// install, relation-created, leadership, config-changed and start, then a
// relation-joined followed at once by its relation-changed for each other
// unit; config changes reach every unit.
func TestControllerRunsJujusHooksInJujusOrder(t *testing.T) {
	b := newTestBed(t)
	uri, err := b.c.AddSecret(map[string]string{"kubeconfig": "apiVersion: v1\n"})
	require.NoError(t, err)
	require.NoError(t, b.c.SetConfig(map[string]any{"kubeconfig": uri}))
	for n := range 3 {
		b.add(n, nil)
	}
	b.idle()
	for _, unit := range []string{unit0, unit1, unit2} {
		hooks := b.hooks(unit, 0)
		start := []string{"install", "graft-relation-created", "config-changed", "start"}
		if unit == unit0 {
			start = []string{"install", "graft-relation-created", "leader-elected", "config-changed", "start"}
		}
		require.GreaterOrEqual(t, len(hooks), len(start), unit)
		assert.Equal(t, start, hooks[:len(start)], unit)
		var joined []string
		for i, h := range hooks[len(start):] {
			remote, ok := strings.CutPrefix(h, "graft-relation-joined(")
			if !ok {
				continue
			}
			joined = append(joined, strings.TrimSuffix(remote, ")"))
			require.Greater(t, len(hooks), len(start)+i+1, unit)
			assert.Equal(t, "graft-relation-changed("+remote, hooks[len(start)+i+1], "%s: changed follows joined at once", unit)
		}
		slices.Sort(joined)
		others := slices.DeleteFunc([]string{unit0, unit1, unit2}, func(u string) bool { return u == unit })
		assert.Equal(t, others, joined, unit)

		st := b.state(unit)
		assert.Equal(t, unit == unit0, st.Leader, unit)
		assert.Equal(t, uri, st.Config["kubeconfig"], unit)
		id, _ := fakejuju.ParseSecretURI(uri)
		require.Contains(t, st.Secrets, id, unit)
		assert.Equal(t, others, b.peers(unit).Members, unit)
		assert.Contains(t, b.peers(unit).Units[unit], "private-address", "EnterScope's addresses")
	}

	from := len(b.c.Runs())
	require.NoError(t, b.c.SetConfig(map[string]any{"namespace-prefix": "roll"}))
	b.idle()
	for _, unit := range []string{unit0, unit1, unit2} {
		assert.Equal(t, []string{"config-changed"}, b.hooks(unit, from), unit)
		assert.Equal(t, "roll", b.state(unit).Config["namespace-prefix"], unit)
	}
}

// TestControllerRotatesSecrets: a new revision of a secret runs
// secret-changed on every unit once, naming the secret, and secret-get
// --refresh then reads the new revision; units added later run none for
// revisions published before.
func TestControllerRotatesSecrets(t *testing.T) {
	b := newTestBed(t)
	uri, err := b.c.AddSecret(map[string]string{"kubeconfig": "apiVersion: v1\n"})
	require.NoError(t, err)
	require.NoError(t, b.c.SetConfig(map[string]any{"kubeconfig": uri}))
	for n := range 2 {
		b.add(n, nil)
	}
	b.idle()
	from := len(b.c.Runs())
	require.NoError(t, b.c.RotateSecret(uri, map[string]string{"kubeconfig": "apiVersion: v1\n# rotated\n"}))
	b.idle()
	b.add(2, nil)
	b.idle()
	for _, unit := range []string{unit0, unit1} {
		assert.Equal(t, []string{"secret-changed"}, slices.DeleteFunc(b.hooks(unit, from), func(h string) bool {
			return strings.HasPrefix(h, "graft-relation-")
		}), unit)
		assert.Equal(t, []string{"JUJU_SECRET_ID=" + uri}, b.hosts[unit].env["secret-changed"], unit)
		var got map[string]string
		require.NoError(t, b.hosts[unit].exec(func(juju *hooktool.Juju) error {
			got, err = juju.SecretGet(context.Background(), uri, hooktool.SecretRefresh)
			return err
		}, nil), unit)
		assert.Equal(t, "apiVersion: v1\n# rotated\n", got["kubeconfig"], unit)
	}
	assert.NotContains(t, b.hooks(unit2, from), "secret-changed")
}

// echo is a charm that answers each unit's "probe" with "saw-<unit>" in
// its own settings, and records the application's "turn" as "turn-seen".
func echo(ctx context.Context, juju *hooktool.Juju, hook string, rh *fakejuju.RelationHook) error {
	if hook != "graft-relation-changed" {
		return nil
	}
	id := fmt.Sprintf("graft:%d", rh.ID)
	if rh.RemoteUnit == "" {
		app, err := juju.RelationGet(ctx, id, Application)
		if err != nil {
			return err
		}
		return juju.RelationSet(ctx, id, false, map[string]string{"turn-seen": app["turn"]})
	}
	theirs, err := juju.RelationGet(ctx, id, rh.RemoteUnit)
	if err != nil {
		return err
	}
	if p := theirs["probe"]; p != "" {
		return juju.RelationSet(ctx, id, false, map[string]string{"saw-" + rh.RemoteUnit: p})
	}
	return nil
}

// TestControllerCarriesRelationData: a unit's committed settings reach the
// others, which run relation-changed for them; the leader's application
// settings reach everyone, the leader too; a moved leadership runs
// leader-elected on the new leader only.
func TestControllerCarriesRelationData(t *testing.T) {
	ctx := context.Background()
	b := newTestBed(t)
	for n := range 3 {
		b.add(n, echo)
	}
	b.idle()

	// As juju-exec on unit 1 would: committed at the end, then carried.
	from := len(b.c.Runs())
	require.NoError(t, b.hosts[unit1].exec(func(juju *hooktool.Juju) error {
		return juju.RelationSet(ctx, "graft:1", false, map[string]string{"probe": "hello"})
	}, nil))
	b.idle()
	assert.Equal(t, []string{"graft-relation-changed(" + unit1 + ")"}, b.hooks(unit0, from)[:1])
	for _, unit := range []string{unit0, unit2} {
		assert.Contains(t, b.hooks(unit, from), "graft-relation-changed("+unit1+")", unit)
		assert.Equal(t, "hello", b.peers(unit).Units[unit1]["probe"], unit)
		assert.Equal(t, "hello", b.peers(unit1).Units[unit]["saw-"+unit1], "%s answered, and unit 1 sees it", unit)
	}
	assert.NotContains(t, b.hooks(unit1, from), "graft-relation-changed("+unit1+")", "no hook for a unit's own change")

	// The leader's application settings: every unit, the leader too.
	from = len(b.c.Runs())
	require.NoError(t, b.hosts[unit0].exec(func(juju *hooktool.Juju) error {
		return juju.RelationSet(ctx, "graft:1", true, map[string]string{"turn": unit2})
	}, nil))
	b.idle()
	for _, unit := range []string{unit0, unit1, unit2} {
		assert.Contains(t, b.hooks(unit, from), "graft-relation-changed("+Application+")", unit)
		assert.Equal(t, unit2, b.peers(unit).Units[unit]["turn-seen"], unit)
	}

	// A unit that is not the leader cannot write them.
	err := b.hosts[unit1].exec(func(juju *hooktool.Juju) error {
		return juju.RelationSet(ctx, "graft:1", true, map[string]string{"turn": unit1})
	}, nil)
	assert.ErrorIs(t, err, hooktool.ErrNotLeader)

	// Leadership moves: leader-elected on the new leader, nothing on the
	// old one, and the new one's application settings are carried.
	from = len(b.c.Runs())
	require.NoError(t, b.c.SetLeader(unit2))
	b.idle()
	assert.Equal(t, []string{"leader-elected"}, b.hooks(unit2, from))
	assert.Empty(t, b.hooks(unit0, from))
	assert.False(t, b.state(unit0).Leader)
	assert.True(t, b.state(unit2).Leader)
	require.NoError(t, b.hosts[unit2].exec(func(juju *hooktool.Juju) error {
		return juju.RelationSet(ctx, "graft:1", true, map[string]string{"turn": unit0})
	}, nil))
	b.idle()
	assert.Equal(t, unit0, b.peers(unit1).Applications[Application]["turn"])
	assert.Equal(t, unit0, b.peers(unit0).Units[unit0]["turn-seen"])
}

// TestControllerRemovesAUnit: the leaving unit runs its removal and a
// relation-departed for each unit it knew; the others then run
// relation-departed for it; a leaving leader hands the leadership on.
func TestControllerRemovesAUnit(t *testing.T) {
	b := newTestBed(t)
	for n := range 3 {
		b.add(n, nil)
	}
	b.idle()
	from := len(b.c.Runs())
	require.NoError(t, b.c.RemoveUnit(unit0))
	b.idle()
	assert.Equal(t, []string{"juju-info-relation-broken", "graft-relation-departed(" + unit1 + ")",
		"graft-relation-departed(" + unit2 + ")", "stop", "remove"}, b.hooks(unit0, from))
	assert.Equal(t, []string{"leader-elected", "graft-relation-departed(" + unit0 + ")"}, b.hooks(unit1, from))
	assert.Equal(t, []string{"graft-relation-departed(" + unit0 + ")"}, b.hooks(unit2, from))
	assert.Equal(t, unit1, b.c.Leader())
	assert.Equal(t, []string{unit2}, b.peers(unit1).Members)
	assert.Contains(t, b.peers(unit1).Units, unit0, "a departed unit's settings stay readable")
	assert.Empty(t, b.peers(unit0).Members)
	assert.Error(t, b.c.RemoveUnit(unit0))
}

// TestControllerStopsAtAFailedHook: a failing hook is reported by WaitIdle
// with its error, and nothing else runs on that unit meanwhile.
func TestControllerStopsAtAFailedHook(t *testing.T) {
	b := newTestBed(t)
	b.add(0, nil)
	b.add(1, func(_ context.Context, _ *hooktool.Juju, hook string, _ *fakejuju.RelationHook) error {
		if hook == "config-changed" {
			return errors.New("exit status 1")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := b.c.WaitIdle(ctx)
	require.ErrorContains(t, err, "hook failed on "+unit1+": exit status 1")
	hooks := b.hooks(unit1, 0)
	assert.Equal(t, "config-changed", hooks[len(hooks)-1])
	assert.NotContains(t, hooks, "start")
}

// Without peers, each unit runs the hooks of a unit alone: no relation
// hooks, no peer relation in its state, and a config change runs
// config-changed everywhere at once.
func TestControllerWithoutPeers(t *testing.T) {
	c := NewControllerWithoutPeers(t.Logf)
	t.Cleanup(c.Close)
	b := &testBed{t: t, c: c, hosts: map[string]*fakeHost{}}
	b.add(0, nil)
	b.add(1, nil)
	b.idle()
	assert.Equal(t, []string{"install", "leader-elected", "config-changed", "start"}, b.hooks(Application+"/0", 0))
	assert.Equal(t, []string{"install", "config-changed", "start"}, b.hooks(Application+"/1", 0))
	assert.Empty(t, b.state(Application+"/1").RelationIDs(PeerEndpoint))
	from := len(c.Runs())
	require.NoError(t, c.SetConfig(map[string]any{"namespace-prefix": "x"}))
	b.idle()
	assert.Equal(t, []string{"config-changed"}, b.hooks(Application+"/0", from))
	assert.Equal(t, []string{"config-changed"}, b.hooks(Application+"/1", from))
}
