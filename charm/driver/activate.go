package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PthName is the .pth file the charm owns in Magnum's site directory.
const PthName = "magnum-capi-graft.pth"

// PthContent is the .pth file that activates the version directory dir.
// Python's site module skips lines starting with '#' and appends every
// other line of every .pth file in a site directory to sys.path at
// interpreter start, so every new Magnum process (and only new ones) sees
// the driver in dir. (A line starting with "import" would be executed; an
// absolute path never does.)
func PthContent(dir string) []byte {
	return []byte("# Written by the magnum-capi-graft charm: it puts the magnum-capi-helm driver on sys.path.\n" +
		"# Do not edit; the charm rewrites or removes it.\n" + dir + "\n")
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
		ours := versionDirRE().MatchString(name) || strings.HasPrefix(name, stagingPrefix) || strings.HasPrefix(name, oldPrefix)
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
