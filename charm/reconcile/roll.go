package reconcile

import (
	"context"
	"fmt"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/rolling"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// canaryNote ends what a canary whose change failed says.
const canaryNote = "; this unit was the rolling restart's canary: the roll stopped here, and the other units keep what they run"

// roll is this reconcile's part in the application's rolling restarts.
type roll struct {
	peers *rolling.Peers
	// fp is the change the unit holds the turn for ("" when it holds
	// none), and canary whether it is the roll's canary.
	fp     string
	canary bool
	// asked: the unit asked for a turn and has none (the leader took its
	// step then).
	asked bool
	// retry: the operator asked to try the change again (Options.Retry).
	retry bool
	// converged: the unit now runs the desired state; failure: the
	// change failed on it (and was rolled back, or never made).
	converged bool
	failure   string
}

// peers opens the peer relation once per reconcile (outside Juju, a unit
// alone: rolling.Open).
func (r *Reconciler) peers(ctx context.Context) (*rolling.Peers, error) {
	if r.roll.peers == nil {
		p, err := rolling.Open(ctx, r.Juju, r.Env.UnitName)
		if err != nil {
			return nil, fmt.Errorf("cannot read the peer relation: %w", err)
		}
		p.Log = r.Log
		r.roll.peers = p
	}
	return r.roll.peers, nil
}

// awaitTurn asks for the turn to restart into target when the plan p
// would restart a serving service. Without the turn it returns what the
// unit says meanwhile (waiting, or blocked when the roll stopped), and the
// unit stays as it is.
func (r *Reconciler) awaitTurn(ctx context.Context, target *Desired, unit *unitshape.Unit, p *plan.Plan) error {
	if !wiring.Serving(target.Wirings, unit.Services, p.Restarting) {
		return nil
	}
	peers, err := r.peers(ctx)
	if err != nil {
		return err
	}
	kind := rolling.KindConfig
	if target.Driver != nil && target.Driver.Replaces() {
		kind = rolling.KindDriver
	}
	ask := peers.Ask
	if r.roll.retry {
		ask = peers.Retry
	}
	turn, err := ask(ctx, target.Change, kind)
	if err != nil {
		return err
	}
	if !turn.Granted {
		r.roll.asked = true
		if r.roll.retry {
			// The hook that gets the turn is not forced: without this
			// the memory of the failure would refuse the retry there.
			if err := r.State.ClearFailure(); err != nil {
				return err
			}
		}
		if turn.Status == hooktool.Blocked {
			return block("%s", turn.Message)
		}
		return waiting{turn.Message}
	}
	if !peers.Alone() {
		r.roll.fp, r.roll.canary = target.Change, turn.Canary
		r.logf("rolling restart: this unit has the turn%s", map[bool]string{true: " (canary)"}[turn.Canary])
	}
	return nil
}

// proveServing is the proof (rolling.Proof.Serving) of a unit that
// restarted under a turn before it hands the turn on.
func (r *Reconciler) proveServing(ctx context.Context, restarted []string, d *Desired) error {
	if r.roll.fp == "" {
		return nil
	}
	sd, err := r.systemd(ctx)
	if err != nil {
		return err
	}
	proof := rolling.Proof{Units: sd, Wirings: d.Wirings, Cmdline: r.Cmdline, Answers: r.APIAnswers, Log: r.Log}
	return proof.Serving(ctx, restarted)
}

// outcome is how this reconcile ended, for the other units (said by
// rolling.Outcome.Tell).
func (r *roll) outcome(change string) rolling.Outcome {
	return rolling.Outcome{Read: r.peers != nil, Asked: r.asked, Converged: r.converged, Failure: r.failure, Change: change}
}
