// Package verify is the runbook's exit criteria as checks on the live unit,
// each with pass or fail and the evidence it rests on. Nothing here re-reads
// a file the charm wrote and calls that proof: services are judged by their
// live command lines and by what oslo.config, run as user magnum with those
// command lines, resolves.
package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confprobe"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/driver"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/helm"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Check is one exit criterion.
type Check struct {
	Name     string `json:"-"`
	Pass     bool   `json:"pass"`
	Evidence string `json:"evidence"`
}

// Failed lists the names and evidence of failed checks.
func Failed(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if !c.Pass {
			out = append(out, c.Name+": "+c.Evidence)
		}
	}
	return out
}

// Run runs every check. r computes the desired state and the pending plan.
func Run(ctx context.Context, r *reconcile.Reconciler, sd *systemd.Manager) ([]Check, error) {
	var checks []Check
	add := func(name string, pass bool, format string, args ...any) {
		checks = append(checks, Check{Name: name, Pass: pass, Evidence: fmt.Sprintf(format, args...)})
	}

	out, err := r.Reconcile(ctx, reconcile.Options{DryRun: true})
	if err != nil {
		// Not a verdict on the graft: the plan could not be computed.
		add("converged", false, "cannot compute the plan: %v", err)
		add("status", false, "cannot compute the plan: %v", err)
	} else {
		pending := out.Plan.Lines()
		add("converged", out.Plan.Empty(), "%s", orNone(strings.Join(pending, "; "), "no pending changes"))
		add("status", out.Status == "active", "%s: %s", out.Status, out.Message)
	}

	if out.Desired != nil && out.Desired.Kubeconfig != nil {
		rep := r.Preflight(ctx, out.Desired, true)
		for _, c := range rep.Checks {
			add("management-cluster."+c.Name, c.Result != "fail", "%s: %s", c.Result, c.Evidence)
		}
	}

	unit, err := unitshape.Observe(ctx, sd)
	if err != nil {
		return checks, err
	}
	driverChecks(ctx, unit, out.Desired, add)
	cloudChecks(ctx, r, unit, out.Desired, add)

	conf, confErr := files.ReadFile(reconcile.ConfFile, files.MaxTextFile)
	keys, _ := confprobe.Keys(conf)
	for i, svc := range unit.Services {
		name := svc.Name
		add(name+".running", svc.Running(), "%s/%s, main PID %d", svc.ActiveState, svc.SubState, svc.MainPID)
		if out.Desired == nil || i >= len(out.Desired.Wirings) {
			add(name+".wiring", false, "no desired wiring: %s", out.Message)
			continue
		}
		method := out.Desired.Wirings[i].Method
		if err := wiring.Check(method, svc.Cmdline); err != nil {
			add(name+".wiring", false, "%s: %v", method, err)
		} else {
			add(name+".wiring", true, "%s: %s", method, strings.Join(svc.Cmdline, " "))
		}
		switch {
		case confErr != nil:
			add(name+".conf-d", false, "%s: %v", reconcile.ConfFile, confErr)
		case !svc.Running():
			add(name+".conf-d", false, "not running")
		default:
			res, err := confprobe.Probe(ctx, unit.Python, "magnum", svc.Cmdline, keys)
			if err != nil {
				add(name+".conf-d", false, "%v", err)
				break
			}
			bad, err := confprobe.Mismatches(conf, res)
			switch {
			case err != nil:
				add(name+".conf-d", false, "%v", err)
			case len(bad) > 0:
				add(name+".conf-d", false, "oslo.config as magnum with the live arguments: %s", strings.Join(bad, ", "))
			default:
				add(name+".conf-d", true, "oslo.config as magnum with the live arguments resolves all %d keys of 99-capi.conf to its values", len(keys))
			}
		}
	}
	// Checked even when the desired state could not be computed: a
	// blocked unit is exactly when the watcher may have stopped.
	if err := watcherCheck(ctx, r, sd, add); err != nil {
		return checks, err
	}
	return checks, nil
}

