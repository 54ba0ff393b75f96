package files

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// strip stands in for the wiring's: it takes out the lines between BEGIN
// and END.
func strip(b []byte) []byte {
	s := string(b)
	i := strings.Index(s, "BEGIN\n")
	j := strings.Index(s, "END\n")
	if i < 0 || j < i {
		return b
	}
	return []byte(s[:i] + s[j+len("END\n"):])
}

// charmWrites remembers path, writes content as the charm does, and
// confirms it, as a reconcile that succeeded does.
func charmWrites(t *testing.T, fp *Footprint, path, content string) {
	t.Helper()
	require.NoError(t, fp.Remember(path))
	require.NoError(t, Apply(plan.Change{Kind: plan.Write, Path: path, Content: []byte(content), Mode: 0o644}))
	require.NoError(t, fp.Confirm(path))
}

func TestUndo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before *string
		charm  string
		then   func(p string)
		kind   plan.Kind
		put    string
		kept   string
	}{
		{name: "created, untouched", charm: "ours\n", kind: plan.Remove},
		{name: "created, edited", charm: "ours\n", then: edit("theirs\n"), kept: "changed since the charm wrote it: kept as it is"},
		{name: "created, deleted", charm: "ours\n", then: del},
		{name: "replaced, untouched", before: str("old\n"), charm: "ours\n", kind: plan.Restore, put: "old\n"},
		{name: "replaced, edited", before: str("old\n"), charm: "ours\n", then: edit("theirs\n"),
			kept: "changed since the charm wrote it: kept as it is, not put back as it was before the charm"},
		{name: "replaced, deleted", before: str("old\n"), charm: "ours\n", then: del, kept: "deleted since the charm changed it: not put back"},
		{name: "block, untouched", before: str("A=1"), charm: "A=1\nBEGIN\nours\nEND\n", kind: plan.Restore, put: "A=1"},
		{name: "block, line added after", before: str("A=1\n"), charm: "A=1\nBEGIN\nours\nEND\n", then: edit("A=1\nBEGIN\nours\nEND\nB=2\n"),
			kind: plan.Restore, put: "A=1\nB=2\n", kept: "only the charm's block taken out: changes others made since the graft are kept"},
		{name: "block, line added before", before: str("A=1\n"), charm: "A=1\nBEGIN\nours\nEND\n", then: edit("A=1\nB=2\nBEGIN\nours\nEND\n"),
			kind: plan.Restore, put: "A=1\nB=2\n", kept: "only the charm's block taken out: changes others made since the graft are kept"},
		{name: "block taken out by someone", before: str("A=1\n"), charm: "A=1\nBEGIN\nours\nEND\n", then: edit("A=1\nB=2\n"),
			kept: "changed since the charm wrote it: kept as it is, not put back as it was before the charm"},
		{name: "block in a file the charm created, untouched", charm: "BEGIN\nours\nEND\n", kind: plan.Remove},
		{name: "block in a file the charm created, line added", charm: "BEGIN\nours\nEND\n", then: edit("B=2\nBEGIN\nours\nEND\n"),
			kind: plan.Restore, put: "B=2\n", kept: "only the charm's block taken out: the lines others added since the graft are kept"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if tc.before != nil {
				require.NoError(t, os.WriteFile(p, []byte(*tc.before), 0o644))
			}
			fp, err := LoadFootprint(storeAt(dir), "footprint.json")
			require.NoError(t, err)
			charmWrites(t, fp, p, tc.charm)
			if tc.then != nil {
				tc.then(p)
			}
			s, err := fp.Undo(p, strip)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, s.Kind)
			assert.Equal(t, tc.kept, s.Kept)
			if tc.kind == plan.Restore {
				assert.Equal(t, tc.put, string(s.Put.Content))
			}
			require.NoError(t, s.Do())
			switch tc.kind {
			case plan.Remove:
				assert.NoFileExists(t, p)
			case plan.Restore:
				got, err := os.ReadFile(p)
				require.NoError(t, err)
				assert.Equal(t, tc.put, string(got))
			}
		})
	}
}

func str(s string) *string { return &s }

func edit(content string) func(string) {
	return func(p string) { _ = os.WriteFile(p, []byte(content), 0o644) }
}

func del(p string) { _ = os.Remove(p) }

