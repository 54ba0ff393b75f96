package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/canonical/pebble/internals/osutil"
	"github.com/canonical/pebble/internals/osutil/sys"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

// DefaultPthName is the .pth file the charm owns in Magnum's site directory.
const DefaultPthName = "magnum-capi-graft.pth"

const pthHeader = "# Written by the magnum-capi-graft charm: it puts the magnum-capi-helm driver on sys.path.\n" +
	"# Do not edit; the charm rewrites or removes it.\n"

// Activate points Magnum's interpreter at dir by writing siteDir/pthName,
// a .pth file holding dir's path. Python's site module appends each line of
// every .pth file in a site directory to sys.path at interpreter start, so
// every new Magnum process (and only new ones) sees the driver in dir.
//
// The file is written to a temporary name and renamed over the old one, so
// a process starting at any moment reads either the previous version's path
// or the new one, never a torn line; switching versions and rolling back
// are both a single rename. It is mode 0644 and, when running as root,
// root:root: Debian's /usr/local site directory is setgid staff, and a file
// that decides what Magnum imports must not be writable by that group.
//
// siteDir is created (0755) if it does not exist: on Debian and Ubuntu the
// /usr/local site directory is on sys.path whenever it exists.
func Activate(siteDir, pthName, dir string) error {
	if err := checkPthName(pthName); err != nil {
		return fmt.Errorf("activate driver: %w", err)
	}
	if err := checkActivePath(dir); err != nil {
		return fmt.Errorf("activate driver: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("activate driver: %s is not a directory", dir)
	}
	if err := mkdirAll(siteDir); err != nil {
		return fmt.Errorf("activate driver: %w", err)
	}
	uid, gid := sys.UserID(osutil.NoChown), sys.GroupID(osutil.NoChown)
	if os.Geteuid() == 0 {
		uid, gid = 0, 0
	}
	content := []byte(pthHeader + dir + "\n")
	err := osutil.AtomicWriteFileChown(filepath.Join(siteDir, pthName), content, 0o644, osutil.AtomicWriteChmod, uid, gid)
	if err != nil {
		return fmt.Errorf("activate driver: %w", err)
	}
	return nil
}

// Active returns the directory siteDir/pthName points at, or "" if the file
// does not exist. Anything but exactly one absolute path is an error: the
// file is the charm's, and content it did not write means someone else is
// changing what Magnum imports.
func Active(siteDir, pthName string) (string, error) {
	if err := checkPthName(pthName); err != nil {
		return "", fmt.Errorf("read active driver: %w", err)
	}
	p := filepath.Join(siteDir, pthName)
	// The file is one line; anything large is not the charm's.
	data, err := files.ReadFile(p, 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read active driver: %w", err)
	}
	var dirs []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		dirs = append(dirs, line)
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("read active driver: %s holds %d paths, want 1", p, len(dirs))
	}
	if err := checkActivePath(dirs[0]); err != nil {
		return "", fmt.Errorf("read active driver: %s: %w", p, err)
	}
	return dirs[0], nil
}

// Deactivate removes siteDir/pthName; new Magnum processes no longer see
// the driver. A missing file is not an error.
func Deactivate(siteDir, pthName string) error {
	if err := checkPthName(pthName); err != nil {
		return fmt.Errorf("deactivate driver: %w", err)
	}
	err := os.Remove(filepath.Join(siteDir, pthName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deactivate driver: %w", err)
	}
	if err := syncDir(siteDir); err != nil {
		return fmt.Errorf("deactivate driver: %w", err)
	}
	return nil
}

// Rollback activates previous, after checking it in full: rolling back to
// a directory that no longer verifies would trade one broken driver for
// another.
func Rollback(siteDir, pthName, previous string) error {
	if previous == "" {
		return fmt.Errorf("roll back driver: no previous version")
	}
	if err := VerifyInstalled(previous); err != nil {
		return fmt.Errorf("roll back driver: %w", err)
	}
	if err := Activate(siteDir, pthName, previous); err != nil {
		return fmt.Errorf("roll back driver: %w", err)
	}
	return nil
}

// Prune removes every version directory under root except active and
// previous (either may be ""), along with staging and set-aside directories
// an interrupted Install left behind. Entries whose names Install would
// never create are left alone. It returns the paths it removed.
func Prune(root, active, previous string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prune drivers: %w", err)
	}
	keep := make(map[string]bool)
	for _, d := range []string{active, previous} {
		if d != "" {
			keep[filepath.Clean(d)] = true
		}
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(root, name)
		ours := versionDirRE.MatchString(name) || strings.HasPrefix(name, stagingPrefix) || strings.HasPrefix(name, oldPrefix)
		if !e.IsDir() || !ours || keep[p] {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("prune drivers: %w", err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

func checkPthName(name string) error {
	if name == "" || filepath.Base(name) != name || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".pth") {
		return fmt.Errorf("invalid .pth file name %q", name)
	}
	return nil
}

// checkActivePath accepts what site.py will read back as exactly this path:
// absolute, clean, one line. (A .pth line starting with "import" is
// executed, which an absolute path never does.)
func checkActivePath(dir string) error {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || strings.ContainsAny(dir, "\n\r\x00") || strings.TrimSpace(dir) != dir {
		return fmt.Errorf("driver path %q is not a clean absolute path", dir)
	}
	return nil
}
