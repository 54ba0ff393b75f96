package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Remote reaches a machine that is not a box on this host, such as a Magnum
// machine of an operator's own Juju model (the e2e suite reaches it with
// juju ssh and juju scp). A Box with a Remote runs its commands through it
// and reads its files with commands (cat, stat, find); it has no root
// directory on the host.
type Remote interface {
	// Run runs argv as root on the machine with a clean environment. A
	// non-zero exit is not an error; Result.Code says it.
	Run(ctx context.Context, argv []string) (Result, error)
	// Put copies a local file to path on the machine, owned by root with
	// mode.
	Put(ctx context.Context, local, path string, mode os.FileMode) error
}

// Here is the machine this program runs on, as a Remote: commands run
// directly. The e2e suite's binary uses it when it is copied onto a machine
// of an operator's model to time repairs there.
type Here struct{}

// Run runs argv directly, with a clean environment.
func (Here) Run(ctx context.Context, argv []string) (Result, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if cmd.ProcessState != nil {
		res.Code = cmd.ProcessState.ExitCode()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = nil
	}
	return res, err
}

// Put copies a file with install(1).
func (h Here) Put(ctx context.Context, local, path string, mode os.FileMode) error {
	res, err := h.Run(ctx, []string{"install", "-D", "-m", fmt.Sprintf("%o", mode.Perm()), local, path})
	if err == nil && res.Code != 0 {
		err = fmt.Errorf("install %s: %s", path, res.Stderr)
	}
	return err
}

// FileInfo is what the test bed reads of a file on a machine.
type FileInfo struct {
	Mode     fs.FileMode
	UID, GID int
	ModTime  time.Time
}

// ReadFile reads a file on the machine.
func (b *Box) ReadFile(p string) ([]byte, error) {
	if b.Remote == nil {
		return os.ReadFile(b.Path(p))
	}
	res, err := b.Run(context.Background(), "cat", "--", p)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, remoteErr(p, res)
	}
	return []byte(res.Stdout), nil
}

// Readlink is the target of the symbolic link p on the machine.
func (b *Box) Readlink(p string) (string, error) {
	if b.Remote == nil {
		return os.Readlink(b.Path(p))
	}
	res, err := b.Run(context.Background(), "readlink", "--", p)
	if err != nil {
		return "", err
	}
	if res.Code != 0 {
		return "", remoteErr(p, res)
	}
	return strings.TrimSuffix(res.Stdout, "\n"), nil
}

// Stat describes a file on the machine, following symbolic links.
func (b *Box) Stat(p string) (FileInfo, error) {
	if b.Remote == nil {
		fi, err := os.Stat(b.Path(p))
		if err != nil {
			return FileInfo{}, err
		}
		st := fi.Sys().(*syscall.Stat_t)
		return FileInfo{Mode: fi.Mode(), UID: int(st.Uid), GID: int(st.Gid), ModTime: fi.ModTime()}, nil
	}
	res, err := b.Run(context.Background(), "stat", "-L", "-c", "%f %u %g %.9Y", "--", p)
	if err != nil {
		return FileInfo{}, err
	}
	if res.Code != 0 {
		return FileInfo{}, remoteErr(p, res)
	}
	var raw uint32
	var fi FileInfo
	var mtime string
	if _, err := fmt.Sscanf(strings.TrimSpace(res.Stdout), "%x %d %d %s", &raw, &fi.UID, &fi.GID, &mtime); err != nil {
		return FileInfo{}, fmt.Errorf("stat %s: %q: %w", p, res.Stdout, err)
	}
	fi.Mode = modeFromRaw(raw)
	sec, frac, _ := strings.Cut(mtime, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		return FileInfo{}, fmt.Errorf("stat %s: mtime %q", p, mtime)
	}
	fi.ModTime = time.Unix(s, ns)
	return fi, nil
}

// ReadDir lists the names in a directory on the machine, sorted.
func (b *Box) ReadDir(p string) ([]string, error) {
	var names []string
	if b.Remote == nil {
		entries, err := os.ReadDir(b.Path(p))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names, err
	}
	res, err := b.Run(context.Background(), "find", p, "-mindepth", "1", "-maxdepth", "1", "-printf", `%f\0`)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, remoteErr(p, res)
	}
	for _, n := range strings.Split(res.Stdout, "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Put copies a local file onto the machine at p, owned by root with mode.
func (b *Box) Put(ctx context.Context, local, p string, mode os.FileMode) error {
	if b.Remote != nil {
		return b.Remote.Put(ctx, local, p, mode)
	}
	data, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	dst := b.Path(p)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst+".new", data, mode); err != nil {
		return err
	}
	if err := os.Chmod(dst+".new", mode); err != nil {
		return err
	}
	return os.Rename(dst+".new", dst)
}

