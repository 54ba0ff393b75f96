package reconcile

import (
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
)

// desireWatcher adds the watcher's unit file and watch list: it watches
// every path of the graft (watcher.ForGraft). Outside a hook (a dry run
// from the CLI on a dev machine) there is no watcher.
func (r *Reconciler) desireWatcher(d *Desired) error {
	// The install tree and what the artifacts name in it: a version
	// directory removed (or the whole tree) leaves an activation naming
	// nothing.
	graft := append([]string{ConfFile, KubeconfigFile, r.artifactContext(nil, Options{}).Root()}, d.Watch...)
	for _, f := range d.Files {
		graft = append(graft, f.Path)
	}
	for _, l := range d.Links {
		graft = append(graft, l.Path)
	}
	fs, err := watcher.Files(watcher.Install{Binary: r.Env.Executable, Unit: r.Env.UnitName, JujuExec: r.Env.JujuExec,
		WatchList: r.State.Path(state.WatchList)}, watcher.ForGraft(graft))
	d.Files = append(d.Files, fs...)
	d.Watcher = len(fs) > 0
	return err
}
