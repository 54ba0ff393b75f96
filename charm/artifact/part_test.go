package artifact

import (
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// TestDiffRemovesStaleTemporaryFiles: a hook killed (kill -9, a reboot)
// inside pebble's AtomicWriteFile leaves "<file>.<12 random>~" beside the
// file it was writing, with part of the new content (a kubeconfig holds
// credentials). The next plan removes it, restarts nothing for it, and
// does not count it as something removal must put back.
func TestDiffRemovesStaleTemporaryFiles(t *testing.T) {
	me, err := user.Current()
	require.NoError(t, err)
	group, err := user.LookupGroupId(me.Gid)
	require.NoError(t, err)
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\n"), 0o640))
	stale := kc + ".BCDFGHJKLM01~"
	require.NoError(t, os.WriteFile(stale, []byte("apiVersion: v1\nusers: [half"), 0o640))
	notOurs := []string{kc + ".bak~", kc + ".BCDFGHJKLMAE~", kc + ".orig"}
	for _, p := range notOurs {
		require.NoError(t, os.WriteFile(p, nil, 0o644))
	}
	part := &Part{Files: []files.File{{Path: kc, Content: []byte("apiVersion: v1\n"), Mode: 0o640,
		Owner: me.Username, Group: group.Name, Secret: true, Restarts: []string{"magnum-api"}}}}
	p := &plan.Plan{}
	require.NoError(t, part.Diff(p))
	require.Len(t, p.Changes, 1, "%v", p.Changes)
	c := p.Changes[0]
	assert.Equal(t, plan.Remove, c.Kind)
	assert.Equal(t, stale, c.Path)
	assert.True(t, c.Scratch)
	assert.Empty(t, c.Restarts)
	assert.Empty(t, p.Restarts)
	require.NoError(t, files.Apply(c))
	assert.NoFileExists(t, stale)
	for _, p := range notOurs {
		assert.FileExists(t, p)
	}
	p = &plan.Plan{}
	require.NoError(t, part.Diff(p))
	assert.Empty(t, p.Changes)
}
