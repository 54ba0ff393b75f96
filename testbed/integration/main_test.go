//go:build integration

// Package integration runs the packed charm on real Magnum units in boxes
// (real systemd as PID 1, the real Debian Magnum packages), driving hooks and
// actions through dispatch exactly as Juju would. `make integration` builds
// the charm and the fake Juju and passes them in CHARM and FAKEJUJU.
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

var artifacts testbed.Artifacts

func TestMain(m *testing.M) {
	var err error
	if artifacts, err = testbed.ArtifactsFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "integration tests:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

var boxes atomic.Int32

// unit is one booted Magnum unit with the charm installed beside it.
type unit struct {
	t      *testing.T
	ctx    context.Context
	box    *testbed.Box
	secret string
}

// bootRelabelled140 boots a unit given Debian's driver 1.2.0 relabelled as
// 1.4.0, the charm's default driver-version, against a management cluster
// serving what 1.4.0 reads (OpenStackCluster at v1beta1, unless k8sArgs say
// otherwise). The tests that use it check the charm, which does not run
// the driver's code against the cluster; a relabelled wheel proves nothing
// about release 1.4.0 itself.
func bootRelabelled140(t *testing.T, release string, k8sArgs ...string) *unit {
	t.Helper()
	return bootWith(t, release, testbed.Relabelled("1.4.0"), k8sArgs...)
}

// bootWith boots a fresh box, installs the charm and the fake Juju, starts
// a fake management cluster inside it (the box has only loopback), attaches
// the driver d and helm, and adds the cluster's kubeconfig as a granted
// secret (not yet configured).
func bootWith(t *testing.T, release string, d testbed.Driver, k8sArgs ...string) *unit {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("it-%d-%d", os.Getpid(), boxes.Add(1))
	box, err := testbed.BootUnit(ctx, name, release, artifacts, d, k8sArgs...)
	require.NoError(t, err)
	t.Cleanup(func() {
		// The fake Juju refused, and recorded, any output that held a
		// secret it knows (testbed/fakejuju/leak.go): every test in a box
		// is a leak test.
		if st, err := box.State(); assert.NoError(t, err) {
			assert.Empty(t, st.Leaks, "outputs that held secret material")
		}
		if t.Failed() {
			out, _ := box.MustRun(ctx, "journalctl", "-n", "40", "--no-pager", "-u", "magnum-api", "-u", "magnum-conductor")
			t.Logf("journal of the failed box:\n%s", out)
			out, _ = box.MustRun(ctx, "journalctl", "-n", "30", "--no-pager", "-o", "short-precise", "-u", "magnum-capi-graft-watcher")
			t.Logf("the watcher's journal:\n%s", out)
		}
		_ = box.Down()
	})
	out, err := box.Fake(ctx, "add-secret", "--grant", "kubeconfig#file="+testbed.ManagementKubeconfig)
	require.NoError(t, err)
	return &unit{t: t, ctx: ctx, box: box, secret: strings.TrimSpace(out)}
}

func (u *unit) hook(name string, env ...string) {
	u.t.Helper()
	require.NoError(u.t, u.box.Hook(u.ctx, name, env...))
}

// config sets charm options (nil resets one to unset).
func (u *unit) config(kv ...any) {
	u.t.Helper()
	require.NoError(u.t, fakejuju.Update(u.box.Path(testbed.StateFile), func(st *fakejuju.State) error {
		for i := 0; i+1 < len(kv); i += 2 {
			st.Config[kv[i].(string)] = kv[i+1]
		}
		return nil
	}))
}

func (u *unit) status() (string, string) {
	u.t.Helper()
	s, m, err := u.box.Status()
	require.NoError(u.t, err)
	return s, m
}

func (u *unit) requireStatus(status, contains string) {
	u.t.Helper()
	s, m := u.status()
	require.Equal(u.t, status, s, "status message: %s", m)
	require.Contains(u.t, m, contains)
}

func (u *unit) manifest(more ...string) testbed.Manifest {
	u.t.Helper()
	m, err := u.box.TakeManifest(more...)
	require.NoError(u.t, err)
	return m
}

func (u *unit) run(argv ...string) string {
	u.t.Helper()
	out, err := u.box.MustRun(u.ctx, argv...)
	require.NoError(u.t, err)
	return out
}

func (u *unit) service(name string) testbed.Service {
	u.t.Helper()
	s, err := u.box.Service(u.ctx, name)
	require.NoError(u.t, err)
	return s
}

func (u *unit) starts(name string) int {
	u.t.Helper()
	n, err := u.box.Starts(u.ctx, name)
	require.NoError(u.t, err)
	return n
}

func (u *unit) reloads() int {
	u.t.Helper()
	n, err := u.box.Reloads(u.ctx)
	require.NoError(u.t, err)
	return n
}

func (u *unit) action(name string, params map[string]any) *testbed.ActionOutcome {
	u.t.Helper()
	out, err := u.box.Action(u.ctx, name, params)
	require.NoError(u.t, err)
	return out
}

// graft configures the kubeconfig and runs install and config-changed.
func (u *unit) graft(kv ...any) {
	u.t.Helper()
	u.config(append([]any{"kubeconfig", u.secret}, kv...)...)
	u.hook("install")
	u.hook("config-changed")
}

// removeCharm runs the hooks Juju runs when the subordinate goes away.
func (u *unit) removeCharm() {
	u.t.Helper()
	u.hook("juju-info-relation-broken")
	u.hook("stop")
	u.hook("remove")
}

// owner returns "user:group mode" of a path in the box, numerically.
func (u *unit) owner(path string) string {
	u.t.Helper()
	fi, err := os.Stat(u.box.Path(path))
	require.NoError(u.t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d %04o", st.Uid, st.Gid, fi.Mode().Perm())
}

func (u *unit) magnumGID() uint32 {
	u.t.Helper()
	fi, err := os.Stat(u.box.Path("/var/lib/magnum"))
	require.NoError(u.t, err)
	return fi.Sys().(*syscall.Stat_t).Gid
}

func (u *unit) mtimes(paths ...string) map[string]time.Time {
	u.t.Helper()
	m := map[string]time.Time{}
	for _, p := range paths {
		fi, err := os.Stat(u.box.Path(p))
		require.NoError(u.t, err)
		m[p] = fi.ModTime()
	}
	return m
}

// requireSame fails with the differing paths when the unit changed.
func requireSame(t *testing.T, before, after testbed.Manifest, what string) {
	t.Helper()
	diff := before.Diff(after)
	require.Empty(t, diff, "%s changed the unit:\n%s", what, strings.Join(diff, "\n"))
}

func writeFile(t *testing.T, u *unit, path, content string, mode os.FileMode) {
	t.Helper()
	p := u.box.Path(path)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), mode))
}

var _ = assert.Equal

func itoa(n int) string { return fmt.Sprint(n) }

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}
