// Package reconcile is the charm's core. Every hook runs the same function:
// compute the desired state from config, secrets and resources, observe the
// unit, derive a plan (a value that a dry run prints), apply it, verify the
// effect on the live system, and say one status. A converged unit yields an
// empty plan: no writes, no daemon-reload, no restarts.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/glance"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/readings"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/removal"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

const (
	// ConfFile is the graft's oslo.config drop-in.
	ConfFile = wiring.ConfDir + "/99-capi.conf"
	// KubeconfigFile is where Magnum's driver finds the management cluster.
	KubeconfigFile = "/etc/magnum/kubeconfig"
)

// Reconciler carries what a reconcile needs from the outside world. Every
// way it reaches the unit's systemd and the process it runs in is a field,
// so a test can run the whole of apply against a fake.
type Reconciler struct {
	Juju hooktool.Tools
	// State is the charm's state directory.
	State state.Dir
	// Settle is how long a restarted service must stay up before it counts
	// as started.
	Settle time.Duration
	// Log receives progress lines (the action log in actions).
	Log func(string)
	// Systemd is the unit's systemd; nil dials the real one on first use.
	Systemd systemd.Controller
	// Env is what the reconcile takes from its process (ProcessEnv in a
	// hook).
	Env Env
	// Run runs the programs the cloud checks run as magnum (the collision
	// probe); nil is command.Run.
	Run collision.Runner

	// APIAnswers proves that a restarted magnum-api (its main process
	// pid) answers HTTP within timeout; nil is apiprobe.Answers.
	APIAnswers func(ctx context.Context, pid int, timeout time.Duration) error
	// Cmdline reads a process's live command line; nil is systemd.Cmdline.
	Cmdline func(pid uint32) ([]string, error)

	// installRoot is where removal finds the charm's install tree
	// (InstallRoot unless a test points it elsewhere).
	installRoot string
	// roll is the running reconcile's part in a rolling restart.
	roll roll
	// observed is when the running reconcile began to observe the unit.
	observed time.Time
	// staged: this reconcile staged an artifact (Outcome.Staged).
	staged bool
	// readings is what the services read when they started, as the
	// state directory last knew it.
	readings readings.Record
}

// Outcome is what a reconcile did and what it says.
type Outcome struct {
	Status  hooktool.Status
	Message string
	Plan    *plan.Plan
	Applied bool
	// Staged: the reconcile installed an artifact (a driver version
	// directory put back, a package), which changes the unit even when
	// the plan is empty.
	Staged bool
	// Desired and Unit are what the reconcile computed and last observed
	// (nil when it stopped before getting there).
	Desired *Desired
	Unit    *unitshape.Unit
	// PeersSaid is what this reconcile told the other units when it can be
	// said again without asking them anything (rolling.Outcome.Quiet),
	// else "".
	PeersSaid string
	// Sight is what this reconcile observed to find the unit active and
	// converged, for the next update-status to glance at (charm/glance);
	// nil when the next hook must reconcile in full.
	Sight *glance.Sight
	// retry is set when a check could not run and the next hook tries
	// it again (the collision probe), so no Sight may skip it.
	retry bool
}

// Options change how one reconcile runs.
type Options struct {
	// DryRun computes the plan and changes nothing.
	DryRun bool
	// Force ignores the memory of a failed attempt and of the last
	// preflight (the regraft action, a config or secret change).
	Force bool
	// Retry is the operator's explicit request (the regraft action): a
	// change that failed and stopped the application's rolling restart is
	// tried again, on this unit first (rolling.Peers.Retry).
	Retry bool
	// PeersSaid is what the last reconcile told the other units
	// (Outcome.PeersSaid), given only where their settings cannot have
	// changed since (see rolling.Outcome.Quiet): a reconcile that would
	// tell them the same again then leaves the peer relation alone.
	PeersSaid string
}

// block says a problem a human must fix: the reconcile stops, says it as
// the status, and the hook succeeds, since running it again would change
// nothing (artifact.BlockedError). Any other error is one Juju retries by
// failing the hook (a D-Bus hiccup, a full disk), never a blocked status.
func block(format string, args ...any) error { return artifact.Blocked(format, args...) }

// waiting is something the charm waits for (a paused principal).
type waiting struct{ msg string }

func (w waiting) Error() string { return w.msg }

func (r *Reconciler) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(fmt.Sprintf(format, args...))
	}
}

// Close releases the systemd connection.
func (r *Reconciler) Close() {
	if r.Systemd != nil {
		r.Systemd.Close()
	}
}

func (r *Reconciler) systemd(ctx context.Context) (systemd.Controller, error) {
	if r.Systemd == nil {
		sd, err := systemd.Connect(ctx)
		if err != nil {
			return nil, err
		}
		r.Systemd = sd
	}
	return r.Systemd, nil
}

