package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/glance"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/investigate"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/removal"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/rolling"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
)

// Runtime is what handling an event needs.
type Runtime struct {
	Juju hooktool.Tools
	// State is the charm's state directory.
	State  state.Dir
	Settle time.Duration
	// CharmDir is the unit's charm directory (JUJU_CHARM_DIR), where the
	// charm notes that the unit is leaving ("" outside a unit).
	CharmDir string
	// Stdout is the hook's standard output (Juju logs it at DEBUG;
	// juju-exec hands it to the watcher); nil means none.
	Stdout io.Writer
}

// reconciler returns a reconciler for an event. Its hook tools record what
// config-get, secret-get and status-set said (see inputs.go), whatever the
// event: update-status skips a status-set that the record says is already
// shown, so a status set around the record would leave a stale one showing.
func (rt *Runtime) reconciler(event string, log func(string)) *reconcile.Reconciler {
	return &reconcile.Reconciler{Juju: rt.toolsFor(event), State: rt.State, Settle: rt.Settle, Log: log,
		Env: reconcile.ProcessEnv()}
}

// Run handles one event. A returned error makes the hook fail (Juju retries
// it); problems an operator must fix are statuses, not errors.
func (rt *Runtime) Run(ctx context.Context, ev Event) error {
	if ev.Kind == Action {
		return rt.action(ctx, ev.Name)
	}
	log := func(s string) { _ = rt.Juju.Log(ctx, hooktool.Info, s) }
	switch HookEffect(ev.Name) {
	case Reconcile:
		if rt.leaving() != "" {
			// The graft is off and must stay off: see leaving.
			log(fmt.Sprintf("%s: this unit is leaving its principal and the graft was removed: nothing to do", ev))
			return nil
		}
		if ev.FromWatcher {
			if f, stopped := rt.watcherStopped(); stopped {
				return fmt.Errorf("automatic re-grafts are stopped after %d failures in a row (last: %s)", f.Count, f.Reason)
			}
		}
		r := rt.reconciler(ev.Name, log)
		defer r.Close()
		if said, err := rt.glanced(ctx, r, ev); said || err != nil {
			return err
		}
		// A config or secret change is a new attempt: forget a failed one.
		force := ev.Name == "install" || ev.Name == "config-changed" || ev.Name == "secret-changed" || ev.Name == "upgrade-charm"
		out, err := reconcileRecorded(ctx, r, reconcile.Options{Force: force})
		if err != nil {
			// Not for a human to fix: Juju retries a failed hook, and
			// the watcher its failed trigger.
			glance.Forget(rt.State)
			return fmt.Errorf("reconcile: %w", err)
		}
		if ev.FromWatcher && rt.Stdout != nil {
			fmt.Fprintf(rt.Stdout, "%s%t\n", watcher.ChangedLine, changedUnit(out))
		}
		message, regraftErr := rt.noteRegraft(ev, force, out.Status, out.Message)
		if err := r.Juju.StatusSet(ctx, out.Status, message); err != nil {
			glance.Forget(rt.State)
			return err
		}
		rt.keepSight(r, out, message, regraftErr == nil)
		return regraftErr
	case Remove:
		// Once relation-broken, stop or remove has run, no later hook
		// may graft again; a removal already said and done is not said
		// again by a later one that finds nothing left.
		said := rt.leaving() == leftDone
		if !said {
			rt.setLeaving(leftRemoving)
		}
		if ev.Name == "juju-info-relation-broken" {
			// Removal takes no turn; a turn this unit holds goes back
			// now rather than when it departs. Only here: the peer
			// relation surely outlives this hook (Juju runs its hooks
			// after this one), and a failure is no reason to keep the
			// graft.
			rt.leaveRoll(ctx, log)
		}
		r := rt.reconciler(ev.Name, log)
		defer r.Close()
		res, err := r.Remove(ctx)
		if err != nil {
			return fmt.Errorf("remove the graft: %w", err)
		}
		if !sayRemoval(said, res) {
			log(fmt.Sprintf("%s: nothing of the graft is left to remove", ev))
			return nil
		}
		// Straight to Juju: Remove deleted the state directory, and a
		// recorded status-set would create it again.
		if err := rt.Juju.StatusSet(ctx, hooktool.Maintenance, res.Message()); err != nil {
			return err
		}
		rt.setLeaving(leftDone)
	}
	return nil
}

