package files

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// Restore puts back exactly what ApplyPlan changed: a rewritten file's
// bytes and mtime, a created file gone; a scratch removal is not saved.
func TestApplyPlanAndRestore(t *testing.T) {
	owner, group := me(t)
	dir := t.TempDir()
	conf, kc, stale := filepath.Join(dir, "99-capi.conf"), filepath.Join(dir, "kubeconfig"), filepath.Join(dir, ".99-capi.conf.tmp1")
	put(t, conf, "old", 0o640)
	put(t, stale, "half", 0o600)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, os.Chtimes(conf, old, old))
	fp, err := LoadFootprint(storeAt(dir), "footprint.json")
	require.NoError(t, err)
	p := &plan.Plan{Changes: []plan.Change{
		{Kind: plan.Remove, Path: stale, Scratch: true},
		{Kind: plan.Write, Path: conf, Content: []byte("new"), Mode: 0o640, Owner: owner, Group: group},
		{Kind: plan.Write, Path: kc, Content: []byte("kc"), Mode: 0o640, Owner: owner, Group: group},
	}}
	var logged []string
	backup, err := ApplyPlan(p, fp, func(l string) { logged = append(logged, l) })
	require.NoError(t, err)
	assert.Len(t, logged, 3)
	assert.Len(t, backup, 2, "the scratch removal is not saved")
	assert.Contains(t, fp.Entries, conf, "the footprint knows what was there")

	require.NoError(t, backup.Restore())
	b, err := os.ReadFile(conf)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	fi, err := os.Stat(conf)
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(old), "mtime put back: %s, want %s", fi.ModTime(), old)
	assert.NoFileExists(t, kc)
	assert.NoFileExists(t, stale)
}
