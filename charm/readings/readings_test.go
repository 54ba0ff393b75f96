package readings

import (
	"context"
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
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd/systemdtest"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

var both = []string{"magnum-api", "magnum-conductor"}

func init() {
	// The tests' services are not processes: each has forked its workers
	// unless a test says otherwise.
	forked = func(uint32) bool { return true }
}

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

// noted is a .pth both services (started a second from now) read, its
// stat, and the record a Note in dir made of it.
type noted struct {
	f        files.File
	fi       os.FileInfo
	later    time.Time
	services []unitshape.Service
	r        Record
}

func note(t *testing.T, dir state.Dir) noted {
	n := noted{f: pth(t, "/opt/driver/1.4.0\n"), later: time.Now().Add(time.Second)}
	var err error
	n.fi, err = os.Stat(n.f.Path)
	require.NoError(t, err)
	n.services = []unitshape.Service{running("magnum-api", 10, n.later), running("magnum-conductor", 20, n.later)}
	require.NoError(t, n.r.Note(dir, n.services, []files.File{n.f}))
	return n
}

func TestNoteProvesAReadByCtimeAndWritesOnlyChanges(t *testing.T) {
	dir := state.Dir(t.TempDir())
	n := note(t, dir)
	f, fi, later, services, r := n.f, n.fi, n.later, n.services, n.r
	require.Len(t, r.Readings, 2)
	sum := sha256.Sum256(f.Content)
	assert.Equal(t, Reading{Service: "magnum-api", MainPID: 10, StartedAt: later, Path: f.Path,
		SHA256: hex.EncodeToString(sum[:]), Mtime: fi.ModTime()}, r.Readings[0])
	assert.Equal(t, "magnum-conductor", r.Readings[1].Service)
	kept := Load(dir)
	require.Len(t, kept.Readings, 2)
	assert.Equal(t, r.Readings[1].SHA256, kept.Readings[1].SHA256, "the record is kept in the state directory")

	// The same unit again: nothing is written.
	require.NoError(t, os.Remove(dir.Path(state.Readings)))
	require.NoError(t, r.Note(dir, services, []files.File{f}))
	assert.NoFileExists(t, dir.Path(state.Readings), "an unchanged record was written again")
}

func TestNoteKeepsAReadingOnlyForTheSameProcess(t *testing.T) {
	dir := state.Dir(t.TempDir())
	f := pth(t, "/opt/driver/1.4.0\n")
	// Started just after the file was written: then the file is written
	// again, and nothing proves a read any more.
	started := time.Now()
	services := []unitshape.Service{running("magnum-api", 10, started), running("magnum-conductor", 20, started)}
	var r Record
	require.NoError(t, r.Note(dir, services, []files.File{f}))
	require.Len(t, r.Readings, 2)
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, os.Remove(f.Path))
	require.NoError(t, os.WriteFile(f.Path, f.Content, 0o644))

	for _, tc := range []struct {
		name string
		svc  unitshape.Service
		kept bool
	}{
		{"the same process", services[0], true},
		{"another PID, the same start", running("magnum-api", 11, started), false},
		{"the same PID, another start", running("magnum-api", 10, started.Add(-time.Second)), false},
		{"stopped", unitshape.Service{Name: "magnum-api"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			again := Record{Readings: append([]Reading(nil), r.Readings...)}
			require.NoError(t, again.Note(dir, []unitshape.Service{tc.svc, services[1]}, []files.File{f}))
			var api []Reading
			for _, rd := range again.Readings {
				if rd.Service == "magnum-api" {
					api = append(api, rd)
				}
			}
			if tc.kept {
				assert.Equal(t, []Reading{r.Readings[0]}, api)
			} else {
				assert.Empty(t, api)
			}
		})
	}
}

