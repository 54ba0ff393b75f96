package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/cacheck"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/chart"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/compat"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confprobe"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// The driver on a real cloud (issue 14): what the driver meets when a user
// creates a cluster, checked from the unit: the conductor's environment
// carries the model's proxy, Magnum's loader hands the cluster types to
// k8s_capi_helm_v1, the chart repository serves the chart, the management
// cluster serves what the driver reads, and Keystone verifies with the CA
// bundle clusters get.

// cloudChecks adds those checks. d may be nil (the desired state could
// not be computed): what needs it is then a failed check saying so.
func cloudChecks(ctx context.Context, r *reconcile.Reconciler, unit *unitshape.Unit, d *reconcile.Desired, add func(string, bool, string, ...any)) {
	if d == nil {
		add("driver.collision", false, "the desired state is not known: see status")
		add("chart", false, "the desired state is not known: see status")
	} else {
		proxyEnvChecks(unit, d, add)
		collisionCheck(ctx, r, unit, d, add)
		ch := r.Chart(ctx, d, unit, true)
		ev := ch.Result.Evidence
		if ch.Verdict.Text != "" && ch.Verdict.Text != ev {
			ev += "; " + ch.Verdict.Text
		}
		switch {
		case ch.Verdict.Block:
			add("chart", false, "%s", ev)
		case ch.Result.State != chart.Present:
			// A repository down for a while is not yet the graft's
			// failure (chart.History), but a cluster made now fails.
			add("chart", true, "warning: %s", ev)
		default:
			add("chart", true, "%s", ev)
		}
		if d.Kubeconfig != nil {
			compatChecks(ctx, r, unit, d, add)
		}
	}
	caCheck(ctx, r, unit, add)
}

// proxyEnvChecks compares each running service's live environment
// (/proc/PID/environ) with what the wiring gives it.
func proxyEnvChecks(unit *unitshape.Unit, d *reconcile.Desired, add func(string, bool, string, ...any)) {
	for i, env := range d.ServiceEnvs {
		if i >= len(unit.Services) {
			break
		}
		svc := unit.Services[i]
		name := svc.Name + ".proxy-env"
		if env.Placement == proxyenv.Nowhere {
			add(name, true, "not managed: %s", env.Why)
			continue
		}
		if !svc.Running() || svc.MainPID == 0 {
			add(name, false, "not running")
			continue
		}
		environ, err := files.ReadFile("/proc/"+strconv.Itoa(int(svc.MainPID))+"/environ", files.MaxTextFile)
		if err != nil {
			add(name, false, "cannot read main PID %d's environment: %v", svc.MainPID, err)
			continue
		}
		bad := proxyenv.Compare(env.Vars, proxyenv.FromEnviron(environ))
		switch {
		case len(bad) > 0:
			add(name, false, "main PID %d: %s", svc.MainPID, strings.Join(bad, ", "))
		case len(env.Vars) == 0:
			add(name, true, "main PID %d carries no proxy variable: the model sets no proxy (or service-proxy is off)", svc.MainPID)
		default:
			var names []string
			for _, v := range env.Vars {
				names = append(names, v.Name)
			}
			direct := ""
			for _, r := range env.Routes {
				how := "through the proxy"
				if r.Direct {
					how = "direct"
				}
				direct += fmt.Sprintf("; %s %s", r.Endpoint, how)
			}
			add(name, true, "main PID %d carries the model's proxy (%s)%s", svc.MainPID, strings.Join(names, ", "), direct)
		}
	}
}

// collisionCheck probes Magnum's driver loader afresh.
func collisionCheck(ctx context.Context, r *reconcile.Reconciler, unit *unitshape.Unit, d *reconcile.Desired, add func(string, bool, string, ...any)) {
	rec := r.Collision(ctx, d, unit, true)
	switch {
	case rec.Error != "":
		add("driver.collision", false, "%s", rec.Error)
	case rec.Analysis.Problem != "":
		add("driver.collision", false, "%s", rec.Analysis.Status())
	default:
		add("driver.collision", true, "%s", CollisionEvidence(rec.Analysis))
	}
}

// CollisionEvidence says who claims k8s_capi_helm_v1's cluster types and
// who wins.
func CollisionEvidence(a collision.Analysis) string {
	var parts []string
	for _, t := range a.OurTuples {
		claimants := []string{}
		winner := collision.Ours
		for _, c := range a.Collisions {
			if c.Tuple != t {
				continue
			}
			winner = c.Winner
			for _, cl := range c.Claimants {
				if cl.Name == collision.Ours {
					continue
				}
				s := cl.Name
				if cl.Disabled {
					s += " (disabled)"
				}
				claimants = append(claimants, s)
			}
		}
		p := fmt.Sprintf("%s: %s", t, winner)
		if len(claimants) > 0 {
			p += " (also claimed by " + strings.Join(claimants, ", ") + ")"
		}
		parts = append(parts, p)
	}
	s := "Magnum's loader as magnum picks " + strings.Join(parts, "; ")
	if a.Warning != "" {
		s += "; " + a.Warning
	}
	return s
}

// compatChecks compare what the management cluster serves with what the
// driver release reads.
func compatChecks(ctx context.Context, r *reconcile.Reconciler, unit *unitshape.Unit, d *reconcile.Desired, add func(string, bool, string, ...any)) {
	served, err := kubeconfig.Discover(ctx, d.Kubeconfig, compat.Groups(), kubeconfig.Options{Proxy: r.Env.Proxy})
	if err != nil {
		add("compat.report", false, "cannot discover the management cluster's APIs: %v", err)
		return
	}
	apiResources, _ := d.Config.Raw["api-resources"].(string)
	rep, err := compat.Build(compat.Input{MagnumVersion: unit.MagnumVersion, DriverVersion: d.Config.DriverVersion,
		APIResources: apiResources, Served: served})
	if err != nil {
		add("compat.report", false, "%v", err)
		return
	}
	add("compat.report", rep.OK(), "%s", rep.Summary())
	for _, c := range rep.Checks() {
		add("compat."+strings.TrimPrefix(c.Name, "compat-"), c.Result != kubeconfig.Fail, "%s", c.Evidence)
	}
}

// caCheck: Keystone, as magnum.conf names it to the conductor, verifies
// with the CA bundle the driver hands clusters.
func caCheck(ctx context.Context, r *reconcile.Reconciler, unit *unitshape.Unit, add func(string, bool, string, ...any)) {
	var cmdline []string
	if svc := unit.Service("magnum-conductor"); svc != nil && svc.Running() {
		cmdline = svc.Cmdline
	}
	res, err := confprobe.Probe(ctx, unit.Python, "magnum", cmdline, cacheck.Keys)
	if err != nil {
		add("keystone-ca", false, "cannot resolve [keystone_authtoken] and [drivers] as magnum: %v", err)
		return
	}
	in := cacheck.FromValues(res.Values)
	if p, err := proxy.New(r.Env.Proxy); err == nil {
		in.Proxy = p.Func
	}
	c := cacheck.Check(ctx, in)
	switch c.State {
	case cacheck.Fail:
		add("keystone-ca", false, "%s", c.Problem)
	case cacheck.Skip:
		add("keystone-ca", true, "not checked: %s", c.Evidence)
	default:
		add("keystone-ca", true, "%s", c.Evidence)
	}
}