func remoteErr(p string, res Result) error {
	if strings.Contains(res.Stderr, "No such file") {
		return fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return fmt.Errorf("%s: exit %d: %s", p, res.Code, strings.TrimSpace(res.Stderr))
}

// modeFromRaw turns stat's raw st_mode into an fs.FileMode.
func modeFromRaw(raw uint32) fs.FileMode {
	m := fs.FileMode(raw & 0o777)
	switch raw & syscall.S_IFMT {
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	}
	for bit, mode := range map[uint32]fs.FileMode{syscall.S_ISUID: fs.ModeSetuid, syscall.S_ISGID: fs.ModeSetgid, syscall.S_ISVTX: fs.ModeSticky} {
		if raw&bit != 0 {
			m |= mode
		}
	}
	return m
}

// findTypes maps find's %y letters to file types.
var findTypes = map[string]fs.FileMode{
	"f": 0, "d": fs.ModeDir, "l": fs.ModeSymlink, "p": fs.ModeNamedPipe, "s": fs.ModeSocket,
	"c": fs.ModeDevice | fs.ModeCharDevice, "b": fs.ModeDevice,
}

// remoteManifest takes the manifest of a remote machine with find and
// sha256sum, in the same form as a box's (see TakeManifest).
func (b *Box) remoteManifest(ctx context.Context, more ...string) (Manifest, error) {
	run := func(argv ...string) (string, error) {
		res, err := b.Run(ctx, argv...)
		if err == nil && res.Code != 0 {
			err = fmt.Errorf("%v: exit %d: %s", argv, res.Code, res.Stderr)
		}
		return res.Stdout, err
	}
	roots := append(append([]string{}, ManifestRoots...), more...)
	out, err := run("find", "/usr/lib", "-mindepth", "1", "-maxdepth", "1", "-name", "python3.*", "-printf", `%p\0`)
	if err != nil {
		return nil, err
	}
	return b.remoteManifestOf(ctx, append(roots, splitNul(out)...))
}

// remoteManifestOf is manifestAt("/", roots) done with commands on the
// machine.
func (b *Box) remoteManifestOf(ctx context.Context, candidates []string) (Manifest, error) {
	run := func(argv ...string) (string, error) {
		res, err := b.Run(ctx, argv...)
		if err == nil && res.Code != 0 {
			err = fmt.Errorf("%v: exit %d: %s", argv, res.Code, res.Stderr)
		}
		return res.Stdout, err
	}
	// The roots that are directories (not symbolic links), as manifestAt
	// walks them; find complains about the missing ones.
	out, err := run(append(append([]string{"find"}, candidates...), "-maxdepth", "0", "-type", "d", "-printf", `%p\0`)...)
	if err != nil && out == "" {
		return nil, err
	}
	roots := splitNul(out)
	if len(roots) == 0 {
		return Manifest{}, nil
	}
	out, err = run(append(append([]string{"find"}, roots...), "-printf", `%y %U:%G %m\0%p\0%l\0`)...)
	if err != nil {
		return nil, err
	}
	m := Manifest{}
	f := splitNulKeep(out)
	for i := 0; i+2 < len(f); i += 3 {
		var typ string
		var owner string
		var perm uint32
		if _, err := fmt.Sscanf(f[i], "%s %s %o", &typ, &owner, &perm); err != nil {
			return nil, fmt.Errorf("find: %q: %w", f[i], err)
		}
		desc := fmt.Sprintf("%s %s %04o", findTypes[typ], owner, fs.FileMode(perm).Perm())
		if typ == "l" {
			desc += " -> " + f[i+2]
		}
		m[f[i+1]] = desc
	}
	out, err = run(append(append([]string{"find"}, roots...), "-type", "f", "-exec", "sha256sum", "-z", "--", "{}", "+")...)
	if err != nil {
		return nil, err
	}
	for _, l := range splitNul(out) {
		sum, p, ok := strings.Cut(l, "  ")
		if !ok || len(sum) < 16 {
			return nil, fmt.Errorf("sha256sum: %q", l)
		}
		m[p] += " " + sum[:16]
	}
	return m, nil
}

func splitNul(s string) []string {
	var out []string
	for _, f := range strings.Split(s, "\x00") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// splitNulKeep splits NUL-terminated fields, keeping empty ones.
func splitNulKeep(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}