// A directory the charm created goes when empty; anything in it keeps it.
func TestUndoDirectory(t *testing.T) {
	dir := t.TempDir()
	fp, err := LoadFootprint(storeAt(dir), "footprint.json")
	require.NoError(t, err)
	d := filepath.Join(dir, "conf.d")
	require.NoError(t, fp.Remember(d))
	require.NoError(t, Apply(plan.Change{Kind: plan.Mkdir, Path: d, Mode: 0o750 | os.ModeDir}))
	require.NoError(t, fp.Confirm(d))

	require.NoError(t, os.WriteFile(filepath.Join(d, "site.conf"), nil, 0o644))
	s, err := fp.Undo(d, strip)
	require.NoError(t, err)
	assert.Equal(t, plan.Kind(""), s.Kind)
	assert.Equal(t, []string{filepath.Join(d, "site.conf")}, s.Holds)

	require.NoError(t, os.Remove(filepath.Join(d, "site.conf")))
	require.NoError(t, os.Chmod(d, 0o755))
	s, err = fp.Undo(d, strip)
	require.NoError(t, err)
	assert.Equal(t, plan.Rmdir, s.Kind, "empty, it goes, whatever its mode")
	require.NoError(t, s.Do())
	assert.NoDirExists(t, d)
}

// A footprint written before marks existed: its paths count as the
// charm's, as removal always took them, until a converged reconcile adopts
// them; adopting does not move a mark, confirming does.
func TestAdoptAndConfirm(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	fp, err := LoadFootprint(storeAt(dir), "footprint.json")
	require.NoError(t, err)
	require.NoError(t, fp.Remember(p))
	require.NoError(t, os.WriteFile(p, []byte("ours\n"), 0o644))
	fp.Ours = map[string]Mark{} // as an earlier revision saved it
	require.NoError(t, fp.save())

	fp, err = LoadFootprint(storeAt(dir), "footprint.json")
	require.NoError(t, err)
	s, err := fp.Undo(p, strip)
	require.NoError(t, err)
	assert.Equal(t, plan.Remove, s.Kind, "unmarked: taken to be the charm's")

	require.NoError(t, fp.Adopt(p, filepath.Join(dir, "not-in-the-footprint")))
	assert.Len(t, fp.Ours, 1, "only footprint paths are marked")
	require.NoError(t, os.WriteFile(p, []byte("theirs\n"), 0o644))
	require.NoError(t, fp.Adopt(p))
	fp, err = LoadFootprint(storeAt(dir), "footprint.json")
	require.NoError(t, err)
	s, err = fp.Undo(p, strip)
	require.NoError(t, err)
	assert.Equal(t, plan.Kind(""), s.Kind, "adopt keeps the first mark: the edit is someone else's")
	assert.NotEmpty(t, s.Kept)

	require.NoError(t, fp.Confirm(p))
	s, err = fp.Undo(p, strip)
	require.NoError(t, err)
	assert.Equal(t, plan.Remove, s.Kind, "confirm moves the mark: the charm wrote it")
}

func TestMarkHoldsNoContent(t *testing.T) {
	m := MarkOf(Stat{Exists: true, Content: []byte("token: s3cr3t"), Mode: 0o640})
	assert.Len(t, m.SHA256, 64)
	assert.NotContains(t, m.SHA256, "s3cr3t")
	assert.Equal(t, Mark{Exists: true, IsDir: true, Mode: 0o750}, MarkOf(Stat{Exists: true, IsDir: true, Mode: 0o750}))
	assert.Equal(t, Mark{Exists: true, Link: "/x"}, MarkOf(Stat{Exists: true, Link: "/x"}))
}

func TestLeftovers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kubeconfig")
	for _, n := range []string{"kubeconfig", "kubeconfig.BcDfGh012345~", "kubeconfig.short~", "kubeconfig.BcDfGh012345", "other.BcDfGh012345~"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o600))
	}
	assert.Equal(t, []string{filepath.Join(dir, "kubeconfig.BcDfGh012345~")}, Leftovers(p))
}

// memStore keeps footprints in memory, as state.Dir keeps them on disk.
type memStore map[string][]byte

func (m memStore) Load(name string, v any) error {
	b, ok := m[name]
	if !ok {
		return fs.ErrNotExist
	}
	return json.Unmarshal(b, v)
}

func (m memStore) Save(name string, v any) error {
	b, err := json.Marshal(v)
	m[name] = b
	return err
}

var stores = map[string]memStore{}

// storeAt is the one store of a test's directory, so a footprint loaded
// again sees what the last one saved.
func storeAt(dir string) memStore {
	if stores[dir] == nil {
		stores[dir] = memStore{}
	}
	return stores[dir]
}
