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
//   - While stopped (the charm's record says MaxFailures re-grafts failed in
//     a row), events are dropped until the record goes: re-running a failing
//     hook every minute would hold the machine lock and fill the principal's
//     log for nothing.
//   - Events while a re-graft runs are kept aside until it ends, and the
//     hook says whether it changed anything (Done's changed). If it did,
//     they are its echo (the reconcile writes files and restarts services)
//     and are dropped, as are events for echoGrace after it (D-Bus signals
//     sent just before the hook exited may arrive just after): the
//     reconcile is idempotent, so a real change lost among them is caught
//     by the next event or by update-status. If it changed nothing, they
//     cannot be its echo: they are real changes (an operator's edit while a
//     no-op re-graft ran) and become pending.
//   - While held (dpkg is half way through a watched package), events are
//     kept but nothing is due: re-grafting mid-upgrade would race dpkg.
//     dpkg's next write of its status ends the hold and is itself an event.
//   - While a watched service is on its way between states (systemd's
//     ActiveState activating, deactivating or reloading: someone's restart
//     is still running), nothing is due but by maxWait: re-grafting in
//     the middle of an operator's restart would race it, and its end is an
//     event that starts the debounce again. A unit that stays on its way
//     (a start that hangs, Restart= between attempts) only delays a
//     re-graft to maxWait.
//   - A re-graft is due once events have been quiet for debounce (so a
//     package upgrade that restarts services several times gives one
//     re-graft), or maxWait after the first of them if they never go
//     quiet (one event a second from a crash-looping service or a tool
//     that daemon-reloads often would otherwise hold every re-graft back
//     for as long as it lasts), and no sooner than minInterval after the
//     previous re-graft
//     ended (so events inside that window give exactly one re-graft when it
//     ends). Each failure in a row doubles that interval, up to
//     maxBackoff times: juju-exec failing (the unit agent down) must not be
//     retried at the rate of the changes that keep coming.
//   - A trigger that failed without the charm's hook recording why (juju-exec
//     refused or could not reach the unit agent, or the hook crashed) is
//     retried with its reasons after the interval (Retry): the change it
//     was for is still unrepaired, and no new event may ever come.
//   - The interval is only owed after a re-graft that changed something
//     or failed. A re-graft that found the unit converged
//     wrote nothing and restarted nothing, so it cannot feed a loop; without
//     this rule the no-op re-graft that follows every Juju hook (the
//     watcher sees the hook's writes too) would hold back the next real
//     drift by up to 30 s.
type scheduler struct {
	debounce    time.Duration
	maxWait     time.Duration
	minInterval time.Duration
	echoGrace   time.Duration

	pending map[string]struct{}
	// firstEvent is the first pending event's time, lastEvent the last's.
	firstEvent time.Time
	lastEvent  time.Time
	lastDone   time.Time
	running    bool
	// duringRun are the events of the running re-graft, by last time.
	duringRun map[string]time.Time
	held      bool
	// moving are the watched units on their way between states.
	moving   map[string]bool
	stopped  bool
	failures int
	// changed: the last re-graft changed something (its events were its
	// echo).
	changed bool
}

// maxBackoff caps the doubling of minInterval after failures (30 s becomes
// at most 8 minutes, about the update-status period).
const maxBackoff = 16

// maxWaitDebounces is maxWait in debounces: events that never go quiet
// still give a re-graft 5 debounces after the first, and never sooner
// than minMaxWait (10 s, what 5 debounces were when the debounce was 2 s):
// a shorter debounce must not make a trickle of events re-graft more
// often.
const (
	maxWaitDebounces = 5
	minMaxWait       = 10 * time.Second
)

func newScheduler(debounce, minInterval, echoGrace time.Duration) *scheduler {
	return &scheduler{
		debounce:    debounce,
		maxWait:     max(maxWaitDebounces*debounce, minMaxWait),
		minInterval: minInterval,
		echoGrace:   echoGrace,
		pending:     make(map[string]struct{}),
		duringRun:   make(map[string]time.Time),
		moving:      make(map[string]bool),
	}
}

