// Package reconcile is the charm's core. Every hook runs the same function:
// compute the desired state from config, secrets and resources, observe the
// unit, derive a plan (a value that a dry run prints), apply it, verify the
// effect on the live system, and say one status. A converged unit yields an
// empty plan: no writes, no daemon-reload, no restarts.
package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

const (
	// ConfFile is the graft's oslo.config drop-in.
	ConfFile = wiring.ConfDir + "/99-capi.conf"
	// KubeconfigFile is where Magnum's driver finds the management cluster.
	KubeconfigFile = "/etc/magnum/kubeconfig"
	// DefaultStateDir keeps the footprint and the last failure, root-only.
	// It is outside the charm directory so charm upgrades keep it.
	DefaultStateDir = "/var/lib/magnum-capi-graft"
)

// Reconciler carries what a reconcile needs from the outside world.
type Reconciler struct {
	Juju     hooktool.Tools
	StateDir string
	// Settle is how long a restarted service must stay up before it counts
	// as started.
	Settle time.Duration
	// Log receives progress lines (the action log in actions).
	Log func(string)

	sd *systemd.Manager
	// fakeUnits stands in for systemd in removal's tests.
	fakeUnits units
	// installRoot is where removal finds the charm's install tree
	// (InstallRoot unless a test points it elsewhere).
	installRoot string
}

// Outcome is what a reconcile did and what it says.
type Outcome struct {
	Status  hooktool.Status
	Message string
	Plan    *plan.Plan
	Applied bool
	// Desired and Unit are what the reconcile computed and last observed
	// (nil when it stopped before getting there).
	Desired *Desired
	Unit    *unitshape.Unit
}

// Options change how one reconcile runs.
type Options struct {
	// DryRun computes the plan and changes nothing.
	DryRun bool
	// Force ignores the memory of a failed attempt and of the last
	// preflight (the regraft action, a config or secret change).
	Force bool
}

// blocked is a problem a human must fix. The reconcile stops before changing
// anything and says it as the status.
type blocked struct{ msg string }

func (b blocked) Error() string { return b.msg }

func block(format string, args ...any) error { return blocked{fmt.Sprintf(format, args...)} }

// waiting is something the charm waits for (a paused principal).
type waiting struct{ msg string }

func (w waiting) Error() string { return w.msg }

func (r *Reconciler) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(fmt.Sprintf(format, args...))
	}
}

// Close releases the systemd connection.
func (r *Reconciler) Close() {
	if r.sd != nil {
		r.sd.Close()
	}
}

func (r *Reconciler) systemd(ctx context.Context) (*systemd.Manager, error) {
	if r.sd == nil {
		sd, err := systemd.Connect(ctx)
		if err != nil {
			return nil, err
		}
		r.sd = sd
	}
	return r.sd, nil
}

// Desired is the unit as the operator asked for it.
type Desired struct {
	Config  Config
	Dirs    []files.Dir
	Files   []files.File
	Absent  []files.File
	Wirings []wiring.Wiring
	// Kubeconfig is the validated management-cluster kubeconfig, and
	// Warnings what validation said without refusing it.
	Kubeconfig *kubeconfig.Kubeconfig
	Warnings   string
	// Watcher is set when the watcher is part of the desired state.
	Watcher bool
	// Links are symbolic links the charm wants (helm on the services' PATH).
	Links []files.Symlink
	// Stamps are files whose change since a service started means that
	// service must restart (a package the driver comes from).
	Stamps []string
	// Driver and Helm are the driver and helm as wanted.
	Driver *DriverState
	Helm   *HelmState
	// Hash identifies this desired state (secret content included, hashed).
	Hash string
}

// Reconcile runs one holistic reconcile.
func (r *Reconciler) Reconcile(ctx context.Context, opts Options) Outcome {
	out, err := r.reconcile(ctx, opts)
	var b blocked
	var w waiting
	switch {
	case errors.As(err, &b):
		out.Status, out.Message = hooktool.Blocked, b.msg
	case errors.As(err, &w):
		out.Status, out.Message = hooktool.Waiting, w.msg
	case err != nil:
		out.Status, out.Message = hooktool.Blocked, err.Error()
	}
	return out
}

