package reconcile

import (
	"context"
	"os"
	"os/exec"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
)

// Systemd is what the reconcile and removal need of the unit's systemd.
// systemd.Manager is the real one; tests drive apply and removal with a
// fake, so their rollback paths run in milliseconds instead of in a box.
type Systemd interface {
	Unit(ctx context.Context, name string) (systemd.Unit, error)
	DaemonReload(ctx context.Context) error
	// Restart restarts a service and waits until it has settled; an error
	// that systemd.IsStartFailure recognises means the service did not
	// come up, any other means systemd could not be asked.
	Restart(ctx context.Context, name string, settle time.Duration) (systemd.Unit, error)
	Settle(ctx context.Context, name string, window time.Duration) (systemd.Unit, error)
	RestartNoSettle(ctx context.Context, name string) error
	Enable(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Disable(ctx context.Context, name string) error
	JournalTail(ctx context.Context, unit string, n int) string
	Close()
}

var _ Systemd = (*systemd.Manager)(nil)

// Env is what a reconcile takes from the process it runs in. A hook fills
// it with ProcessEnv; a test says what it needs, and an empty Env is a
// reconcile outside a hook (no watcher, no proxy).
type Env struct {
	// UnitName is the unit the charm runs for (JUJU_UNIT_NAME).
	UnitName string
	// Executable is the charm's binary, which the watcher runs ("": no
	// watcher is desired).
	Executable string
	// JujuExec is the juju-exec the watcher triggers re-grafts with.
	JujuExec string
	// Proxy is the model's proxy settings (proxy.FromJuju); the
	// process's own proxy variables are never used.
	Proxy proxy.Settings
}

// ProcessEnv reads Env from this process: Juju's hook environment and the
// binary it runs.
func ProcessEnv() Env {
	env := Env{
		UnitName: os.Getenv("JUJU_UNIT_NAME"),
		Proxy:    proxy.FromJuju(os.Getenv),
		JujuExec: watcher.DefaultJujuExec,
	}
	if exe, err := os.Executable(); err == nil {
		env.Executable = exe
	}
	if p, err := exec.LookPath("juju-exec"); err == nil {
		env.JujuExec = p
	}
	return env
}
