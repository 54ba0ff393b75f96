package reconcile

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// RemovalPlan lists what removal will do: every path in the footprint put
// back as it was before the charm's first change.
func (r *Reconciler) RemovalPlan(ctx context.Context) (*plan.Plan, *files.Footprint, error) {
	fp, err := files.LoadFootprint(r.StateDir)
	if err != nil {
		return nil, nil, err
	}
	p := &plan.Plan{}
	for _, path := range fp.Paths() {
		prior := fp.Entries[path]
		now, err := files.Read(path)
		if err != nil {
			return nil, nil, err
		}
		if now.Same(prior) {
			continue
		}
		// helm's link is removed only while it is still the charm's: a
		// package may have put its own helm there since.
		if path == HelmLink && !prior.Exists && now.Link != HelmBinary {
			continue
		}
		c := plan.Change{Kind: plan.Restore, Path: path, Why: "put back as before the charm"}
		if !prior.Exists {
			c.Kind, c.Why = plan.Remove, "added by the charm"
			if now.IsDir {
				c.Kind = plan.Rmdir
			}
		}
		c.UnitFile = strings.HasPrefix(path, "/etc/systemd/")
		// Every path the charm touches is read by the Magnum services.
		c.Restarts = unitshape.Services
		p.Add(c)
	}
	p.Order(unitshape.Services)
	return p, fp, nil
}

// Removal is what a removal hook did.
type Removal struct {
	// Plan lists the changes made and the services restarted.
	Plan *plan.Plan
	// Kept names what removal left in place, and why.
	Kept []string
	// Changed is false when there was nothing of the graft left to remove.
	Changed bool
}

// units is what removal and apply need of systemd; tests replace it.
type units interface {
	Unit(ctx context.Context, name string) (systemd.Unit, error)
	DaemonReload(ctx context.Context) error
	Restart(ctx context.Context, name string, settle time.Duration) (systemd.Unit, error)
	Stop(ctx context.Context, name string) error
	Disable(ctx context.Context, name string) error
}

func (r *Reconciler) units(ctx context.Context) (units, error) {
	if r.fakeUnits != nil {
		return r.fakeUnits, nil
	}
	return r.systemd(ctx)
}

// Remove takes the graft off the unit and leaves it as it was: restores the
// footprint, reloads systemd if a drop-in went, restarts each running service
// once, and deletes the charm's state. otherState names files other parts
// of the charm keep in the state directory.
func (r *Reconciler) Remove(ctx context.Context, otherState ...string) (*Removal, error) {
	p, fp, err := r.RemovalPlan(ctx)
	if err != nil {
		return nil, err
	}
	res := &Removal{Plan: p, Changed: !p.Empty()}
	if err := r.removeWatcher(ctx); err != nil {
		return res, err
	}
	for _, c := range p.Changes {
		r.logf("%s", c.String())
		if err := files.PutBack(c.Path, fp.Entries[c.Path]); err != nil {
			return res, fmt.Errorf("%s %s: %w", c.Kind, c.Path, err)
		}
	}
	// With the activation gone: the packages the charm installed and its
	// own tree (driver versions, helm).
	did, err := r.removeDriver(ctx)
	if err != nil {
		return res, err
	}
	if len(did) > 0 {
		for _, svc := range unitshape.Services {
			p.NeedRestart(svc, strings.Join(did, ", "))
		}
		p.Order(unitshape.Services)
	}
	if !p.Empty() {
		res.Changed = true
		sd, err := r.units(ctx)
		if err != nil {
			return res, err
		}
		if p.Reload {
			if err := sd.DaemonReload(ctx); err != nil {
				return res, err
			}
		}
		for _, rs := range p.Restarts {
			u, err := sd.Unit(ctx, rs.Service+".service")
			if err != nil || u.Masked() || !u.Running() {
				continue
			}
			r.logf("restart %s", rs.Service)
			if _, err := sd.Restart(ctx, rs.Service+".service", r.Settle); err != nil {
				return res, err
			}
		}
	}
	if err := os.RemoveAll(r.StateDir); err != nil {
		return res, fmt.Errorf("remove state: %w", err)
	}
	return res, nil
}
