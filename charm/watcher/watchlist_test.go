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

// saveList writes l as the charm's plan does: encoded, then renamed into
// place, so the watcher never reads half a file.
func saveList(t *testing.T, l WatchList, path string) {
	t.Helper()
	data, err := l.Encode()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".tmp", data, 0o600))
	require.NoError(t, os.Rename(path+".tmp", path))
}

func TestEncodeLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watch.json")
	saveList(t, sampleList(), path)

	got, err := Load(path)
	require.NoError(t, err)
	assert.True(t, got.Equal(sampleList()))
	assert.Equal(t, []string{
		"/etc/default/magnum-api",
		"/etc/default/magnum-conductor",
		"/etc/magnum/magnum.conf.d/99-capi.conf",
		"/usr/lib/python3/dist-packages/magnum-capi-graft.pth",
	}, got.Paths, "loaded paths are clean, sorted and unique")

	// Deterministic bytes: the same list in another order encodes the same,
	// so the charm's plan finds an unchanged list unchanged.
	first, err := sampleList().Encode()
	require.NoError(t, err)
	l := sampleList()
	l.Units[0], l.Units[1] = l.Units[1], l.Units[0]
	second, err := l.Encode()
	require.NoError(t, err)
	assert.Equal(t, string(first), string(second))
	assert.Contains(t, string(first), `"units": [`)
}

func TestEncodeEmptyListWritesArrays(t *testing.T) {
	data, err := WatchList{}.Encode()
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

func TestEncodeRefusesInvalid(t *testing.T) {
	_, err := WatchList{Paths: []string{"relative"}}.Encode()
	assert.ErrorContains(t, err, "must be absolute")
}
