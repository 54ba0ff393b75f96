package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

func put(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode))
}

func TestFootprint(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	etc := t.TempDir()
	conf, absent := filepath.Join(etc, "magnum-api"), filepath.Join(etc, "99-capi.conf")
	put(t, conf, "USE_SYSLOG=yes\n", 0o640)

	fp, err := Dir(state).Footprint()
	require.NoError(t, err)
	assert.Empty(t, fp.Entries)
	assert.NoDirExists(t, state, "loading writes nothing")

	require.NoError(t, fp.Remember(conf))
	require.NoError(t, fp.Remember(absent))
	// The charm changes both, then remembers them again: the first record
	// is the one that counts.
	put(t, conf, "USE_SYSLOG=yes\n# BEGIN magnum-capi-graft\n", 0o644)
	put(t, absent, "[capi_helm]\n", 0o640)
	require.NoError(t, fp.Remember(conf))
	require.NoError(t, fp.Remember(absent))

	wantConf := files.Stat{Exists: true, Content: []byte("USE_SYSLOG=yes\n"), Mode: 0o640, UID: os.Geteuid(), GID: os.Getegid()}
	assert.Equal(t, map[string]files.Stat{conf: wantConf, absent: {}}, fp.Entries)

	// Saved at once, root-only.
	fi, err := os.Stat(filepath.Join(state, "footprint.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(state)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	loaded, err := Dir(state).Footprint()
	require.NoError(t, err)
	assert.Equal(t, fp.Entries, loaded.Entries)

	// A reloaded footprint still keeps the first record.
	require.NoError(t, loaded.Remember(conf))
	assert.Equal(t, wantConf, loaded.Entries[conf])

	require.NoError(t, loaded.Forget(absent))
	again, err := Dir(state).Footprint()
	require.NoError(t, err)
	assert.Equal(t, map[string]files.Stat{conf: wantConf}, again.Entries, "Forget is saved")

	require.NoError(t, os.WriteFile(filepath.Join(state, "footprint.json"), []byte("{"), 0o600))
	_, err = Dir(state).Footprint()
	assert.ErrorContains(t, err, "cannot read the footprint")
}

func TestLoadSaveMark(t *testing.T) {
	d := Dir(filepath.Join(t.TempDir(), "state"))
	var v struct{ A int }
	err := d.Load(Driver, &v)
	assert.ErrorIs(t, err, os.ErrNotExist, "a missing file says so")
	assert.NoDirExists(t, string(d), "loading writes nothing")

	v.A = 7
	require.NoError(t, d.Save(Driver, v))
	var back struct{ A int }
	require.NoError(t, d.Load(Driver, &back))
	assert.Equal(t, 7, back.A)
	fi, err := os.Stat(d.Path(Driver))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "root-only")

	require.NoError(t, os.WriteFile(d.Path(Helm), []byte("{"), 0o600))
	assert.ErrorContains(t, d.Load(Helm, &back), "cannot parse")

	assert.False(t, d.Marked(DriverPending))
	require.NoError(t, d.Mark(DriverPending, true))
	assert.True(t, d.Marked(DriverPending))
	require.NoError(t, d.Mark(DriverPending, false))
	assert.False(t, d.Marked(DriverPending))
	require.NoError(t, d.Mark(DriverPending, false), "clearing a clear marker is no error")

	had, err := d.Remove(Driver)
	require.NoError(t, err)
	assert.True(t, had)
	had, err = d.Remove(Driver)
	require.NoError(t, err)
	assert.False(t, had)
}

// The failure memory answers for the hash it was kept under only, and is
// gone once cleared.
func TestFailureMemory(t *testing.T) {
	d := Dir(t.TempDir())
	_, ok := d.FailedBefore("h1")
	assert.False(t, ok, "nothing remembered")
	require.NoError(t, d.RememberFailure("h1", "magnum-api failed to start"))
	msg, ok := d.FailedBefore("h1")
	assert.True(t, ok)
	assert.Equal(t, "magnum-api failed to start", msg)
	_, ok = d.FailedBefore("h2")
	assert.False(t, ok, "another desired state")
	require.NoError(t, d.ClearFailure())
	_, ok = d.FailedBefore("h1")
	assert.False(t, ok, "cleared")
	require.NoError(t, d.ClearFailure(), "clearing nothing is no error")
}
