package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/chart"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
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
	case rec.Analysis.Problem != "":
		return block("%s", CollisionStatus(rec.Analysis))
	case rec.Analysis.Warning != "":
		out.Message += "; " + rec.Analysis.Warning
	}
	ch := r.Chart(ctx, d, force)
	if ch.Verdict.Block {
		return block("%s (the graft is applied; the driver cannot fetch its chart)", ch.Verdict.Text)
	}
	if ch.Verdict.Text != "" {
		out.Message += "; " + ch.Verdict.Text
	}
	return nil
}

// CollisionStatus is the blocked status of a collision: both drivers and
// what to set.
func CollisionStatus(a collision.Analysis) string {
	return fmt.Sprintf("driver collision (%s): %s", collision.Ours, a.Problem)
}

// Collision probes Magnum's driver loader as magnum with the conductor's
// live arguments, or returns the last probe when nothing it reads has
// changed since (collision.Fingerprint) and fresh is false.
func (r *Reconciler) Collision(ctx context.Context, d *Desired, unit *unitshape.Unit, fresh bool) collision.Record {
	var cmdline []string
	if svc := unit.Service("magnum-conductor"); svc != nil && svc.Running() {
		cmdline = svc.Cmdline
	}
	cfgFiles, cfgDirs := collision.ConfigPaths(cmdline)
	fp := collision.Fingerprint(collision.FingerprintInput{SiteDirs: collision.SiteDirs(unit.PythonVersion),
		ConfigFiles: cfgFiles, ConfigDirs: cfgDirs, Cmdline: cmdline, Extra: d.Hash + "\x00" + unit.Python})
	prev, err := state.Get[collision.Record](r.State, state.Collision)
	if err != nil {
		r.logf("%v", err)
	}
	if !fresh && prev.Fingerprint == fp && prev.Error == "" {
		return prev
	}
	rec := collision.Record{Fingerprint: fp, Probed: time.Now()}
	rep, err := collision.Probe(ctx, r.Run, unit.Python, "magnum", unit.ServicesEnv(), cmdline)
	if err != nil {
		rec.Error = err.Error()
	} else {
		rec.Analysis = collision.Analyse(rep)
	}
	if err := r.State.Save(state.Collision, rec); err != nil {
		r.logf("%v", err) // only a memo: the next hook probes again
	}
	return rec
}

// Chart checks the chart repository through the proxy the conductor
// carries, or returns the last check as chart.Remember allows.
func (r *Reconciler) Chart(ctx context.Context, d *Desired, fresh bool) chart.Record {
	req := chart.Request{
		Repo:          stringOption(d.Config.Raw, "helm-chart-repo"),
		Name:          stringOption(d.Config.Raw, "helm-chart-name"),
		Version:       stringOption(d.Config.Raw, "default-helm-chart-version"),
		DriverVersion: d.Config.DriverVersion,
	}
	// helm runs in the conductor with the environment the wiring gives
	// it: the model's proxy, unless service-proxy is off (then the
	// operator's own environment, which the charm does not know: the
	// check connects directly).
	settings := proxy.Settings{}
	if d.Config.ServiceProxy {
		settings = r.Env.Proxy
	}
	if p, err := proxy.New(settings); err == nil {
		req.Proxy = p.Func
	} else {
		req.Proxy = func(*http.Request) (*url.URL, error) { return nil, err }
	}
	h := sha256.New()
	fmt.Fprintf(h, "%v\x00%v\x00%v\x00%s\x00%+v", deref(req.Repo), deref(req.Name), deref(req.Version), req.DriverVersion, settings)
	key := hex.EncodeToString(h.Sum(nil))
	prev, err := state.Get[chart.Record](r.State, state.ChartCheck)
	if err != nil {
		r.logf("%v", err)
	}
	rec, ran := chart.Remember(prev, key, time.Now(), fresh, func() chart.Result { return chart.Check(ctx, req) })
	if ran {
		if err := r.State.Save(state.ChartCheck, rec); err != nil {
			r.logf("%v", err)
		}
	}
	return rec
}

// stringOption is a string option as config-get gave it, nil when unset.
func stringOption(raw map[string]any, name string) *string {
	if v, ok := raw[name].(string); ok {
		return &v
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return "\x01unset"
	}
	return *p
}
