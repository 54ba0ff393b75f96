package readings

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

var both = []string{"magnum-api", "magnum-conductor"}

func running(name string, pid uint32, started time.Time) unitshape.Service {
	return unitshape.Service{Name: name, Unit: systemd.Unit{ActiveState: "active", MainPID: pid, StartedAt: started}}
}

// pth writes a .pth in a fresh directory and returns it as the charm
// wants it.
func pth(t *testing.T, content string) files.File {
	p := filepath.Join(t.TempDir(), "magnum-capi-graft.pth")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return files.File{Path: p, Content: []byte(content), Restarts: both, ReadAtStart: true}
}

func writeOf(f files.File) plan.Change {
	return plan.Change{Kind: plan.Write, Path: f.Path, Content: f.Content, Restarts: f.Restarts, ReadAtStart: true, Why: "absent"}
}

func planOf(c plan.Change) *plan.Plan {
	p := &plan.Plan{}
	p.Add(c)
	return p
}

func TestNoteProvesAReadByCtimeAndWritesOnlyChanges(t *testing.T) {
	dir := state.Dir(t.TempDir())
	f := pth(t, "/opt/driver/1.4.0\n")
	fi, err := os.Stat(f.Path)
	require.NoError(t, err)
	later := time.Now().Add(time.Second)
	services := []unitshape.Service{running("magnum-api", 10, later), running("magnum-conductor", 20, later)}

	var r Record
	require.NoError(t, r.Note(dir, services, []files.File{f}))
	require.Len(t, r.Readings, 2)
	sum := sha256.Sum256(f.Content)
	assert.Equal(t, Reading{Service: "magnum-api", MainPID: 10, StartedAt: later, Path: f.Path,
		SHA256: hex.EncodeToString(sum[:]), Mtime: fi.ModTime()}, r.Readings[0])
	assert.Equal(t, "magnum-conductor", r.Readings[1].Service)
	kept, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, r.Readings[1].SHA256, kept.Readings[1].SHA256, "the record is kept in the state directory")

	// The same unit again: nothing is written.
	require.NoError(t, os.Remove(dir.Path(state.Readings)))
	require.NoError(t, r.Note(dir, services, []files.File{f}))
	assert.NoFileExists(t, dir.Path(state.Readings), "an unchanged record was written again")
}

func TestNoteKeepsAReadingOnlyForTheSameProcess(t *testing.T) {
	dir := state.Dir(t.TempDir())
	f := pth(t, "/opt/driver/1.4.0\n")
	later := time.Now().Add(time.Second)
	var r Record
	require.NoError(t, r.Note(dir, []unitshape.Service{running("magnum-api", 10, later), running("magnum-conductor", 20, later)}, []files.File{f}))

	// The file is written again (a new inode, a ctime after both
	// starts): nothing proves a read any more, but the processes that read
	// it run on.
	require.NoError(t, os.Remove(f.Path))
	require.NoError(t, os.WriteFile(f.Path, f.Content, 0o644))
	earlier := later.Add(-time.Hour)
	services := []unitshape.Service{running("magnum-api", 10, later), running("magnum-conductor", 21, earlier)}
	require.NoError(t, r.Note(dir, services, []files.File{f}))
	require.Len(t, r.Readings, 1, "the conductor's main process changed: its reading went")
	assert.Equal(t, "magnum-api", r.Readings[0].Service)

	// A service started before the file's ctime proves nothing.
	var fresh Record
	require.NoError(t, fresh.Note(dir, []unitshape.Service{running("magnum-api", 10, earlier), services[1]}, []files.File{f}))
	assert.Empty(t, fresh.Readings)

	// Files not read only at start are not noted.
	f.ReadAtStart = false
	require.NoError(t, fresh.Note(dir, []unitshape.Service{running("magnum-api", 10, time.Now().Add(time.Hour))}, []files.File{f}))
	assert.Empty(t, fresh.Readings)
}

func TestSpareTakesOutOnlyServicesThatRunOnTheBytes(t *testing.T) {
	f := pth(t, "/opt/driver/1.4.0\n")
	fi, err := os.Stat(f.Path)
	require.NoError(t, err)
	later := time.Now().Add(time.Second)
	services := []unitshape.Service{running("magnum-api", 10, later), running("magnum-conductor", 20, later)}
	var r Record
	require.NoError(t, r.Note(state.Dir(t.TempDir()), services, []files.File{f}))
	require.NoError(t, os.Remove(f.Path))

	t.Run("both ran on it", func(t *testing.T) {
		p := planOf(writeOf(f))
		r.Spare(p, services)
		assert.Empty(t, p.Restarts)
		assert.Empty(t, p.Changes[0].Restarts)
		assert.True(t, p.Changes[0].Mtime.Equal(fi.ModTime()), "the file gets the mtime the services read it with")
		assert.Contains(t, p.Changes[0].Why, "no restart")
	})
	t.Run("the conductor restarted while it was missing", func(t *testing.T) {
		p := planOf(writeOf(f))
		restarted := []unitshape.Service{services[0], running("magnum-conductor", 30, later.Add(time.Minute))}
		r.Spare(p, restarted)
		require.Len(t, p.Restarts, 1)
		assert.Equal(t, "magnum-conductor", p.Restarts[0].Service)
		assert.Equal(t, []string{"magnum-conductor"}, p.Changes[0].Restarts)
	})
	t.Run("other bytes", func(t *testing.T) {
		other := f
		other.Content = []byte("/opt/driver/1.5.0\n")
		p := planOf(writeOf(other))
		r.Spare(p, services)
		assert.Len(t, p.Restarts, 2)
		assert.True(t, p.Changes[0].Mtime.IsZero())
	})
	t.Run("readings that disagree on the mtime", func(t *testing.T) {
		odd := Record{Readings: append([]Reading(nil), r.Readings...)}
		odd.Readings[1].Mtime = odd.Readings[1].Mtime.Add(-time.Hour)
		p := planOf(writeOf(f))
		odd.Spare(p, services)
		assert.Len(t, p.Restarts, 2)
	})
	t.Run("a file read all along", func(t *testing.T) {
		c := writeOf(f)
		c.ReadAtStart = false
		p := planOf(c)
		r.Spare(p, services)
		assert.Len(t, p.Restarts, 2)
	})
	t.Run("no record", func(t *testing.T) {
		p := planOf(writeOf(f))
		var none *Record
		none.Spare(p, services)
		assert.Len(t, p.Restarts, 2)
	})
}

func TestChangedComparesMtimeWithTheStart(t *testing.T) {
	f := pth(t, "x\n")
	svc := running("magnum-api", 10, time.Now().Add(-time.Hour))
	assert.Equal(t, []string{"magnum-capi-graft.pth changed since it started"}, Changed(svc, []files.File{f}, nil))
	require.NoError(t, os.Chtimes(f.Path, time.Time{}, time.Now().Add(-2*time.Hour)))
	assert.Empty(t, Changed(svc, []files.File{f}, nil), "a file of an older mtime is what the service runs on")
	other := running("magnum-conductor", 20, time.Now().Add(-time.Hour))
	f.Restarts = []string{"magnum-api"}
	assert.Empty(t, Changed(other, []files.File{f}, []string{filepath.Join(t.TempDir(), "absent")}))
}
