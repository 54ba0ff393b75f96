// Package agent is the fake unit agent's uniter for the test bed, run with
// Juju's own pieces wherever the charm can tell the difference: each
// operation serves Juju's jujuc RPC server over a hookcontext.Context, the
// machine lock is Juju's (core/machinelock), the hook environment follows
// HookContext.HookVars, action parameters are validated and defaulted by
// Juju's charm package, and juju-exec's commands run through Juju's
// executor (/bin/bash -s in the charm directory).
//
// The uniter's discipline, as juju/juju's internal/worker/uniter (3.6) has
// it and as seen on a real Juju 4.0:
//   - One operation at a time per unit: the resolver loop
//     (internal/worker/uniter/resolver/loop.go) runs hooks, actions (parallel
//     or not) and juju-exec commands one after another. Here an flock on the
//     unit's operation lock serialises them across processes.
//   - The machine lock for everything but actions declared `parallel: true`
//     (operation/runaction.go NeedsGlobalMachineLock), shared by every unit
//     on the machine.
package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/juju/clock"
	"github.com/juju/cmd/v3"
	jujuerrors "github.com/juju/errors"
	"github.com/juju/loggo"
	"github.com/juju/proxy"

	"github.com/juju/juju/core/machinelock"
	"github.com/juju/juju/internal/worker/uniter/runner/jujuc"
	"github.com/juju/juju/juju/sockets"
	jujuversion "github.com/juju/juju/version"

	"github.com/juju/juju/magnum-capi-graft-testbed/hookcontext"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// AgentPATH is the PATH the unit agent itself runs with, which Juju puts
// after the tools directory in every hook's PATH (context/env.go,
// appendPath). jujud runs as a systemd service, whose default PATH this is.
const AgentPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Agent runs operations for one unit.
type Agent struct {
	Paths fakejuju.Paths
	// MachineLockLog is machinelock's log file; empty means
	// /var/log/juju/machine-lock.log, where a machine agent keeps it.
	MachineLockLog string
	// Stderr receives the agent's own diagnostics.
	Stderr io.Writer
}

// kind is what an operation runs, for context ids and lock comments.
type operation struct {
	// name is the hook's or action's name, or "run-commands".
	name string
	// action is the action's id; empty for hooks and juju-exec.
	action string
	// parallel skips the machine lock.
	parallel bool
	// env are the operation's own variables on top of HookVars.
	env []string
	// begin, when set, runs once the locks are held, before the context:
	// an action becomes the unit's running action only when it runs.
	begin func() error
	// relation is what a relation hook runs for; nil otherwise.
	relation *fakejuju.RelationHook
}