// Reconcile runs one holistic reconcile. What a human must fix, or what
// the charm waits for, is the Outcome's status; the error is for anything
// else (systemd unreachable, a write that failed), which leaves the unit as
// it was and which Juju retries when the hook fails.
func (r *Reconciler) Reconcile(ctx context.Context, opts Options) (Outcome, error) {
	r.roll = roll{retry: opts.Retry}
	out, err := r.reconcile(ctx, opts)
	var b *artifact.BlockedError
	var w waiting
	switch {
	case errors.As(err, &b):
		out.Status, out.Message = hooktool.Blocked, b.Msg
	case errors.As(err, &w):
		out.Status, out.Message = hooktool.Waiting, w.msg
	case err != nil:
		return out, err
	}
	if !opts.DryRun {
		// The other units hear how this one ended, whatever it said.
		var change string
		if out.Desired != nil {
			change = out.Desired.Change
		}
		said, err := r.roll.outcome(change).Tell(ctx, r.peers, opts.PeersSaid)
		if err != nil {
			return out, err
		}
		out.PeersSaid = said
	}
	if out.glanceable(opts) {
		out.Sight = r.sight(ctx, out.Unit, out.Desired, r.observed)
	}
	return out, nil
}

func (r *Reconciler) reconcile(ctx context.Context, opts Options) (Outcome, error) {
	out := Outcome{Plan: &plan.Plan{}}
	r.observed = time.Now()
	sd, err := r.systemd(ctx)
	if err != nil {
		return out, err
	}
	// The watcher's unit is read at commit.
	unitshape.ReadAhead(sd, watcher.ServiceName)
	unit, err := unitshape.Observe(ctx, sd)
	if err != nil {
		return out, err
	}
	out.Unit = unit
	if unit.MagnumVersion == "" && unit.NoneInstalled() {
		return out, block("Magnum is not installed on this machine: relate magnum-capi-graft to the magnum application (juju relate magnum-capi-graft magnum)")
	}
	fp, err := r.State.Footprint()
	if err != nil {
		return out, err
	}
	r.readings = readings.Load(r.State)
	c := r.artifactContext(unit, opts)
	desired, err := r.Desire(ctx, c, fp)
	if err != nil {
		return out, err
	}
	out.Desired = desired
	if opts.DryRun {
		target, err := r.resolve(ctx, c, desired)
		if err != nil {
			return out, err
		}
		out.Desired = target
		if out.Plan, err = Diff(target, unit, &r.readings); err != nil {
			return out, err
		}
		return out, r.say(ctx, target, unit, &out, opts, false)
	}
	r.staged = false
	p, target, err := r.converge(ctx, c, desired, fp)
	out.Plan, out.Staged = p, r.staged
	if err != nil {
		out.Desired = target
		return out, err
	}
	out.Desired = target
	if !p.Empty() {
		out.Applied = true
		unitshape.ReadAhead(sd, watcher.ServiceName)
		if unit, err = unitshape.Observe(ctx, sd); err != nil {
			return out, err
		}
		out.Unit, c.Unit = unit, unit
	}
	if err := r.commit(ctx, c, target, fp, p); err != nil {
		return out, err
	}
	if err := r.readings.Note(r.State, unit.Services, target.Files); err != nil {
		return out, err
	}
	r.roll.converged = true
	return out, r.say(ctx, target, unit, &out, opts, true)
}

// artifactContext is what the artifacts' life needs of this reconcile.
func (r *Reconciler) artifactContext(unit *unitshape.Unit, opts Options) *artifact.Context {
	return &artifact.Context{Juju: r.Juju, State: r.State, Unit: unit, App: r.Env.App(), Proxy: r.Env.Proxy,
		Log: r.Log, Force: opts.Force, DryRun: opts.DryRun, InstallRoot: r.installRoot}
}

// converge takes the unit to the desired state: the artifacts are
// resolved; unless forced, a graft that failed before is refused without
// touching anything; then the artifacts are staged, and the plan derived
// and applied. It returns the plan and the desired state with what the
// artifacts resolved to.
func (r *Reconciler) converge(ctx context.Context, c *artifact.Context, desired *Desired, fp *files.Footprint) (*plan.Plan, *Desired, error) {
	target, err := r.resolve(ctx, c, desired)
	if err != nil {
		return &plan.Plan{}, desired, err
	}
	if !c.Force {
		if msg, ok := r.State.FailedBefore(target.Hash); ok {
			// Said again to the other units: a hook that failed after
			// the failure may not have told them.
			r.roll.failure = strings.TrimSuffix(msg, canaryNote)
			return &plan.Plan{}, target, block("%s (fix the config, or run the regraft action to try again)", msg)
		}
	}
	// A restart of a serving unit waits for its turn, before anything is
	// staged: a waiting unit stays exactly as it is.
	if pending, err := Diff(target, c.Unit, &r.readings); err != nil {
		return &plan.Plan{}, target, err
	} else if err := r.awaitTurn(ctx, target, c.Unit, pending); err != nil {
		return &plan.Plan{}, target, err
	}
	// Install what the plan will activate: helm (proved before it is put
	// in place) and the driver's version directory or package.
	r.staged = !target.Artifacts().Converged()
	if err := target.Artifacts().Stage(ctx, c); err != nil {
		if artifact.IsBlocked(err) && r.roll.fp != "" {
			r.roll.failure = err.Error()
		}
		return &plan.Plan{}, target, err
	}
	p, err := Diff(target, c.Unit, &r.readings)
	if err != nil {
		return &plan.Plan{}, target, err
	}
	if p.Empty() {
		// Nothing changes, but a forced hook still proves the artifacts.
		if a, err := target.Artifacts().Prove(ctx, c); err != nil {
			return p, target, block("%s does not load as user magnum: %v", a.Summary(), err)
		}
		return p, target, nil
	}
	return p, target, r.apply(ctx, c, p, target, fp)
}

