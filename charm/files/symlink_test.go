package files

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

func TestSymlinkDiffApplyPutBack(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "opt-helm")
	require.NoError(t, os.WriteFile(target, []byte("helm"), 0o755))
	link := filepath.Join(dir, "helm")
	want := Symlink{Path: link, Target: target}

	// Absent: the change makes the link, and Read sees a link, not content.
	before, err := Read(link)
	require.NoError(t, err)
	c, err := DiffSymlink(want)
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, plan.Symlink, c.Kind)
	assert.Equal(t, "symlink "+link+" -> "+target+" (absent)", c.String())
	require.NoError(t, Apply(*c))
	st, err := Read(link)
	require.NoError(t, err)
	assert.True(t, st.Exists)
	assert.Equal(t, target, st.Link)
	assert.Nil(t, st.Content, "a link's target's content is not the link's")
	c, err = DiffSymlink(want)
	require.NoError(t, err)
	assert.Nil(t, c, "converged")

	// Removal puts back the absence.
	require.NoError(t, PutBack(link, before))
	_, err = os.Lstat(link)
	assert.True(t, os.IsNotExist(err))

	// A file in the way is replaced, and put back byte for byte.
	require.NoError(t, os.WriteFile(link, []byte("someone's helm"), 0o750))
	prior, err := Read(link)
	require.NoError(t, err)
	c, err = DiffSymlink(want)
	require.NoError(t, err)
	assert.Equal(t, "a file is there", c.Why)
	require.NoError(t, Apply(*c))
	now, err := Read(link)
	require.NoError(t, err)
	assert.False(t, now.Same(prior))
	require.NoError(t, PutBack(link, prior))
	back, err := Read(link)
	require.NoError(t, err)
	assert.True(t, back.Same(prior))

	// A link elsewhere is repointed, and a prior link survives the
	// footprint's JSON and is put back.
	require.NoError(t, os.Remove(link))
	require.NoError(t, os.Symlink("/usr/lib/helm3/helm", link))
	prior, err = Read(link)
	require.NoError(t, err)
	b, err := json.Marshal(prior)
	require.NoError(t, err)
	var decoded Stat
	require.NoError(t, json.Unmarshal(b, &decoded))
	assert.Equal(t, "/usr/lib/helm3/helm", decoded.Link)
	c, err = DiffSymlink(want)
	require.NoError(t, err)
	assert.Equal(t, "points to /usr/lib/helm3/helm", c.Why)
	require.NoError(t, Apply(*c))
	require.NoError(t, PutBack(link, decoded))
	got, err := os.Readlink(link)
	require.NoError(t, err)
	assert.Equal(t, "/usr/lib/helm3/helm", got)

	// A directory is never replaced.
	require.NoError(t, os.Remove(link))
	require.NoError(t, os.Mkdir(link, 0o755))
	_, err = DiffSymlink(want)
	assert.ErrorContains(t, err, "is a directory")
}