// changedUnit tells the watcher whether a re-graft changed the unit, so
// that the changes it saw meanwhile are taken for its echo. A plan that
// was not empty was applied, or applied and put back: either way the unit
// saw writes and restarts. An artifact staged (a driver version directory
// put back) wrote under the watched install tree even with an empty plan:
// without saying so, its own writes would come back as a second, no-op
// re-graft.
func changedUnit(out reconcile.Outcome) bool {
	return out.Staged || (out.Plan != nil && !out.Plan.Empty())
}

// leaveRoll tells the other units that this one takes no more turns.
func (rt *Runtime) leaveRoll(ctx context.Context, log func(string)) {
	p, err := rolling.Open(ctx, rt.Juju, os.Getenv("JUJU_UNIT_NAME"))
	if err == nil {
		err = p.Leave(ctx)
	}
	if err != nil {
		log(fmt.Sprintf("cannot tell the other units this one is leaving: %v", err))
	}
}

// sayRemoval tells whether a removal hook sets the status: unless an
// earlier one already said the removal and this one found nothing left, so
// stop and remove after relation-broken keep what it said was left.
func sayRemoval(said bool, res *removal.Removal) bool {
	return res.Changed || !said
}

// The unit is leaving when a removal hook has run. For a subordinate that
// is when its principal relation is broken: juju-info-relation-broken, then
// stop and remove, which Juju 4.0 does not always get to run. A dying unit
// still runs actions, juju-exec commands (the watcher's update-status, if
// one was queued before removal stopped the watcher), secret-changed and
// leader-elected before those hooks (Juju's uniter resolver,
// internal/worker/uniter/resolver.go, uniterResolver.NextOp, resolves them
// ahead of nextOp's Dying case): none of them may graft again what removal
// took off. The note lives in the charm directory, which goes with the
// unit, so nothing of it outlives the unit on the machine.
const leavingFile = ".magnum-capi-graft-leaving"

const (
	leftRemoving = "removing"
	leftDone     = "removed"
)

// leaving returns what the note says ("" when the unit is not leaving).
func (rt *Runtime) leaving() string {
	if rt.CharmDir == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(rt.CharmDir, leavingFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (rt *Runtime) setLeaving(state string) {
	if rt.CharmDir == "" {
		return
	}
	_ = os.WriteFile(filepath.Join(rt.CharmDir, leavingFile), []byte(state+"\n"), 0o600)
}

func (rt *Runtime) action(ctx context.Context, name string) error {
	progress := func(s string) { _ = rt.Juju.ActionLog(ctx, s) }
	var results map[string]any
	var err error
	switch name {
	case "investigate":
		results, err = rt.investigate(ctx)
	case "verify":
		results, err = rt.verify(ctx)
	case "regraft":
		results, err = rt.regraft(ctx, progress)
	case "smoke-test":
		results, err = rt.smokeTest(ctx, progress)
	default:
		err = fmt.Errorf("unknown action %q", name)
	}
	if results != nil {
		if serr := rt.Juju.ActionSet(ctx, results); serr != nil {
			return serr
		}
	}
	if err != nil {
		return rt.Juju.ActionFail(ctx, err.Error())
	}
	return nil
}

func (rt *Runtime) investigate(ctx context.Context) (map[string]any, error) {
	sd, err := systemd.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	rep, err := investigate.Run(ctx, sd)
	if err != nil {
		return nil, err
	}
	return toResults(rep)
}

func appName() string {
	if app, _, ok := strings.Cut(os.Getenv("JUJU_UNIT_NAME"), "/"); ok {
		return app
	}
	return "magnum-capi-graft"
}

// toResults turns a report into action-set's nested map through its JSON
// form, so the result keys are the report's json tags.
func toResults(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