// run takes the unit's operation lock and (unless parallel) the machine
// lock, serves the hook tools for a fresh context, and calls fn with the
// context's environment. When fn says the operation succeeded, what it
// changed in its relations is committed, as the uniter's runner does
// (runner.go: the context's Flush after every hook, action and juju-exec
// command, which commits only when given no error); a commit that fails
// fails the operation.
func (a *Agent) run(op operation, fn func(env []string) (succeeded bool, err error)) error {
	release, err := flock(a.Paths.OperationLock())
	if err != nil {
		return fmt.Errorf("cannot take the unit's operation lock: %w", err)
	}
	defer release()
	if !op.parallel {
		unlock, err := a.machineLock(op)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if op.begin != nil {
		if err := op.begin(); err != nil {
			return err
		}
	}
	id, err := contextID(a.Paths.Unit, op.name)
	if err != nil {
		return err
	}
	hctx := hookcontext.New(hookcontext.Config{ID: id, Paths: a.Paths, ActionID: op.action, Relation: op.relation})
	relationVars, err := hctx.RelationVars()
	if errors.Is(err, jujuerrors.NotFound) {
		// The uniter's context factory refuses a relation hook of a
		// relation the unit is not in (contextfactory.go, HookContext).
		return fmt.Errorf("unknown relation id: %d", op.relation.ID)
	}
	if err != nil {
		return err
	}
	srv, err := serveTools(hctx, a.Paths.AgentSocket())
	if err != nil {
		return err
	}
	defer srv.Close()
	st, err := fakejuju.Load(a.Paths.State)
	if err != nil {
		return err
	}
	env := append(hookVars(a.Paths, st, id), relationVars...)
	succeeded, err := fn(append(env, op.env...))
	if err != nil || !succeeded {
		return err
	}
	if err := hctx.Commit(); err != nil {
		return fmt.Errorf("cannot commit the changes of %s: %w", op.name, err)
	}
	return nil
}

// machineLock takes Juju's machine lock, as the uniter does for every
// operation that needs it (core/machinelock: an flock on
// $TMPDIR/juju-machine-lock, logged to machine-lock.log).
func (a *Agent) machineLock(op operation) (func(), error) {
	logFile := a.MachineLockLog
	if logFile == "" {
		logFile = "/var/log/juju/machine-lock.log"
	}
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the machine lock's log directory: %w", err)
	}
	lock, err := machinelock.New(machinelock.Config{
		AgentName:   "unit-" + strings.ReplaceAll(a.Paths.Unit, "/", "-"),
		Clock:       clock.WallClock,
		Logger:      loggo.GetLogger("juju.machinelock"),
		LogFilename: logFile,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot set up the machine lock: %w", err)
	}
	release, err := lock.Acquire(machinelock.Spec{
		Cancel:  make(chan struct{}),
		Worker:  "uniter",
		Comment: fmt.Sprintf("%s: %s", a.Paths.Unit, op.name),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot acquire the machine lock: %w", err)
	}
	return release, nil
}

// contextID is the uniter's context id (context/contextfactory.go, newId).
func contextID(unit, name string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot generate id for hook context: %w", err)
	}
	return fmt.Sprintf("%s-%s-%s", unit, name, hex.EncodeToString(b)), nil
}

// serveTools starts Juju's jujuc server for one context on the unit's agent
// socket, as runner.startJujucServer does: a hook tool presenting another
// context id is refused with Juju's own words.
func serveTools(hctx *hookcontext.Context, socket string) (*jujuc.Server, error) {
	getCmd := func(ctxID, name string) (cmd.Command, error) {
		if ctxID != hctx.ID() {
			return nil, fmt.Errorf("wrong context ID; got %q", ctxID)
		}
		return jujuc.NewCommand(hctx, name)
	}
	srv, err := jujuc.NewServer(getCmd, sockets.Socket{Network: "unix", Address: socket}, "")
	if err != nil {
		return nil, fmt.Errorf("cannot start the hook tool server: %w", err)
	}
	go func() { _ = srv.Run() }()
	return srv, nil
}

// hookVars is the environment the uniter gives every hook, action and
// juju-exec command on a machine (context/context.go HookContext.HookVars,
// then env.go's OSDependentEnvVars for Ubuntu): nothing is inherited from
// the agent but its PATH, behind the tools directory. Legacy proxy
// variables appear only when the model sets them (juju/proxy
// AsEnvironmentValues); the JUJU_CHARM_* ones always, empty or not.
func hookVars(p fakejuju.Paths, st *fakejuju.State, id string) []string {
	legacy := proxy.Settings{
		Http: st.ModelConfig["http-proxy"], Https: st.ModelConfig["https-proxy"],
		Ftp: st.ModelConfig["ftp-proxy"], NoProxy: st.ModelConfig["no-proxy"],
	}
	env := legacy.AsEnvironmentValues()
	env = append(env,
		"CHARM_DIR="+p.CharmDir,
		"JUJU_CHARM_DIR="+p.CharmDir,
		"JUJU_CONTEXT_ID="+id,
		"JUJU_HOOK_NAME=",
		"JUJU_AGENT_SOCKET_ADDRESS="+p.AgentSocket(),
		"JUJU_AGENT_SOCKET_NETWORK=unix",
		"JUJU_UNIT_NAME="+st.Unit,
		"JUJU_MODEL_UUID="+st.ModelUUID,
		"JUJU_MODEL_NAME="+st.Model,
		"JUJU_API_ADDRESSES=10.0.0.10:17070",
		"JUJU_SLA=unsupported",
		"JUJU_MACHINE_ID=0",
		"JUJU_PRINCIPAL_UNIT="+st.Principal,
		"JUJU_AVAILABILITY_ZONE=",
		"JUJU_VERSION="+jujuversion.Current.String(),
		"CLOUD_API_VERSION=",
		"JUJU_CHARM_HTTP_PROXY="+st.ModelConfig["juju-http-proxy"],
		"JUJU_CHARM_HTTPS_PROXY="+st.ModelConfig["juju-https-proxy"],
		"JUJU_CHARM_FTP_PROXY="+st.ModelConfig["juju-ftp-proxy"],
		"JUJU_CHARM_NO_PROXY="+st.ModelConfig["juju-no-proxy"],
		"APT_LISTCHANGES_FRONTEND=none",
		"DEBIAN_FRONTEND=noninteractive",
		"LANG=C.UTF-8",
		"TERM=tmux-256color",
		"PATH="+p.ToolsDir+":"+AgentPATH,
	)
	return env
}

// setEnv sets k=v in env, replacing an earlier value.
func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, k+"=") {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

// Hook is a hook to run.
type Hook struct {
	Name string
	// Relation is set for a relation hook: its relation, and the remote
	// unit (or, for a change of the remote application's settings, only
	// the application) that caused it. RemoteApp defaults to the remote
	// unit's application, or else the relation's, as Juju always sets it
	// in a relation hook (hook.Info.RemoteApplication).
	Relation *fakejuju.RelationHook
	// Env are K=V variables a test adds (JUJU_SECRET_ID for
	// secret-changed, say).
	Env []string
}

// RunHook runs the charm's dispatch for a hook, as the uniter does
// (runner.go, runCharmHookWithLocation: JUJU_DISPATCH_PATH=hooks/<name>),
// and returns its exit code. Relation settings the hook set are committed
// if it exits 0.
func (a *Agent) RunHook(h Hook, stdout, stderr io.Writer) (int, error) {
	op := operation{name: h.Name}
	if h.Relation != nil {
		rel, err := a.hookRelation(h)
		if err != nil {
			return 0, err
		}
		op.relation = rel
	}
	code := 0
	err := a.run(op, func(env []string) (bool, error) {
		env = setEnv(env, "JUJU_HOOK_NAME="+h.Name)
		env = append(env, "JUJU_DISPATCH_PATH=hooks/"+h.Name)
		for _, kv := range h.Env {
			env = setEnv(env, kv)
		}
		var err error
		code, err = a.dispatch(env, stdout, stderr)
		return code == 0, err
	})
	return code, err
}

// hookRelation checks a relation hook against the unit's relations as the
// uniter's context factory does, and fills in the remote application: the
// hook's name is the relation's endpoint, "-relation-" and what happened
// (contextfactory.go, HookContext: hookName = relation name + kind).
func (a *Agent) hookRelation(h Hook) (*fakejuju.RelationHook, error) {
	st, err := fakejuju.Load(a.Paths.State)
	if err != nil {
		return nil, err
	}
	rh := *h.Relation
	r, err := st.Relation(rh.ID)
	if err != nil {
		return nil, fmt.Errorf("unknown relation id: %d", rh.ID)
	}
	if kind, ok := strings.CutPrefix(h.Name, r.Endpoint+"-relation-"); !ok || kind == "" {
		return nil, fmt.Errorf("hook %q is not a hook of relation %s", h.Name, r.FakeID())
	}
	if rh.RemoteApp == "" {
		rh.RemoteApp = r.RemoteApplication
		if app, _, ok := strings.Cut(rh.RemoteUnit, "/"); ok {
			rh.RemoteApp = app
		}
	}
	return &rh, nil
}

// dispatch runs the charm's dispatch in its directory with env.
func (a *Agent) dispatch(env []string, stdout, stderr io.Writer) (int, error) {
	c := exec.Command(filepath.Join(a.Paths.CharmDir, "dispatch"))
	c.Dir = a.Paths.CharmDir
	c.Env = env
	c.Stdout, c.Stderr = stdout, stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code > 0 {
			return code, nil
		}
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot run dispatch: %w", err)
	}
	return 0, nil
}

// flock takes an exclusive flock(2) on path, creating the file, and waits
// as long as it takes: the holder is an operation that will end.
func flock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
