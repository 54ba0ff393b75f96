package rolling

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

const (
	u0 = "magnum-capi-graft/0"
	u1 = "magnum-capi-graft/1"
	u2 = "magnum-capi-graft/2"
	// u10 sorts before u2 as a string, after it as a unit.
	u10 = "magnum-capi-graft/10"
)

func want(unit, fp string) Request { return Request{Unit: unit, Want: fp, Kind: KindConfig} }

// leadTransition is one state transition of the leader's step: the roll
// and the units' requests before, the roll after.
type leadTransition struct {
	name  string
	roll  Roll
	units []Request
	want  Roll
}

// leadTransitions are TestLead's table.
var leadTransitions = []leadTransition{{
	name:  "nobody wants anything",
	units: []Request{{Unit: u0}, {Unit: u1}},
	want:  Roll{},
}, {
	name:  "a roll starts with the first unit in unit order, not string order",
	units: []Request{want(u10, "A"), want(u2, "A"), want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u1, u2, u10}, Turn: u1, TurnFP: "A"},
}, {
	name:  "a new driver makes the first unit the canary",
	units: []Request{{Unit: u1, Want: "A", Kind: KindDriver}, {Unit: u0, Want: "A", Kind: KindDriver}},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A", Canary: u0},
}, {
	name:  "the holder still at work keeps the turn",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
	units: []Request{want(u0, "A"), want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
}, {
	name:  "done: the next in the order gets the turn",
	roll:  Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u0, TurnFP: "A"},
	units: []Request{{Unit: u0, Done: "A"}, want(u1, "A"), want(u2, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u1, TurnFP: "A"},
}, {
	name:  "a latecomer queues behind the roll",
	roll:  Roll{FP: "A", Order: []string{u1, u2}, Turn: u1, TurnFP: "A"},
	units: []Request{{Unit: u1, Done: "A"}, {Unit: u2, Done: "A"}, want(u0, "A")},
	want:  Roll{FP: "A", Order: []string{u1, u2, u0}, Turn: u0, TurnFP: "A"},
}, {
	name:  "the last one done: the roll ends with no turn",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u1, TurnFP: "A"},
	units: []Request{{Unit: u0, Done: "A"}, {Unit: u1, Done: "A"}},
	want:  Roll{FP: "A", Order: []string{u0, u1}},
}, {
	name:  "the holder left: its turn is reclaimed and it leaves the order",
	roll:  Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u1, TurnFP: "A"},
	units: []Request{{Unit: u0, Done: "A"}, want(u2, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u2}, Turn: u2, TurnFP: "A"},
}, {
	name:  "the holder is taking its graft off: reclaimed",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
	units: []Request{{Unit: u0, Leaving: true}, want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u1, TurnFP: "A"},
}, {
	name:  "the canary failed: the roll stops, naming it and why",
	roll:  Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u0, TurnFP: "A", Canary: u0},
	units: []Request{{Unit: u0, Failed: "A", Reason: "driver does not load"}, want(u1, "A"), want(u2, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1, u2}, Canary: u0, Stopped: "driver does not load", StoppedBy: u0, Refused: []string{"A"}},
}, {
	name:  "a stopped roll grants nobody its change",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Canary: u0, Stopped: "bad", StoppedBy: u0},
	units: []Request{{Unit: u0, Failed: "A"}, want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Canary: u0, Stopped: "bad", StoppedBy: u0},
}, {
	name:  "a later change after a stop starts a new roll",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Canary: u0, Stopped: "bad", StoppedBy: u0, Refused: []string{"A"}},
	units: []Request{want(u1, "B"), want(u0, "B")},
	want:  Roll{FP: "B", Order: []string{u0, u1}, Turn: u0, TurnFP: "B", Refused: []string{"A"}},
}, {
	// Seen in boxes: the leader started the later change's roll
	// before the others' config-changed reached it, then took their
	// stale wants for the failed change as a new roll of it.
	name:  "a stale want for a failed change starts no roll of it once another roll started",
	roll:  Roll{FP: "B", Order: []string{u2}, Refused: []string{"A"}},
	units: []Request{want(u0, "A"), want(u1, "A"), {Unit: u2, Done: "B"}},
	want:  Roll{FP: "B", Order: []string{u2}, Refused: []string{"A"}},
}, {
	name:  "refused changes are bounded, the oldest forgotten",
	roll:  Roll{FP: "E", Order: []string{u0}, Turn: u0, TurnFP: "E", Refused: []string{"A", "B", "C", "D"}},
	units: []Request{{Unit: u0, Failed: "E", Reason: "x"}},
	want:  Roll{FP: "E", Order: []string{u0}, Stopped: "x", StoppedBy: u0, Refused: []string{"B", "C", "D", "E"}},
}, {
	name:  "the holder now wants a later change: the turn goes back and a new roll starts",
	roll:  Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u1, TurnFP: "A"},
	units: []Request{want(u0, "B"), want(u1, "B"), want(u2, "B")},
	want:  Roll{FP: "B", Order: []string{u0, u1, u2}, Turn: u0, TurnFP: "B"},
}, {
	name:  "units still wanting the roll's change finish it before a new one",
	roll:  Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u0, TurnFP: "A"},
	units: []Request{want(u0, "B"), {Unit: u1, Done: "A"}, want(u2, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u2, TurnFP: "A"},
}, {
	name: "the operator's retry on another unit starts the stopped roll again from it, as its canary",
	roll: Roll{FP: "A", Order: []string{u0, u1, u2}, Canary: u0, Stopped: "bad", StoppedBy: u0, Refused: []string{"Z", "A"}},
	units: []Request{{Unit: u0, Failed: "A", Reason: "bad"}, {Unit: u2, Want: "A", Kind: KindDriver, Retry: "A"},
		{Unit: u1, Want: "A", Kind: KindDriver}},
	want: Roll{FP: "A", Order: []string{u2, u1}, Turn: u2, TurnFP: "A", Canary: u2, Refused: []string{"Z"}},
}, {
	name:  "the operator's retry on the unit it failed on: that unit again first",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Stopped: "magnum-api failed", StoppedBy: u0, Refused: []string{"A"}},
	units: []Request{{Unit: u0, Want: "A", Kind: KindConfig, Retry: "A"}, want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
}, {
	name:  "a retry is honoured once: the retried roll goes on as any roll",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
	units: []Request{{Unit: u0, Want: "A", Kind: KindConfig, Retry: "A"}, want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
}, {
	name:  "the retry failed again: the roll stops again",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
	units: []Request{{Unit: u0, Failed: "A", Reason: "still bad"}, want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Stopped: "still bad", StoppedBy: u0, Refused: []string{"A"}},
}, {
	name:  "a retry of a change refused from an earlier roll: no longer refused, it rolls after the current one",
	roll:  Roll{FP: "B", Order: []string{u0, u1}, Turn: u0, TurnFP: "B", Refused: []string{"A"}},
	units: []Request{want(u0, "B"), {Unit: u1, Done: "B"}, {Unit: u2, Want: "A", Retry: "A"}},
	want:  Roll{FP: "B", Order: []string{u0, u1}, Turn: u0, TurnFP: "B"},
}, {
	name:  "without the operator's retry a stopped roll stays stopped",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Stopped: "bad", StoppedBy: u0, Refused: []string{"A"}},
	units: []Request{{Unit: u0, Failed: "A", Reason: "bad"}, want(u1, "A")},
	want:  Roll{FP: "A", Order: []string{u0, u1}, Stopped: "bad", StoppedBy: u0, Refused: []string{"A"}},
}, {
	name:  "a departed unit's want is not granted",
	roll:  Roll{FP: "A", Order: []string{u0, u1}, Turn: u0, TurnFP: "A"},
	units: []Request{{Unit: u0, Done: "A"}},
	want:  Roll{FP: "A", Order: []string{u0}},
}}