func (r *Reconciler) reconcile(ctx context.Context, opts Options) (Outcome, error) {
	out := Outcome{Plan: &plan.Plan{}}
	sd, err := r.systemd(ctx)
	if err != nil {
		return out, err
	}
	unit, err := unitshape.Observe(ctx, sd)
	if err != nil {
		return out, err
	}
	out.Unit = unit
	if unit.MagnumVersion == "" && allMissing(unit) {
		return out, block("Magnum is not installed on this machine: relate magnum-capi-graft to the magnum application (juju relate magnum-capi-graft magnum)")
	}
	fp, err := files.LoadFootprint(r.StateDir)
	if err != nil {
		return out, err
	}
	desired, err := r.Desire(ctx, unit, fp, opts)
	if err != nil {
		return out, err
	}
	out.Desired = desired
	if !opts.Force && !opts.DryRun {
		if msg, ok := r.failedBefore(desired.Hash); ok {
			return out, block("%s (fix the config, or run the regraft action to try again)", msg)
		}
	}
	if !opts.DryRun {
		// Install what the plan will activate: helm (proved before it is
		// put in place) and the driver's version directory or package.
		if err := r.stageHelm(ctx, unit, desired.Helm); err != nil {
			return out, err
		}
		if err := r.stageDriver(ctx, desired.Driver); err != nil {
			return out, err
		}
	}
	p, err := Diff(desired, unit)
	if err != nil {
		return out, err
	}
	out.Plan = p
	if opts.DryRun {
		if err := r.verdict(unit, desired, &out); err != nil {
			return out, err
		}
		out.Message = desired.toolsSummary() + "; " + out.Message
		return out, nil
	}
	if p.Empty() {
		// Nothing changes, but a forced hook still proves the driver.
		if err := r.proveDriver(ctx, unit, desired.Driver); err != nil {
			return out, block("%s does not load as user magnum: %v", desired.Driver.Summary(), err)
		}
	} else {
		if err := r.apply(ctx, p, desired, fp, unit); err != nil {
			return out, err
		}
		out.Applied = true
		if unit, err = unitshape.Observe(ctx, sd); err != nil {
			return out, err
		}
		out.Unit = unit
	}
	// Every wanted path is now as the charm wants it: a footprint from an
	// earlier revision of the charm learns which content is the charm's.
	if err := fp.Adopt(desired.paths()...); err != nil {
		return out, err
	}
	r.clearFailure()
	if err := r.commitDriver(ctx, unit, desired.Driver); err != nil {
		return out, err
	}
	if err := r.commitHelm(unit, desired.Helm); err != nil {
		return out, err
	}
	if desired.Watcher {
		if err := r.ensureWatcher(ctx, changed(p, WatcherUnitPath)); err != nil {
			return out, err
		}
	}
	if err := r.verdict(unit, desired, &out); err != nil {
		return out, err
	}
	out.Message = desired.toolsSummary() + "; " + out.Message
	// The graft is in place; before saying active, make sure this unit can
	// drive the management cluster with this kubeconfig and driver.
	rep := r.Preflight(ctx, desired, opts.Force)
	if !rep.OK() {
		return out, block("%s (the graft is applied; fix the management cluster or the kubeconfig)", rep.BlockedStatus())
	}
	out.Message += desired.Warnings + rep.WarningSuffix()
	return out, nil
}

func changed(p *plan.Plan, path string) bool {
	for _, c := range p.Changes {
		if c.Path == path {
			return true
		}
	}
	return false
}

func allMissing(u *unitshape.Unit) bool {
	for _, s := range u.Services {
		if s.Shape != unitshape.Missing {
			return false
		}
	}
	return true
}

