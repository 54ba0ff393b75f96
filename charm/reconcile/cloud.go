package reconcile

import (
	"context"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/chart"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/compat"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// The driver on a real cloud (issue 14): once the graft is in place and the
// management cluster answers, the status also says what a user creating a
// cluster would meet that the graft itself does not show: another Magnum
// driver winning k8s_capi_helm_v1's cluster types (blocked), and the chart
// repository (a warning, blocked only as chart.History says).

// cloud adds the collision check and the chart preflight to a real
// reconcile's status.
func (r *Reconciler) cloud(ctx context.Context, d *Desired, unit *unitshape.Unit, force bool, out *Outcome) error {
	out.Message += proxyenv.Summary(d.ServiceEnvs, d.Wirings)
	rec := r.Collision(ctx, d, unit, force)
	switch {
	case rec.Error != "":
		// The probe could not run at all (Magnum's Python missing or
		// hung): not the collision's verdict, said and retried.
		out.Message += "; driver collision check: " + rec.Error
		out.retry = true
	case rec.Analysis.Problem != "":
		return block("%s", rec.Analysis.Status())
	case rec.Analysis.Warning != "":
		out.Message += "; " + rec.Analysis.Warning
	}
	ch := r.Chart(ctx, d, unit, force)
	if ch.Verdict.Block {
		return block("%s (the graft is applied; the driver cannot fetch its chart)", ch.Verdict.Text)
	}
	if ch.Verdict.Text != "" {
		out.Message += "; " + ch.Verdict.Text
	}
	return nil
}

// Collision probes Magnum's driver loader as magnum with the conductor's
// live arguments, or returns the last probe when nothing it reads has
// changed since and fresh is false (collision.Remembered).
func (r *Reconciler) Collision(ctx context.Context, d *Desired, unit *unitshape.Unit, fresh bool) collision.Record {
	rec, err := collision.Remembered(ctx, r.State, r.Run, unit, d.Hash, fresh)
	if err != nil {
		r.logf("%v", err) // only a memo: the next hook probes again
	}
	return rec
}

// Chart checks the chart repository through the proxy helm will have in
// the conductor, or returns the last check (chart.Remembered).
func (r *Reconciler) Chart(ctx context.Context, d *Desired, unit *unitshape.Unit, fresh bool) chart.Record {
	req := chart.RequestFor(d.Config.Raw, d.Config.DriverVersion)
	var settings proxy.Settings
	settings, req.ProxyName, req.NoProxy = proxyenv.HelmProxy(d.Config.ServiceProxy, r.Env.Proxy, unit.Service("magnum-conductor"))
	rec, err := chart.Remembered(ctx, r.State, req, settings, fresh)
	if err != nil {
		r.logf("%v", err) // only a memo: the next hook checks again
	}
	return rec
}

// Preflight checks the management cluster from the unit for what the
// driver will read (compat.PreflightOptions), or returns the remembered
// result of the same inputs when it is younger than
// kubeconfig.PreflightInterval and fresh is false.
func (r *Reconciler) Preflight(ctx context.Context, d *Desired, fresh bool) kubeconfig.Report {
	var data []byte
	for _, f := range d.Files {
		if f.Path == KubeconfigFile {
			data = f.Content
		}
	}
	apiResources, _ := d.Config.Raw["api-resources"].(string)
	opts := compat.PreflightOptions(d.Config.DriverVersion, apiResources, kubeconfig.Options{Proxy: r.Env.Proxy})
	rep, err := kubeconfig.Remembered(ctx, r.State, data, d.Kubeconfig, d.Config.DriverVersion, opts, fresh)
	if err != nil {
		r.logf("%v", err) // only a memo: the next hook checks again
	}
	return rep
}
