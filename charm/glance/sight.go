package glance

import (
	"path/filepath"
	"slices"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/helm"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Observed is what a converged reconcile hands over to make its Sight.
type Observed struct {
	// Unit is the unit as the reconcile observed it.
	Unit *unitshape.Unit
	// Graft are the paths the desired state names (files, links,
	// directories, paths that must be absent, stamps); Trees the install
	// trees the watcher watches.
	Graft, Trees []string
	// Helm is the helm the services run, Kubeconfig the management
	// cluster's (either may be nil).
	Helm       *helm.Helm
	Kubeconfig *kubeconfig.Kubeconfig
	// State is the charm's state directory.
	State state.Dir
	// Watcher is the watcher's main process (nil: no watcher).
	Watcher *Process
	// Since is when the reconcile began to observe.
	Since time.Time
	// Due are the moments the full reconcile would answer otherwise
	// (a memo due again); a zero one means a memo is missing, and no
	// Sight is made.
	Due []time.Time
}

// unitDirs are where systemd finds a system unit and its drop-ins: the
// unit load path of systemd.unit(5) ("Table 1. Load path when running in
// system mode"; systemctl set-property writes to system.control), and
// /lib's twin of /usr/lib for a unit not yet merged-/usr.
var unitDirs = []string{"/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
	"/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached", "/run/systemd/system",
	"/run/systemd/system.attached", "/run/systemd/generator", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
	"/lib/systemd/system", "/run/systemd/generator.late"}

// SightOf lists what the reconcile read to find the unit converged: the
// graft's paths and the directories holding them, the trees, the services'
// unit files and drop-ins wherever systemd may find them, their init
// scripts, defaults and the directories on their PATH (where helm is
// looked for), magnum.conf, Magnum's interpreter and site directories,
// dpkg's status, the configuration the collision probe reads, the charm's
// state files, and the services' and the watcher's main processes. It is
// nil when a memo it would outlive is missing.
func SightOf(o Observed) *Sight {
	until := o.Since.Add(MaxAge)
	// The desired state depends on the clock in one place: what
	// validation says of the client certificate (its expiry warning, its
	// days left, its expiry).
	if next := o.Kubeconfig.CertTextChanges(o.Since); !next.IsZero() {
		o.Due = append(o.Due, next)
	}
	for _, due := range o.Due {
		if due.IsZero() {
			return nil
		}
		if due.Before(until) {
			until = due
		}
	}
	s := &Sight{Since: o.Since, Until: until, Trees: slices.Clone(o.Trees)}
	for _, p := range o.Graft {
		s.Paths = append(s.Paths, p)
		// A file added beside one of the graft's (another conf.d file,
		// another drop-in) changes its directory. Not the state
		// directory's, which every memo's atomic write changes.
		if dir := filepath.Dir(p); dir != string(o.State) {
			s.Paths = append(s.Paths, dir)
		}
	}
	// A service masked, or a unit file put in front of the package's.
	// magnum.conf is read for the services' endpoints and the options
	// conf.d overrides, whichever files the conductor names.
	s.Paths = append(s.Paths, "/etc/systemd/system", "/run/systemd/system", wiring.MagnumConf)
	if h := o.Helm; h != nil && h.Mode != helm.FromResource && h.Path != "" {
		// A helm not the charm's, replaced in place, leaves its
		// directory as it was.
		s.Paths = append(s.Paths, h.Path)
		if target, err := filepath.EvalSymlinks(h.Path); err == nil {
			s.Paths = append(s.Paths, target)
		}
	}
	s.seeServices(o.Unit)
	s.seePython(o.Unit)
	var cmdline []string
	if svc := o.Unit.Service("magnum-conductor"); svc != nil && svc.Running() {
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
			s.Paths = append(s.Paths, o.State.Path(name))
		}
	}
	if o.Watcher != nil {
		s.Processes = append(s.Processes, *o.Watcher)
	}
	s.Paths = slices.DeleteFunc(s.Paths, func(p string) bool { return p == "" })
	return s
}

// seeServices adds what each Magnum service is made of: its unit file and
// drop-ins wherever systemd may find them, its init script and its
// default file (read, for a block of the charm's to take out, even where
// nothing sources it), the directories on its PATH, and its main process
// when it runs.
func (s *Sight) seeServices(unit *unitshape.Unit) {
	for _, svc := range unit.Services {
		for _, dir := range unitDirs {
			s.Paths = append(s.Paths, dir+"/"+svc.Name+".service", dir+"/"+svc.Name+".service.d")
		}
		s.Paths = append(append(s.Paths, svc.FragmentPath, svc.InitScript, svc.DefaultFile, wiring.DefaultFilePath(svc.Name)),
			svc.DropInPaths...)
		for _, dir := range filepath.SplitList(svc.PATH) {
			if filepath.IsAbs(dir) {
				s.Paths = append(s.Paths, dir)
			}
		}
		if svc.Running() {
			s.Processes = append(s.Processes, Process{Service: svc.Name, PID: svc.MainPID})
		}
	}
}

// seePython adds Magnum's interpreter, its site directories and the .pth
// files in them (the collision probe reads them by content: one edited in
// place leaves its directory as it was), and dpkg's status.
func (s *Sight) seePython(unit *unitshape.Unit) {
	s.Paths = append(s.Paths, "/usr/bin/magnum-conductor", unit.Python, unit.MagnumDir)
	if unit.PythonVersion != "" {
		s.Paths = append(s.Paths, "/usr/lib/python"+unit.PythonVersion+"/EXTERNALLY-MANAGED")
	}
	for _, dir := range collision.SiteDirs(unit.PythonVersion) {
		pths, _ := filepath.Glob(filepath.Join(dir, "*.pth"))
		s.Paths = append(append(s.Paths, dir), pths...)
	}
}
