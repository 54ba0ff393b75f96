package reconcile

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd/systemdtest"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// applyBed is a converge on files in a temporary directory, with systemd
// faked: the graft changes one file that exists (99-capi.conf) and adds one
// that does not (the kubeconfig); both services read both.
type applyBed struct {
	t    *testing.T
	r    *Reconciler
	sd   *systemdtest.Fake
	fp   *files.Footprint
	d    *Desired
	unit *unitshape.Unit
	// conf is there before the graft, with content "old" and mtime old;
	// kube is not.
	conf, kube string
	old        time.Time
	// hash is what the last converge kept a failure under, and change
	// the change it asked its peers for.
	hash, change string
}

func newApplyBed(t *testing.T) *applyBed {
	t.Helper()
	dir := t.TempDir()
	b := &applyBed{t: t, sd: systemdtest.New(), conf: filepath.Join(dir, "99-capi.conf"), kube: filepath.Join(dir, "kubeconfig"),
		old: time.Now().Add(-2 * time.Hour).Truncate(time.Second)}
	require.NoError(t, os.WriteFile(b.conf, []byte("old\n"), 0o640))
	require.NoError(t, os.Chtimes(b.conf, b.old, b.old))
	b.r = &Reconciler{State: state.Dir(filepath.Join(dir, "state")), Systemd: b.sd}
	fp, err := b.r.State.Footprint()
	require.NoError(t, err)
	b.fp = fp
	me, err := user.Current()
	require.NoError(t, err)
	grp, err := user.LookupGroupId(me.Gid)
	require.NoError(t, err)
	both := unitshape.Services
	b.d = &Desired{Part: artifact.Part{Files: []files.File{
		{Path: b.conf, Content: []byte("new\n"), Mode: 0o640, Owner: me.Username, Group: grp.Name, Restarts: both},
		{Path: b.kube, Content: []byte("kubeconfig\n"), Mode: 0o640, Owner: me.Username, Group: grp.Name, Restarts: both, Secret: true},
	}}}
	b.unit = &unitshape.Unit{}
	for _, name := range both {
		b.d.Wirings = append(b.d.Wirings, wiring.Wiring{Service: name, Method: wiring.ByDefaultDirs})
		b.unit.Services = append(b.unit.Services, unitshape.Service{Name: name, Cmdline: []string{"/usr/bin/" + name},
			Unit: systemd.Unit{Name: name + ".service", LoadState: "loaded", ActiveState: "active", MainPID: 42,
				StartedAt: time.Now().Add(-time.Hour)}})
	}
	return b
}

func (b *applyBed) converge(force bool) (bool, error) {
	c := b.r.artifactContext(b.unit, Options{Force: force})
	p, target, err := b.r.converge(context.Background(), c, b.d, b.fp)
	b.hash, b.change = target.Hash, target.Change
	return err == nil && !p.Empty(), err
}

// untouched asserts the unit is as the bed made it: the old file with its
// old bytes and mtime, no kubeconfig.
func (b *applyBed) untouched() {
	b.t.Helper()
	got, err := os.ReadFile(b.conf)
	require.NoError(b.t, err)
	assert.Equal(b.t, "old\n", string(got), "99-capi.conf put back")
	fi, err := os.Stat(b.conf)
	require.NoError(b.t, err)
	assert.True(b.t, fi.ModTime().Equal(b.old), "99-capi.conf's mtime put back: %s, want %s", fi.ModTime(), b.old)
	_, err = os.Lstat(b.kube)
	assert.True(b.t, errors.Is(err, os.ErrNotExist), "the kubeconfig the graft added is gone: %v", err)
}

