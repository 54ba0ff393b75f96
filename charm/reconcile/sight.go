package reconcile

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/chart"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/glance"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/helm"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// unitDirs are where systemd finds a system unit and its drop-ins: the
// unit load path of systemd.unit(5) ("Table 1. Load path when running in
// system mode"; systemctl set-property writes to system.control), and
// /lib's twin of /usr/lib for a unit not yet merged-/usr.
var unitDirs = []string{"/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
	"/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached", "/run/systemd/system",
	"/run/systemd/system.attached", "/run/systemd/generator", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
	"/lib/systemd/system", "/run/systemd/generator.late"}

// glanceable reports that out, what Reconcile ended with, may be glanced at
// by the next update-status instead of reconciled: the unit is active and
// converged, nothing was applied, and nothing is left for the next hook to
// retry.
func (out *Outcome) glanceable(opts Options) bool {
	return !opts.DryRun && out.Status == hooktool.Active && !out.Applied && !out.Staged && out.Plan != nil && out.Plan.Empty() &&
		out.Unit != nil && out.Desired != nil && !out.retry
}

// sight lists what this reconcile read to find the unit converged (see
// charm/glance): every path the desired state names and the directories
// holding them, the trees the watcher watches, the services' unit files
// and drop-ins wherever systemd may find them, their init scripts,
// defaults and the directories on their PATH (where helm is looked for),
// Magnum's interpreter and site directories, dpkg's status, the
// configuration the collision probe reads, the charm's state files, and
// the services' and the watcher's main processes. It is nil when the
// memos it would outlive cannot be read.
func (r *Reconciler) sight(ctx context.Context, unit *unitshape.Unit, d *Desired, since time.Time) *glance.Sight {
	until := since.Add(glance.MaxAge)
	for _, due := range []time.Time{kubeconfig.PreflightDue(r.State), chart.Due(r.State)} {
		if due.IsZero() {
			return nil
		}
		if due.Before(until) {
			until = due
		}
	}
	// The desired state depends on the clock in one place: what
	// validation says of the client certificate (its expiry warning, its
	// days left, its expiry).
	if next := d.Kubeconfig.CertTextChanges(since); !next.IsZero() && next.Before(until) {
		until = next
	}
	s := &glance.Sight{Since: since, Until: until, Trees: append([]string(nil), d.Watch...)}
	for _, p := range append(d.Paths(), d.Stamps...) {
		s.Paths = append(s.Paths, p)
		// A file added beside one of the graft's (another conf.d file,
		// another drop-in) changes its directory. Not the state
		// directory's, which every memo's atomic write changes.
		if dir := filepath.Dir(p); dir != string(r.State) {
			s.Paths = append(s.Paths, dir)
		}
	}
	// A service masked, or a unit file put in front of the package's.
	// magnum.conf is read for the services' endpoints and the options
	// conf.d overrides, whichever files the conductor names.
	s.Paths = append(s.Paths, "/etc/systemd/system", "/run/systemd/system", wiring.MagnumConf)
	if h := d.Helm; h != nil && h.Mode != helm.FromResource && h.Path != "" {
		// A helm not the charm's, replaced in place, leaves its
		// directory as it was.
		s.Paths = append(s.Paths, h.Path)
		if target, err := filepath.EvalSymlinks(h.Path); err == nil {
			s.Paths = append(s.Paths, target)
		}
	}
	seeServices(s, unit)
	seePython(s, unit)
	var cmdline []string
	if svc := unit.Service("magnum-conductor"); svc != nil && svc.Running() {
		cmdline = svc.Cmdline
	}
	cfgFiles, cfgDirs := collision.ConfigPaths(cmdline)
	s.Paths = append(s.Paths, cfgFiles...)
	s.Trees = append(s.Trees, cfgDirs...)
	for _, name := range state.Files {
		switch name {
		case state.Inputs, state.Glance, state.RegraftTrigger, state.RegraftFailures:
			// The inputs enter as the record's digest; the glance
			// record is what is being written; the watcher's own
			// records change with each of its triggers and are not
			// read by a reconcile.
		default:
			s.Paths = append(s.Paths, r.State.Path(name))
		}
	}
	if d.Watcher && r.Systemd != nil {
		u, err := r.Systemd.Unit(ctx, watcher.ServiceName)
		if err != nil || !u.Running() {
			return nil
		}
		s.Processes = append(s.Processes, glance.Process{Service: strings.TrimSuffix(watcher.ServiceName, ".service"), PID: u.MainPID})
	}
	s.Paths = slices.DeleteFunc(s.Paths, func(p string) bool { return p == "" })
	return s
}

// seeServices adds what each Magnum service is made of: its unit file and
// drop-ins wherever systemd may find them, its init script and defaults,
// the directories on its PATH (where helm is looked for), and its main
// process when it runs.
func seeServices(s *glance.Sight, unit *unitshape.Unit) {
	for _, svc := range unit.Services {
		for _, dir := range unitDirs {
			s.Paths = append(s.Paths, dir+"/"+svc.Name+".service", dir+"/"+svc.Name+".service.d")
		}
		// The default file is read (for a block of the charm's to take
		// out) even where nothing sources it.
		s.Paths = append(append(s.Paths, svc.FragmentPath, svc.InitScript, svc.DefaultFile, wiring.DefaultFilePath(svc.Name)),
			svc.DropInPaths...)
		for _, dir := range filepath.SplitList(svc.PATH) {
			if filepath.IsAbs(dir) {
				s.Paths = append(s.Paths, dir)
			}
		}
		if svc.Running() {
			s.Processes = append(s.Processes, glance.Process{Service: svc.Name, PID: svc.MainPID})
		}
	}
}

// seePython adds Magnum's interpreter, its site directories and the .pth
// files in them (the collision probe reads them by content: one edited in
// place leaves its directory as it was), and dpkg's status.
func seePython(s *glance.Sight, unit *unitshape.Unit) {
	s.Paths = append(s.Paths, "/usr/bin/magnum-conductor", unit.Python, unit.MagnumDir)
	if unit.PythonVersion != "" {
		s.Paths = append(s.Paths, "/usr/lib/python"+unit.PythonVersion+"/EXTERNALLY-MANAGED")
	}
	for _, dir := range collision.SiteDirs(unit.PythonVersion) {
		pths, _ := filepath.Glob(filepath.Join(dir, "*.pth"))
		s.Paths = append(append(s.Paths, dir), pths...)
	}
}
