package watcher

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func testScheduler() *scheduler {
	return newScheduler(2*time.Second, 30*time.Second, time.Second)
}

// runClock drives s from start to end in steps, as the Run loop's timer
// would, and returns the times at which re-grafts started. Each re-graft
// takes took and changes something (its restarts are seen half way).
func runClock(s *scheduler, start, end, step, took time.Duration, events map[time.Duration]string) []time.Duration {
	var starts []time.Duration
	var doneAt time.Duration = -1
	for now := start; now <= end; now += step {
		if now == doneAt-took/2 {
			s.Event(at(now), "unit magnum-api.service state changed")
		}
		if now == doneAt {
			s.Done(at(now), nil, true)
		}
		if r, ok := events[now]; ok {
			s.Event(at(now), r)
		}
		if reasons := s.Start(at(now)); reasons != nil {
			starts = append(starts, now)
			doneAt = now + took
		}
	}
	return starts
}

func TestSchedulerBurstGivesOneTrigger(t *testing.T) {
	s := testScheduler()
	// Ten restarts 200 ms apart, as a package upgrade's postinst scripts do.
	for i := range 10 {
		require.True(t, s.Event(at(time.Duration(i)*200*time.Millisecond), fmt.Sprintf("unit u%d", i%3)))
	}
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, at(1800*time.Millisecond+2*time.Second), due, "due a debounce after the LAST event")
	assert.Nil(t, s.Start(due.Add(-time.Millisecond)), "not due before the quiet window ends")

	reasons := s.Start(due)
	assert.Equal(t, []string{"unit u0", "unit u1", "unit u2"}, reasons, "reasons are coalesced and sorted")
	assert.Nil(t, s.Start(due), "a running re-graft is not started twice")
	s.Done(due.Add(time.Second), nil, true)
	_, ok = s.Next()
	assert.False(t, ok, "nothing pending after the one re-graft")
}

func TestSchedulerBurstOverTimeline(t *testing.T) {
	events := map[time.Duration]string{}
	for i := range 10 {
		events[time.Duration(i)*100*time.Millisecond] = "path /etc/x"
	}
	starts := runClock(testScheduler(), 0, time.Minute, 100*time.Millisecond, time.Second, events)
	assert.Equal(t, []time.Duration{2900 * time.Millisecond}, starts)
}

func TestSchedulerRateLimitRunsOnceAtWindowEnd(t *testing.T) {
	events := map[time.Duration]string{
		0:                "unit magnum-api.service state changed",
		10 * time.Second: "path /etc/default/magnum-api",
		20 * time.Second: "unit magnum-conductor.service state changed",
		25 * time.Second: "path /etc/default/magnum-api",
	}
	// The first re-graft starts at 2 s and ends at 3 s, so the window ends
	// at 33 s: the later events give exactly one re-graft, then.
	starts := runClock(testScheduler(), 0, 2*time.Minute, 100*time.Millisecond, time.Second, events)
	assert.Equal(t, []time.Duration{2 * time.Second, 33 * time.Second}, starts)
}

func TestSchedulerRateLimitReasons(t *testing.T) {
	s := testScheduler()
	s.Event(at(0), "a")
	require.Equal(t, []string{"a"}, s.Start(at(2*time.Second)))
	require.False(t, s.Event(at(2500*time.Millisecond), "echo"))
	s.Done(at(3*time.Second), nil, true)
	s.Event(at(10*time.Second), "b")
	s.Event(at(20*time.Second), "c")
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, at(33*time.Second), due)
	assert.Nil(t, s.Start(at(32*time.Second)))
	assert.Equal(t, []string{"b", "c"}, s.Start(at(33*time.Second)))
}

func TestSchedulerDropsEventsDuringRunAndEcho(t *testing.T) {
	s := testScheduler()
	s.Event(at(0), "a")
	require.NotNil(t, s.Start(at(2*time.Second)))
	// The reconcile restarts the services and rewrites files.
	assert.False(t, s.Event(at(3*time.Second), "unit magnum-api.service state changed"))
	assert.False(t, s.Event(at(4*time.Second), "path /etc/default/magnum-api"))
	s.Done(at(5*time.Second), nil, true)
	// A signal emitted just before the hook ended, delivered just after.
	assert.False(t, s.Event(at(5500*time.Millisecond), "unit magnum-api.service state changed"))
	_, ok := s.Next()
	assert.False(t, ok, "the echo of our own re-graft triggers nothing")

	// After the grace, changes count again.
	assert.True(t, s.Event(at(7*time.Second), "path /etc/default/magnum-api"))
	_, ok = s.Next()
	assert.True(t, ok)
}

