package glance

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// unit is a small converged "unit" in a temporary directory: a file, a
// tree, and a live process.
type unit struct {
	dir, file, tree string
	st              state.Dir
	proc            *exec.Cmd
	// until is every sight's Until, as a memo's due time fixes it.
	until time.Time
}

func newUnit(t *testing.T) *unit {
	dir := t.TempDir()
	u := &unit{dir: dir, file: filepath.Join(dir, "99-capi.conf"), tree: filepath.Join(dir, "driver"), st: state.Dir(t.TempDir()), until: time.Now().Add(time.Hour)}
	require.NoError(t, os.WriteFile(u.file, []byte("[capi_helm]\n"), 0o640))
	require.NoError(t, os.MkdirAll(filepath.Join(u.tree, "pkg"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(u.tree, "pkg", "driver.py"), []byte("x = 1\n"), 0o644))
	u.proc = exec.Command("sleep", "60")
	require.NoError(t, u.proc.Start())
	t.Cleanup(func() { _ = u.proc.Process.Kill(); _ = u.proc.Wait() })
	return u
}

func (u *unit) sight(since time.Time) Sight {
	return Sight{Paths: []string{u.file, u.dir, filepath.Join(u.dir, "absent.conf")}, Trees: []string{u.tree},
		Processes: []Process{{Service: "magnum-conductor", PID: uint32(u.proc.Process.Pid)}},
		Until:     u.until, Since: since}
}

// keep keeps the unit's sight as a reconcile that began observing a
// moment after the last change would.
func (u *unit) keep(t *testing.T) {
	time.Sleep(2 * coarse)
	require.NoError(t, Keep(u.st, u.sight(time.Now()), "inputs-1", hooktool.Active, "grafted"))
	_, err := os.Stat(u.st.Path(state.Glance))
	require.NoError(t, err, "a converged sight was not kept")
}

func TestHoldsWhileNothingChanges(t *testing.T) {
	u := newUnit(t)
	u.keep(t)
	rec, ok := Holds(u.st, "inputs-1", time.Now())
	require.True(t, ok)
	assert.Equal(t, hooktool.Active, rec.Status)
	assert.Equal(t, "grafted", rec.Message)
	_, ok = Holds(u.st, "inputs-1", time.Now())
	assert.True(t, ok, "glancing changed what it glances at")
}

// Every change a stamp must see, each on a freshly kept sight.
func TestAnyChangeEndsTheGlance(t *testing.T) {
	for name, change := range map[string]func(t *testing.T, u *unit){
		"rewritten with the same bytes": func(t *testing.T, u *unit) {
			require.NoError(t, os.WriteFile(u.file, []byte("[capi_helm]\n"), 0o640))
		},
		"chmod": func(t *testing.T, u *unit) { require.NoError(t, os.Chmod(u.file, 0o644)) },
		"mtime put back": func(t *testing.T, u *unit) {
			fi, err := os.Stat(u.file)
			require.NoError(t, err)
			// Same size, same inode, same mtime: only ctime tells.
			require.NoError(t, os.WriteFile(u.file, []byte("[capi_hel2]\n"), 0o640))
			require.NoError(t, os.Chtimes(u.file, fi.ModTime(), fi.ModTime()))
		},
		"removed":                func(t *testing.T, u *unit) { require.NoError(t, os.Remove(u.file)) },
		"a file added beside it": func(t *testing.T, u *unit) { require.NoError(t, os.WriteFile(u.file+".new", nil, 0o644)) },
		"an absent path appears": func(t *testing.T, u *unit) {
			require.NoError(t, os.WriteFile(filepath.Join(u.dir, "absent.conf"), nil, 0o644))
		},
		"a file deep in the tree": func(t *testing.T, u *unit) {
			require.NoError(t, os.WriteFile(filepath.Join(u.tree, "pkg", "driver.py"), []byte("x = 2\n"), 0o644))
		},
		"the tree removed": func(t *testing.T, u *unit) { require.NoError(t, os.RemoveAll(u.tree)) },
		"the service restarted": func(t *testing.T, u *unit) {
			require.NoError(t, u.proc.Process.Kill())
			_ = u.proc.Wait()
		},
	} {
		t.Run(name, func(t *testing.T) {
			u := newUnit(t)
			u.keep(t)
			_, ok := Holds(u.st, "inputs-1", time.Now())
			require.True(t, ok)
			change(t, u)
			_, ok = Holds(u.st, "inputs-1", time.Now())
			assert.False(t, ok, "the glance did not see the change")
		})
	}
}

func TestOtherInputsOrAgeEndTheGlance(t *testing.T) {
	u := newUnit(t)
	u.keep(t)
	_, ok := Holds(u.st, "inputs-2", time.Now())
	assert.False(t, ok, "another config or secret was answered from the old sight")
	_, ok = Holds(u.st, "inputs-1", time.Now().Add(2*time.Hour))
	assert.False(t, ok, "a sight past its Until still holds")
	_, ok = Holds(u.st, "", time.Now())
	assert.False(t, ok)
	_, ok = Holds(u.st, "inputs-1", time.Now().Add(-time.Hour))
	assert.False(t, ok, "a clock set back still trusts the sight")
}

// A path that changed after the reconcile began observing may have been
// read before the change: the sight is not kept, and an older one goes.
func TestASightThatChangedDuringTheReconcileIsNotKept(t *testing.T) {
	u := newUnit(t)
	u.keep(t)
	since := time.Now()
	require.NoError(t, os.WriteFile(u.file, []byte("[capi_helm]\n"), 0o640))
	require.NoError(t, Keep(u.st, u.sight(since), "inputs-1", hooktool.Active, "grafted"))
	_, err := os.Stat(u.st.Path(state.Glance))
	assert.ErrorIs(t, err, os.ErrNotExist, "a sight that changed during its reconcile was kept")
	_, ok := Holds(u.st, "inputs-1", time.Now())
	assert.False(t, ok)
}

func TestForget(t *testing.T) {
	u := newUnit(t)
	u.keep(t)
	Forget(u.st)
	_, ok := Holds(u.st, "inputs-1", time.Now())
	assert.False(t, ok)
}

func TestStartTimeReadsProcStat(t *testing.T) {
	start, err := startTime(uint32(os.Getpid()))
	require.NoError(t, err)
	assert.NotZero(t, start)
	_, err = startTime(0)
	assert.Error(t, err)
}

// A path absent when the sight was taken may have been removed after the
// observation began: its directory's ctime says so, and the sight is not
// kept.
func TestAPathRemovedDuringTheReconcileIsNotKept(t *testing.T) {
	u := newUnit(t)
	gone := filepath.Join(u.dir, "absent.conf")
	require.NoError(t, os.WriteFile(gone, nil, 0o644))
	time.Sleep(2 * coarse)
	since := time.Now()
	require.NoError(t, os.Remove(gone))
	s := u.sight(since)
	s.Paths = []string{gone} // not the directory itself: only the absent path's rule can tell
	require.NoError(t, Keep(u.st, s, "inputs-1", hooktool.Active, "grafted"))
	_, err := os.Stat(u.st.Path(state.Glance))
	assert.ErrorIs(t, err, os.ErrNotExist, "a sight whose path vanished during its reconcile was kept")
}

// Keeping the same sight again writes nothing: a full reconcile that found
// nothing new (the watcher's echo of a hook) costs no write.
func TestTheSameSightIsNotWrittenAgain(t *testing.T) {
	u := newUnit(t)
	u.keep(t)
	fi, err := os.Stat(u.st.Path(state.Glance))
	require.NoError(t, err)
	time.Sleep(2 * coarse)
	require.NoError(t, Keep(u.st, u.sight(time.Now()), "inputs-1", hooktool.Active, "grafted"))
	again, err := os.Stat(u.st.Path(state.Glance))
	require.NoError(t, err)
	assert.Equal(t, fi.ModTime(), again.ModTime(), "the same sight was written again")
	// An expired record: the full reconcile after it keeps the same
	// sight with a later Until, which must be written, or no update-status
	// would glance again.
	late := u.sight(time.Now())
	late.Until = time.Now().Add(2 * time.Hour)
	require.NoError(t, Keep(u.st, late, "inputs-1", hooktool.Active, "grafted"))
	_, ok := Holds(u.st, "inputs-1", time.Now().Add(90*time.Minute))
	assert.True(t, ok, "the later Until of the same sight was not kept")
	require.NoError(t, Keep(u.st, u.sight(time.Now()), "inputs-1", hooktool.Active, "grafted, and a warning"))
	rec, ok := Holds(u.st, "inputs-1", time.Now())
	require.True(t, ok)
	assert.Equal(t, "grafted, and a warning", rec.Message, "another status was not kept")
}
