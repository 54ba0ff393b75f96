package watcher

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// dirMask is what the watcher asks inotify for on each directory. It
// covers every way a file gets changed on a unit: created, deleted, renamed
// over (how package managers and atomic writers replace files), rewritten in
// place (reported once, on close, rather than per write) and chmod/chown (a
// kubeconfig that magnum cannot read is as broken as a missing one). Reads
// are left out, so Magnum reading its configuration never wakes the watcher.
const dirMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_CLOSE_WRITE | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK

// selfGone are the events that say a watched directory itself is no longer
// where it was.
const selfGone = unix.IN_IGNORED | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// inotifyEvent is one raw event as the kernel reported it.
type inotifyEvent struct {
	wd   int32
	mask uint32
	name string
}

// dirWatch is one inotify watch: a directory, and which of its entries lead
// to watched paths.
type dirWatch struct {
	dir string
	wd  int32
	// names maps an entry name to the watched paths it is, or is an ancestor
	// of: a missing parent directory is watched for through its nearest
	// existing ancestor.
	names map[string][]string
	// self is set when the directory is itself a watched path, so a change
	// to any of its entries counts.
	self bool
}

// inotify watches paths through their parent directories, with one inotify
// file descriptor. Watching the parent rather than the file is what makes
// replaced files (a rename over the old inode) and deleted directories
// visible; events are filtered down to the watched names.
type inotify struct {
	fd    int
	file  *os.File
	paths []string
	dirs  map[string]*dirWatch
	byWD  map[int32]*dirWatch

	events chan []inotifyEvent
	errs   chan error
	done   chan struct{}
}

func newInotify() (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("create inotify instance: %w", err)
	}
	w := &inotify{
		fd: fd,
		// A non-blocking descriptor wrapped in an os.File is served by the
		// runtime's poller, so Close unblocks the pending Read and no
		// goroutine is left stuck in read(2).
		file:   os.NewFile(uintptr(fd), "inotify"),
		dirs:   make(map[string]*dirWatch),
		byWD:   make(map[int32]*dirWatch),
		events: make(chan []inotifyEvent),
		errs:   make(chan error, 1),
		done:   make(chan struct{}),
	}
	go w.read()
	return w, nil
}

// Close stops watching. Closing the file also drops every kernel watch.
func (w *inotify) Close() error {
	close(w.done)
	return w.file.Close()
}

// read forwards batches of kernel events until the file is closed.
func (w *inotify) read() {
	// One page holds many events and always at least one of the largest
	// (16 bytes plus a NAME_MAX name), which is all read(2) requires.
	buf := make([]byte, 4096)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				select {
				case w.errs <- fmt.Errorf("read inotify events: %w", err):
				case <-w.done:
				}
			}
			return
		}
		batch := parseEvents(buf[:n])
		select {
		case w.events <- batch:
		case <-w.done:
			return
		}
	}
}

// parseEvents decodes struct inotify_event records: wd, mask, cookie and
// len (all 32 bits, host order), then len bytes of NUL-padded name.
func parseEvents(b []byte) []inotifyEvent {
	var out []inotifyEvent
	for len(b) >= unix.SizeofInotifyEvent {
		ev := inotifyEvent{
			wd:   int32(binary.NativeEndian.Uint32(b[0:4])),
			mask: binary.NativeEndian.Uint32(b[4:8]),
		}
		n := int(binary.NativeEndian.Uint32(b[12:16]))
		b = b[unix.SizeofInotifyEvent:]
		if n > len(b) {
			break
		}
		ev.name = string(bytes.TrimRight(b[:n], "\x00"))
		b = b[n:]
		out = append(out, ev)
	}
	return out
}

// Set replaces the watched paths. Paths must be absolute and clean.
func (w *inotify) Set(paths []string) error {
	w.paths = slices.Clone(paths)
	return w.rebuild()
}

// rebuild makes the kernel watches match the current state of the file
// system. Directories come and go while we look, so a watch that cannot be
// added because its directory just vanished means planning again.
func (w *inotify) rebuild() error {
	var err error
	for range 5 {
		if err = w.apply(plan(w.paths)); !errors.Is(err, errRaced) {
			return err
		}
	}
	return err
}