func TestSchedulerBacksOffAfterFailures(t *testing.T) {
	s := testScheduler()
	fail := errors.New("juju-exec: exit status 1")
	// regraft runs one re-graft for an event at now and returns when the
	// next one may start at the earliest.
	now := time.Duration(0)
	regraft := func(err error) time.Duration {
		require.True(t, s.Event(at(now), "x"))
		due, ok := s.Next()
		require.True(t, ok)
		require.NotNil(t, s.Start(due))
		// Each re-graft changes something: its echo.
		require.False(t, s.Event(due.Add(500*time.Millisecond), "echo"))
		end := due.Sub(t0) + time.Second
		s.Done(at(end), err, true)
		// An event right away, to read the earliest next start.
		now = end + 2*time.Second
		require.True(t, s.Event(at(now), "y"))
		next, ok := s.Next()
		require.True(t, ok)
		clear(s.pending)
		return next.Sub(at(end))
	}
	assert.Equal(t, 30*time.Second, regraft(nil))
	assert.Equal(t, time.Minute, regraft(fail), "one failure doubles the interval")
	// The watcher reads the charm's record after every re-graft; a record
	// that does not stop anything must not reset the backoff.
	s.Stop(false)
	assert.Equal(t, 2*time.Minute, regraft(fail))
	assert.Equal(t, 4*time.Minute, regraft(fail))
	assert.Equal(t, 8*time.Minute, regraft(fail))
	assert.Equal(t, 8*time.Minute, regraft(fail), "capped")
	assert.Equal(t, 5, s.Failures())
	assert.Equal(t, 30*time.Second, regraft(nil), "a success resets the interval")
	assert.Equal(t, 0, s.Failures())
}

// A re-graft that found the unit converged (no echo) owes no interval: the
// next change is re-grafted after the debounce alone.
func TestSchedulerNoOpRegraftOwesNoInterval(t *testing.T) {
	s := testScheduler()
	s.Event(at(0), "path /opt/magnum-capi-graft")
	require.NotNil(t, s.Start(at(2*time.Second)))
	s.Done(at(2100*time.Millisecond), nil, false)
	// No echo, no echo grace either: a change right after it counts.
	require.True(t, s.Event(at(2200*time.Millisecond), "unit magnum-conductor.service state changed"))
	s.Event(at(4*time.Second), "path /etc/default/magnum-conductor")
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, at(6*time.Second), due)

	// One that changed something does.
	require.NotNil(t, s.Start(due))
	require.False(t, s.Event(at(7*time.Second), "unit magnum-conductor.service state changed"))
	s.Done(at(8*time.Second), nil, true)
	s.Event(at(10*time.Second), "path /etc/default/magnum-conductor")
	due, ok = s.Next()
	require.True(t, ok)
	assert.Equal(t, at(38*time.Second), due)

	// And one that failed does, even without an echo.
	require.NotNil(t, s.Start(due))
	s.Done(at(39*time.Second), errors.New("blocked"), false)
	s.Event(at(40*time.Second), "x")
	due, ok = s.Next()
	require.True(t, ok)
	assert.Equal(t, at(99*time.Second), due)
}

func TestSchedulerStopDropsEventsUntilRestarted(t *testing.T) {
	s := testScheduler()
	s.Event(at(0), "x")
	s.Stop(true)
	_, ok := s.Next()
	assert.False(t, ok, "a pending re-graft is dropped when stopped")
	assert.False(t, s.Event(at(time.Second), "y"), "events are dropped while stopped")
	assert.Nil(t, s.Start(at(time.Hour)))

	s.Stop(false)
	assert.True(t, s.Event(at(2*time.Second), "z"))
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, []string{"z"}, s.Start(due), "only changes after the restart count")
}

func TestSchedulerHoldKeepsEvents(t *testing.T) {
	s := testScheduler()
	s.Hold(true)
	assert.True(t, s.Event(at(0), "package python3-magnum a -> b"))
	_, ok := s.Next()
	assert.False(t, ok, "nothing is due while dpkg is half way")
	s.Hold(false)
	s.Event(at(10*time.Second), "package python3-magnum b -> c")
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, []string{"package python3-magnum a -> b", "package python3-magnum b -> c"}, s.Start(due))
}