// A service that does not start with the new files: everything is put back
// as it was (mtimes too, so the next hook does not restart services for a
// change that never reached them), the service restarts on the old files,
// the failure is remembered, and the next hook says so without restarting
// anything. A forced hook (the regraft action) tries again.
func TestApplyRestartFailsRollsBack(t *testing.T) {
	b := newApplyBed(t)
	b.sd.Failing["magnum-api.service"] = true

	applied, err := b.converge(false)
	require.Error(t, err)
	assert.False(t, applied)
	require.True(t, artifact.IsBlocked(err), "a service that does not start is for a human: %v", err)
	assert.Contains(t, err.Error(), "magnum-api failed to start with the new graft and was rolled back")
	assert.Contains(t, err.Error(), "journal: magnum-api.service: ERROR", "the journal's last lines are said")
	b.untouched()
	assert.Equal(t, []string{"magnum-api.service", "magnum-api.service"}, b.sd.Restarts,
		"magnum-api restarts into the graft, then on the old files; magnum-conductor is never touched")
	msg, remembered := b.r.State.FailedBefore(b.hash)
	require.True(t, remembered, "the failure is remembered")
	assert.Contains(t, msg, "magnum-api failed to start")

	// The next hook (update-status, say) with the same desired state.
	b.sd.Failing = map[string]bool{}
	_, err = b.converge(false)
	require.True(t, artifact.IsBlocked(err), "the next hook blocks: %v", err)
	assert.Contains(t, err.Error(), "magnum-api failed to start with the new graft")
	assert.Contains(t, err.Error(), "run the regraft action to try again")
	assert.Len(t, b.sd.Restarts, 2, "the next hook restarts nothing")
	b.untouched()

	// A forced hook tries again, and this time the service starts.
	applied, err = b.converge(true)
	require.NoError(t, err)
	assert.True(t, applied)
	assert.Equal(t, []string{"magnum-api.service", "magnum-api.service", "magnum-api.service", "magnum-conductor.service"}, b.sd.Restarts)
	got, err := os.ReadFile(b.conf)
	require.NoError(t, err)
	assert.Equal(t, "new\n", string(got))
}

// systemd failing under the charm (a lost D-Bus connection) is no verdict
// on the graft: the files are put back, nothing is remembered, and the
// error is returned for Juju to retry; the retry applies the graft.
func TestApplyTransientRestartErrorIsRetried(t *testing.T) {
	b := newApplyBed(t)
	b.sd.Broken, b.sd.BrokenAfter = systemdtest.ErrDBus, 1

	_, err := b.converge(false)
	require.Error(t, err)
	assert.False(t, artifact.IsBlocked(err), "systemd unreachable is not for a human: %v", err)
	assert.ErrorIs(t, err, systemdtest.ErrDBus)
	b.untouched()
	assert.Equal(t, []string{"magnum-api.service"}, b.sd.Restarts, "magnum-api restarted before systemd went away")
	_, remembered := b.r.State.FailedBefore(b.hash)
	assert.False(t, remembered, "a failure of systemd is not remembered as the graft's")

	// Juju retries the hook; systemd is back.
	b.sd.Broken = nil
	applied, err := b.converge(false)
	require.NoError(t, err)
	assert.True(t, applied)
	got, err := os.ReadFile(b.kube)
	require.NoError(t, err)
	assert.Equal(t, "kubeconfig\n", string(got))
}

// A write that fails half-way (a full disk; here the third file's
// directory is gone) leaves the unit as it found it, restarts nothing and
// is retried.
func TestApplyWriteFailsIsRetried(t *testing.T) {
	b := newApplyBed(t)
	last := b.d.Files[0]
	last.Path = filepath.Join(filepath.Dir(b.conf), "gone", "99-late.conf")
	b.d.Files = append(b.d.Files, last)

	_, err := b.converge(false)
	require.Error(t, err)
	assert.ErrorContains(t, err, "99-late.conf", "the write failed, not the plan")
	assert.False(t, artifact.IsBlocked(err), "a failed write is retried: %v", err)
	b.untouched()
	assert.Empty(t, b.sd.Restarts)
	_, remembered := b.r.State.FailedBefore(b.hash)
	assert.False(t, remembered)
}

// Reconcile keeps "a human must fix it" and "try again" apart: systemd
// unreachable is an error, not a blocked status.
func TestReconcileSystemdUnreachableIsAnError(t *testing.T) {
	sd := systemdtest.New()
	sd.UnitErr = systemdtest.ErrDBus
	r := &Reconciler{State: state.Dir(t.TempDir()), Systemd: sd}
	out, err := r.Reconcile(context.Background(), Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, systemdtest.ErrDBus)
	assert.Empty(t, out.Status, "no status is said for an error Juju retries")
	assert.NotEqual(t, hooktool.Blocked, out.Status)
}
