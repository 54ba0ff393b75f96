package reconcile

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// WatcherUnitPath is the watcher's systemd unit. The watcher is part of the
// graft: Juju gives a subordinate no hook when its principal changes, so the
// charm leaves a small service behind that notices and re-runs update-status.
const WatcherUnitPath = "/etc/systemd/system/" + watcher.ServiceName

// watchListPath is where the watcher reads what to watch.
func (r *Reconciler) watchListPath() string { return filepath.Join(r.StateDir, "watch.json") }

// desireWatcher adds the watcher's unit file and watch list to the desired
// state. It needs a unit name and the charm binary (hook context); outside
// one (a dry run from the CLI on a dev machine) it desires nothing.
func (r *Reconciler) desireWatcher(unit *unitshape.Unit, d *Desired) error {
	unitName := os.Getenv("JUJU_UNIT_NAME")
	binary, err := os.Executable()
	if unitName == "" || err != nil {
		return nil
	}
	fi, err := os.Stat(binary)
	if err != nil {
		return nil
	}
	jujuExec, err := exec.LookPath("juju-exec")
	if err != nil {
		jujuExec = watcher.DefaultJujuExec
	}
	build := fmt.Sprintf("%d-%d", fi.Size(), fi.ModTime().Unix())
	d.Files = append(d.Files, files.File{
		Path: WatcherUnitPath, Content: watcher.UnitFile(binary, unitName, r.watchListPath(), jujuExec, build),
		Mode: 0o644, Owner: "root", Group: "root", UnitFile: true,
	})

	list := watcher.WatchList{
		Paths:    []string{wiring.ConfDir, ConfFile, KubeconfigFile},
		Units:    []string{},
		Packages: []string{"magnum-api", "magnum-conductor", "magnum-common", "python3-magnum"},
	}
	for _, svc := range unitshape.Services {
		list.Paths = append(list.Paths, wiring.DefaultFilePath(svc), filepath.Dir(wiring.DropInPath(svc)))
		list.Units = append(list.Units, svc+".service")
	}
	for _, f := range d.Files {
		if f.Path != WatcherUnitPath {
			list.Paths = append(list.Paths, f.Path)
		}
	}
	// The driver's and helm's install tree: a version directory removed
	// (or the whole tree) leaves an activation naming nothing.
	list.Paths = append(list.Paths, InstallRoot, DriverRoot, HelmDir, HelmBinary)
	if d.Driver != nil && d.Driver.Dir != "" {
		list.Paths = append(list.Paths, d.Driver.Dir)
	}
	for _, l := range d.Links {
		list.Paths = append(list.Paths, l.Path)
	}
	b, err := list.Encode()
	if err != nil {
		return err
	}
	d.Files = append(d.Files, files.File{Path: r.watchListPath(), Content: b, Mode: 0o600, Owner: "root", Group: "root"})
	d.Watcher = true
	return nil
}

// ensureWatcher enables the watcher and (re)starts it when its unit file
// changed or it is not running. Unlike Magnum's services it is the charm's
// own, so starting it needs no one's leave.
func (r *Reconciler) ensureWatcher(ctx context.Context, unitFileChanged bool) error {
	sd, err := r.systemd(ctx)
	if err != nil {
		return err
	}
	u, err := sd.Unit(ctx, watcher.ServiceName)
	if err != nil {
		return err
	}
	if u.UnitFileState != "enabled" {
		if err := sd.Enable(ctx, watcher.ServiceName); err != nil {
			return err
		}
	}
	if unitFileChanged || !u.Running() {
		r.logf("restart %s", watcher.ServiceName)
		return sd.RestartNoSettle(ctx, watcher.ServiceName)
	}
	return nil
}

// removeWatcher stops and disables the watcher before its unit file goes,
// so it cannot re-graft what removal takes off. It reports whether there
// was a watcher to stop.
func (r *Reconciler) removeWatcher(ctx context.Context) (bool, error) {
	if _, err := os.Stat(WatcherUnitPath); err != nil {
		return false, nil
	}
	sd, err := r.units(ctx)
	if err != nil {
		return false, err
	}
	u, err := sd.Unit(ctx, watcher.ServiceName)
	if err != nil {
		return false, err
	}
	// A unit file someone changed is kept (see Remove): a later removal
	// hook finds its service already stopped and disabled.
	running := u.ActiveState != "" && u.ActiveState != "inactive" && u.ActiveState != "failed"
	if !running && u.UnitFileState != "enabled" {
		return false, nil
	}
	r.logf("stop and disable %s", watcher.ServiceName)
	if err := sd.Stop(ctx, watcher.ServiceName); err != nil {
		return false, err
	}
	return true, sd.Disable(ctx, watcher.ServiceName)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
