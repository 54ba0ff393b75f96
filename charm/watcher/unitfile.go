package watcher

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

// ServiceName is the watcher's systemd unit.
const ServiceName = "magnum-capi-graft-watcher.service"

// UnitPath is the watcher's systemd unit. The watcher is part of the
// graft: Juju gives a subordinate no hook when its principal changes, so
// the charm leaves a small service behind that notices and re-runs
// update-status.
const UnitPath = "/etc/systemd/system/" + ServiceName

// UnitFile renders the watcher's systemd unit: the charm binary at binary
// running `watch` for the Juju unit unitName with the watch list at
// watchList. The output depends only on the arguments, so the charm can
// compare it with what is installed and skip the daemon-reload when equal.
//
// jujuExec is the juju-exec the watcher runs (found in the hook's PATH, where
// Juju puts its tools), and build identifies the charm binary: when an
// upgrade-charm replaces the binary the unit file changes with it, so the
// charm's plan restarts the watcher onto the new one.
func UnitFile(binary, unitName, watchList, jujuExec, build string) []byte {
	opts := []*unit.UnitOption{
		unit.NewUnitOption("Unit", "Description", "magnum-capi-graft watcher: re-grafts magnum-capi-helm when Magnum changes"),
		// Ordered after Magnum's services so that their start at boot is
		// not taken as a change; not Wants=, because the watcher must never
		// start a service that charm-magnum's pause has stopped.
		unit.NewUnitOption("Unit", "After", "magnum-api.service magnum-conductor.service"),
		unit.NewUnitOption("Service", "Type", "simple"),
		unit.NewUnitOption("Service", "Environment", "MAGNUM_CAPI_GRAFT_BUILD="+build),
		unit.NewUnitOption("Service", "ExecStart", execLine(binary, "watch", "--unit", unitName, "--watch-list", watchList, "--juju-exec", jujuExec)),
		// The watcher exits when it loses systemd's D-Bus connection
		// (systemd re-executing after an upgrade); coming back is the fix.
		unit.NewUnitOption("Service", "Restart", "always"),
		unit.NewUnitOption("Service", "RestartSec", "5"),
		// A cap far above the watcher's few MB, so that a leak costs the
		// watcher a restart rather than costing the unit memory.
		unit.NewUnitOption("Service", "MemoryMax", "64M"),
		unit.NewUnitOption("Install", "WantedBy", "multi-user.target"),
	}
	// Serialize writes to a bytes.Buffer, which cannot fail.
	out, _ := io.ReadAll(unit.Serialize(opts))
	return out
}

// execLine quotes argv for an ExecStart= line, where systemd splits on
// whitespace, honours quotes and backslashes, and expands %specifiers and
// $VARIABLES: a path containing any of those must come through literally.
func execLine(argv ...string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		a = strings.ReplaceAll(a, "%", "%%")
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
			quoted[i] = a
			continue
		}
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`)
		quoted[i] = `"` + r.Replace(a) + `"`
	}
	return strings.Join(quoted, " ")
}

// Install is how the charm runs the watcher.
type Install struct {
	// Binary is the charm's binary and Unit the Juju unit it runs for;
	// without either (outside a hook) there is no watcher.
	Binary, Unit string
	// JujuExec is the juju-exec that triggers re-grafts.
	JujuExec string
	// WatchList is where the watch list is kept.
	WatchList string
}

// Files are the watcher's unit file and watch list as the graft wants
// them, for list; none outside a hook.
func Files(in Install, list WatchList) ([]files.File, error) {
	if in.Unit == "" || in.Binary == "" {
		return nil, nil
	}
	fi, err := os.Stat(in.Binary)
	if err != nil {
		return nil, nil
	}
	build := fmt.Sprintf("%d-%d", fi.Size(), fi.ModTime().Unix())
	b, err := list.Encode()
	if err != nil {
		return nil, err
	}
	return []files.File{
		{Path: UnitPath, Content: UnitFile(in.Binary, in.Unit, in.WatchList, in.JujuExec, build),
			Mode: 0o644, Owner: "root", Group: "root", UnitFile: true},
		{Path: in.WatchList, Content: b, Mode: 0o600, Owner: "root", Group: "root"},
	}, nil
}
