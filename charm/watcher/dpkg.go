package watcher

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
)

// DefaultDpkgStatus is dpkg's status database: dpkg replaces it (by rename)
// whenever a package is installed, upgraded or removed.
const DefaultDpkgStatus = "/var/lib/dpkg/status"

// pkgState is what dpkg says of one package: "" when it is not known.
type pkgState struct {
	Version string
	Status  string // "want flag status", e.g. "install ok installed"
}

func (p pkgState) String() string {
	if p.Status == "" {
		return "(not installed)"
	}
	return p.Version + " (" + p.Status + ")"
}

// Busy reports whether dpkg is half way through the package: unpacked but
// not configured, or waiting for triggers. Re-grafting then would race the
// upgrade, so the watcher waits until dpkg writes a settled state.
func (p pkgState) Busy() bool {
	f := strings.Fields(p.Status)
	if len(f) != 3 {
		return false
	}
	switch f[2] {
	case "installed", "not-installed", "config-files":
		return false
	}
	return true
}

// packageStates reads the named packages from a dpkg status file, streaming
// it so the watcher's memory stays small however many packages the unit
// has. Absent packages map to the zero pkgState. Of a multi-arch package
// installed for several architectures, the last stanza wins; the Magnum
// packages are Architecture: all.
func packageStates(path string, names []string) (map[string]pkgState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read package states: %w", err)
	}
	defer f.Close()

	states := make(map[string]pkgState, len(names))
	for _, n := range names {
		states[n] = pkgState{}
	}
	var pkg string
	var cur pkgState
	flush := func() {
		if _, ok := states[pkg]; ok && pkg != "" {
			states[pkg] = cur
		}
		pkg, cur = "", pkgState{}
	}
	sc := bufio.NewScanner(f)
	// Fields are short, but a long Description or Conffiles line must not
	// stop the scan; the buffer only grows for such lines.
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			flush()
		case bytes.HasPrefix(line, []byte("Package:")):
			pkg = string(bytes.TrimSpace(line[len("Package:"):]))
		case bytes.HasPrefix(line, []byte("Version:")):
			cur.Version = string(bytes.TrimSpace(line[len("Version:"):]))
		case bytes.HasPrefix(line, []byte("Status:")):
			cur.Status = string(bytes.TrimSpace(line[len("Status:"):]))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read package states from %s: %w", path, err)
	}
	flush()
	return states, nil
}

// packageChanges lists, sorted, the packages whose state differs.
func packageChanges(before, after map[string]pkgState) []string {
	var out []string
	for name, now := range after {
		if was := before[name]; was != now {
			out = append(out, fmt.Sprintf("package %s %s -> %s", name, was, now))
		}
	}
	slices.Sort(out)
	return out
}

// busyPackages lists, sorted, the packages dpkg is half way through.
func busyPackages(states map[string]pkgState) []string {
	var out []string
	for name, s := range states {
		if s.Busy() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
