package agent

import (
	"errors"
	"fmt"
	"net/rpc"

	"github.com/juju/utils/v3/exec"

	"github.com/juju/juju/internal/worker/uniter"
	"github.com/juju/juju/juju/sockets"
)

// ServeJujuExec serves juju-exec for the unit on its run socket
// (<agent dir>/run.socket, uniter/paths.go) until the listener is closed:
// the uniter's RunListener with the JujuExecServer.RunCommands endpoint
// (runlistener.go) that Juju's juju-exec client calls. Each call is one
// operation like any other: it waits for the unit's operation lock and the
// machine lock, however long that takes, with no timeout of its own (a
// juju-exec behind a long action waits for it).
func (a *Agent) ServeJujuExec() (stop func(), err error) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("JujuExecServer", &execServer{a}); err != nil {
		return nil, err
	}
	l, err := sockets.Listen(sockets.Socket{Network: "unix", Address: a.Paths.RunSocket()})
	if err != nil {
		return nil, fmt.Errorf("cannot listen for juju-exec: %w", err)
	}
	// Accept as net/rpc's Server.Accept does, but without its log line
	// when the listener is closed on purpose.
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(conn)
		}
	}()
	return func() { l.Close() }, nil
}

type execServer struct{ a *Agent }

// RunCommands implements the uniter's juju-exec endpoint.
func (s *execServer) RunCommands(args uniter.RunCommandsArgs, result *exec.ExecResponse) error {
	if args.UnitName != s.a.Paths.Unit {
		return fmt.Errorf("r.runner.RunCommands: no runner is registered for unit %v", args.UnitName)
	}
	if args.RelationId != -1 || args.RemoteUnitName != "" || args.Operator {
		return errors.New("r.runner.RunCommands: the test bed runs juju-exec in the unit's own context only")
	}
	res, err := s.a.RunCommands(args.Commands)
	if err != nil {
		return fmt.Errorf("r.runner.RunCommands: %w", err)
	}
	*result = *res
	return nil
}

// RunCommands runs commands in the unit's context as juju-exec does
// (runner.go runCommandsWithTimeout and execOnMachine): /bin/bash -s with
// the commands on stdin, in the charm directory, with HookVars and no
// JUJU_DISPATCH_PATH; the exit code is the response's, not an error. So
// relation settings the commands set are committed whatever their exit
// code (runner.RunCommands flushes with the error of running them only).
func (a *Agent) RunCommands(commands string) (*exec.ExecResponse, error) {
	var res *exec.ExecResponse
	err := a.run(operation{name: "run-commands"}, func(env []string) (bool, error) {
		p := exec.RunParams{Commands: commands, WorkingDir: a.Paths.CharmDir, Environment: env}
		if err := p.Run(); err != nil {
			return false, err
		}
		var err error
		res, err = p.Wait()
		return err == nil, err
	})
	return res, err
}
