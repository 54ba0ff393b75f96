package files

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// Mark is a path as the charm last left it: enough to tell later whether
// anyone has changed it since, without keeping its content (the footprint
// may hold secrets already; a mark adds none).
type Mark struct {
	Exists bool        `json:"exists"`
	IsDir  bool        `json:"dir,omitempty"`
	SHA256 string      `json:"sha256,omitempty"`
	Link   string      `json:"link,omitempty"`
	Mode   os.FileMode `json:"mode"`
	UID    int         `json:"uid"`
	GID    int         `json:"gid"`
}

// MarkOf is the mark of an observed path.
func MarkOf(st Stat) Mark {
	m := Mark{Exists: st.Exists, IsDir: st.IsDir, Link: st.Link, Mode: st.Mode, UID: st.UID, GID: st.GID}
	if st.Exists && !st.IsDir && st.Link == "" {
		sum := sha256.Sum256(st.Content)
		m.SHA256 = hex.EncodeToString(sum[:])
	}
	return m
}

// Step is what removal does at one path of the footprint.
type Step struct {
	Path string
	// Kind is plan.Remove or plan.Rmdir (the charm created the path and
	// nobody else has anything there), plan.Restore (Put goes back), or ""
	// (nothing to do).
	Kind plan.Kind
	Put  Stat
	// Kept says why something at Path stays that is not as the charm
	// found it ("" when nothing does). Directories say it through Holds.
	Kept string
	// Holds lists the entries of a directory the charm created that keep
	// it from going: someone else's, or the charm's own that were kept.
	Holds []string
}

// Undo decides how removal takes the charm's change at path off the unit,
// from what was there before the charm (the footprint's entry), how the
// charm last left it (its mark) and what is there now. The rule: remove
// exactly what the charm added, keep what others changed since.
//
//   - Nothing changed since the charm: a path it created goes, a path it
//     changed is put back as it was before, byte for byte, owner and mode.
//   - A directory the charm created goes once it is empty; anything else
//     in it keeps it (Holds says what).
//   - A file holding the charm's managed block (strip finds one) loses the
//     block and nothing else: lines others added or changed since the graft
//     stay. When what is left is exactly what was there before the charm,
//     that is put back byte for byte; a file the charm created that holds
//     nothing else goes.
//   - Any other file or link changed since the charm wrote it (edited,
//     replaced by a package, deleted) is someone else's now: it stays as it
//     is, and Kept says so.
//
// A path with no mark (a footprint from an earlier revision of the charm
// that no converged reconcile has adopted yet) is taken to be as the charm
// left it, as removal always did.
func (fp *Footprint) Undo(path string, strip func([]byte) []byte) (Step, error) {
	s := Step{Path: path}
	prior := fp.Entries[path]
	now, err := Read(path)
	if err != nil {
		return s, err
	}
	ours, marked := fp.Ours[path]
	untouched := !marked || MarkOf(now) == ours
	switch {
	case now.Same(prior):
		return s, nil
	case !now.Exists:
		if prior.Exists && untouched {
			// The charm itself removed it (a wiring it no longer
			// wanted): put back what it removed.
			s.Kind, s.Put = plan.Restore, prior
		} else if prior.Exists {
			s.Kept = "deleted since the charm changed it: not put back"
		}
		return s, nil
	case now.IsDir && !prior.Exists && (!marked || ours.IsDir):
		entries, err := os.ReadDir(path)
		if err != nil {
			return s, err
		}
		if len(entries) == 0 {
			s.Kind = plan.Rmdir
			return s, nil
		}
		for _, e := range entries {
			s.Holds = append(s.Holds, filepath.Join(path, e.Name()))
		}
		return s, nil
	case strip != nil && now.Link == "" && !now.IsDir && (!prior.Exists || prior.isFile()):
		if rest := strip(now.Content); !bytes.Equal(rest, now.Content) {
			return undoBlock(s, prior, now, ours, marked, rest), nil
		}
	}
	switch {
	case !untouched && now.IsDir:
		s.Kept = "owner or mode changed since the charm set them: kept as it is"
	case !untouched:
		s.Kept = "changed since the charm wrote it: kept as it is"
		if prior.Exists {
			s.Kept += ", not put back as it was before the charm"
		}
	case !prior.Exists && now.IsDir:
		s.Kind = plan.Rmdir
	case !prior.Exists:
		s.Kind = plan.Remove
	default:
		s.Kind, s.Put = plan.Restore, prior
	}
	return s, nil
}

func (st Stat) isFile() bool { return st.Exists && !st.IsDir && st.Link == "" }

// undoBlock takes the charm's block out of a file others share: rest is the
// file without it.
func undoBlock(s Step, prior, now Stat, ours Mark, marked bool, rest []byte) Step {
	// Owner and mode: the charm's only if still as it set them.
	owner := now
	if prior.Exists && (!marked || (ours.Mode == now.Mode && ours.UID == now.UID && ours.GID == now.GID)) {
		owner = prior
	}
	if !prior.Exists {
		if len(bytes.TrimSpace(rest)) == 0 {
			s.Kind = plan.Remove
			return s
		}
		s.Kept = "only the charm's block taken out: the lines others added since the graft are kept"
	} else if bytes.Equal(rest, withNewline(prior.Content)) {
		// The charm added a newline before its block when the file
		// lacked one: what was there before goes back byte for byte.
		rest = prior.Content
	} else {
		s.Kept = "only the charm's block taken out: changes others made since the graft are kept"
	}
	s.Kind = plan.Restore
	s.Put = Stat{Exists: true, Content: rest, Mode: owner.Mode, UID: owner.UID, GID: owner.GID}
	if s.Kept == "" && s.Put.Same(now) {
		s.Kind = ""
	}
	return s
}

// withNewline is content as the wiring extends it: ending in a newline
// unless empty.
func withNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(append([]byte{}, b...), '\n')
	}
	return b
}

// Do carries out a step.
func (s Step) Do() error {
	var err error
	switch s.Kind {
	case "":
		return nil
	case plan.Remove, plan.Rmdir:
		// os.Remove never removes a directory that is not empty: what
		// someone put there since Undo looked keeps it.
		if err = os.Remove(s.Path); Missing(err) {
			err = nil
		}
	case plan.Restore:
		err = PutBack(s.Path, s.Put)
	default:
		err = fmt.Errorf("cannot undo with %s", s.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Kind, s.Path, err)
	}
	return nil
}

// tempRE matches the temporary files pebble's atomic writes create beside
// a target (osutil.AtomicWriteFile: target + "." + 12 random characters +
// "~"), which a write killed half-way leaves behind.
var tempRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\.[A-Za-z0-9]{12}~$`) })

// Leftovers lists the temporary files an interrupted atomic write of path
// left beside it.
func Leftovers(path string) []string {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil
	}
	base := filepath.Base(path)
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && len(name) > len(base) && name[:len(base)] == base && tempRE().MatchString(name[len(base):]) {
			out = append(out, filepath.Join(filepath.Dir(path), name))
		}
	}
	sort.Strings(out)
	return out
}
