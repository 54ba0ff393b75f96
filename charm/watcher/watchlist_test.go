package watcher

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleList() WatchList {
	return WatchList{
		Paths: []string{
			"/etc/magnum/magnum.conf.d/99-capi.conf",
			"/etc/default/magnum-conductor",
			"/etc/default/magnum-api",
			"/usr/lib/python3/dist-packages/magnum-capi-graft.pth",
			"/etc/default/magnum-api/", // unclean and duplicate
		},
		Units:    []string{"magnum-conductor.service", "magnum-api.service"},
		Packages: []string{"python3-magnum", "magnum-common"},
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watch.json")
	require.NoError(t, sampleList().Save(path))

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	got, err := Load(path)
	require.NoError(t, err)
	assert.True(t, got.Equal(sampleList()))
	assert.Equal(t, []string{
		"/etc/default/magnum-api",
		"/etc/default/magnum-conductor",
		"/etc/magnum/magnum.conf.d/99-capi.conf",
		"/usr/lib/python3/dist-packages/magnum-capi-graft.pth",
	}, got.Paths, "loaded paths are clean, sorted and unique")

	// Deterministic bytes: the same list in another order saves the same.
	first, err := os.ReadFile(path)
	require.NoError(t, err)
	l := sampleList()
	l.Units[0], l.Units[1] = l.Units[1], l.Units[0]
	require.NoError(t, l.Save(path))
	second, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(first), string(second))
	assert.Contains(t, string(first), `"units": [`)
}

func TestSaveEmptyListWritesArrays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watch.json")
	require.NoError(t, WatchList{}.Save(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"paths":[],"units":[],"packages":[]}`, string(data))
}

func TestEqual(t *testing.T) {
	a := sampleList()
	b := sampleList()
	assert.True(t, a.Equal(b))
	b.Units = b.Units[:1]
	assert.False(t, a.Equal(b))
	b = sampleList()
	b.Packages = append(b.Packages, "python3")
	assert.False(t, a.Equal(b))
	b = sampleList()
	b.Paths[0] = "/etc/magnum/magnum.conf.d/98-capi.conf"
	assert.False(t, a.Equal(b))
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	for name, content := range map[string]string{
		"garbage":  `{"paths": [`,
		"relative": `{"paths": ["etc/magnum"]}`,
		"root":     `{"paths": ["/"]}`,
		"unit":     `{"units": ["magnum api"]}`,
		"package":  `{"packages": ["Python3-Magnum"]}`,
		"unknown":  `{"paths": [], "services": []}`,
	} {
		path := filepath.Join(dir, name+".json")
		writeFile(t, path, content)
		_, err := Load(path)
		assert.Error(t, err, name)
	}
}

func TestSaveRefusesInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watch.json")
	assert.Error(t, WatchList{Paths: []string{"relative"}}.Save(path))
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing written")
}
