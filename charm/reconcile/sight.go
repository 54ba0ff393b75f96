package reconcile

import (
	"context"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/chart"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/glance"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
)

// glanceable reports that out, what Reconcile ended with, may be glanced at
// by the next update-status instead of reconciled: the unit is active and
// converged, nothing was applied or staged, and nothing is left for the
// next hook to retry.
func (out *Outcome) glanceable(opts Options) bool {
	return !opts.DryRun && out.Status == hooktool.Active && !out.Applied && !out.Staged && out.Plan != nil && out.Plan.Empty() &&
		out.Unit != nil && out.Desired != nil && !out.retry
}

// sight is what this reconcile read to find the unit converged
// (glance.SightOf), nil when the watcher it wants does not run.
func (r *Reconciler) sight(ctx context.Context, unit *unitshape.Unit, d *Desired, since time.Time) *glance.Sight {
	o := glance.Observed{Unit: unit, Graft: append(d.Paths(), d.Stamps...), Trees: d.Watch, Helm: d.Helm, Kubeconfig: d.Kubeconfig,
		State: r.State, Since: since, Due: []time.Time{kubeconfig.PreflightDue(r.State), chart.Due(r.State)}}
	if d.Watcher && r.Systemd != nil {
		u, err := r.Systemd.Unit(ctx, watcher.ServiceName)
		if err != nil || !u.Running() {
			return nil
		}
		o.Watcher = &glance.Process{Service: strings.TrimSuffix(watcher.ServiceName, ".service"), PID: u.MainPID}
	}
	return glance.SightOf(o)
}
