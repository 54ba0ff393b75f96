// Package readings remembers what each of Magnum's services read, when it
// started, of the files it reads only then: the driver's .pth. A file the
// charm puts back byte for byte then costs no restart of a service that
// already runs on those very bytes.
//
// Python's site module reads a site directory's .pth files once, while the
// interpreter starts (CPython Lib/site.py: main -> addsitepackages ->
// addsitedir -> addpackage), into sys.path. magnum-conductor's workers are
// forks of its main process (oslo.service's ProcessLauncher), and uWSGI's
// magnum-api initializes Python in its master, whose forks are the workers,
// lazy-apps or not (unbit/uwsgi plugins/python/python_plugin.c:
// uwsgi_python_init in the master; lazy-apps defers only the apps'
// loading, uwsgi_python_init_apps, to the workers). So a .pth removed under
// a running service changes nothing in it: what it read is in its
// sys.path until it restarts. Only a service that started while the file
// was missing, or different, lacks the driver.
//
// The proof that a service read a file's bytes is the file's ctime: an
// inode whose ctime is before the service's start was at the path, with
// those bytes, when the service started (any write, rename, link or
// unlink there sets ctime to now, and ctime cannot be set back from user
// space). A reconcile notes the proof when it sees it (Note) and the
// record keeps it while the service's main process stays the same.
//
// Limits: a main process that execs itself again keeps its PID and start
// time (uWSGI's graceful reload on SIGHUP; Debian's magnum-api unit has no
// ExecReload, so only a hand-sent signal does it): one reloaded while the
// .pth was missing passes for the one that read it. And the .pth's bytes
// name the version directory; site skips a line naming a directory that
// does not exist, which a reading does not see (a version directory
// removed and put back costs no restart either, as before).
package readings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// Reading is one service's read of one file when it started.
type Reading struct {
	Service string `json:"service"`
	// MainPID and StartedAt name the process that read it: another
	// process of the service read nothing this record knows of.
	MainPID   uint32    `json:"main_pid"`
	StartedAt time.Time `json:"started_at"`
	Path      string    `json:"path"`
	SHA256    string    `json:"sha256"`
	// Mtime is the file's mtime when it held those bytes: the file put
	// back gets it again, so every later look (the charm's own restart
	// rule, systemd's or an operator's) agrees the service started after
	// the file it runs on.
	Mtime time.Time `json:"mtime"`
}

// Record is every reading the charm knows of, kept in the state directory
// (state.Readings).
type Record struct {
	Readings []Reading `json:"readings"`
}

// Load reads the record kept in the state directory. One that cannot be
// read is no record: it proves nothing, so every put-back restarts, as
// without this package, and the next Note writes a good one.
func Load(dir state.Dir) Record {
	r, err := state.Get[Record](dir, state.Readings)
	if err != nil {
		return Record{}
	}
	return r
}

// forked reports whether a main process has forked its workers, which
// Magnum's services do only once their Python is up, .pth files read
// (systemd.HasChildren). A test replaces it.
var forked = systemd.HasChildren

// Note brings the record up to date with the unit as observed, for the
// files of want that their services read only at start, and keeps it in
// the state directory when it changed (a converged unit's reconcile
// writes nothing): a running service that started after the file's
// present inode, and has forked its workers, read its bytes (one that has
// not forked may not have run Python's site yet); a reading of a service
// whose main process is still the same is kept; any other is dropped.
func (r *Record) Note(dir state.Dir, services []unitshape.Service, want []files.File) error {
	var next []Reading
	for _, f := range want {
		if !f.ReadAtStart {
			continue
		}
		seen, err := look(f.Path)
		if err != nil {
			return err
		}
		for _, name := range f.Restarts {
			svc := find(services, name)
			if svc == nil || !svc.Running() {
				continue
			}
			if seen != nil && seen.ctime.Before(svc.StartedAt) && forked(svc.MainPID) {
				next = append(next, Reading{Service: name, MainPID: svc.MainPID, StartedAt: svc.StartedAt,
					Path: f.Path, SHA256: seen.sha256, Mtime: seen.mtime})
			} else if old := r.find(name, f.Path); old != nil && old.of(svc) {
				next = append(next, *old)
			}
		}
	}
	same := slices.EqualFunc(r.Readings, next, func(a, b Reading) bool {
		return a.Service == b.Service && a.MainPID == b.MainPID && a.StartedAt.Equal(b.StartedAt) &&
			a.Path == b.Path && a.SHA256 == b.SHA256 && a.Mtime.Equal(b.Mtime)
	})
	if r.Readings = next; same {
		return nil
	}
	return dir.Save(state.Readings, r)
}

