package chart

import (
	"fmt"
	"time"
)

// How long a failure must last before it blocks.
//
// The chart is fetched only when a user creates or upgrades a cluster, not
// by anything running on the unit, so a chart repository that fails for a
// while breaks nothing the graft does. A failure is therefore first a
// warning on the otherwise active status, and blocks only once it is
// clearly not a blip:
//
//   - Unreachable (no usable answer: DNS, connection, proxy, TLS, HTTP
//     error, timeout): blocked once failures have lasted UnreachableBlockAfter
//     (an hour) over at least BlockAfterChecks consecutive checks. The
//     reconcile checks at most every 30 minutes from update-status, so a
//     repository down for a minute, or for most of an hour, never blocks.
//   - Missing (the repository answered, and does not serve the chart or
//     version): blocked once BlockAfterChecks consecutive checks at least
//     MissingConfirm apart agree, as a repository mid-publish can serve an
//     index briefly without a release. A configuration change starts the
//     count again and is reported at once as a warning.
//   - Invalid (the settings cannot be used): blocked at once, as all bad
//     input is: nothing about the repository can make it work.
//
// Any Present result clears the history. The unset-version warning never
// blocks.
const (
	UnreachableBlockAfter = time.Hour
	MissingConfirm        = 5 * time.Minute
	BlockAfterChecks      = 3
)

// History is what the reconcile keeps between checks (as JSON in its state)
// to apply the rules above.
type History struct {
	// Key is what was checked (repository, chart, version): other settings
	// start afresh.
	Key string `json:"key"`
	// State is the failure seen last ("" after a success).
	State State `json:"state,omitempty"`
	// Since is when the current run of failures began.
	Since time.Time `json:"since,omitzero"`
	// Last is when the last failure was seen.
	Last time.Time `json:"last,omitzero"`
	// Failures counts the consecutive failed checks.
	Failures int `json:"failures,omitempty"`
}

// Verdict is what a check means for the unit's status.
type Verdict struct {
	// Block: the unit should be blocked with Text.
	Block bool
	// Text is the status text: the problem, with how long it has lasted,
	// or the warning; "" when there is nothing to say.
	Text string
}

// key is what identifies the settings a result was checked with.
func (r Result) key() string { return r.Repo + "|" + r.Name + "|" + r.Version }

// Next records r, checked at now, and says what it means.
func (h History) Next(r Result, now time.Time) (History, Verdict) {
	if r.State == Present {
		return History{Key: r.key()}, Verdict{Text: r.Warning}
	}
	if r.State == Invalid {
		return History{Key: r.key(), State: Invalid, Since: now, Last: now, Failures: 1}, Verdict{Block: true, Text: r.Problem}
	}
	next := History{Key: r.key(), State: r.State, Since: now, Last: now, Failures: 1}
	if h.Key == next.Key && h.State == r.State && h.Failures > 0 {
		next.Since = h.Since
		next.Failures = h.Failures
		// A Missing answer counts again only once MissingConfirm has
		// passed since the last one counted, so that hooks in a burst do
		// not confirm each other.
		if r.State != Missing || now.Sub(h.Last) >= MissingConfirm {
			next.Failures++
		} else {
			next.Last = h.Last
		}
	}
	lasted := now.Sub(next.Since).Round(time.Minute)
	block := next.Failures >= BlockAfterChecks
	if r.State == Unreachable {
		block = block && lasted >= UnreachableBlockAfter
	}
	text := r.Problem
	if next.Failures > 1 {
		text += fmt.Sprintf(" (failing for %s, %d checks)", lasted, next.Failures)
	}
	if !block && r.Warning != "" {
		text += "; " + r.Warning
	}
	return next, Verdict{Block: block, Text: text}
}

// Interval is how old a check may be before a hook checks again unless
// told to (a config change, the regraft action, verify): update-status
// runs every 5 minutes and the watcher's re-grafts more often, and neither
// should fetch an index each time. It is the management cluster's
// preflight interval (kubeconfig.PreflightInterval), so a repository down
// for a minute is seen at most by one check of the three that must fail
// before it blocks.
const Interval = 30 * time.Minute

// Record is what the charm keeps between hooks: the last check, when, and
// what it meant.
type Record struct {
	// Key identifies what was checked: the settings, the driver version
	// and the proxy (hashed by the caller: a proxy URL may carry a
	// password).
	Key     string    `json:"key"`
	Checked time.Time `json:"checked,omitzero"`
	Result  Result    `json:"result"`
	History History   `json:"history"`
	Verdict Verdict   `json:"verdict"`
}

// Remember returns the record of a check: prev when it is of the same key,
// younger than Interval and fresh is false; otherwise check's result at
// now, entered in prev's history. The bool says whether check ran.
func Remember(prev Record, key string, now time.Time, fresh bool, check func() Result) (Record, bool) {
	if !fresh && prev.Key == key && !prev.Checked.IsZero() && now.Sub(prev.Checked) >= 0 && now.Sub(prev.Checked) < Interval {
		return prev, false
	}
	res := check()
	hist, verdict := prev.History.Next(res, now)
	return Record{Key: key, Checked: now, Result: res, History: hist, Verdict: verdict}, true
}
