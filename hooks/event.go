// Package hooks is the charm's event table: it names every hook and action
// Juju may dispatch, and says which reconcile, which remove the graft, which
// are actions and which the charm ignores. Juju runs `dispatch` for every
// event the charm's metadata allows, so an event missing here must be a
// deliberate no-op, not an error.
package hooks

import (
	"fmt"
	"path"
	"strings"
)

// Kind separates hooks from actions.
type Kind string

const (
	Hook   Kind = "hook"
	Action Kind = "action"
)

// Event is one dispatched event.
type Event struct {
	Kind Kind
	Name string
}

func (e Event) String() string { return string(e.Kind) + " " + e.Name }

// Parse reads the event from JUJU_DISPATCH_PATH ("hooks/install",
// "actions/verify"), or, when juju-exec set none, from the path the program
// was started as (hooks/update-status is a copy of dispatch).
func Parse(dispatchPath, argv0 string) (Event, error) {
	p := dispatchPath
	if p == "" {
		p = argv0
	}
	dir, name := path.Split(strings.TrimSuffix(p, "/"))
	switch path.Base(strings.TrimSuffix(dir, "/")) {
	case "hooks":
		return Event{Hook, name}, nil
	case "actions":
		return Event{Action, name}, nil
	}
	return Event{}, fmt.Errorf("cannot tell the event from %q", p)
}

// What a hook does.
type Effect string

const (
	Reconcile Effect = "reconcile"
	Remove    Effect = "remove"
	Ignore    Effect = "ignore"
)

// hookEffects is the event table. Every hook that can change what the graft
// should be, or that may follow a change of the principal, reconciles the
// whole unit (holistic charm).
var hookEffects = map[string]Effect{
	"install":                   Reconcile,
	"start":                     Reconcile,
	"config-changed":            Reconcile,
	"upgrade-charm":             Reconcile,
	"update-status":             Reconcile,
	"secret-changed":            Reconcile,
	"leader-elected":            Reconcile,
	"leader-settings-changed":   Reconcile,
	"post-series-upgrade":       Reconcile,
	"juju-info-relation-joined": Reconcile,
	// The subordinate is leaving its principal: take the graft off.
	"juju-info-relation-broken": Remove,
	"stop":                      Remove,
	"remove":                    Remove,
}

// HookEffect returns what a hook does; unknown hooks are ignored.
func HookEffect(name string) Effect {
	if e, ok := hookEffects[name]; ok {
		return e
	}
	return Ignore
}
