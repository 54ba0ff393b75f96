// Package files turns desired files into plan changes and applies them:
// atomic writes with exact owner and mode (pebble's osutil), snapshots of what
// was there before (for rollback within a hook), and the footprint: a record,
// kept across hooks, of everything the charm has changed, what it found there
// first and how it last left it, so removal can take off exactly what the
// charm added and keep what others changed since.
package files

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/canonical/pebble/internals/osutil"
	"github.com/canonical/pebble/internals/osutil/sys"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// File is a file as the charm wants it.
type File struct {
	Path     string
	Content  []byte
	Mode     os.FileMode
	Owner    string
	Group    string
	Secret   bool
	Restarts []string
	UnitFile bool
	// ReadAtStart: its services read it only when they start, so one put
	// back byte for byte need not restart them (charm/readings).
	ReadAtStart bool
}

// Dir is a directory as the charm wants it.
type Dir struct {
	Path  string
	Mode  os.FileMode
	Owner string
	Group string
}

// Symlink is a symbolic link as the charm wants it.
type Symlink struct {
	Path   string
	Target string
}

// Stat is what is on disk at a path.
type Stat struct {
	Exists  bool
	IsDir   bool
	Content []byte
	Mode    os.FileMode
	UID     int
	GID     int
	// Link is a symbolic link's target ("" for anything else).
	Link string `json:",omitempty"`
}

// betweenLstatAndRead lets a test change the disk at the worst moment.
var betweenLstatAndRead func()

// Read observes a path. A missing path is not an error, nor is a path
// under something that is not a directory (nothing can be there). A regular
// file's content, mode and owner all come from the one file it opened
// (without following a link): a path swapped between the Lstat and the read
// is observed again, never reported as one file's mode with another's
// content.
func Read(path string) (Stat, error) {
	for range 3 {
		st, swapped, err := readOnce(path)
		if !swapped {
			return st, err
		}
	}
	return Stat{}, fmt.Errorf("observe %s: it keeps changing", path)
}

func readOnce(path string) (st Stat, swapped bool, err error) {
	fi, err := os.Lstat(path)
	if betweenLstatAndRead != nil {
		betweenLstatAndRead()
	}
	if Missing(err) {
		return Stat{}, false, nil
	}
	if err != nil {
		return Stat{}, false, err
	}
	if fi.Mode().IsRegular() {
		data, opened, err := readRegular(path, MaxManagedFile, false)
		switch {
		case opened != nil && !os.SameFile(fi, opened),
			errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ELOOP), errors.Is(err, ErrNotRegular):
			return Stat{}, true, nil
		case err != nil:
			return Stat{}, false, err
		}
		fi = opened
		st.Content = data
	}
	st.Exists, st.IsDir, st.Mode = true, fi.IsDir(), fi.Mode().Perm()
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.UID, st.GID = int(s.Uid), int(s.Gid)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if st.Link, err = os.Readlink(path); err != nil {
			return st, false, err
		}
	}
	return st, false, nil
}

// Missing reports whether err says a path is not there: it does not exist,
// or one of its parents is not a directory.
func Missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Same reports whether two observations of a path agree in everything
// removal restores.
func (st Stat) Same(o Stat) bool {
	return st.Exists == o.Exists && st.IsDir == o.IsDir && bytes.Equal(st.Content, o.Content) &&
		st.Mode == o.Mode && st.UID == o.UID && st.GID == o.GID && st.Link == o.Link
}

// DiffSymlink compares a desired symbolic link with the disk. A directory in
// its place is an error: the charm replaces files and links, never trees.
func DiffSymlink(l Symlink) (*plan.Change, error) {
	st, err := Read(l.Path)
	if err != nil {
		return nil, err
	}
	c := plan.Change{Kind: plan.Symlink, Path: l.Path, Target: l.Target}
	switch {
	case !st.Exists:
		c.Why = "absent"
	case st.IsDir:
		return nil, fmt.Errorf("%s is a directory", l.Path)
	case st.Link == l.Target:
		return nil, nil
	case st.Link != "":
		c.Why = "points to " + st.Link
	default:
		c.Why = "a file is there"
	}
	return &c, nil
}

