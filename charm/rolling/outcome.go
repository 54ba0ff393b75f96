package rolling

import "context"

// Outcome is how one hook's reconcile ended, as the other units hear it.
type Outcome struct {
	// Read: the hook read the peer relation (it weighed a turn).
	Read bool
	// Asked: the unit asked for a turn and has none (the leader took its
	// step then).
	Asked bool
	// Converged: the unit now runs the desired state; Failure: the change
	// failed on it (and was rolled back, or never made).
	Converged bool
	Failure   string
	// Change is the desired state's change ("" when the reconcile stopped
	// before it knew it).
	Change string
}

// Quiet is what Tell says of a hook that never read the peer relation (it
// took no turn), converged on Change and failed nothing: "the unit runs
// Change" (Peers.Done), and the leader's step. Said again in a hook where
// the relation's settings are as when it was last said, it changes
// nothing: the unit's own settings are already so, and Lead is a function
// of the settings alone (no clock), so the leader decides what it decided
// then. Juju runs a relation hook on every unit whose view of the settings
// changed (graft-relation-changed for another unit's or the application's
// settings, -joined and -departed for the members: Juju's relation
// resolver, internal/worker/uniter/relation/resolver.go,
// nextHookForRelation), and leader-elected on a new leader; each of those
// reconciles and says its outcome afresh. update-status runs on none of
// those changes, which is where the charm passes the last hook's Quiet
// (reconcile.Options.PeersSaid). It returns "" for any other outcome: that
// is always said.
func (o Outcome) Quiet() string {
	if o.Read || o.Asked || o.Failure != "" || !o.Converged || o.Change == "" {
		return ""
	}
	return "done " + o.Change
}

// Tell tells the other units how the hook ended: the unit runs the change
// (Done, which hands a turn back), or the change failed on it and was
// rolled back or never made (Fail, which stops a roll it held the turn
// for). Otherwise the leader takes its step, so that a blocked leader
// still moves the others' roll; a unit that asked for a turn (Asked) has
// said all of it, and the leader took its step then. Tell says nothing
// when it would say what the last hook said (said) and Quiet allows that;
// peers opens the peer relation when it must be written. It returns what
// may be said again next time (Quiet).
func (o Outcome) Tell(ctx context.Context, peers func(context.Context) (*Peers, error), said string) (string, error) {
	news := o.Quiet()
	if news != "" && news == said {
		return news, nil
	}
	if o.Asked {
		return news, nil
	}
	p, err := peers(ctx)
	if err != nil {
		return news, err
	}
	switch {
	case o.Failure != "" && o.Change != "":
		return news, p.Fail(ctx, o.Change, o.Failure)
	case o.Converged && o.Change != "":
		return news, p.Done(ctx, o.Change)
	}
	return news, p.Lead(ctx)
}
