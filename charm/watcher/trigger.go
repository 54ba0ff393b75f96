package watcher

import (
	"fmt"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// The watcher's own record of its last re-graft trigger
// (state.RegraftTrigger) is beside the watch list in the charm's state
// directory. Only the watcher writes it; the verify action reads it.
//
// state.RegraftFailures says how the charm's re-grafts ended, and only a hook can
// write that. This file says what the hook cannot: that a trigger never
// reached it (juju-exec refused the command line, the unit agent was
// down) or that the hook failed without recording why (it crashed), and
// that a trigger is waiting for the unit agent, which runs one operation
// at a time (juju/juju internal/worker/uniter/resolver/loop.go), so a
// re-graft queues behind a long action such as smoke-test.

// Trigger outcomes.
const (
	// TriggerWaiting: juju-exec has not returned after busyAfter; the
	// unit agent is busy with another operation, or the hook is slow.
	TriggerWaiting = "waiting"
	// TriggerOK: the hook ran and ended well.
	TriggerOK = "ok"
	// TriggerBlocked: the hook ran and recorded a blocked ending in
	// state.RegraftFailures, which governs what happens next.
	TriggerBlocked = "blocked"
	// TriggerFailed: the trigger failed and the hook recorded nothing: it
	// is retried, and verify reports it.
	TriggerFailed = "failed"
)

// TriggerRecord is the record.
type TriggerRecord struct {
	// Outcome is one of the Trigger* outcomes.
	Outcome string `json:"outcome"`
	// Started is when the last trigger started; Ended when it ended (zero
	// while waiting).
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// Reason is why the last trigger failed (juju-exec's or the hook's
	// last words), or what it waits for. The hook's output never carries
	// secrets (the charm's logs and statuses do not).
	Reason string `json:"reason,omitempty"`
	// Failed counts triggers that failed in a row without the hook
	// recording why.
	Failed int `json:"failed-in-a-row"`
}

// LoadTrigger reads the record; a missing record is a zero record (no
// trigger yet).
func LoadTrigger(d state.Dir) (TriggerRecord, error) {
	r, err := state.Get[TriggerRecord](d, state.RegraftTrigger)
	if err != nil {
		return TriggerRecord{}, fmt.Errorf("cannot read the watcher's trigger record: %w", err)
	}
	return r, nil
}

// maxReason bounds a reason kept in the record.
const maxReason = 400

func clip(s string) string {
	if len(s) > maxReason {
		return s[:maxReason] + "..."
	}
	return s
}