// watcherCheck: the watcher runs, starts at boot, has not stopped
// re-grafting after failures, and its triggers reach the charm's hook: a
// re-graft juju-exec refuses or cannot deliver never runs, whatever the
// watcher's health otherwise.
func watcherCheck(ctx context.Context, r *reconcile.Reconciler, sd *systemd.Manager, add func(string, bool, string, ...any)) error {
	u, err := sd.Unit(ctx, watcher.ServiceName)
	if err != nil {
		return err
	}
	f, ferr := watcher.LoadFailures(r.State)
	t, terr := watcher.LoadTrigger(r.State)
	switch {
	case !u.Running() || u.UnitFileState != "enabled":
		add("watcher", false, "%s is %s/%s and %s: nothing re-grafts when Magnum changes until the regraft action", watcher.ServiceName, u.ActiveState, u.SubState, orNone(u.UnitFileState, "not installed"))
	case ferr != nil:
		add("watcher", false, "%v", ferr)
	case terr != nil:
		add("watcher", false, "%v", terr)
	case f.Stopped():
		add("watcher", false, "re-grafts stopped after %d failures in a row since %s, last: %s; fix the cause, then run the regraft action",
			f.Count, f.Since.Format(time.RFC3339), f.Reason)
	case t.Failed > 0:
		add("watcher", false, "the watcher's last %d re-graft triggers failed before the charm's hook could run its re-graft (last at %s): %s; it retries with backoff",
			t.Failed, t.Started.UTC().Format(time.RFC3339), t.Reason)
	default:
		msg := fmt.Sprintf("%s running (main PID %d), enabled; failed re-grafts in a row: %d", watcher.ServiceName, u.MainPID, f.Count)
		switch t.Outcome {
		case "":
			msg += "; no re-graft triggered yet"
		case watcher.TriggerWaiting:
			msg += "; a re-graft is " + t.Reason
		default:
			msg += fmt.Sprintf("; last trigger %s at %s", t.Outcome, t.Started.UTC().Format(time.RFC3339))
		}
		add("watcher", true, "%s", msg)
	}
	return nil
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// driverChecks proves the driver and helm the way the services will use
// them: as user magnum, with the services' PATH, in a fresh interpreter.
func driverChecks(ctx context.Context, unit *unitshape.Unit, d *reconcile.Desired, add func(string, bool, string, ...any)) {
	env := unit.ServicesEnv()
	if d == nil || d.Driver == nil {
		add("driver.entry-point", false, "the desired driver is not known: see status")
	} else {
		ds := d.Driver
		p, err := driver.Prove(ctx, &driver.Interpreter{Python: unit.Python}, "magnum", env, ds.Version, ds.ProveDir())
		if err != nil {
			add("driver.entry-point", false, "%v", err)
		} else {
			add("driver.entry-point", true, "%s:%s loads %s from %s %s at %s (Python %s, as magnum)",
				driver.EntryPointGroup, driver.EntryPointName, p.Object, p.Dist, p.Version, p.File, p.Python)
		}
	}
	l, err := driver.ListDrivers(ctx, "magnum", env)
	switch {
	case err != nil:
		add("driver.list-drivers", false, "%v", err)
	case !l.Supported:
		add("driver.list-drivers", true, "not supported on this Magnum: %s", l.Reason)
	case l.Listed:
		add("driver.list-drivers", true, "magnum-driver-manage list-drivers as magnum lists %s for %s",
			driver.EntryPointName, strings.Join(l.Provides, ", "))
	default:
		add("driver.list-drivers", false, "magnum-driver-manage list-drivers as magnum does not list %s (it lists %s)",
			driver.EntryPointName, strings.Join(l.Names, ", "))
	}
	path, version, err := helm.OnPath(ctx, unit)
	if err != nil {
		add("helm", false, "%v", err)
	} else {
		add("helm", true, "%s version --short as magnum (PATH %s, HOME %s): %s", path,
			strings.TrimPrefix(env[0], "PATH="), unitshape.MagnumHome, version)
	}
}
