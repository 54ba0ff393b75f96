package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/readings"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// apply executes the plan. If it cannot finish, every changed path is put
// back as it was observed (with its mtime) and the services it restarted
// restart on the old files: a unit is never left half-grafted. When a
// service did not start with the new files (or the driver does not load),
// the failure is remembered and said as blocked, so later hooks do not
// retry the same bad graft; any other failure (systemd unreachable, a full
// disk) is returned as it is, for Juju to retry.
func (r *Reconciler) apply(ctx context.Context, c *artifact.Context, p *plan.Plan, d *Desired, fp *files.Footprint) error {
	backup, err := files.ApplyPlan(p, fp, func(line string) { r.logf("%s", line) })
	if err != nil {
		if rerr := r.rollback(ctx, backup, false, nil); rerr != nil {
			return fmt.Errorf("%w (and %v)", err, rerr)
		}
		return err
	}
	// Each artifact must load, as magnum, with the activation the plan
	// left, before any service restarts into it: an import error in any
	// driver breaks every driver lookup.
	if a, err := d.Artifacts().Prove(ctx, c); err != nil {
		if rerr := r.rollback(ctx, backup, false, nil); rerr != nil {
			return rerr
		}
		d.Artifacts().Unstage(ctx, c)
		return r.failed(d, fmt.Sprintf("%s does not load as user magnum, so it was not activated and no service restarted: %v", a.Summary(), err))
	}
	readings.Recheck(ctx, p, c.Unit.Services, r.Systemd)
	restarted, err := r.restart(ctx, p)
	if err != nil {
		var journal string
		if systemd.IsStartFailure(err) {
			svc := restarted[len(restarted)-1]
			journal = r.Systemd.JournalTail(ctx, svc+".service", 3)
			r.logf("%s failed to start with the new graft: %v; rolling back", svc, err)
		}
		if rerr := r.rollback(ctx, backup, p.Reload, restarted); rerr != nil {
			return fmt.Errorf("%w (and %v)", err, rerr)
		}
		d.Artifacts().Unstage(ctx, c)
		if !systemd.IsStartFailure(err) {
			return err
		}
		msg := fmt.Sprintf("%s failed to start with the new graft and was rolled back: %v", restarted[len(restarted)-1], err)
		if journal != "" {
			msg += "; journal: " + systemd.TailLine(journal, 300)
		}
		return r.failed(d, msg)
	}
	// Under a turn, the unit proves it serves before the turn goes on; if
	// it does not, it goes back to what it served before.
	if err := r.proveServing(ctx, restarted, d); err != nil {
		r.logf("%v; rolling back", err)
		if rerr := r.rollback(ctx, backup, p.Reload, restarted); rerr != nil {
			return fmt.Errorf("%w (and %v)", err, rerr)
		}
		d.Artifacts().Unstage(ctx, c)
		return r.failed(d, fmt.Sprintf("%v; rolled back", err))
	}
	// The graft is in place and the services took it: mark each path as
	// the charm left it, so removal can tell what others change later.
	var paths []string
	for _, c := range p.Changes {
		paths = append(paths, c.Path)
	}
	return fp.Confirm(paths...)
}

// failed remembers that desired state d failed with msg and says it.
func (r *Reconciler) failed(d *Desired, msg string) error {
	r.roll.failure = msg
	if r.roll.canary {
		// Said by every later hook too, from the memory.
		msg += canaryNote
	}
	// Without the memory the next hook would try the same graft again, so
	// a failure to keep it is logged, not fatal.
	if err := r.State.RememberFailure(d.Hash, msg); err != nil {
		r.logf("%v", err)
	}
	return block("%s", msg)
}

// restart reloads systemd if the plan says so and restarts each service
// once, in order. It returns the services it asked to restart, the failing
// one last.
func (r *Reconciler) restart(ctx context.Context, p *plan.Plan) ([]string, error) {
	sd, err := r.systemd(ctx)
	if err != nil {
		return nil, err
	}
	if p.Reload {
		r.logf("daemon-reload")
		if err := sd.DaemonReload(ctx); err != nil {
			return nil, err
		}
	}
	var restarted []string
	for _, rs := range p.Restarts {
		r.logf("restart %s (%s)", rs.Service, strings.Join(rs.Because, ", "))
		restarted = append(restarted, rs.Service)
		if _, err := sd.Restart(ctx, rs.Service+".service", r.Settle); err != nil {
			return restarted, err
		}
	}
	return restarted, nil
}

// rollback puts every path back as it was (files.Backup.Restore). Then,
// if any service was restarted, systemd reloads (if the plan reloaded) and
// those services restart on the old files.
func (r *Reconciler) rollback(ctx context.Context, backup files.Backup, reload bool, restarted []string) error {
	if err := backup.Restore(); err != nil {
		return err
	}
	if len(restarted) == 0 && !reload {
		return nil
	}
	sd, err := r.systemd(ctx)
	if err != nil {
		return err
	}
	if reload {
		if err := sd.DaemonReload(ctx); err != nil {
			r.logf("daemon-reload after the rollback: %v", err)
		}
	}
	for _, svc := range restarted {
		if _, err := sd.Restart(ctx, svc+".service", r.Settle); err != nil {
			r.logf("%s did not come back after the rollback: %v", svc, err)
		}
	}
	return nil
}
