package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/canonical/pebble/internals/osutil"
)

// Footprint records, for every path the charm has ever changed on this unit,
// what was there before the charm's first change. It lives in the charm's
// state directory (root-only), survives hooks and charm upgrades, and is what
// removal replays to leave the unit as it was.
type Footprint struct {
	dir     string
	Entries map[string]Stat `json:"entries"`
}

const footprintFile = "footprint.json"

// LoadFootprint reads the footprint kept in dir (empty if none yet).
func LoadFootprint(dir string) (*Footprint, error) {
	fp := &Footprint{dir: dir, Entries: map[string]Stat{}}
	b, err := os.ReadFile(filepath.Join(dir, footprintFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fp, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read footprint: %w", err)
	}
	if err := json.Unmarshal(b, fp); err != nil {
		return nil, fmt.Errorf("read footprint: %w", err)
	}
	if fp.Entries == nil {
		fp.Entries = map[string]Stat{}
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

// Forget drops a path once removal has restored it.
func (fp *Footprint) Forget(path string) error {
	delete(fp.Entries, path)
	return fp.save()
}

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
	if err := os.MkdirAll(fp.dir, 0o700); err != nil {
		return fmt.Errorf("save footprint: %w", err)
	}
	b, err := json.Marshal(fp)
	if err != nil {
		return err
	}
	// The footprint can hold a prior kubeconfig: root-only.
	if err := osutil.AtomicWriteFile(filepath.Join(fp.dir, footprintFile), b, 0o600, 0); err != nil {
		return fmt.Errorf("save footprint: %w", err)
	}
	return nil
}
