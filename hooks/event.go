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

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
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
	// FromWatcher is set when the charm's watcher runs update-status to
	// re-graft after a change of the principal.
	FromWatcher bool
}

func (e Event) String() string {
	if e.FromWatcher {
		return string(e.Kind) + " " + e.Name + " (from the watcher)"
	}
	return string(e.Kind) + " " + e.Name
}

// Parse reads the event from JUJU_DISPATCH_PATH ("hooks/install",
// "actions/verify"), or, when juju-exec set none, from the path the program
// was started as (hooks/update-status, like dispatch, is a symlink to the
// binary). Juju passes no arguments; the watcher passes one to
// update-status.
func Parse(dispatchPath, argv0 string, args []string) (Event, error) {
	p := dispatchPath
	if p == "" {
		p = argv0
	}
	var ev Event
	dir, name := path.Split(strings.TrimSuffix(p, "/"))
	switch path.Base(strings.TrimSuffix(dir, "/")) {
	case "hooks":
		ev = Event{Kind: Hook, Name: name}
	case "actions":
		ev = Event{Kind: Action, Name: name}
	default:
		return Event{}, fmt.Errorf("cannot tell the event from %q", p)
	}
	switch {
	case len(args) == 0:
	case len(args) == 1 && args[0] == watcher.FromWatcherFlag && ev == Event{Kind: Hook, Name: "update-status"}:
		ev.FromWatcher = true
	default:
		return Event{}, fmt.Errorf("%s takes no arguments, got %q", ev, args)
	}
	return ev, nil
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
	// The peer relation (metadata.yaml, peers: graft), where the units
	// take turns to restart (charm/rolling). Every change another unit
	// commits there runs graft-relation-changed (a request wakes the
	// leader, a grant the unit granted: Juju's relation resolver,
	// internal/worker/uniter/relation/resolver.go, nextHookForRelation),
	// joined and departed change who takes part (the leader reclaims a
	// departed unit's turn), and leader-elected (above) lets a new leader
	// carry on a roll: each reconciles, which asks for a turn, proves and
	// hands it back, or takes the leader's step. When the application
	// goes, Juju runs the peer relation's hooks after
	// juju-info-relation-broken (relationsResolver.NextOp defers peer
	// relations), and the leaving note (run.go) keeps them from grafting
	// again. There is no graft-relation-broken: Juju never breaks a peer
	// relation (nextHookForRelation: "if remoteBroken && !isPeer").
	"graft-relation-created":  Reconcile,
	"graft-relation-joined":   Reconcile,
	"graft-relation-changed":  Reconcile,
	"graft-relation-departed": Reconcile,
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