var errRaced = errors.New("directory changed while adding watches")

func (w *inotify) apply(want map[string]*dirWatch) error {
	for dir, d := range w.dirs {
		if _, ok := want[dir]; !ok {
			w.drop(d)
		}
	}
	raced := false
	for _, dir := range slices.Sorted(maps.Keys(want)) {
		d := want[dir]
		wd, err := unix.InotifyAddWatch(w.fd, dir, dirMask)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			raced = true
			continue
		}
		if err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
		d.wd = int32(wd)
		if old, ok := w.dirs[dir]; ok && old.wd != d.wd {
			// The path now names another directory than the one watched
			// before (deleted and recreated, or renamed away).
			w.drop(old)
		}
		w.dirs[dir] = d
		w.byWD[d.wd] = d
	}
	if raced {
		return errRaced
	}
	return nil
}

// drop removes a watch that is no longer wanted. The kernel may have removed
// it already (its directory was deleted), which is fine.
func (w *inotify) drop(d *dirWatch) {
	_, _ = unix.InotifyRmWatch(w.fd, uint32(d.wd))
	if w.byWD[d.wd] == d {
		delete(w.byWD, d.wd)
	}
	if w.dirs[d.dir] == d {
		delete(w.dirs, d.dir)
	}
}

// Handle turns a batch of kernel events into the sorted watched paths they
// concern, and re-adds watches where directories appeared or disappeared.
func (w *inotify) Handle(batch []inotifyEvent) ([]string, error) {
	changed := make(map[string]struct{})
	rebuild := false
	add := func(ps ...string) {
		for _, p := range ps {
			changed[p] = struct{}{}
		}
	}
	for _, ev := range batch {
		if ev.mask&unix.IN_Q_OVERFLOW != 0 {
			// Events were lost: anything may have changed.
			add(w.paths...)
			rebuild = true
			continue
		}
		d := w.byWD[ev.wd]
		if d == nil {
			// A watch already dropped: its last events are stale.
			continue
		}
		if ev.mask&selfGone != 0 {
			// The directory went away (or was renamed): everything seen
			// through it may have changed, and the parent must be watched
			// for its return.
			for _, ps := range d.names {
				add(ps...)
			}
			if d.self {
				add(d.dir)
			}
			if ev.mask&unix.IN_IGNORED != 0 {
				delete(w.byWD, d.wd)
				if w.dirs[d.dir] == d {
					delete(w.dirs, d.dir)
				}
			}
			rebuild = true
			continue
		}
		if d.self {
			add(d.dir)
		}
		if ps, ok := d.names[ev.name]; ok {
			add(ps...)
			// The entry may be a directory that is, or leads to, a
			// watched path: watch inside it now, or stop watching inside
			// it if it went away.
			rebuild = true
		}
	}
	var err error
	if rebuild {
		err = w.rebuild()
	}
	return slices.Sorted(maps.Keys(changed)), err
}

// plan computes the watches that the paths need right now: each path's
// nearest existing ancestor directory, filtered on the entry leading to the
// path, and the path itself when it is a directory.
func plan(paths []string) map[string]*dirWatch {
	want := make(map[string]*dirWatch)
	get := func(dir string) *dirWatch {
		d, ok := want[dir]
		if !ok {
			d = &dirWatch{dir: dir, names: make(map[string][]string)}
			want[dir] = d
		}
		return d
	}
	for _, p := range paths {
		if isDir(p) {
			get(p).self = true
		}
		child, dir := p, filepath.Dir(p)
		for {
			if isDir(dir) {
				d := get(dir)
				name := filepath.Base(child)
				if !slices.Contains(d.names[name], p) {
					d.names[name] = append(d.names[name], p)
				}
				break
			}
			if dir == filepath.Dir(dir) {
				break
			}
			child, dir = dir, filepath.Dir(dir)
		}
	}
	return want
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