// Desire computes the desired state. Everything the operator can get wrong
// is checked here, before the plan, so bad input changes nothing.
func (r *Reconciler) Desire(ctx context.Context, unit *unitshape.Unit, fp *files.Footprint, opts Options) (*Desired, error) {
	raw, err := r.Juju.ConfigGet(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, blocked{err.Error()}
	}
	if err := confd.Validate(raw, cfg.DriverVersion); err != nil {
		return nil, blocked{err.Error()}
	}
	kcData, kc, warnings, err := r.kubeconfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	conf, err := confd.Render(raw, cfg.DriverVersion, KubeconfigFile)
	if err != nil {
		return nil, blocked{err.Error()}
	}
	both := append([]string{}, unitshape.Services...)
	d := &Desired{Config: cfg, Kubeconfig: kc, Warnings: warnings}
	d.Dirs = append(d.Dirs, files.Dir{Path: wiring.ConfDir, Mode: 0o750, Owner: "root", Group: "magnum"})
	d.Files = append(d.Files,
		files.File{Path: ConfFile, Content: conf, Mode: 0o640, Owner: "root", Group: "magnum", Restarts: both},
		files.File{Path: KubeconfigFile, Content: kcData, Mode: 0o640, Owner: "root", Group: "magnum", Restarts: both, Secret: true},
	)
	priorExisted := func(p string) bool { return fp.Entries[p].Exists }
	for i := range unit.Services {
		svc := &unit.Services[i]
		if svc.Masked() {
			// A masked unit's shape cannot be read (its unit file is
			// /dev/null). Leave its wiring exactly as it is until it is
			// resumed; the verdict says the charm is waiting.
			d.Wirings = append(d.Wirings, wiring.Wiring{Service: svc.Name, Method: wiring.ByPaused})
			continue
		}
		w, err := wiring.Desire(svc, cfg.Wiring, priorExisted)
		if err != nil {
			return nil, blocked{err.Error()}
		}
		d.Wirings = append(d.Wirings, w)
		d.Dirs = append(d.Dirs, w.Dirs...)
		d.Files = append(d.Files, w.Files...)
		for _, p := range w.Absent {
			d.Absent = append(d.Absent, files.File{Path: p, Restarts: []string{svc.Name},
				UnitFile: strings.HasPrefix(p, "/etc/systemd/")})
		}
		if w.Method == wiring.ByDefaultDirs {
			if err := checkOverrides(svc.Name, conf); err != nil {
				return nil, err
			}
		}
	}
	if err := r.desireHelm(ctx, unit, d, opts); err != nil {
		return nil, err
	}
	if err := r.desireDriver(ctx, unit, d, opts); err != nil {
		return nil, err
	}
	if err := r.desireWatcher(unit, d); err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, f := range d.Files {
		fmt.Fprintf(h, "%s\x00%o\x00%s:%s\x00", f.Path, f.Mode, f.Owner, f.Group)
		h.Write(f.Content)
	}
	for _, f := range d.Absent {
		fmt.Fprintf(h, "absent %s\x00", f.Path)
	}
	for _, l := range d.Links {
		fmt.Fprintf(h, "link %s %s\x00", l.Path, l.Target)
	}
	fmt.Fprintf(h, "driver %s %s %s %s\x00helm %s\x00", d.Driver.Source, d.Driver.Version, d.Driver.sha256, d.Driver.Package, d.Helm.sha256)
	d.Hash = hex.EncodeToString(h.Sum(nil))
	return d, nil
}

// paths lists every path the desired state names.
func (d *Desired) paths() []string {
	var ps []string
	for _, x := range d.Dirs {
		ps = append(ps, x.Path)
	}
	for _, x := range d.Files {
		ps = append(ps, x.Path)
	}
	for _, x := range d.Absent {
		ps = append(ps, x.Path)
	}
	for _, x := range d.Links {
		ps = append(ps, x.Path)
	}
	return ps
}

// checkOverrides refuses a graft that a service would not see: a service
// wired by default-dirs reads conf.d BEFORE magnum.conf, so any key both set
// is magnum.conf's.
func checkOverrides(svc string, ours []byte) error {
	magnumConf, err := files.ReadFile(wiring.MagnumConf, files.MaxTextFile)
	if err != nil {
		return nil // No magnum.conf: nothing overrides.
	}
	if keys := confd.Overridden(magnumConf, ours); len(keys) > 0 {
		return block("%s sets %s, which %s reads after 99-capi.conf: remove it there or set service-wiring=default-file",
			wiring.MagnumConf, strings.Join(keys, ", "), svc)
	}
	return nil
}

