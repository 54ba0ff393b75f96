package reconcile

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// undo is one path as apply found it, to put back.
type undo struct {
	path string
	st   files.Stat
	// mtime is a regular file's modification time (zero for anything else).
	mtime time.Time
}

// apply executes the plan. If it cannot finish, every changed path is put
// back as it was observed (with its mtime) and the services it restarted
// restart on the old files: a unit is never left half-grafted. When a
// service did not start with the new files (or the driver does not load),
// the failure is remembered and said as blocked, so later hooks do not
// retry the same bad graft; any other failure (systemd unreachable, a full
// disk) is returned as it is, for Juju to retry.
func (r *Reconciler) apply(ctx context.Context, c *artifact.Context, p *plan.Plan, d *Desired, fp *files.Footprint) error {
	undos, err := r.write(p, fp)
	if err != nil {
		if rerr := r.rollback(ctx, undos, false, nil); rerr != nil {
			return fmt.Errorf("%w (and %v)", err, rerr)
		}
		return err
	}
	// Each artifact must load, as magnum, with the activation the plan
	// left, before any service restarts into it: an import error in any
	// driver breaks every driver lookup.
	if a, err := prove(ctx, c, d); err != nil {
		if rerr := r.rollback(ctx, undos, false, nil); rerr != nil {
			return rerr
		}
		unstage(ctx, c, d)
		return r.failed(d, fmt.Sprintf("%s does not load as user magnum, so it was not activated and no service restarted: %v", a.Summary(), err))
	}
	restarted, err := r.restart(ctx, p)
	if err != nil {
		var journal string
		if systemd.IsStartFailure(err) {
			svc := restarted[len(restarted)-1]
			journal = r.Systemd.JournalTail(ctx, svc+".service", 3)
			r.logf("%s failed to start with the new graft: %v; rolling back", svc, err)
		}
		if rerr := r.rollback(ctx, undos, p.Reload, restarted); rerr != nil {
			return fmt.Errorf("%w (and %v)", err, rerr)
		}
		unstage(ctx, c, d)
		if !systemd.IsStartFailure(err) {
			return err
		}
		msg := fmt.Sprintf("%s failed to start with the new graft and was rolled back: %v", restarted[len(restarted)-1], err)
		if journal != "" {
			msg += "; journal: " + oneLine(journal, 300)
		}
		return r.failed(d, msg)
	}
	// Under a turn, the unit proves it serves before the turn goes on; if
	// it does not, it goes back to what it served before.
	if err := r.proveServing(ctx, p, d); err != nil {
		r.logf("%v; rolling back", err)
		if rerr := r.rollback(ctx, undos, p.Reload, restarted); rerr != nil {
			return fmt.Errorf("%w (and %v)", err, rerr)
		}
		unstage(ctx, c, d)
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
	r.rememberFailure(d.Hash, msg)
	return block("%s", msg)
}

// write makes the plan's changes on disk, recording each path as it was.
// On error the undos hold what was changed so far.
func (r *Reconciler) write(p *plan.Plan, fp *files.Footprint) ([]undo, error) {
	var undos []undo
	for _, c := range p.Changes {
		r.logf("%s", c.String())
		if c.Scratch {
			if err := files.Apply(c); err != nil {
				return undos, err
			}
			continue
		}
		if err := fp.Remember(c.Path); err != nil {
			return undos, err
		}
		st, err := files.Read(c.Path)
		if err != nil {
			return undos, err
		}
		u := undo{path: c.Path, st: st}
		if fi, err := os.Lstat(c.Path); err == nil && fi.Mode().IsRegular() {
			u.mtime = fi.ModTime()
		}
		undos = append(undos, u)
		if err := files.Apply(c); err != nil {
			return undos, err
		}
	}
	return undos, nil
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

// rollback puts every path back as it was, newest first, with its old
// mtime: the services run on these very bytes, so the next hook does not
// restart them for a change that never reached them. Then, if any service
// was restarted, systemd reloads (if the plan reloaded) and those services
// restart on the old files.
func (r *Reconciler) rollback(ctx context.Context, undos []undo, reload bool, restarted []string) error {
	for i := len(undos) - 1; i >= 0; i-- {
		u := undos[i]
		if err := files.PutBack(u.path, u.st); err != nil {
			return fmt.Errorf("cannot roll back %s: %w", u.path, err)
		}
		if !u.mtime.IsZero() {
			if err := os.Chtimes(u.path, time.Time{}, u.mtime); err != nil {
				return fmt.Errorf("cannot roll back %s: %w", u.path, err)
			}
		}
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

// prove proves each artifact; it returns the one that failed.
func prove(ctx context.Context, c *artifact.Context, d *Desired) (artifact.Artifact, error) {
	for _, a := range d.Artifacts() {
		if err := a.Prove(ctx, c); err != nil {
			return a, err
		}
	}
	return nil, nil
}

// unstage undoes every artifact's staging.
func unstage(ctx context.Context, c *artifact.Context, d *Desired) {
	for _, a := range d.Artifacts() {
		a.Unstage(ctx, c)
	}
}
