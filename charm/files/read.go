package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// ReadTimeout bounds one ReadFile. A local regular file of the largest size
// the charm accepts reads in well under a second; a read that takes longer is
// a hung filesystem (a dead NFS or FUSE mount), and a hook must not wait on
// it while it holds the machine lock.
const ReadTimeout = 30 * time.Second

// MaxManagedFile bounds what Read takes in of a file the charm manages or
// replaces. The largest is a helm binary found at /usr/bin/helm, which the
// charm's link replaces and removal puts back (helm 3 is about 55 MiB).
const MaxManagedFile = 256 << 20

// MaxTextFile bounds a text file read from the unit: unit files and
// drop-ins, init scripts, /etc/default files, magnum.conf, /proc's
// cmdline and environ (each at most ARG_MAX, 2 MiB on Linux, per
// execve(2)), the charm's own JSON state. Each of them is a few KiB.
const MaxTextFile = 4 << 20

var (
	// ErrNotRegular is a path that is not a regular file where one is
	// meant: a FIFO would block the reader, a device (/dev/zero) never
	// ends, a directory has no content.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is a file larger than the caller's limit.
	ErrTooLarge = errors.New("too large")
)

// ReadFile is the one way the charm reads a file that comes from outside it
// (a path a secret names, a resource, unit files, /etc/default files, /proc,
// its own state, which others can edit): only a regular file, at most limit
// bytes, within ReadTimeout. Symbolic links are followed. Errors name the
// path, never the content.
func ReadFile(path string, limit int64) ([]byte, error) {
	data, _, err := readRegular(path, limit, true)
	return data, err
}

// readRegular opens path without blocking (O_NONBLOCK: opening a FIFO for
// reading would otherwise wait for a writer), checks on the open file that it
// is a regular file (so nothing can be swapped in between a check and the
// read) and reads at most limit bytes of it. Without follow a symbolic link
// is refused (O_NOFOLLOW gives ELOOP), and the caller gets the open file's
// own FileInfo to compare with its Lstat.
func readRegular(path string, limit int64, follow bool) ([]byte, fs.FileInfo, error) {
	type result struct {
		data []byte
		fi   fs.FileInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, fi, err := readNow(path, limit, follow)
		done <- result{data, fi, err}
	}()
	timer := time.NewTimer(ReadTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.data, r.fi, r.err
	case <-timer.C:
		// The goroutine is left to finish or die with the process: a
		// call stuck in the kernel cannot be interrupted.
		return nil, nil, fmt.Errorf("read %s: no answer within %s", path, ReadTimeout)
	}
}

func readNow(path string, limit int64, follow bool) ([]byte, fs.FileInfo, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY | syscall.O_CLOEXEC
	stat := os.Stat
	if !follow {
		flags |= syscall.O_NOFOLLOW
		stat = os.Lstat
	}
	// A device or FIFO is refused before it is opened where a stat can
	// tell: opening some devices has effects of its own.
	if fi, err := stat(path); err != nil {
		return nil, nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fi, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(fi.Mode()))
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	// What counts is the open file: the path may have been swapped since.
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fi, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(fi.Mode()))
	}
	// /proc files are regular files of size 0 that do have content, so the
	// size is only a first check; the limited read is the real one.
	if fi.Size() > limit {
		return nil, fi, fmt.Errorf("%s: %w: larger than %s", path, ErrTooLarge, size(limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fi, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fi, fmt.Errorf("%s: %w: larger than %s", path, ErrTooLarge, size(limit))
	}
	return data, fi, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a plain file"
}

// size says a limit in the unit an operator reads best.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Capped returns a reader of at most limit bytes of r that fails with
// ErrTooLarge, rather than ending quietly as io.LimitReader does, when r
// holds more. It bounds decompression: an archive member skipped unread is
// still decompressed, so what an archive unpacks to must be bounded as a
// whole, not only what the charm keeps of it.
func Capped(r io.Reader, limit int64) io.Reader {
	return &capped{r: r, left: limit, limit: limit}
}

type capped struct {
	r     io.Reader
	left  int64
	limit int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a stream of exactly limit bytes from a
		// longer one.
		var one [1]byte
		if n, _ := io.ReadFull(c.r, one[:]); n > 0 {
			return 0, fmt.Errorf("%w: unpacks to more than %s", ErrTooLarge, size(c.limit))
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
