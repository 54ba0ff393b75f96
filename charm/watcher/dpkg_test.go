package watcher

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dpkgSample = `Package: python3-magnum
Status: install ok installed
Priority: optional
Version: 20.0.0-0ubuntu1
Description: OpenStack containers as a service - Python library
 A long description line.

Package: magnum-common
Status: install ok unpacked
Version: 20.0.1-0ubuntu1

Package: unrelated
Status: install ok installed
Version: 1.0
Conffiles:
 /etc/unrelated ` + "%s" + `
`

func writeDpkg(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "status")
	writeFile(t, path, content)
	return path
}

func TestPackageStates(t *testing.T) {
	// A line longer than bufio's default token size must not stop the scan.
	path := writeDpkg(t, t.TempDir(), strings.Replace(dpkgSample, "%s", strings.Repeat("f", 100000), 1))
	got, err := packageStates(path, []string{"python3-magnum", "magnum-common", "python3-magnum-capi-helm"})
	require.NoError(t, err)
	assert.Equal(t, map[string]pkgState{
		"python3-magnum":           {Version: "20.0.0-0ubuntu1", Status: "install ok installed"},
		"magnum-common":            {Version: "20.0.1-0ubuntu1", Status: "install ok unpacked"},
		"python3-magnum-capi-helm": {},
	}, got)
	assert.Equal(t, []string{"magnum-common"}, busyPackages(got), "unpacked but not configured is busy")
}

func TestPackageChanges(t *testing.T) {
	before := map[string]pkgState{
		"python3-magnum": {Version: "20.0.0", Status: "install ok installed"},
		"magnum-common":  {Version: "20.0.0", Status: "install ok installed"},
	}
	after := map[string]pkgState{
		"python3-magnum": {Version: "20.0.1", Status: "install ok installed"},
		"magnum-common":  {Version: "20.0.0", Status: "install ok installed"},
	}
	assert.Equal(t, []string{"package python3-magnum 20.0.0 (install ok installed) -> 20.0.1 (install ok installed)"},
		packageChanges(before, after))
	assert.Empty(t, packageChanges(after, after))
	assert.Equal(t, []string{"package magnum-common (not installed) -> 20.0.0 (install ok installed)"},
		packageChanges(map[string]pkgState{"python3-magnum": after["python3-magnum"]}, after))
}

func TestPkgStateBusy(t *testing.T) {
	for status, busy := range map[string]bool{
		"install ok installed":        false,
		"deinstall ok config-files":   false,
		"purge ok not-installed":      false,
		"install ok half-configured":  true,
		"install ok triggers-pending": true,
		"":                            false,
	} {
		assert.Equal(t, busy, pkgState{Status: status}.Busy(), status)
	}
}