// symlink makes path a link to target in one rename, so the path is never
// missing in between.
func symlink(target, path string) error {
	tmp := path + ".magnum-capi-graft.tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// DiffFile compares a desired file with the disk and returns the change that
// makes them equal, if any.
func DiffFile(f File) (*plan.Change, error) {
	st, err := Read(f.Path)
	if err != nil {
		return nil, err
	}
	uid, gid, err := ids(f.Owner, f.Group)
	if err != nil {
		return nil, err
	}
	c := plan.Change{Kind: plan.Write, Path: f.Path, Content: f.Content, Mode: f.Mode, Owner: f.Owner,
		Group: f.Group, Secret: f.Secret, Restarts: f.Restarts, UnitFile: f.UnitFile, ReadAtStart: f.ReadAtStart}
	switch {
	case !st.Exists:
		c.Why = "absent"
	case st.IsDir:
		return nil, fmt.Errorf("%s is a directory", f.Path)
	case !bytes.Equal(st.Content, f.Content):
		c.Why = "content differs"
	case st.Mode != f.Mode.Perm() || st.UID != uid || st.GID != gid:
		c.Kind, c.Why = plan.Chmod, fmt.Sprintf("was %s %04o", owner(st.UID, st.GID), st.Mode)
		// Owner and mode do not change what a service reads.
		c.Restarts, c.UnitFile = nil, false
	default:
		return nil, nil
	}
	return &c, nil
}

// DiffDir compares a desired directory with the disk.
func DiffDir(d Dir) (*plan.Change, error) {
	st, err := Read(d.Path)
	if err != nil {
		return nil, err
	}
	uid, gid, err := ids(d.Owner, d.Group)
	if err != nil {
		return nil, err
	}
	c := plan.Change{Kind: plan.Mkdir, Path: d.Path, Mode: d.Mode | os.ModeDir, Owner: d.Owner, Group: d.Group}
	switch {
	case !st.Exists:
		c.Why = "absent"
	case !st.IsDir:
		return nil, fmt.Errorf("%s exists and is not a directory", d.Path)
	case st.Mode != d.Mode.Perm() || st.UID != uid || st.GID != gid:
		c.Kind, c.Why = plan.Chmod, fmt.Sprintf("was %s %04o", owner(st.UID, st.GID), st.Mode)
	default:
		return nil, nil
	}
	return &c, nil
}

// Apply makes one change on disk.
func Apply(c plan.Change) error {
	uid, gid, err := ids(c.Owner, c.Group)
	if err != nil && (c.Kind == plan.Write || c.Kind == plan.Mkdir || c.Kind == plan.Chmod) {
		return err
	}
	switch c.Kind {
	case plan.Write:
		// AtomicWriteFileChown writes a temporary file beside the target
		// with the final owner and mode and renames it: a reader sees the
		// old file or the new one, never a half-written or world-readable
		// one.
		err = osutil.AtomicWriteFileChown(c.Path, c.Content, c.Mode.Perm(), osutil.AtomicWriteChmod,
			sys.UserID(uid), sys.GroupID(gid))
		if err == nil && !c.Mtime.IsZero() {
			err = os.Chtimes(c.Path, time.Time{}, c.Mtime)
		}
	case plan.Mkdir:
		if err = os.Mkdir(c.Path, c.Mode.Perm()); err == nil {
			err = chown(c.Path, c.Mode, uid, gid)
		}
	case plan.Chmod:
		err = chown(c.Path, c.Mode, uid, gid)
	case plan.Symlink:
		err = symlink(c.Target, c.Path)
	case plan.Remove:
		err = os.Remove(c.Path)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	case plan.Rmdir:
		err = os.Remove(c.Path)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	default:
		err = fmt.Errorf("cannot apply %s", c.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Kind, c.Path, err)
	}
	return nil
}

func chown(path string, mode os.FileMode, uid, gid int) error {
	if err := os.Lchown(path, uid, gid); err != nil {
		return err
	}
	return os.Chmod(path, mode.Perm())
}

// PutBack restores a path to an observed Stat: the content, owner and mode it
// had, or its absence.
func PutBack(path string, st Stat) error {
	if !st.Exists {
		// os.Remove refuses a non-empty directory: only an empty one is
		// ours to remove.
		err := os.Remove(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if st.Link != "" {
		return symlink(st.Link, path)
	}
	if st.IsDir {
		if err := os.Mkdir(path, st.Mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return chown(path, st.Mode, st.UID, st.GID)
	}
	return osutil.AtomicWriteFileChown(path, st.Content, st.Mode, osutil.AtomicWriteChmod,
		sys.UserID(st.UID), sys.GroupID(st.GID))
}

func ids(owner, group string) (int, int, error) {
	uid, err := lookupID(owner, user.Lookup, func(u *user.User) string { return u.Uid })
	if err != nil {
		return 0, 0, err
	}
	gid, err := lookupID(group, func(n string) (*user.Group, error) { return user.LookupGroup(n) },
		func(g *user.Group) string { return g.Gid })
	return uid, gid, err
}

func lookupID[T any](name string, lookup func(string) (*T, error), id func(*T) string) (int, error) {
	if name == "" || name == "root" {
		return 0, nil
	}
	v, err := lookup(name)
	if err != nil {
		return 0, fmt.Errorf("look up %q: %w", name, err)
	}
	return strconv.Atoi(id(v))
}

func owner(uid, gid int) string {
	name := func(id int, look func(string) (string, error)) string {
		if n, err := look(strconv.Itoa(id)); err == nil {
			return n
		}
		return strconv.Itoa(id)
	}
	u := name(uid, func(s string) (string, error) {
		x, err := user.LookupId(s)
		if err != nil {
			return "", err
		}
		return x.Username, nil
	})
	g := name(gid, func(s string) (string, error) {
		x, err := user.LookupGroupId(s)
		if err != nil {
			return "", err
		}
		return x.Name, nil
	})
	return u + ":" + g
}

// tempNameRE matches the temporary files the charm's writes leave when a hook
// is killed mid-write: pebble's AtomicWriteFile writes
// "<file>.<12 random>~" beside its target (internals/osutil/io.go,
// NewAtomicFile), the random part drawn from canonical/x-go's
// randutil.RandomString alphabet (randutil/rand.go, letters: no vowels);
// symlink writes "<link>.magnum-capi-graft.tmp".
var tempNameRE = regexp.MustCompile(`^\.(?:[BCDFGHJKLMNPQRSTVWXYbcdfghjklmnpqrstvwxy0-9]{12}~|magnum-capi-graft\.tmp)$`)

// StaleTemps lists the leftovers of interrupted writes to path. A hook holds
// the machine lock while it writes, so any found by the next hook are stale.
func StaleTemps(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Name(), base); ok && tempNameRE.MatchString(rest) && !e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