// TestSchedulerTrickleCannotStarve: an event every second never leaves the
// (test scheduler's) debounce's 2 s of quiet, yet a re-graft starts maxWait
// after the first.
func TestSchedulerTrickleCannotStarve(t *testing.T) {
	s := testScheduler()
	var started time.Duration = -1
	for now := time.Duration(0); now <= 30*time.Second; now += 100 * time.Millisecond {
		if now%time.Second == 0 && started < 0 {
			s.Event(at(now), "unit magnum-conductor.service state changed")
		}
		if s.Start(at(now)) != nil {
			started = now
			break
		}
	}
	assert.Equal(t, 10*time.Second, started, "5 debounces after the first event")

	// A quiet burst still waits only for the debounce.
	s = testScheduler()
	s.Event(at(0), "a")
	s.Event(at(time.Second), "b")
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, at(3*time.Second), due)
}

// TestSchedulerRetriesAFailedTrigger: a trigger that failed before the
// hook ran keeps its reasons and runs again after the doubled interval,
// without any new event.
func TestSchedulerRetriesAFailedTrigger(t *testing.T) {
	s := testScheduler()
	s.Event(at(0), "path /etc/default/magnum-api")
	reasons := s.Start(at(2 * time.Second))
	require.Equal(t, []string{"path /etc/default/magnum-api"}, reasons)
	s.Done(at(3*time.Second), errors.New("juju-exec: exit status 2: ERROR option provided but not defined: --from-watcher"), true)
	s.Retry(at(3*time.Second), reasons)
	due, ok := s.Next()
	require.True(t, ok, "the reasons are pending again")
	assert.Equal(t, at(63*time.Second), due, "after the interval one failure owes (2 x 30 s)")
	assert.Equal(t, reasons, s.Start(due))

	// Stopped by the charm's record: nothing is retried.
	s.Done(at(64*time.Second), errors.New("again"), true)
	s.Stop(true)
	s.Retry(at(64*time.Second), reasons)
	_, ok = s.Next()
	assert.False(t, ok)
}

// A re-graft that changed nothing has no echo: what changed while it ran
// was someone else's doing (an operator's edit), and is re-grafted after
// the debounce. One that changed something takes those events for its echo.
func TestSchedulerKeepsRealChangesDuringANoOpRegraft(t *testing.T) {
	s := testScheduler()
	s.Event(at(0), "path /opt/magnum-capi-graft")
	require.NotNil(t, s.Start(at(2*time.Second)))
	assert.False(t, s.Event(at(2050*time.Millisecond), "path /etc/default/magnum-api"), "kept aside while the re-graft runs")
	s.Done(at(2100*time.Millisecond), nil, false)
	due, ok := s.Next()
	require.True(t, ok, "the edit made during a no-op re-graft is pending")
	assert.Equal(t, at(4050*time.Millisecond), due, "the debounce counts from the edit")
	assert.Equal(t, []string{"path /etc/default/magnum-api"}, s.Start(due))

	assert.False(t, s.Event(at(4100*time.Millisecond), "unit magnum-api.service state changed"))
	s.Done(at(6*time.Second), nil, true)
	_, ok = s.Next()
	assert.False(t, ok, "the events of a re-graft that changed something are its echo")
}

// traceStep is one thing the watcher saw: an event (reason), and for a
// systemd signal that carried a unit's ActiveState, whether the unit was
// on its way between states.
type traceStep struct {
	at     time.Duration
	reason string
	unit   string
	moving bool
}

// replay drives a scheduler with the watcher's default timings through a
// trace, as the Run loop would, in 10 ms steps. Each re-graft takes took,
// restarts a service half way (its echo) and changes something. It returns
// when re-grafts started.
func replay(debounce, took time.Duration, trace []traceStep) []time.Duration {
	s := newScheduler(debounce, DefaultMinInterval, DefaultEchoGrace)
	var starts []time.Duration
	doneAt := time.Duration(-1)
	i := 0
	for now := time.Duration(0); now <= 2*time.Minute; now += 10 * time.Millisecond {
		for ; i < len(trace) && trace[i].at <= now; i++ {
			if trace[i].unit != "" {
				s.Moving(trace[i].unit, trace[i].moving)
			}
			if trace[i].reason != "" {
				s.Event(at(trace[i].at), trace[i].reason)
			}
		}
		if doneAt >= 0 && now == doneAt-took/2 {
			s.Moving("magnum-conductor.service", true)
			s.Event(at(now), "unit magnum-conductor.service state changed")
			s.Moving("magnum-conductor.service", false)
		}
		if now == doneAt {
			s.Done(at(now), nil, true)
			doneAt = -1
		}
		if s.Start(at(now)) != nil {
			starts = append(starts, now)
			doneAt = now + took
		}
	}
	return starts
}