// Diff derives the plan that takes the observed unit to the desired one.
func Diff(d *Desired, unit *unitshape.Unit) (*plan.Plan, error) {
	p := &plan.Plan{}
	for _, dir := range d.Dirs {
		c, err := files.DiffDir(dir)
		if err != nil {
			return nil, err
		}
		if c != nil {
			p.Add(*c)
		}
	}
	for _, f := range d.Files {
		c, err := files.DiffFile(f)
		if err != nil {
			return nil, err
		}
		if c != nil {
			p.Add(*c)
		}
	}
	// Leftovers of a write a killed hook never finished: removed, with
	// no restart (no service reads them) and no footprint entry.
	var written []string
	for _, f := range d.Files {
		written = append(written, f.Path)
	}
	for _, l := range d.Links {
		written = append(written, l.Path)
	}
	for _, path := range written {
		stale, err := files.StaleTemps(path)
		if err != nil {
			return nil, err
		}
		for _, s := range stale {
			p.Add(plan.Change{Kind: plan.Remove, Path: s, Why: "left by an interrupted write", Scratch: true})
		}
	}
	for _, f := range d.Absent {
		if _, err := os.Lstat(f.Path); err == nil {
			p.Add(plan.Change{Kind: plan.Remove, Path: f.Path, Why: "no longer wanted", Restarts: f.Restarts, UnitFile: f.UnitFile})
		}
	}
	for _, l := range d.Links {
		c, err := files.DiffSymlink(l)
		if err != nil {
			return nil, err
		}
		if c != nil {
			p.Add(*c)
		}
	}
	// The live system is the truth: a service whose process does not keep
	// the wiring's promise, or that started before a file it reads last
	// changed, must restart even when every file is already right (a hook
	// that died between write and restart, a hand edit reverted by us).
	for i, w := range d.Wirings {
		svc := unit.Services[i]
		if !svc.Running() {
			continue
		}
		if err := wiring.Check(w.Method, svc.Cmdline); err != nil {
			p.NeedRestart(svc.Name, err.Error())
			continue
		}
		for _, f := range d.Files {
			if !reads(f, svc.Name) {
				continue
			}
			if fi, err := os.Stat(f.Path); err == nil && fi.ModTime().After(svc.StartedAt) {
				p.NeedRestart(svc.Name, filepath.Base(f.Path)+" changed since it started")
			}
		}
		for _, stamp := range d.Stamps {
			if fi, err := os.Stat(stamp); err == nil && fi.ModTime().After(svc.StartedAt) {
				p.NeedRestart(svc.Name, filepath.Base(stamp)+" changed since it started")
			}
		}
		if d.Driver != nil && d.Driver.restartReason != "" {
			p.NeedRestart(svc.Name, d.Driver.restartReason)
		}
	}
	p.Order(unitshape.Services)
	// Restarts the unit cannot take now are said, not done.
	var keep []plan.Restart
	for _, rs := range p.Restarts {
		svc := unit.Service(rs.Service)
		switch {
		case svc == nil:
		case svc.Masked():
			p.Skipped = append(p.Skipped, fmt.Sprintf("restart %s: masked (paused); it reads the graft when resumed", rs.Service))
		case !svc.Running():
			p.Skipped = append(p.Skipped, fmt.Sprintf("restart %s: not running; it reads the graft when started", rs.Service))
		default:
			keep = append(keep, rs)
		}
	}
	p.Restarts = keep
	return p, nil
}

func reads(f files.File, svc string) bool {
	for _, s := range f.Restarts {
		if s == svc {
			return true
		}
	}
	return false
}

