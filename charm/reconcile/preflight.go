package reconcile

import (
	"context"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
)

// Preflight checks the management cluster from the unit, or returns the
// remembered result of the same kubeconfig and driver version when it is
// younger than kubeconfig.PreflightInterval and fresh is false.
func (r *Reconciler) Preflight(ctx context.Context, d *Desired, fresh bool) kubeconfig.Report {
	var data []byte
	for _, f := range d.Files {
		if f.Path == KubeconfigFile {
			data = f.Content
		}
	}
	rep, err := kubeconfig.Remembered(ctx, r.State, data, d.Kubeconfig, d.Config.DriverVersion,
		kubeconfig.Options{Proxy: r.Env.Proxy}, fresh)
	if err != nil {
		r.logf("%v", err) // only a memo: the next hook checks again
	}
	return rep
}