// restartTrace is `systemctl restart magnum-api magnum-conductor` as the
// watcher saw it in the bench's box: both stop at once, the conductor is
// back at once, magnum-api's uWSGI takes stop to stop.
func restartTrace(from, stop time.Duration) []traceStep {
	api, cond := "magnum-api.service", "magnum-conductor.service"
	return []traceStep{
		{at: from, reason: "unit " + api + " state changed", unit: api, moving: true},
		{at: from + 5*time.Millisecond, reason: "unit " + cond + " state changed", unit: cond, moving: true},
		{at: from + 120*time.Millisecond, reason: "unit " + cond + " state changed", unit: cond},
		{at: from + stop, reason: "unit " + api + " state changed", unit: api},
	}
}

// TestSchedulerShortDebounceAddsNoRegraft replays what the watcher saw
// in the bench's scenarios (and a slow stop) with the default debounce and
// with the 2 s it was: the short debounce starts re-grafts sooner but
// never more of them, and none in the middle of an operator's restart.
func TestSchedulerShortDebounceAddsNoRegraft(t *testing.T) {
	ms := time.Millisecond
	var rmrf []traceStep
	for i := range 40 {
		rmrf = append(rmrf, traceStep{at: time.Duration(i) * ms, reason: fmt.Sprintf("path /opt/magnum-capi-graft/driver/v/f%d", i%3)})
	}
	for _, tc := range []struct {
		name  string
		trace []traceStep
		// first: when the first re-graft starts with the default
		// debounce; count: how many start, with either debounce.
		first time.Duration
		count int
	}{{
		name:  "driver activation removed",
		trace: []traceStep{{at: 0, reason: "path /usr/local/lib/python3.11/dist-packages/magnum-capi-graft.pth"}},
		first: 500 * ms, count: 1,
	}, {
		name: "wiring deleted, daemon-reload, restarted by hand",
		trace: append([]traceStep{{at: 0, reason: "path /etc/default/magnum-conductor"}, {at: 121 * ms, reason: "daemon-reload"}},
			restartTrace(147*ms, 1060*ms)...),
		first: 1710 * ms, count: 1,
	}, {
		// uWSGI overran its stop and systemd killed it at 15 s: the
		// trickle limit starts a re-graft mid-restart (the 2 s debounce
		// did at 2 s), and the restart's end is a change of its own.
		name:  "restarted by hand, 15 s stop",
		trace: restartTrace(0, 15*time.Second),
		first: 10 * time.Second, count: 2,
	}, {
		name:  "driver version directory removed (rm -rf)",
		trace: rmrf,
		first: 540 * ms, count: 1,
	}} {
		starts := replay(DefaultDebounce, 3*time.Second, tc.trace)
		old := replay(2*time.Second, 3*time.Second, tc.trace)
		require.NotEmpty(t, starts, tc.name)
		assert.Equal(t, tc.first, starts[0], tc.name)
		assert.Len(t, starts, tc.count, tc.name)
		assert.Len(t, old, tc.count, tc.name+" (2 s debounce)")
	}
}

// TestSchedulerWaitsForARestartToEnd: a unit on its way between states
// holds the debounce; its end starts it again; a unit that never arrives
// delays a re-graft only to maxWait.
func TestSchedulerWaitsForARestartToEnd(t *testing.T) {
	s := newScheduler(DefaultDebounce, DefaultMinInterval, DefaultEchoGrace)
	s.Moving("magnum-api.service", true)
	s.Event(at(0), "unit magnum-api.service state changed")
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, at(minMaxWait), due, "only the trickle limit while magnum-api stops")
	s.Moving("magnum-api.service", false)
	s.Event(at(3*time.Second), "unit magnum-api.service state changed")
	due, _ = s.Next()
	assert.Equal(t, at(3*time.Second+DefaultDebounce), due, "a debounce after the restart ended")

	s.Moving("magnum-conductor.service", true)
	s.Moving("magnum-conductor.service", true)
	due, _ = s.Next()
	assert.Equal(t, at(minMaxWait), due)
	s.Moving("magnum-conductor.service", false)
	due, _ = s.Next()
	assert.Equal(t, at(3*time.Second+DefaultDebounce), due)
}