// TestLead is the leader's step as a table of state transitions
// (leadTransitions); Lead never changes its input.
func TestLead(t *testing.T) {
	for _, tc := range leadTransitions {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.roll
			got := Lead(tc.roll, tc.units)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, tc.roll, "Lead changed its input")
		})
	}
}

// TestLeadIsStable: once the roll is as it must be, the leader's step
// changes nothing, so a leader that runs it in every hook writes nothing
// new and wakes nobody.
func TestLeadIsStable(t *testing.T) {
	units := []Request{want(u2, "A"), want(u0, "A"), {Unit: u1, Done: "A"}}
	once := Lead(Roll{}, units)
	assert.Equal(t, once, Lead(once, units))
}

func TestSay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		roll     Roll
		unit, fp string
		status   hooktool.Status
		message  string
	}{{
		name: "place in the order",
		roll: Roll{FP: "A", Order: []string{u0, u1, u2}, Turn: u0, TurnFP: "A"}, unit: u1, fp: "A",
		status: hooktool.Waiting, message: "rolling restart, 2nd of 3 (magnum-capi-graft/0 restarting)",
	}, {
		name: "not in the order yet",
		roll: Roll{FP: "A", Order: []string{u0}, Turn: u0, TurnFP: "A"}, unit: u1, fp: "A",
		status: hooktool.Waiting, message: "rolling restart: asked the leader for a turn",
	}, {
		name: "another change is rolling",
		roll: Roll{FP: "B", Order: []string{u0, u1}, Turn: u0, TurnFP: "B"}, unit: u1, fp: "A",
		status: hooktool.Waiting, message: "rolling restart: asked the leader for a turn",
	}, {
		name: "stopped by the canary",
		roll: Roll{FP: "A", Order: []string{u0, u1}, Canary: u0, Stopped: "the driver does not load", StoppedBy: u0}, unit: u1, fp: "A",
		status:  hooktool.Blocked,
		message: "rolling restart stopped: the canary magnum-capi-graft/0 failed: the driver does not load; this unit keeps what it runs (" + again + ")",
	}, {
		name: "a change that failed before",
		roll: Roll{FP: "B", Order: []string{u2}, Refused: []string{"A"}}, unit: u1, fp: "A",
		status:  hooktool.Blocked,
		message: "rolling restart refused: this change failed on another unit before; this unit keeps what it runs (" + again + ")",
	}, {
		name: "stopped by another unit",
		roll: Roll{FP: "A", Order: []string{u0, u1, u2}, Stopped: "magnum-api failed", StoppedBy: u1}, unit: u2, fp: "A",
		status:  hooktool.Blocked,
		message: "rolling restart stopped: unit magnum-capi-graft/1 failed: magnum-api failed; this unit keeps what it runs (" + again + ")",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			status, msg := tc.roll.Say(tc.unit, tc.fp)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.message, msg)
			assert.False(t, tc.roll.Granted(tc.unit, tc.fp))
		})
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 111: "111th"} {
		assert.Equal(t, want, ordinal(n))
	}
}