// apply executes the plan. If a restarted service fails to come up with the
// new files, every changed path is put back as it was observed, the services
// restart on the old files, and the failure is remembered so later hooks do
// not retry the same bad graft.
func (r *Reconciler) apply(ctx context.Context, p *plan.Plan, d *Desired, fp *files.Footprint, unit *unitshape.Unit) error {
	type undo struct {
		path  string
		st    files.Stat
		mtime time.Time
	}
	var undos []undo
	for _, c := range p.Changes {
		r.logf("%s", c.String())
		if c.Scratch {
			if err := files.Apply(c); err != nil {
				return err
			}
			continue
		}
		if err := fp.Remember(c.Path); err != nil {
			return err
		}
		st, err := files.Read(c.Path)
		if err != nil {
			return err
		}
		u := undo{path: c.Path, st: st}
		if fi, err := os.Lstat(c.Path); err == nil && fi.Mode().IsRegular() {
			u.mtime = fi.ModTime()
		}
		undos = append(undos, u)
		if err := files.Apply(c); err != nil {
			return err
		}
	}
	// The driver must load, as magnum, with the activation the plan left,
	// before any service restarts into it: an import error in any driver
	// breaks every driver lookup.
	if err := r.proveDriver(ctx, unit, d.Driver); err != nil {
		for i := len(undos) - 1; i >= 0; i-- {
			if perr := files.PutBack(undos[i].path, undos[i].st); perr != nil {
				return fmt.Errorf("roll back %s: %w (after: %v)", undos[i].path, perr, err)
			}
			// The services run on these very bytes: with the old mtime
			// back, the next hook does not restart them for a change
			// that never reached them.
			if !undos[i].mtime.IsZero() {
				_ = os.Chtimes(undos[i].path, time.Time{}, undos[i].mtime)
			}
		}
		r.unstageDriver(ctx, d.Driver)
		msg := fmt.Sprintf("%s does not load as user magnum, so it was not activated and no service restarted: %v", d.Driver.Summary(), err)
		r.rememberFailure(d.Hash, msg)
		return blocked{msg}
	}
	sd, err := r.units(ctx)
	if err != nil {
		return err
	}
	if p.Reload {
		r.logf("daemon-reload")
		if err := sd.DaemonReload(ctx); err != nil {
			return err
		}
	}
	var restarted []string
	for _, rs := range p.Restarts {
		r.logf("restart %s (%s)", rs.Service, strings.Join(rs.Because, ", "))
		restarted = append(restarted, rs.Service)
		_, err := sd.Restart(ctx, rs.Service+".service", r.Settle)
		if err == nil {
			continue
		}
		journal := systemd.JournalTail(ctx, rs.Service+".service", 3)
		r.logf("%s failed to start with the new graft: %v; rolling back", rs.Service, err)
		for i := len(undos) - 1; i >= 0; i-- {
			if perr := files.PutBack(undos[i].path, undos[i].st); perr != nil {
				return fmt.Errorf("roll back %s: %w (after: %v)", undos[i].path, perr, err)
			}
		}
		if p.Reload {
			_ = sd.DaemonReload(ctx)
		}
		for _, svc := range restarted {
			if _, rerr := sd.Restart(ctx, svc+".service", r.Settle); rerr != nil {
				r.logf("%s did not come back after the rollback: %v", svc, rerr)
			}
		}
		r.unstageDriver(ctx, d.Driver)
		msg := fmt.Sprintf("%s failed to start with the new graft and was rolled back: %v", rs.Service, err)
		if journal != "" {
			msg += "; journal: " + oneLine(journal, 300)
		}
		r.rememberFailure(d.Hash, msg)
		return blocked{msg}
	}
	// The graft is in place and the services took it: mark each path as
	// the charm left it, so removal can tell what others change later.
	var paths []string
	for _, c := range p.Changes {
		paths = append(paths, c.Path)
	}
	return fp.Confirm(paths...)
}

// verdict checks the live system after the plan and sets the one status.
func (r *Reconciler) verdict(unit *unitshape.Unit, d *Desired, out *Outcome) error {
	var parts, problems, waits []string
	for i, w := range d.Wirings {
		svc := unit.Services[i]
		parts = append(parts, fmt.Sprintf("%s (%s)", strings.TrimPrefix(svc.Name, "magnum-"), w.Method))
		switch {
		case svc.Masked():
			waits = append(waits, svc.Name+" is masked (paused)")
		case !svc.Running():
			waits = append(waits, svc.Name+" is not running")
		case out.DryRunPending(svc.Name):
		default:
			if err := wiring.Check(w.Method, svc.Cmdline); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", svc.Name, err))
			}
		}
	}
	switch {
	case len(problems) > 0:
		return block("%s", strings.Join(problems, "; "))
	case len(waits) > 0:
		return waiting{strings.Join(waits, "; ") + "; the graft is in place and applies when it runs"}
	}
	out.Status = hooktool.Active
	out.Message = "conf.d read by " + strings.Join(parts, " + ")
	return nil
}

// DryRunPending reports whether a dry run's plan restarts svc (so its live
// command line is not expected to keep the promise yet).
func (o *Outcome) DryRunPending(svc string) bool {
	if o.Applied || o.Plan == nil {
		return false
	}
	for _, r := range o.Plan.Restarts {
		if r.Service == svc {
			return true
		}
	}
	return false
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[len(s)-max:]
	}
	return s
}

// toolsSummary is the driver's and helm's part of the status.
func (d *Desired) toolsSummary() string {
	var parts []string
	if d.Driver != nil {
		parts = append(parts, d.Driver.Summary())
	}
	if d.Helm != nil {
		parts = append(parts, d.Helm.Summary())
	}
	return strings.Join(parts, " + ")
}
