package reconcile

import (
	"context"
	"path/filepath"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// WatcherUnitPath is the watcher's systemd unit.
const WatcherUnitPath = watcher.UnitPath

// desireWatcher adds the watcher's unit file and watch list: it watches
// every path of the graft, Magnum's services, their /etc/default files and
// drop-in directories, and Magnum's packages. Outside a hook (a dry run
// from the CLI on a dev machine) there is no watcher.
func (r *Reconciler) desireWatcher(d *Desired) error {
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
		list.Paths = append(list.Paths, f.Path)
	}
	// The install tree and what the artifacts name in it: a version
	// directory removed (or the whole tree) leaves an activation naming
	// nothing.
	list.Paths = append(append(list.Paths, r.artifactContext(nil, Options{}).Root()), d.Watch...)
	for _, l := range d.Links {
		list.Paths = append(list.Paths, l.Path)
	}
	fs, err := watcher.Files(watcher.Install{Binary: r.Env.Executable, Unit: r.Env.UnitName, JujuExec: r.Env.JujuExec,
		WatchList: r.State.Path(state.WatchList)}, list)
	d.Files = append(d.Files, fs...)
	d.Watcher = len(fs) > 0
	return err
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
