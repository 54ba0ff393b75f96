// Package rolling is the charm's turn protocol for restarts: Magnum's units
// restart their services one at a time, in an order the leader keeps, so
// that behind haproxy at least one magnum-api answers throughout a change.
//
// Everything lives in the peer relation's data, none in a unit's memory, so
// a hook may end at any point and a new leader takes over where the old
// one stopped:
//
//   - each unit says, in its own settings, the fingerprint of the change it
//     wants to make with a restart (want), the last one it made (done), or
//     the one that failed on it and why (failed, reason);
//   - the leader keeps the roll in the application's settings: the change
//     being rolled, the order of its units, the unit holding the turn, the
//     canary, and, when a unit failed, that the roll stopped and why.
//
// Only the leader writes the application's settings (Juju refuses
// relation-set --app from any other unit: jujuc/relation-set.go,
// RelationSetCommand.Run, "cannot write relation settings"). Juju commits a
// hook's settings only when the hook succeeds (runner/context/context.go,
// HookContext.Flush), and a commit is what wakes the others: a change of a
// unit's settings runs relation-changed on every other unit, and a change
// of the application's settings runs it on every unit of a peer relation,
// the leader too (internal/worker/uniter/relation/resolver.go,
// nextHookForRelation; each unit watches the settings of its counterpart
// applications, and a peer endpoint's counterpart is its own application:
// state/relationunit.go, CounterpartApplications). So a
// request wakes the leader, a grant wakes the unit granted, and a unit that
// is done wakes the leader again.
//
// Lead, the leader's decision, and Roll.Say, what a waiting unit shows,
// are pure functions of that data; Peers reads and writes it. Proof is
// what a unit that restarted under its turn proves before it hands the
// turn on.
package rolling

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// Endpoint is the peer relation (metadata.yaml, peers: graft).
const Endpoint = "graft"

// Kind is what a change is, for the canary: a new driver version or source
// is tried on one unit first.
type Kind string

const (
	// KindConfig is any change but the driver's.
	KindConfig Kind = "config"
	// KindDriver is a new driver version or source.
	KindDriver Kind = "driver"
)

// Request is one unit's side of the protocol, as its settings hold it.
type Request struct {
	Unit string
	// Want is the fingerprint of the change the unit waits to make with a
	// restart ("" when it waits for nothing), and Kind what it is.
	Want string
	Kind Kind
	// Done is the fingerprint of the change the unit last made.
	Done string
	// Failed is the fingerprint of a change that failed on the unit and
	// was rolled back, and Reason why.
	Failed, Reason string
	// Leaving is set once the unit is taking its graft off.
	Leaving bool
	// Retry is the operator's explicit request (the regraft action) to try
	// the change Want again on this unit although it failed before: set
	// with Want, cleared with Done or Fail, so the leader honours it once.
	Retry string
}

// Roll is the application's side, as the leader keeps it.
type Roll struct {
	// FP is the change being rolled.
	FP string
	// Order is the roll's units in the order they get the turn: the units
	// wanting FP when the roll started, in unit order, then any that asked
	// later.
	Order []string
	// Turn is the unit that may restart now, for the change TurnFP.
	Turn, TurnFP string
	// Canary is the roll's first unit when FP is a new driver.
	Canary string
	// Stopped says why the roll stopped, and StoppedBy on which unit the
	// change failed: no unit gets a turn for FP any more.
	Stopped, StoppedBy string
	// Refused are the last changes that failed (FP among them once it
	// stopped), latest last: a unit that still asks for one (it has not
	// yet seen the config change that superseded it) starts no roll of
	// it. At most maxRefused.
	Refused []string
}

// maxRefused bounds Roll.Refused.
const maxRefused = 4

