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
	return newScheduler(2*time.Second, 30*time.Second, time.Second, MaxFailures)
}

// runClock drives s from start to end in steps, as the Run loop's timer
// would, and returns the times at which re-grafts started. Each re-graft
// takes took.
func runClock(s *scheduler, start, end, step, took time.Duration, events map[time.Duration]string) []time.Duration {
	var starts []time.Duration
	var doneAt time.Duration = -1
	for now := start; now <= end; now += step {
		if now == doneAt {
			s.Done(at(now), nil)
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
	s.Done(due.Add(time.Second), nil)
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
	s.Done(at(3*time.Second), nil)
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
	s.Done(at(5*time.Second), nil)
	// A signal emitted just before the hook ended, delivered just after.
	assert.False(t, s.Event(at(5500*time.Millisecond), "unit magnum-api.service state changed"))
	_, ok := s.Next()
	assert.False(t, ok, "the echo of our own re-graft triggers nothing")

	// After the grace, changes count again.
	assert.True(t, s.Event(at(7*time.Second), "path /etc/default/magnum-api"))
	_, ok = s.Next()
	assert.True(t, ok)
}

func TestSchedulerSuspendsAfterTwoFailures(t *testing.T) {
	s := testScheduler()
	fail := errors.New("juju-exec: exit status 1")
	now := time.Duration(0)
	regraft := func(err error) bool {
		require.True(t, s.Event(at(now), "x"))
		due, ok := s.Next()
		require.True(t, ok)
		require.NotNil(t, s.Start(due))
		now = due.Sub(t0) + time.Second
		suspended := s.Done(at(now), err)
		now += time.Minute
		return suspended
	}
	assert.False(t, regraft(fail))
	assert.False(t, regraft(nil), "a success in between resets the count")
	assert.False(t, regraft(fail))
	assert.True(t, regraft(fail), "two failures in a row suspend")
	assert.Equal(t, 2, s.Failures())

	assert.False(t, s.Event(at(now), "y"), "events are dropped while suspended")
	_, ok := s.Next()
	assert.False(t, ok)
	assert.Nil(t, s.Start(at(now+time.Hour)))
}

func TestSchedulerResumesWhenWatchListWritten(t *testing.T) {
	s := testScheduler()
	fail := errors.New("boom")
	for i := range 2 {
		base := time.Duration(i) * time.Minute
		s.Event(at(base), "x")
		require.NotNil(t, s.Start(at(base+2*time.Second)))
		s.Done(at(base+3*time.Second), fail)
	}
	require.True(t, s.Suspended())

	// A write inside the echo grace is our own failing hook's: no resume.
	assert.False(t, s.Resume(at(time.Minute+3500*time.Millisecond)))
	assert.True(t, s.Suspended())

	// A write by a later hook (config-changed) resumes.
	assert.True(t, s.Resume(at(5*time.Minute)))
	assert.False(t, s.Suspended())
	assert.Equal(t, 0, s.Failures())
	assert.True(t, s.Event(at(5*time.Minute), "z"))
	due, ok := s.Next()
	require.True(t, ok)
	assert.Equal(t, []string{"z"}, s.Start(due))

	// A write during our own re-graft does not reset the count.
	s.Done(due.Add(time.Second), fail)
	s.Event(due.Add(time.Minute), "w")
	d2, _ := s.Next()
	require.NotNil(t, s.Start(d2))
	assert.False(t, s.Resume(d2.Add(time.Second)))
	assert.True(t, s.Done(d2.Add(2*time.Second), fail), "failure count survived the write made during the run")
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