func TestNoteProvesNothingBeforeTheFileOrTheFork(t *testing.T) {
	dir := state.Dir(t.TempDir())
	f := pth(t, "/opt/driver/1.4.0\n")
	var r Record
	require.NoError(t, r.Note(dir, []unitshape.Service{running("magnum-api", 10, time.Now().Add(-time.Hour))}, []files.File{f}))
	assert.Empty(t, r.Readings, "a service started before the file's ctime")

	forked = func(uint32) bool { return false }
	defer func() { forked = func(uint32) bool { return true } }()
	require.NoError(t, r.Note(dir, []unitshape.Service{running("magnum-api", 10, time.Now().Add(time.Hour))}, []files.File{f}))
	assert.Empty(t, r.Readings, "a service that has not forked may not have read it yet")

	forked = func(uint32) bool { return true }
	f.ReadAtStart = false
	require.NoError(t, r.Note(dir, []unitshape.Service{running("magnum-api", 10, time.Now().Add(time.Hour))}, []files.File{f}))
	assert.Empty(t, r.Readings, "a file read all along")
}

func TestLoadTakesAnUnreadableRecordForNone(t *testing.T) {
	dir := state.Dir(t.TempDir())
	require.NoError(t, dir.Write(state.Readings, []byte("{not json")))
	assert.Empty(t, Load(dir).Readings)
	require.NoError(t, dir.Save(state.Readings, Record{Readings: []Reading{{Service: "magnum-api"}}}))
	assert.Len(t, Load(dir).Readings, 1)
}

func TestSpareTakesOutOnlyServicesThatRunOnTheBytes(t *testing.T) {
	n := note(t, state.Dir(t.TempDir()))
	f, fi, later, services, r := n.f, n.fi, n.later, n.services, n.r
	require.NoError(t, os.Remove(f.Path))

	t.Run("both ran on it", func(t *testing.T) {
		p := planOf(writeOf(f))
		r.Spare(p, services)
		assert.Empty(t, p.Restarts)
		assert.Empty(t, p.Changes[0].Restarts)
		assert.True(t, p.Changes[0].Mtime.Equal(fi.ModTime()), "the file gets the mtime the services read it with")
		assert.Equal(t, both, p.Changes[0].Spared)
		assert.Contains(t, p.Changes[0].Why, "no restart")
	})
	t.Run("the conductor restarted while it was missing", func(t *testing.T) {
		// All or none: the api is owed no restart, but the file's fresh
		// mtime is what a later hook restarts the conductor by, should
		// this one die before it.
		p := planOf(writeOf(f))
		restarted := []unitshape.Service{services[0], running("magnum-conductor", 30, later.Add(time.Minute))}
		r.Spare(p, restarted)
		assert.Len(t, p.Restarts, 2)
		assert.True(t, p.Changes[0].Mtime.IsZero())
		assert.Empty(t, p.Changes[0].Spared)
	})
	t.Run("a restart for another reason stays", func(t *testing.T) {
		p := planOf(writeOf(f))
		p.NeedRestart("magnum-conductor", "conf.d not on its command line")
		p.NeedRestart("magnum-api", changedReason(f.Path))
		r.Spare(p, services)
		assert.Equal(t, []plan.Restart{{Service: "magnum-conductor", Because: []string{"conf.d not on its command line"}}}, p.Restarts)
		assert.Equal(t, both, p.Changes[0].Spared)
		assert.Equal(t, []string{"magnum-api", "magnum-conductor"}, both, "the desired file's list was changed")
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

func TestRecheckRestartsASparedServiceWhoseProcessChanged(t *testing.T) {
	sd := systemdtest.New() // every unit: MainPID 42, no start time
	spared := func() *plan.Plan {
		c := plan.Change{Kind: plan.Write, Path: "/x/magnum-capi-graft.pth", Spared: both}
		return &plan.Plan{Changes: []plan.Change{c}}
	}
	same := []unitshape.Service{running("magnum-api", 42, time.Time{}), running("magnum-conductor", 42, time.Time{})}

	p := spared()
	Recheck(context.Background(), p, same, sd)
	assert.Empty(t, p.Restarts, "the same processes")

	p = spared()
	Recheck(context.Background(), p, []unitshape.Service{same[0], running("magnum-conductor", 7, time.Time{})}, sd)
	assert.Equal(t, []plan.Restart{{Service: "magnum-conductor", Because: []string{"magnum-capi-graft.pth written while it restarted"}}}, p.Restarts)

	sd.UnitErr = systemdtest.ErrDBus
	p = spared()
	Recheck(context.Background(), p, same, sd)
	assert.Len(t, p.Restarts, 2, "systemd could not tell")
}