// Spare takes out of the plan's writes of files read only at start the
// restarts of their services when every one of them already runs on the
// bytes written, and gives the file back their reading's mtime. All or
// none: the file's fresh mtime is what makes a later reconcile restart a
// service that missed its restart (a hook killed before it, a restart
// deferred while the service is masked), so it is set back only when no
// service is owed one. A nil record spares nothing.
func (r *Record) Spare(p *plan.Plan, services []unitshape.Service) {
	if r == nil {
		return
	}
	for i, c := range p.Changes {
		if c.Kind != plan.Write || !c.ReadAtStart || len(c.Restarts) == 0 {
			continue
		}
		if mtime, ok := r.spared(c, services); ok {
			p.Spare(i, c.Restarts, mtime, changedReason(c.Path))
		}
	}
}

// spared reports whether every service of c's restarts runs on c's bytes,
// and the mtime their readings agree on.
func (r *Record) spared(c plan.Change, services []unitshape.Service) (time.Time, bool) {
	sum := sha256.Sum256(c.Content)
	var mtime time.Time
	for _, name := range c.Restarts {
		svc := find(services, name)
		rd := r.find(name, c.Path)
		if svc == nil || rd == nil || !rd.of(svc) || rd.SHA256 != hex.EncodeToString(sum[:]) ||
			(!mtime.IsZero() && !mtime.Equal(rd.Mtime)) {
			return time.Time{}, false
		}
		mtime = rd.Mtime
	}
	return mtime, true
}

// Recheck asks systemd again, once a plan's files are written, for each
// service Spare spared: one whose main process changed since it was
// observed (a crash and Restart=, an operator's restart) may have started
// while the file was missing, so it restarts after all. One systemd cannot
// tell of restarts too.
func Recheck(ctx context.Context, p *plan.Plan, observed []unitshape.Service, sd systemd.Controller) {
	for _, c := range p.Changes {
		for _, name := range c.Spared {
			was := find(observed, name)
			now, err := sd.Unit(ctx, name+".service")
			if err != nil || was == nil || now.MainPID != was.MainPID || !now.StartedAt.Equal(was.StartedAt) {
				p.NeedRestart(name, filepath.Base(c.Path)+" written while it restarted")
			}
		}
	}
	p.Order(unitshape.Services)
}

// changedReason is the restart Changed asks for a file of a later mtime.
func changedReason(path string) string { return filepath.Base(path) + " changed since it started" }

// Changed says, for each file of want the service reads and each of
// stamps, that it changed since the service started (its mtime is later):
// the service runs on what was there before.
func Changed(svc unitshape.Service, want []files.File, stamps []string) []string {
	var paths []string
	for _, f := range want {
		if slices.Contains(f.Restarts, svc.Name) {
			paths = append(paths, f.Path)
		}
	}
	var why []string
	for _, p := range append(paths, stamps...) {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(svc.StartedAt) {
			why = append(why, changedReason(p))
		}
	}
	return why
}

func (r *Record) find(service, path string) *Reading {
	for i := range r.Readings {
		if r.Readings[i].Service == service && r.Readings[i].Path == path {
			return &r.Readings[i]
		}
	}
	return nil
}

// of reports whether the reading is of the service's running main process.
func (rd *Reading) of(svc *unitshape.Service) bool {
	return svc.Running() && rd.MainPID == svc.MainPID && rd.StartedAt.Equal(svc.StartedAt)
}

func find(services []unitshape.Service, name string) *unitshape.Service {
	for i := range services {
		if services[i].Name == name {
			return &services[i]
		}
	}
	return nil
}

// seen is a regular file's bytes and times, read between two stats that
// agree.
type seen struct {
	sha256       string
	mtime, ctime time.Time
}

// look reads path's bytes and times; nil when it is absent, not a regular
// file, or changed while it was read (nothing is proved then).
func look(path string) (*seen, error) {
	before, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if !before.Mode().IsRegular() {
		return nil, nil
	}
	b, err := files.ReadFile(path, files.MaxTextFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	after, err := os.Lstat(path)
	if err != nil || !same(before, after) {
		return nil, nil
	}
	st := before.Sys().(*syscall.Stat_t)
	sum := sha256.Sum256(b)
	return &seen{sha256: hex.EncodeToString(sum[:]), mtime: before.ModTime(), ctime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec)}, nil
}

// same reports whether two stats are of one inode, unchanged.
func same(a, b fs.FileInfo) bool {
	x, ok1 := a.Sys().(*syscall.Stat_t)
	y, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && x.Ino == y.Ino && x.Dev == y.Dev && x.Ctim == y.Ctim && x.Size == y.Size
}
