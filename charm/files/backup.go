package files

import (
	"fmt"
	"os"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// Backup is every path a plan changed, as it was before, to put back.
type Backup []saved

// saved is one path as ApplyPlan found it.
type saved struct {
	path string
	st   Stat
	// mtime is a regular file's modification time (zero for anything else).
	mtime time.Time
}

// ApplyPlan makes the plan's changes on disk, in order, logging each and
// saving each path as it was first (in the footprint too, so removal
// knows what the charm found). On error the Backup holds what was changed
// so far. Scratch changes (leftovers of an interrupted write) are not
// saved: nothing reads them.
func ApplyPlan(p *plan.Plan, fp *Footprint, log func(string)) (Backup, error) {
	var b Backup
	for _, c := range p.Changes {
		log(c.String())
		if c.Scratch {
			if err := Apply(c); err != nil {
				return b, err
			}
			continue
		}
		if err := fp.Remember(c.Path); err != nil {
			return b, err
		}
		st, err := Read(c.Path)
		if err != nil {
			return b, err
		}
		s := saved{path: c.Path, st: st}
		if fi, err := os.Lstat(c.Path); err == nil && fi.Mode().IsRegular() {
			s.mtime = fi.ModTime()
		}
		b = append(b, s)
		if err := Apply(c); err != nil {
			return b, err
		}
	}
	return b, nil
}

// Restore puts every path back as it was, newest first, with its old
// mtime: the services run on these very bytes, so the next hook does not
// restart them for a change that never reached them.
func (b Backup) Restore() error {
	for i := len(b) - 1; i >= 0; i-- {
		s := b[i]
		if err := PutBack(s.path, s.st); err != nil {
			return fmt.Errorf("cannot roll back %s: %w", s.path, err)
		}
		if !s.mtime.IsZero() {
			if err := os.Chtimes(s.path, time.Time{}, s.mtime); err != nil {
				return fmt.Errorf("cannot roll back %s: %w", s.path, err)
			}
		}
	}
	return nil
}
