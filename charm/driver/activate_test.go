package driver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestActivateSwitchRollbackDeactivate(t *testing.T) {
	root := t.TempDir()
	v1, err := Install(inspectGood(t, testWheel{version: "1.2.0"}), root)
	require.NoError(t, err)
	v2, err := Install(inspectGood(t, testWheel{version: "1.3.0"}), root)
	require.NoError(t, err)
	site := filepath.Join(t.TempDir(), "lib", "python3.13", "dist-packages")

	active, err := Active(site, DefaultPthName)
	require.NoError(t, err)
	assert.Equal(t, "", active, "nothing is active before the first Activate")

	require.NoError(t, Activate(site, DefaultPthName, v1))
	fi, err := os.Stat(site)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm(), "a created site directory is world-readable")
	pth := filepath.Join(site, DefaultPthName)
	fi, err = os.Stat(pth)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	data, err := os.ReadFile(pth)
	require.NoError(t, err)
	// site.py skips lines starting with '#' and adds every other line.
	assert.Equal(t, pthHeader+v1+"\n", string(data))
	active, err = Active(site, DefaultPthName)
	require.NoError(t, err)
	assert.Equal(t, v1, active)

	require.NoError(t, Activate(site, DefaultPthName, v2))
	active, err = Active(site, DefaultPthName)
	require.NoError(t, err)
	assert.Equal(t, v2, active)
	entries, err := os.ReadDir(site)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the atomic write leaves no temporary file")

	require.NoError(t, Rollback(site, DefaultPthName, v1))
	active, err = Active(site, DefaultPthName)
	require.NoError(t, err)
	assert.Equal(t, v1, active)

	require.NoError(t, Deactivate(site, DefaultPthName))
	assert.NoFileExists(t, pth)
	active, err = Active(site, DefaultPthName)
	require.NoError(t, err)
	assert.Equal(t, "", active)
	assert.NoError(t, Deactivate(site, DefaultPthName), "deactivating twice is fine")
}

func TestRollbackRefusesBrokenPrevious(t *testing.T) {
	root := t.TempDir()
	v1, err := Install(inspectGood(t, testWheel{version: "1.2.0"}), root)
	require.NoError(t, err)
	v2, err := Install(inspectGood(t, testWheel{version: "1.3.0"}), root)
	require.NoError(t, err)
	site := t.TempDir()
	require.NoError(t, Activate(site, DefaultPthName, v2))
	require.NoError(t, os.Remove(filepath.Join(v1, "magnum_capi_helm", "driver.py")))

	assert.ErrorContains(t, Rollback(site, DefaultPthName, v1), "driver.py is missing")
	active, err := Active(site, DefaultPthName)
	require.NoError(t, err)
	assert.Equal(t, v2, active, "a failed rollback leaves the active version alone")
	assert.ErrorContains(t, Rollback(site, DefaultPthName, ""), "no previous version")
}

func TestActivateRefusesBadInput(t *testing.T) {
	site := t.TempDir()
	dir := t.TempDir()
	assert.ErrorContains(t, Activate(site, DefaultPthName, "relative/dir"), "not a clean absolute path")
	assert.ErrorContains(t, Activate(site, DefaultPthName, dir+"/../x"), "not a clean absolute path")
	assert.ErrorContains(t, Activate(site, DefaultPthName, dir+"\nimport os"), "not a clean absolute path")
	assert.ErrorContains(t, Activate(site, DefaultPthName, filepath.Join(dir, "absent")), "is not a directory")
	assert.ErrorContains(t, Activate(site, "../escape.pth", dir), "invalid .pth file name")
	assert.ErrorContains(t, Activate(site, "driver.txt", dir), "invalid .pth file name")
	entries, err := os.ReadDir(site)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestActiveRefusesForeignContent(t *testing.T) {
	site := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(site, DefaultPthName), []byte("/opt/a\n/opt/b\n"), 0o644))
	_, err := Active(site, DefaultPthName)
	assert.ErrorContains(t, err, "holds 2 paths, want 1")

	require.NoError(t, os.WriteFile(filepath.Join(site, DefaultPthName), []byte("import os; os.system('x')\n"), 0o644))
	_, err = Active(site, DefaultPthName)
	assert.ErrorContains(t, err, "not a clean absolute path")
}

func TestPruneKeepsActiveAndPrevious(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		d, err := Install(inspectGood(t, testWheel{version: v}), root)
		require.NoError(t, err)
		dirs = append(dirs, d)
	}
	leftover := filepath.Join(root, stagingPrefix+"123")
	require.NoError(t, os.Mkdir(leftover, 0o700))
	foreign := filepath.Join(root, "operator-notes")
	require.NoError(t, os.Mkdir(foreign, 0o755))

	removed, err := Prune(root, dirs[3], dirs[1])
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{dirs[0], dirs[2], leftover}, removed)
	assert.DirExists(t, dirs[3])
	assert.DirExists(t, dirs[1])
	assert.NoDirExists(t, dirs[0])
	assert.NoDirExists(t, dirs[2])
	assert.NoDirExists(t, leftover)
	assert.DirExists(t, foreign, "names Install never makes are not pruned")

	removed, err = Prune(filepath.Join(root, "absent"), "", "")
	require.NoError(t, err)
	assert.Empty(t, removed)
}
