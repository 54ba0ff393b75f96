package testbed

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tree makes a small tree with the kinds of entries a manifest tells
// apart.
func tree(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("a\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "b file"), []byte("b"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "setuid"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sub", "setuid"), 0o755|fs.ModeSetuid))
	require.NoError(t, os.Symlink("a", filepath.Join(dir, "link")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty"), nil, 0o640))
	return dir
}

func TestRemoteManifestIsTheLocalOne(t *testing.T) {
	dir := tree(t)
	local, err := manifestAt("", []string{dir, filepath.Join(dir, "missing"), filepath.Join(dir, "link")})
	require.NoError(t, err)
	remote := &Box{Name: "host", Remote: Here{}}
	got, err := remote.remoteManifestOf(context.Background(), []string{dir, filepath.Join(dir, "missing"), filepath.Join(dir, "link")})
	require.NoError(t, err)
	assert.Equal(t, local, got)
	assert.Len(t, got, 7, "the root, 4 files, a directory and a link")

	// A change of content, mode or link target shows in both.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "b file"), []byte("B"), 0o600))
	require.NoError(t, os.Chmod(filepath.Join(dir, "a"), 0o600))
	after, err := remote.remoteManifestOf(context.Background(), []string{dir})
	require.NoError(t, err)
	assert.Len(t, local.Diff(after), 2, "%v", local.Diff(after))
}

func TestRemoteFilesAreTheLocalOnes(t *testing.T) {
	dir := tree(t)
	remote := &Box{Name: "host", Remote: Here{}}

	for _, name := range []string{"a", "link", "sub", "sub/setuid", "empty"} {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		require.NoError(t, err)
		got, err := remote.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, fi.Mode(), got.Mode, name)
		assert.True(t, fi.ModTime().Equal(got.ModTime), "%s: mtime %s, remote %s", name, fi.ModTime(), got.ModTime)
		assert.Equal(t, os.Getuid(), got.UID, name)
	}
	_, err := remote.Stat(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	data, err := remote.ReadFile(filepath.Join(dir, "a"))
	require.NoError(t, err)
	assert.Equal(t, "a\n", string(data))
	data, err = remote.ReadFile(filepath.Join(dir, "empty"))
	require.NoError(t, err)
	assert.Empty(t, data)
	_, err = remote.ReadFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	names, err := remote.ReadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "empty", "link", "sub"}, names)

	require.NoError(t, remote.Put(context.Background(), filepath.Join(dir, "a"), filepath.Join(dir, "put"), 0o750))
	fi, err := remote.Stat(filepath.Join(dir, "put"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o750), fi.Mode)
}
