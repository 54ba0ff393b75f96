package reconcile

import (
	"os"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
)

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

// App is the application name used in the commands a blocked status gives
// the operator.
func (e Env) App() string {
	if app, _, ok := strings.Cut(e.UnitName, "/"); ok {
		return app
	}
	return "magnum-capi-graft"
}

// ProcessEnv reads Env from this process: Juju's hook environment and the
// binary it runs.
func ProcessEnv() Env {
	env := Env{
		UnitName: os.Getenv("JUJU_UNIT_NAME"),
		Proxy:    proxy.FromJuju(os.Getenv),
		JujuExec: watcher.FindJujuExec(),
	}
	if exe, err := os.Executable(); err == nil {
		env.Executable = exe
	}
	return env
}