// byUnit orders unit names by their number, as Juju numbers units.
func byUnit(a, b string) int {
	na, ea := unitNumber(a)
	nb, eb := unitNumber(b)
	if ea == nil && eb == nil && na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

func unitNumber(u string) (int, error) {
	_, n, _ := strings.Cut(u, "/")
	return strconv.Atoi(n)
}

// Lead is the leader's step: given the roll as the application's settings
// hold it and the requests of the units now in the relation (the leader's
// own among them), it returns the roll as it must be. It takes a finished,
// failed or abandoned turn back, and gives the turn to the next unit: the
// next one of the roll's order that still wants its change, or, when none
// does, the first unit (in unit order) wanting another change, which
// starts a new roll.
func Lead(r Roll, units []Request) Roll {
	present := map[string]Request{}
	for _, u := range units {
		present[u.Unit] = u
	}
	waiting := func(fp string) []string {
		var ns []string
		for _, u := range units {
			if u.Want == fp && !u.Leaving && !(r.Stopped != "" && fp == r.FP) {
				ns = append(ns, u.Unit)
			}
		}
		slices.SortFunc(ns, byUnit)
		return ns
	}
	r = retry(r, units)
	// Units that left are no longer in the roll; latecomers to it queue
	// behind.
	r.Order = slices.DeleteFunc(slices.Clone(r.Order), func(n string) bool { _, ok := present[n]; return !ok })
	if r.FP != "" {
		for _, n := range waiting(r.FP) {
			if !slices.Contains(r.Order, n) {
				r.Order = append(r.Order, n)
			}
		}
	}
	if r.Turn != "" {
		u, ok := present[r.Turn]
		switch {
		case !ok || u.Leaving:
			// The unit left, or is taking its graft off, while it held
			// the turn: reclaimed.
			r.Turn, r.TurnFP = "", ""
		case u.Failed == r.TurnFP:
			r = stop(r, u)
		case u.Want != r.TurnFP:
			// Done; or it wants another change now (a later config
			// change), or none: the turn goes back, and the order
			// decides again.
			r.Turn, r.TurnFP = "", ""
		default:
			return r
		}
	}
	if r.FP != "" && r.Stopped == "" {
		for _, n := range r.Order {
			if u := present[n]; u.Want == r.FP && !u.Leaving {
				r.Turn, r.TurnFP = n, r.FP
				return r
			}
		}
	}
	// Nothing left of this roll: the first unit wanting another change
	// starts the next one.
	var first *Request
	for _, u := range units {
		if u.Want == "" || u.Want == r.FP || u.Leaving || slices.Contains(r.Refused, u.Want) {
			continue
		}
		if first == nil || byUnit(u.Unit, first.Unit) < 0 {
			first = &u
		}
	}
	if first == nil {
		return r
	}
	next := Roll{FP: first.Want, Order: waiting(first.Want), Turn: first.Unit, TurnFP: first.Want, Refused: r.Refused}
	if first.Kind == KindDriver {
		next.Canary = first.Unit
	}
	return next
}

// stop ends the roll at the turn of u, whose change failed there: the roll
// is stopped, naming u and why, and its change is refused (the last
// maxRefused are kept) until an operator retries it.
func stop(r Roll, u Request) Roll {
	r.Stopped, r.StoppedBy = u.Reason, u.Unit
	if r.Stopped == "" {
		r.Stopped = "the change failed and was rolled back"
	}
	if !slices.Contains(r.Refused, r.FP) {
		r.Refused = append(r.Refused, r.FP)
		if len(r.Refused) > maxRefused {
			r.Refused = r.Refused[len(r.Refused)-maxRefused:]
		}
	}
	r.Turn, r.TurnFP = "", ""
	return r
}

// retry honours an operator's explicit retry (Request.Retry) of a change
// that failed: the change is no longer refused and, when it stopped the
// roll, the roll starts again from the unit that asked, as its canary when
// the change is a new driver, the other units that still want the change
// behind it. The first such unit in unit order wins; a retry of a change
// that is not refused (it is rolling, or never failed) changes nothing.
func retry(r Roll, units []Request) Roll {
	sorted := slices.SortedFunc(slices.Values(units), func(a, b Request) int { return byUnit(a.Unit, b.Unit) })
	for _, u := range sorted {
		if u.Retry == "" || u.Retry != u.Want || u.Leaving || !slices.Contains(r.Refused, u.Want) {
			continue
		}
		r.Refused = slices.DeleteFunc(slices.Clone(r.Refused), func(fp string) bool { return fp == u.Want })
		if len(r.Refused) == 0 {
			r.Refused = nil
		}
		if r.FP != u.Want || r.Stopped == "" {
			return r
		}
		order := []string{u.Unit}
		for _, o := range sorted {
			if o.Unit != u.Unit && o.Want == u.Want && !o.Leaving {
				order = append(order, o.Unit)
			}
		}
		next := Roll{FP: u.Want, Order: order, Turn: u.Unit, TurnFP: u.Want, Refused: r.Refused}
		if u.Kind == KindDriver {
			next.Canary = u.Unit
		}
		return next
	}
	return r
}

// Granted reports whether unit may restart now for the change fp.
func (r Roll) Granted(unit, fp string) bool { return r.Turn == unit && r.TurnFP == fp }

// Say is what a unit that wants the change fp and has no turn shows: the
// roll stopped (blocked, naming the unit it failed on and why), or its
// place in the roll's order (waiting).
func (r Roll) Say(unit, fp string) (hooktool.Status, string) {
	if r.Stopped != "" && r.FP == fp {
		who := "unit " + r.StoppedBy
		if r.StoppedBy == r.Canary {
			who = "the canary " + r.StoppedBy
		}
		return hooktool.Blocked, fmt.Sprintf("rolling restart stopped: %s failed: %s; this unit keeps what it runs (%s)",
			who, oneLine(r.Stopped, 240), again)
	}
	if slices.Contains(r.Refused, fp) {
		return hooktool.Blocked, "rolling restart refused: this change failed on another unit before; this unit keeps what it runs (" + again + ")"
	}
	if i := slices.Index(r.Order, unit); i >= 0 && r.FP == fp {
		msg := fmt.Sprintf("rolling restart, %s of %d", ordinal(i+1), len(r.Order))
		switch {
		case r.Turn != "":
			msg += " (" + r.Turn + " restarting)"
		case r.Canary != "":
			msg += " (canary " + r.Canary + ")"
		}
		return hooktool.Waiting, msg
	}
	return hooktool.Waiting, "rolling restart: asked the leader for a turn"
}

// again is how an operator starts a stopped or refused change again.
const again = "change the config to start a new roll, or run the regraft action on one unit to try this change again there first"

// ordinal is 1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st.
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
