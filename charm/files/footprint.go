package files

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
)

// Footprint records, for every path the charm has ever changed on this unit,
// what was there before the charm's first change, and a mark of how the
// charm last left it. It lives in the charm's state directory (root-only),
// survives hooks and charm upgrades, and is what removal works from: it
// takes off what the charm added and keeps what others changed since (see
// Undo).
type Footprint struct {
	store   Store
	name    string
	Entries map[string]Stat `json:"entries"`
	// Ours marks each path as the charm last left it. A footprint
	// written by an earlier revision of the charm has none; the first
	// converged reconcile adopts the paths as they are (see Adopt).
	Ours map[string]Mark `json:"ours,omitempty"`
}

// Store keeps a footprint between hooks: the charm's state directory
// (state.Dir), root-only, as it can hold a prior kubeconfig.
type Store interface {
	// Load decodes the named JSON file into v; a missing file is an
	// error fs.ErrNotExist matches.
	Load(name string, v any) error
	Save(name string, v any) error
}

// LoadFootprint reads the footprint kept in store under name (empty if
// none yet).
func LoadFootprint(store Store, name string) (*Footprint, error) {
	fp := &Footprint{store: store, name: name}
	if err := store.Load(name, fp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot read the footprint: %w", err)
	}
	if fp.Entries == nil {
		fp.Entries = map[string]Stat{}
	}
	if fp.Ours == nil {
		fp.Ours = map[string]Mark{}
	}
	return fp, nil
}

// Remember records what is at path now, unless the charm changed path
// before: the first record is the one removal must restore. It saves the
// footprint before returning, so a hook that dies right after its first write
// still leaves a record of what it changed.
func (fp *Footprint) Remember(path string) error {
	if _, ok := fp.Entries[path]; ok {
		return nil
	}
	st, err := Read(path)
	if err != nil {
		return err
	}
	fp.Entries[path] = st
	return fp.save()
}

// Confirm marks paths as the charm has just left them: after its writes
// succeeded and the services took them. Paths the charm never changed are
// not in the footprint and are ignored.
func (fp *Footprint) Confirm(paths ...string) error {
	return fp.mark(paths, true)
}

// Adopt marks the paths that have no mark yet as they are now. A converged
// reconcile calls it with every path it wants: each is as the charm wants
// it, so a footprint from an earlier revision of the charm learns what is
// the charm's before removal needs to know.
func (fp *Footprint) Adopt(paths ...string) error {
	return fp.mark(paths, false)
}

func (fp *Footprint) mark(paths []string, again bool) error {
	dirty := false
	for _, p := range paths {
		if _, ok := fp.Entries[p]; !ok {
			continue
		}
		if _, ok := fp.Ours[p]; ok && !again {
			continue
		}
		st, err := Read(p)
		if err != nil {
			return err
		}
		if m, ok := fp.Ours[p]; !ok || m != MarkOf(st) {
			fp.Ours[p] = MarkOf(st)
			dirty = true
		}
	}
	if !dirty {
		return nil
	}
	return fp.save()
}

// Forget drops paths once removal has dealt with them.
func (fp *Footprint) Forget(paths ...string) error {
	for _, p := range paths {
		delete(fp.Entries, p)
		delete(fp.Ours, p)
	}
	return fp.save()
}

// Empty reports a footprint with nothing left in it.
func (fp *Footprint) Empty() bool { return len(fp.Entries) == 0 }

// Paths lists the recorded paths, deepest first, so files are restored
// before the directories that hold them.
func (fp *Footprint) Paths() []string {
	var ps []string
	for p := range fp.Entries {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if len(ps[i]) != len(ps[j]) {
			return len(ps[i]) > len(ps[j])
		}
		return ps[i] < ps[j]
	})
	return ps
}

func (fp *Footprint) save() error {
	return fp.store.Save(fp.name, fp)
}
