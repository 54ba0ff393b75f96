package watcher

import (
	"slices"
	"time"
)

// scheduler decides when to re-graft. It is a pure state machine fed with
// the current time, so the debounce, rate limit, echo suppression and
// failure handling can be tested without waiting on a real clock.
//
// The rules, in order of precedence:
//   - While suspended (maxFailures re-grafts failed in a row), events are
//     dropped until Resume: re-running a failing hook every minute would hold
//     the machine lock and fill the principal's log for nothing.
//   - While a re-graft runs, and for echoGrace after it ends, events are
//     dropped: the reconcile itself writes files and restarts services, and
//     those echoes must not cause another re-graft. The reconcile is
//     idempotent, so a real change lost this way is caught by the next event
//     or by update-status.
//   - While held (dpkg is half way through a watched package), events are
//     kept but nothing is due: re-grafting mid-upgrade would race dpkg.
//     dpkg's next write of its status ends the hold and is itself an event.
//   - A re-graft is due once events have been quiet for debounce (so a
//     package upgrade that restarts services several times gives one
//     re-graft) and no sooner than minInterval after the previous re-graft
//     ended (so events inside that window give exactly one re-graft when it
//     ends).
type scheduler struct {
	debounce    time.Duration
	minInterval time.Duration
	echoGrace   time.Duration
	maxFailures int

	pending   map[string]struct{}
	lastEvent time.Time
	lastDone  time.Time
	running   bool
	held      bool
	failures  int
}

func newScheduler(debounce, minInterval, echoGrace time.Duration, maxFailures int) *scheduler {
	return &scheduler{
		debounce:    debounce,
		minInterval: minInterval,
		echoGrace:   echoGrace,
		maxFailures: maxFailures,
		pending:     make(map[string]struct{}),
	}
}

// Event records that something changed, and reports whether the event was
// kept (false: dropped as an echo or while suspended).
func (s *scheduler) Event(now time.Time, reason string) bool {
	if s.running || s.Suspended() || s.inEcho(now) {
		return false
	}
	s.pending[reason] = struct{}{}
	s.lastEvent = now
	return true
}

// Next returns when the next re-graft is due; ok is false when none is
// pending.
func (s *scheduler) Next() (at time.Time, ok bool) {
	if s.running || s.held || s.Suspended() || len(s.pending) == 0 {
		return time.Time{}, false
	}
	at = s.lastEvent.Add(s.debounce)
	if !s.lastDone.IsZero() {
		if limit := s.lastDone.Add(s.minInterval); limit.After(at) {
			at = limit
		}
	}
	return at, true
}

// Start begins a re-graft if one is due at now, and returns the sorted
// reasons for it; nil means nothing is due.
func (s *scheduler) Start(now time.Time) []string {
	at, ok := s.Next()
	if !ok || now.Before(at) {
		return nil
	}
	reasons := make([]string, 0, len(s.pending))
	for r := range s.pending {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	clear(s.pending)
	s.running = true
	return reasons
}

// Done ends the running re-graft and reports whether re-grafting is now
// suspended.
func (s *scheduler) Done(now time.Time, err error) (suspended bool) {
	s.running = false
	s.lastDone = now
	if err != nil {
		s.failures++
	} else {
		s.failures = 0
	}
	// Nothing can be pending (events were dropped while running), but make
	// sure a suspended scheduler does not remember stale reasons either.
	clear(s.pending)
	return s.Suspended()
}

// Resume is called when the watch list file was written. A write by
// someone else than our own re-graft means the charm has run, so the failure
// count starts again; it reports whether re-grafting was suspended until
// now. Writes during our re-graft (or its echo grace) are our own and do not
// count, or a reconcile that saves the list and then fails would loop.
func (s *scheduler) Resume(now time.Time) (resumed bool) {
	if s.running || s.inEcho(now) {
		return false
	}
	was := s.Suspended()
	s.failures = 0
	return was
}

// Hold stops (true) or allows (false) re-grafts without dropping events.
func (s *scheduler) Hold(held bool) { s.held = held }

// Suspended reports whether too many re-grafts failed in a row.
func (s *scheduler) Suspended() bool { return s.maxFailures > 0 && s.failures >= s.maxFailures }

// Failures is the number of re-grafts that failed in a row.
func (s *scheduler) Failures() int { return s.failures }

// Running reports whether a re-graft is running.
func (s *scheduler) Running() bool { return s.running }

func (s *scheduler) inEcho(now time.Time) bool {
	return !s.lastDone.IsZero() && now.Before(s.lastDone.Add(s.echoGrace))
}
