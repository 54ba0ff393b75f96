package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A stamp is what metadata alone says of a path: type, mode, owner, size,
// inode, mtime and ctime. Two equal stamps of a path mean nothing was
// written, replaced, chmodded, chowned or removed there in between, without
// reading a byte: ctime cannot be set back from user space (utimensat(2)
// sets only atime and mtime, and sets ctime to now), so even an edit that
// restores the mtime changes the stamp.

// ErrTooManyEntries: a tree has more entries than a stamp may walk.
var ErrTooManyEntries = errors.New("too many entries")

// Stamp writes the stamp of fi, named name, as one line to w, and returns
// its ctime.
func Stamp(w io.Writer, name string, fi fs.FileInfo) (time.Time, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, fmt.Errorf("%s: no stat information", name)
	}
	fmt.Fprintf(w, "%q %o %d:%d %d %d %d.%d %d.%d\n", name, uint32(fi.Mode()), st.Uid, st.Gid,
		st.Size, st.Ino, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec), nil
}

// StampPath writes the stamp of path (not following a final symlink), or
// that it is absent, and returns its ctime (zero when absent).
func StampPath(w io.Writer, path string) (time.Time, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "%q absent\n", path)
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return Stamp(w, path, fi)
}

// StampTree writes the stamp of dir and of every entry under it, each
// named by its path relative to dir, in lexical order, and returns the
// newest ctime among them. It walks at most max entries (0: no bound),
// and fails with ErrTooManyEntries beyond that.
func StampTree(w io.Writer, dir string, max int) (time.Time, error) {
	var newest time.Time
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; max > 0 && n > max {
			return fmt.Errorf("%s: %w (more than %d)", dir, ErrTooManyEntries, max)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		ctime, err := Stamp(w, rel, fi)
		if ctime.After(newest) {
			newest = ctime
		}
		return err
	})
	return newest, err
}