// Event records that something changed, and reports whether the event was
// kept (false: dropped as an echo or while stopped, or kept aside while a
// re-graft runs).
func (s *scheduler) Event(now time.Time, reason string) bool {
	if s.stopped {
		return false
	}
	if s.running {
		s.duringRun[reason] = now
		return false
	}
	if s.changed && s.inEcho(now) {
		return false
	}
	s.add(reason, now)
	return true
}

func (s *scheduler) add(reason string, at time.Time) {
	if len(s.pending) == 0 || at.Before(s.firstEvent) {
		s.firstEvent = at
	}
	s.pending[reason] = struct{}{}
	if at.After(s.lastEvent) {
		s.lastEvent = at
	}
}

// Next returns when the next re-graft is due; ok is false when none is
// pending.
func (s *scheduler) Next() (at time.Time, ok bool) {
	if s.running || s.held || s.stopped || len(s.pending) == 0 {
		return time.Time{}, false
	}
	at = s.firstEvent.Add(s.maxWait)
	if quiet := s.lastEvent.Add(s.debounce); len(s.moving) == 0 && quiet.Before(at) {
		at = quiet
	}
	if !s.lastDone.IsZero() && (s.changed || s.failures > 0) {
		if limit := s.lastDone.Add(s.interval()); limit.After(at) {
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

// Done ends the running re-graft. changed is whether it changed anything
// (the hook says so; a trigger that cannot tell counts as changed): the
// events that came while it ran are its echo if it did, and real changes
// if it did not.
func (s *scheduler) Done(now time.Time, err error, changed bool) {
	s.running = false
	s.lastDone = now
	s.changed = changed
	if err != nil {
		s.failures++
	} else {
		s.failures = 0
	}
	if !changed && !s.stopped {
		for r, at := range s.duringRun {
			s.add(r, at)
		}
	}
	clear(s.duringRun)
}

// Retry puts the reasons of a trigger that failed before the hook could
// say why back in the queue, to run again after the interval its failure
// owes (Done must have counted it). Events that came meanwhile were
// dropped as the running re-graft's echo; the retry covers them too, as
// every re-graft reconciles the whole unit.
func (s *scheduler) Retry(now time.Time, reasons []string) {
	if s.stopped {
		return
	}
	for _, r := range reasons {
		s.add(r, now)
	}
}

// interval is the least time between two re-grafts after the failures so
// far.
func (s *scheduler) interval() time.Duration {
	return s.minInterval * time.Duration(min(1<<min(s.failures, 8), maxBackoff))
}

// Stop stops (true) or restarts (false) re-grafting, as the charm's record
// of failures says. Events seen while stopped are gone for good: the hook
// that removes the record (a config change, the regraft action) reconciles
// the whole unit itself.
func (s *scheduler) Stop(stopped bool) {
	if stopped {
		clear(s.pending)
		clear(s.duringRun)
	} else if s.stopped {
		// Restarted by the charm: the backoff starts again too.
		s.failures = 0
	}
	s.stopped = stopped
}

// Stopped reports whether re-grafting is stopped.
func (s *scheduler) Stopped() bool { return s.stopped }

// Moving records whether a watched unit is on its way between states
// (see the rules above).
func (s *scheduler) Moving(unit string, moving bool) {
	if moving {
		s.moving[unit] = true
	} else {
		delete(s.moving, unit)
	}
}

// Hold stops (true) or allows (false) re-grafts without dropping events.
func (s *scheduler) Hold(held bool) { s.held = held }

// Failures is the number of re-grafts that failed in a row.
func (s *scheduler) Failures() int { return s.failures }

func (s *scheduler) inEcho(now time.Time) bool {
	return !s.lastDone.IsZero() && now.Before(s.lastDone.Add(s.echoGrace))
}
