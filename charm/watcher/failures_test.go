package watcher

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

func TestFailuresRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := state.Dir(dir)

	f, err := LoadFailures(path)
	require.NoError(t, err)
	assert.Equal(t, Failures{}, f, "no record is no failures")
	assert.False(t, f.Stopped())

	first := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	f, err = RecordFailure(path, "blocked: a", first)
	require.NoError(t, err)
	assert.Equal(t, Failures{Count: 1, Reason: "blocked: a", Since: first}, f)
	assert.False(t, f.Stopped())
	f, err = RecordFailure(path, "blocked: b", first.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, Failures{Count: 2, Reason: "blocked: b", Since: first}, f, "the run keeps its start")
	assert.True(t, f.Stopped())

	got, err := LoadFailures(path)
	require.NoError(t, err)
	assert.Equal(t, f, got)
	fi, err := os.Stat(path.Path(state.RegraftFailures))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	had, err := ClearFailures(path)
	require.NoError(t, err)
	assert.True(t, had)
	had, err = ClearFailures(path)
	require.NoError(t, err)
	assert.False(t, had)
}

func TestFailuresUnreadableRecordStartsAgain(t *testing.T) {
	path := state.Dir(t.TempDir())
	require.NoError(t, os.WriteFile(path.Path(state.RegraftFailures), []byte("{not json"), 0o600))
	_, err := LoadFailures(path)
	assert.ErrorContains(t, err, "cannot parse")
	f, err := RecordFailure(path, "blocked: c", time.Now())
	require.NoError(t, err)
	assert.Equal(t, 1, f.Count)
}
