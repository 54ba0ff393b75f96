package driver

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

const (
	dirMode  fs.FileMode = 0o755
	fileMode fs.FileMode = 0o644

	stagingPrefix = ".staging-"
	oldPrefix     = ".old-"
)

// versionDirRE matches the directories Install creates (see DirName).
var versionDirRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-[A-Za-z0-9][A-Za-z0-9.+!_-]*-[0-9a-f]{12}$`)
})

// Install places the artifact's driver wheel (and any Deps) in their own
// directory under root and returns its path, root/<DirName()>.
//
// The files are written into a staging directory beside the target, each
// one only after it matched RECORD, and the staging directory is renamed
// into place once it verifies as a whole: a crash leaves either no version
// directory or a complete one, never a half-written one that a .pth file
// could point at. If the target already exists and verifies, it is reused.
// If it exists and does not verify (tampered with, partly deleted), it is
// replaced.
//
// Directories are 0755 and files 0644, whatever the umask, so user magnum
// can read them; when running as root they are owned by root:root, even
// under a setgid parent, so only root can change what Magnum imports.
func Install(a *Artifact, root string) (string, error) {
	if !filepath.IsAbs(root) {
		return "", fmt.Errorf("install driver: root %q is not absolute", root)
	}
	if !a.Pure {
		return "", fmt.Errorf("install driver: %w", ErrNotPure)
	}
	target := filepath.Join(root, a.DirName())
	if fi, err := os.Lstat(target); err == nil && fi.IsDir() {
		if VerifyInstalled(target) == nil {
			return target, nil
		}
	}

	wheels, err := artifactWheels(a)
	if err != nil {
		return "", fmt.Errorf("install driver: %w", err)
	}
	if err := mkdirAll(root); err != nil {
		return "", fmt.Errorf("install driver: %w", err)
	}
	staging, err := os.MkdirTemp(root, stagingPrefix)
	if err != nil {
		return "", fmt.Errorf("install driver: %w", err)
	}
	defer os.RemoveAll(staging) // A no-op once renamed.

	if err := extract(staging, wheels); err != nil {
		return "", fmt.Errorf("install driver %s %s: %w", a.Name, a.Version, err)
	}
	if err := setOwnerMode(staging, dirMode); err != nil {
		return "", fmt.Errorf("install driver: %w", err)
	}
	if err := VerifyInstalled(staging); err != nil {
		return "", fmt.Errorf("install driver: staged copy does not verify: %w", err)
	}
	if err := syncTree(staging); err != nil {
		return "", fmt.Errorf("install driver: %w", err)
	}

	// A directory cannot be replaced by rename; move a broken one aside
	// first. Nothing can be activated from the old name in between: the
	// hook holds the machine lock.
	if _, err := os.Lstat(target); err == nil {
		old, err := os.MkdirTemp(root, oldPrefix)
		if err != nil {
			return "", fmt.Errorf("install driver: %w", err)
		}
		if err := os.Rename(target, filepath.Join(old, "broken")); err != nil {
			return "", fmt.Errorf("install driver: move aside %s: %w", target, err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(staging, target); err != nil {
		return "", fmt.Errorf("install driver: %w", err)
	}
	if err := syncDir(root); err != nil {
		return "", fmt.Errorf("install driver: %w", err)
	}
	return target, nil
}

// artifactWheels re-reads the resource and returns the bytes of the driver
// wheel and of each dependency, refusing a file that changed since Inspect:
// the directory name promises the content it was inspected with.
func artifactWheels(a *Artifact) ([]wheelBytes, error) {
	data, sum, err := readArtifact(a.Path)
	if err != nil {
		return nil, err
	}
	if sum != a.SHA256 {
		return nil, fmt.Errorf("%s changed since it was inspected", a.Path)
	}
	all := append([]Wheel{a.Wheel}, a.Deps...)
	if a.Kind == KindWheel {
		if len(a.Deps) > 0 {
			return nil, fmt.Errorf("a bare wheel has no dependencies to install")
		}
		return []wheelBytes{{a.Wheel, data}}, nil
	}
	want := make(map[string]bool)
	for _, w := range all {
		want[w.Member] = true
	}
	members, _, err := readTarball(data, want)
	if err != nil {
		return nil, err
	}
	var out []wheelBytes
	for _, w := range all {
		b, ok := members[w.Member]
		if !ok {
			return nil, fmt.Errorf("wheelhouse member %s is missing", w.Member)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != w.SHA256 {
			return nil, fmt.Errorf("wheelhouse member %s changed since it was inspected", w.Member)
		}
		out = append(out, wheelBytes{w, b})
	}
	return out, nil
}

type wheelBytes struct {
	Wheel
	data []byte
}

// extract writes every verified file of every wheel into dir. Writes go
// through an os.Root, so even a path check that missed something could not
// reach outside dir.
func extract(dir string, wheels []wheelBytes) error {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	owner := make(map[string]string)
	for _, w := range wheels {
		zr, err := zip.NewReader(bytes.NewReader(w.data), int64(len(w.data)))
		if err != nil {
			return fmt.Errorf("%s: %w", w.Name, err)
		}
		files, err := zipFiles(zr)
		if err != nil {
			return fmt.Errorf("%s: %w", w.Name, err)
		}
		f := files[w.distInfo+"/RECORD"]
		if f == nil {
			return fmt.Errorf("%s: RECORD is missing", w.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", w.Name, err)
		}
		recordData, err := io.ReadAll(io.LimitReader(rc, maxMemberSize))
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: read RECORD: %w", w.Name, err)
		}
		record, err := parseRecord(recordData)
		if err != nil {
			return fmt.Errorf("%s: %w", w.Name, err)
		}
		err = verifyZip(files, record, func(name string, data []byte) error {
			if other, ok := owner[name]; ok {
				return fmt.Errorf("%s and %s both contain %s", other, w.Name, name)
			}
			owner[name] = w.Name
			return writeFile(r, name, data)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", w.Name, err)
		}
	}
	return nil
}

func writeFile(r *os.Root, name string, data []byte) error {
	if dir := filepath.Dir(name); dir != "." {
		if err := rootMkdirAll(r, dir); err != nil {
			return err
		}
	}
	f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(fileMode)
	}
	if err == nil && os.Geteuid() == 0 {
		err = f.Chown(0, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// rootMkdirAll creates each missing directory of rel with an explicit mode
// and owner, which os.MkdirAll would leave to the umask and the parent.
func rootMkdirAll(r *os.Root, rel string) error {
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		err := r.Mkdir(p, dirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			err = r.Chmod(p, dirMode)
		}
		if err == nil && os.Geteuid() == 0 {
			err = r.Lchown(p, 0, 0)
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// mkdirAll creates dir and any missing parents as 0755 (root-owned when
// running as root). Existing directories are left as they are: Debian's
// /usr/local/lib/pythonX.Y/dist-packages is root:staff 2775 by policy.
func mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return setOwnerMode(dir, dirMode)
}

func setOwnerMode(p string, mode fs.FileMode) error {
	if err := os.Chmod(p, mode); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		return os.Lchown(p, 0, 0)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// syncTree flushes every directory of a freshly written tree (the files
// were synced as they were written), so the rename that publishes it never
// publishes entries that a crash could lose.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(p)
		}
		return nil
	})
}

// VerifyInstalled checks an install directory in full: the union of its
// .dist-info RECORDs must list exactly the files present, each with the
// recorded size and digest; there must be no links or special files; and
// modes (and, when running as root, ownership) must be what Install set.
//
// Bytecode caches (__pycache__/*.pyc) are tolerated although no RECORD
// lists them: the directory is only writable by root, Python writes them
// when root imports the driver, and flagging them would make every such
// import look like tampering.
func VerifyInstalled(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("verify driver: %w", err)
	}
	expected, err := installedRecords(dir, entries)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(expected))
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e, listed := expected[filepath.ToSlash(rel)]
		bytecode := !listed && strings.HasSuffix(rel, ".pyc") && filepath.Base(filepath.Dir(rel)) == "__pycache__"
		switch {
		case d.IsDir() && d.Name() == "__pycache__" && rel != ".":
			// Python creates it with the umask of whoever imported.
			if fi.Mode().Perm()&0o022 != 0 {
				return fmt.Errorf("%s is writable by group or others", rel)
			}
			return nil
		case d.IsDir():
			return checkOwnerMode(rel, fi, dirMode)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file (%s)", rel, fi.Mode().Type())
		case bytecode:
			if fi.Mode().Perm()&0o022 != 0 {
				return fmt.Errorf("%s is writable by group or others", rel)
			}
			return nil
		case !listed:
			return fmt.Errorf("%s is not listed in RECORD", rel)
		}
		if err := checkOwnerMode(rel, fi, fileMode); err != nil {
			return err
		}
		seen[e.Path] = true
		data, err := files.ReadFile(p, maxMemberSize)
		if err != nil {
			return err
		}
		_, err = checkContent(e, bytes.NewReader(data))
		return err
	})
	if err != nil {
		return fmt.Errorf("verify driver %s: %w", dir, err)
	}
	for _, p := range slices.Sorted(maps.Keys(expected)) {
		if !seen[p] && expected[p].hasHash() {
			return fmt.Errorf("verify driver %s: %s is missing", dir, p)
		}
	}
	return nil
}

// installedRecords reads the RECORD of every .dist-info in an install
// directory: what must be there, by path.
func installedRecords(dir string, entries []os.DirEntry) (map[string]recordEntry, error) {
	expected := make(map[string]recordEntry)
	for _, e := range entries {
		if !e.IsDir() || !hasSuffixFold(e.Name(), ".dist-info") {
			continue
		}
		data, err := files.ReadFile(filepath.Join(dir, e.Name(), "RECORD"), maxMemberSize)
		if err != nil {
			return nil, fmt.Errorf("verify driver %s: %w", dir, err)
		}
		record, err := parseRecord(data)
		if err != nil {
			return nil, fmt.Errorf("verify driver %s: %s: %w", dir, e.Name(), err)
		}
		for _, r := range record {
			if _, dup := expected[r.Path]; dup {
				return nil, fmt.Errorf("verify driver %s: %s is listed by two RECORDs", dir, r.Path)
			}
			expected[r.Path] = r
		}
	}
	if len(expected) == 0 {
		return nil, fmt.Errorf("verify driver %s: no .dist-info with a RECORD", dir)
	}
	return expected, nil
}

func checkOwnerMode(rel string, fi fs.FileInfo, want fs.FileMode) error {
	if got := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != want {
		return fmt.Errorf("%s has mode %v, want %v", rel, got, want)
	}
	if os.Geteuid() == 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && (st.Uid != 0 || st.Gid != 0) {
			return fmt.Errorf("%s is owned by %d:%d, want root", rel, st.Uid, st.Gid)
		}
	}
	return nil
}

// Fingerprint is a cheap summary of an install directory from metadata
// alone (path, type, mode, owner, size, inode, mtime and ctime of every
// entry), for the converged path of a hook: if it matches the fingerprint
// taken right after a successful VerifyInstalled, nothing has been written,
// replaced, chmodded or removed since, and the full digest check can be
// skipped. ctime cannot be set back from user space, so even a careful edit
// that restores mtime changes the fingerprint.
func Fingerprint(dir string) (string, error) {
	h := sha256.New()
	if _, err := files.StampTree(h, dir, 0); err != nil {
		return "", fmt.Errorf("fingerprint driver %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
