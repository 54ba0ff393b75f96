package watcher

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testWait bounds how long a test waits for an event that must come. It is
// only a safety net against hanging: inotify events are queued by the time
// the system call that caused them returns.
const testWait = 10 * time.Second

func newTestInotify(t *testing.T, paths ...string) *inotify {
	t.Helper()
	w, err := newInotify()
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	require.NoError(t, w.Set(paths))
	return w
}

// nextChanged returns the watched paths of the next batch that concerns any,
// handling (and so re-watching after) the batches in between.
func nextChanged(t *testing.T, w *inotify) []string {
	t.Helper()
	timeout := time.After(testWait)
	for {
		select {
		case batch := <-w.events:
			changed, err := w.Handle(batch)
			require.NoError(t, err)
			if len(changed) > 0 {
				return changed
			}
		case err := <-w.errs:
			t.Fatalf("inotify: %v", err)
		case <-timeout:
			t.Fatal("no inotify event")
		}
	}
}

// handleUntil handles batches until cond holds. The events that make it
// hold are already queued when it is called, so it never waits on time.
func handleUntil(t *testing.T, w *inotify, cond func() bool) {
	t.Helper()
	timeout := time.After(testWait)
	for !cond() {
		select {
		case batch := <-w.events:
			_, err := w.Handle(batch)
			require.NoError(t, err)
		case err := <-w.errs:
			t.Fatalf("inotify: %v", err)
		case <-timeout:
			t.Fatal("condition not reached")
		}
	}
}

func watching(w *inotify, dir string) func() bool {
	return func() bool { _, ok := w.dirs[dir]; return ok }
}

func notWatching(w *inotify, dir string) func() bool {
	return func() bool { _, ok := w.dirs[dir]; return !ok }
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestInotifyReplaceByRename(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "99-capi.conf")
	writeFile(t, target, "old")
	w := newTestInotify(t, target)

	// An atomic writer: a temporary sibling renamed over the target.
	tmp := filepath.Join(dir, ".99-capi.conf.tmp")
	writeFile(t, tmp, "new")
	require.NoError(t, os.Rename(tmp, target))
	assert.Equal(t, []string{target}, nextChanged(t, w), "the temporary file's own events are filtered out")
}

func TestInotifyDelete(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "kubeconfig")
	writeFile(t, target, "x")
	w := newTestInotify(t, target)

	require.NoError(t, os.Remove(target))
	assert.Equal(t, []string{target}, nextChanged(t, w))

	// And coming back counts too.
	writeFile(t, target, "y")
	assert.Equal(t, []string{target}, nextChanged(t, w))
}

func TestInotifyInPlaceEditAndChmod(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "magnum-api")
	writeFile(t, target, "a")
	w := newTestInotify(t, target)

	writeFile(t, target, "b")
	assert.Equal(t, []string{target}, nextChanged(t, w))
	require.NoError(t, os.Chmod(target, 0o600))
	assert.Equal(t, []string{target}, nextChanged(t, w))
}

func TestInotifyUnwatchedSiblingIsSilent(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "watched")
	sentinel := filepath.Join(dir, "sentinel")
	writeFile(t, target, "a")
	w := newTestInotify(t, target, sentinel)

	// Events are queued in order: if the sibling's edit were reported, it
	// would come before the sentinel's.
	writeFile(t, filepath.Join(dir, "unwatched"), "noise")
	require.NoError(t, os.Rename(filepath.Join(dir, "unwatched"), filepath.Join(dir, "unwatched2")))
	require.NoError(t, os.Remove(filepath.Join(dir, "unwatched2")))
	writeFile(t, sentinel, "s")
	assert.Equal(t, []string{sentinel}, nextChanged(t, w))
}

func TestInotifyParentDeletedAndRecreated(t *testing.T) {
	root := t.TempDir()
	parent := filepath.Join(root, "magnum-api.service.d")
	target := filepath.Join(parent, "override.conf")
	require.NoError(t, os.Mkdir(parent, 0o755))
	writeFile(t, target, "a")
	w := newTestInotify(t, target)

	require.NoError(t, os.RemoveAll(parent))
	assert.Equal(t, []string{target}, nextChanged(t, w), "deleting the parent is a change of the path")
	handleUntil(t, w, notWatching(w, parent))
	assert.Contains(t, w.dirs, root, "the grandparent is watched while the parent is missing")

	require.NoError(t, os.Mkdir(parent, 0o755))
	assert.Equal(t, []string{target}, nextChanged(t, w), "the parent's return is a change of the path")
	assert.Contains(t, w.dirs, parent, "the recreated parent is watched again")

	writeFile(t, target, "b")
	assert.Equal(t, []string{target}, nextChanged(t, w), "the file in the recreated parent is watched")
}

func TestInotifyMissingAncestorsAtStart(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "a", "b", "c.pth")
	w := newTestInotify(t, target)
	assert.Contains(t, w.dirs, root)

	require.NoError(t, os.MkdirAll(filepath.Join(root, "a", "b"), 0o755))
	assert.Equal(t, []string{target}, nextChanged(t, w))
	// However fast mkdir -p was, the watch ends up on the nearest existing
	// directory, which is now b.
	handleUntil(t, w, watching(w, filepath.Join(root, "a", "b")))

	writeFile(t, target, "x")
	assert.Equal(t, []string{target}, nextChanged(t, w))
}

func TestInotifyWatchedDirectoryContents(t *testing.T) {
	root := t.TempDir()
	dropins := filepath.Join(root, "magnum-conductor.service.d")
	require.NoError(t, os.Mkdir(dropins, 0o755))
	w := newTestInotify(t, dropins)

	writeFile(t, filepath.Join(dropins, "override.conf"), "x")
	assert.Equal(t, []string{dropins}, nextChanged(t, w), "an entry of a watched directory changed")

	require.NoError(t, os.RemoveAll(dropins))
	assert.Equal(t, []string{dropins}, nextChanged(t, w))
	handleUntil(t, w, notWatching(w, dropins))

	require.NoError(t, os.Mkdir(dropins, 0o755))
	assert.Equal(t, []string{dropins}, nextChanged(t, w), "the directory's return counts")
	handleUntil(t, w, watching(w, dropins))
	writeFile(t, filepath.Join(dropins, "override.conf"), "y")
	assert.Equal(t, []string{dropins}, nextChanged(t, w), "entries of the recreated directory are watched")
}

func TestInotifySetReplacesWatches(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fa, fb := filepath.Join(a, "f"), filepath.Join(b, "f")
	w := newTestInotify(t, fa)
	require.NoError(t, w.Set([]string{fb}))
	assert.NotContains(t, w.dirs, a)

	writeFile(t, fa, "dropped")
	writeFile(t, fb, "kept")
	assert.Equal(t, []string{fb}, nextChanged(t, w))
}

func TestParseEventsSkipsTruncated(t *testing.T) {
	// A record whose name length runs past the buffer is not decoded.
	b := make([]byte, 16)
	b[12] = 32
	assert.Empty(t, parseEvents(b))
}
