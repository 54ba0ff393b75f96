package watcher

import (
	"context"
	"os/exec"
	"path/filepath"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// ForGraft is the watch list of a graft whose own paths are graft (its
// files, links and install tree): those, Magnum's services with their
// /etc/default files and drop-in directories, and Magnum's packages.
func ForGraft(graft []string) WatchList {
	list := WatchList{
		Paths:    []string{wiring.ConfDir},
		Units:    []string{},
		Packages: []string{"magnum-api", "magnum-conductor", "magnum-common", "python3-magnum"},
	}
	for _, svc := range unitshape.Services {
		list.Paths = append(list.Paths, wiring.DefaultFilePath(svc), filepath.Dir(wiring.DropInPath(svc)))
		list.Units = append(list.Units, svc+".service")
	}
	list.Paths = append(list.Paths, graft...)
	return list
}

// FindJujuExec is juju-exec on PATH, else DefaultJujuExec.
func FindJujuExec() string {
	if p, err := exec.LookPath("juju-exec"); err == nil {
		return p
	}
	return DefaultJujuExec
}

// Ensure enables the watcher and (re)starts it when its unit file changed
// or it is not running. Unlike Magnum's services it is the charm's own, so
// starting it needs no one's leave.
func Ensure(ctx context.Context, sd systemd.Controller, unitFileChanged bool, logf func(string, ...any)) error {
	u, err := sd.Unit(ctx, ServiceName)
	if err != nil {
		return err
	}
	if u.UnitFileState != "enabled" {
		if err := sd.Enable(ctx, ServiceName); err != nil {
			return err
		}
	}
	if unitFileChanged || !u.Running() {
		logf("restart %s", ServiceName)
		return sd.RestartNoSettle(ctx, ServiceName)
	}
	return nil
}
