package reconcile

import (
	"context"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/compat"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
)

// Preflight checks the management cluster from the unit, or returns the
// remembered result of the same kubeconfig, driver version and
// api-resources when it is younger than kubeconfig.PreflightInterval and
// fresh is false.
func (r *Reconciler) Preflight(ctx context.Context, d *Desired, fresh bool) kubeconfig.Report {
	var data []byte
	for _, f := range d.Files {
		if f.Path == KubeconfigFile {
			data = f.Content
		}
	}
	rep, err := kubeconfig.Remembered(ctx, r.State, data, d.Kubeconfig, d.Config.DriverVersion,
		d.preflightOptions(r.Env.Proxy), fresh)
	if err != nil {
		r.logf("%v", err) // only a memo: the next hook checks again
	}
	return rep
}

// preflightOptions are the preflight's options: the versions the driver
// will read (its own, or api-resources' where the release reads it: the
// option is refused before this for a release that does not), and the
// compatibility report's fix when the cluster serves other versions.
func (d *Desired) preflightOptions(model proxy.Settings) kubeconfig.Options {
	apiResources, _ := d.Config.Raw["api-resources"].(string)
	// A value the catalogue accepted is JSON of this shape; one that is
	// not leaves the driver's own versions, as for an unset option.
	overrides, _ := kubeconfig.ParseAPIResources(apiResources)
	opts := kubeconfig.Options{Proxy: model, APIVersions: overrides}
	opts.Advise = func(ctx context.Context, kc *kubeconfig.Kubeconfig) string {
		served, err := kubeconfig.Discover(ctx, kc, compat.Groups(), kubeconfig.Options{Proxy: model})
		if err != nil {
			return ""
		}
		rep, err := compat.Build(compat.Input{DriverVersion: d.Config.DriverVersion, APIResources: apiResources, Served: served})
		if err != nil || rep.Fix == nil {
			return ""
		}
		return rep.Fix.Text
	}
	return opts
}
