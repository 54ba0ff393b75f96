package watcher

import (
	"fmt"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// The record of the watcher's re-grafts that failed in a row
// (state.RegraftFailures) lives beside the watch list, in the charm's state
// directory.
//
// Only hooks write it, because only a hook knows how its re-graft ended: the
// update-status hook the watcher runs adds a failure when it ends blocked;
// any hook that ends active, a config or secret change, a charm upgrade and
// the regraft action remove the record. The watcher only reads it: with
// MaxFailures failures recorded it stops re-grafting, and it starts again
// when the record goes away. Keeping the count on disk rather than in the
// watcher's memory means a restarted watcher (a reboot, a charm upgrade)
// stays stopped, and that the status the hook sets and the watcher's
// behaviour can never disagree.

// MaxFailures re-grafts failing in a row stop automatic re-grafting.
const MaxFailures = 2

// Failures is the record.
type Failures struct {
	// Count is the number of the watcher's re-grafts that failed in a row.
	Count int `json:"count"`
	// Reason is the last failure's status message (statuses never hold
	// secrets, so the record may be logged).
	Reason string `json:"reason"`
	// Since is when the first failure of the run happened.
	Since time.Time `json:"since"`
}

// Stopped reports whether automatic re-grafting is stopped.
func (f Failures) Stopped() bool { return f.Count >= MaxFailures }

// LoadFailures reads the record; a missing record is no failures.
func LoadFailures(d state.Dir) (Failures, error) {
	f, err := state.Get[Failures](d, state.RegraftFailures)
	if err != nil {
		return Failures{}, fmt.Errorf("cannot read the re-graft failures: %w", err)
	}
	return f, nil
}

// RecordFailure adds one failure with its reason and returns the record.
// An unreadable record counts as none: the count starts again rather than
// the unit being stuck.
func RecordFailure(d state.Dir, reason string, now time.Time) (Failures, error) {
	f, err := LoadFailures(d)
	if err != nil || f.Count == 0 {
		f = Failures{Since: now.UTC()}
	}
	f.Count++
	f.Reason = reason
	return f, d.Save(state.RegraftFailures, f)
}

// ClearFailures removes the record; it reports whether there was one.
func ClearFailures(d state.Dir) (bool, error) {
	return d.Remove(state.RegraftFailures)
}