// resolve resolves every artifact (finds and checks it, installing
// nothing) and returns the desired state with what they add to the plan,
// the watcher that watches it all, and the hash of the whole.
func (r *Reconciler) resolve(ctx context.Context, c *artifact.Context, desired *Desired) (*Desired, error) {
	resolved, err := desired.Artifacts().Resolve(ctx, c)
	if err != nil {
		return nil, err
	}
	target := desired.With(resolved)
	if err := r.desireWatcher(target); err != nil {
		return nil, err
	}
	target.Hash, target.Change = target.hash(), target.change()
	return target, nil
}

// commit records what a successful converge left: the footprint, the
// artifacts' records, the watcher running.
func (r *Reconciler) commit(ctx context.Context, c *artifact.Context, target *Desired, fp *files.Footprint, p *plan.Plan) error {
	// Every wanted path is now as the charm wants it: a footprint from an
	// earlier revision of the charm learns which content is the charm's.
	if err := fp.Adopt(target.Paths()...); err != nil {
		return err
	}
	if err := r.State.ClearFailure(); err != nil {
		return err
	}
	// The driver's record is kept even when helm's commit finds the
	// services' PATH changed (artifact.List.Commit).
	if err := target.Artifacts().Commit(ctx, c); err != nil {
		return err
	}
	if target.Watcher {
		sd, err := r.systemd(ctx)
		if err != nil {
			return err
		}
		return watcher.Ensure(ctx, sd, p.Changed(watcher.UnitPath), r.logf)
	}
	return nil
}

// say sets the one status: the verdict on the live unit and, after a real
// reconcile, the preflight of the management cluster.
func (r *Reconciler) say(ctx context.Context, desired *Desired, unit *unitshape.Unit, out *Outcome, opts Options, preflight bool) error {
	if err := r.verdict(unit, desired, out); err != nil {
		return err
	}
	out.Message = desired.Artifacts().Summary() + "; " + out.Message
	if !preflight {
		return nil
	}
	if problems := proxyenv.LiveProblems(desired.ServiceEnvs, unit.Services); len(problems) > 0 {
		return block("%s: see verify's proxy-env results", strings.Join(problems, "; "))
	}
	// The graft is in place; before saying active, make sure this unit can
	// drive the management cluster with this kubeconfig and driver.
	rep := r.Preflight(ctx, desired, opts.Force)
	if !rep.OK() {
		return block("%s (the graft is applied; fix the management cluster or the kubeconfig)", rep.BlockedStatus())
	}
	out.Message += desired.Warnings + rep.WarningSuffix()
	return r.cloud(ctx, desired, unit, opts.Force, out)
}

// verdict checks the live system after the plan and sets the one status.
func (r *Reconciler) verdict(unit *unitshape.Unit, d *Desired, out *Outcome) error {
	v := wiring.Judge(d.Wirings, unit.Services, out.DryRunPending)
	switch {
	case len(v.Broken) > 0:
		return block("%s", strings.Join(v.Broken, "; "))
	case len(v.Waiting) > 0:
		return waiting{strings.Join(v.Waiting, "; ") + "; the graft is in place and applies when it runs"}
	}
	out.Status = hooktool.Active
	out.Message = "conf.d read by " + strings.Join(v.ReadBy, " + ")
	return nil
}

// DryRunPending reports whether a dry run's plan restarts svc (so its live
// command line is not expected to keep the promise yet).
func (o *Outcome) DryRunPending(svc string) bool {
	return !o.Applied && o.Plan != nil && o.Plan.Restarting(svc)
}

// Remove takes the graft off the unit (package removal), with this
// reconciler's state, systemd and install tree.
func (r *Reconciler) Remove(ctx context.Context) (*removal.Removal, error) {
	rm := &removal.Remover{State: r.State, Settle: r.Settle, Log: r.Log, InstallRoot: r.installRoot,
		Systemd: r.systemd}
	return rm.Remove(ctx)
}
