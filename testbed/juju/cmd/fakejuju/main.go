// Command fakejuju is the test bed's Juju on a unit: the fake unit agent,
// with Juju's own code wherever the charm meets Juju.
//
//	fakejuju hook NAME [--env K=V ...] [--relation ID --remote-unit U | --remote-app A [--departing-unit U]]
//	                                        run a hook as the uniter does
//	fakejuju action NAME [--params JSON]    queue and run an action, print its outcome
//	fakejuju agent                          serve juju-exec for the unit until SIGTERM
//	fakejuju install-tools DIR              link Juju's hook tools (DIR/jujuc) into DIR
//	fakejuju init|config|model-config|add-secret|...   the operator's side (see testbed/fakejuju)
//
// Run as juju-exec (a link named juju-exec), it is Juju's own juju-exec:
// juju/juju cmd/jujud/run's RunCommand under juju/cmd's Main, exactly as
// jujud's main runs it, talking to `fakejuju agent` over the unit's run
// socket. The hook tools themselves are Juju's jujuc client, built from
// juju/juju cmd/jujuc, answered by the jujuc server each operation starts.
//
// Paths come from FAKEJUJU_UNIT, FAKEJUJU_AGENT_DIR, FAKEJUJU_TOOLS_DIR,
// FAKEJUJU_CHARM_DIR and FAKEJUJU_STATE, defaulting to a machine's layout
// for magnum-capi-graft/0 under /var/lib/juju. For tests that run outside a
// box, FAKEJUJU_DATA_DIR moves juju-exec's /var/lib/juju and
// FAKEJUJU_MACHINE_LOCK_LOG the machine lock's log (the lock itself is
// Juju's flock in $TMPDIR).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/juju/clock"
	"github.com/juju/cmd/v3"
	"github.com/juju/loggo"
	"github.com/spf13/pflag"

	"github.com/juju/juju/cmd/jujud/agent/config"
	"github.com/juju/juju/cmd/jujud/run"
	"github.com/juju/juju/core/machinelock"
	"github.com/juju/juju/internal/worker/uniter/runner/jujuc"

	"github.com/juju/juju/magnum-capi-graft-testbed/agent"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

func main() {
	os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// Main runs fakejuju and returns its exit code.
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if filepath.Base(argv[0]) == "juju-exec" {
		return jujuExec(argv, stdin, stdout, stderr)
	}
	if len(argv) < 2 {
		return fakejuju.Main(argv, stdin, stdout, stderr, os.Getenv)
	}
	a := &agent.Agent{
		Paths:          fakejuju.PathsFromEnv(os.Getenv),
		MachineLockLog: os.Getenv("FAKEJUJU_MACHINE_LOCK_LOG"),
		Stderr:         stderr,
	}
	args := argv[2:]
	var err error
	switch argv[1] {
	case "hook":
		return hook(a, args, stdout, stderr)
	case "action":
		return action(a, args, stdout, stderr)
	case "agent":
		err = serve(a)
	case "install-tools":
		err = installTools(args)
	default:
		return fakejuju.Main(argv, stdin, stdout, stderr, os.Getenv)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ERROR %v\n", err)
		return 1
	}
	return 0
}

// jujuExec is jujud's main for juju-exec (juju/juju cmd/jujud/main.go,
// case jujunames.JujuExec).
func jujuExec(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if d := os.Getenv("FAKEJUJU_DATA_DIR"); d != "" {
		config.DataDir = d
	}
	ctx, err := cmd.DefaultContext()
	if err != nil {
		cmd.WriteError(stderr, err)
		return 2
	}
	ctx.Stdin, ctx.Stdout, ctx.Stderr = stdin, stdout, stderr
	lock, err := machinelock.New(machinelock.Config{
		AgentName:   "juju-exec",
		Clock:       clock.WallClock,
		Logger:      loggo.GetLogger("juju.machinelock"),
		LogFilename: filepath.Join(config.LogDir, "juju", machinelock.Filename),
	})
	if err != nil {
		return 2
	}
	return cmd.Main(&run.RunCommand{MachineLock: lock}, ctx, argv[1:])
}

func usage(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "ERROR "+format+"\n", args...)
	return 2
}

func hook(a *agent.Agent, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("fakejuju hook", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	extra := fs.StringArray("env", nil, "extra hook environment variable K=V (repeatable)")
	relation := fs.String("relation", "", "the relation a relation hook runs for, as relation-ids prints it (graft:3) or its number")
	var rh fakejuju.RelationHook
	fs.StringVar(&rh.RemoteUnit, "remote-unit", "", "the remote unit the relation hook is about")
	fs.StringVar(&rh.RemoteApp, "remote-app", "", "the remote application (default: the remote unit's, or the relation's)")
	fs.StringVar(&rh.DepartingUnit, "departing-unit", "", "in relation-departed, the unit that leaves")
	if err := fs.Parse(args); err != nil {
		return usage(stderr, "%v", err)
	}
	if fs.NArg() != 1 {
		return usage(stderr, "hook needs exactly one hook name")
	}
	for _, kv := range *extra {
		if !strings.Contains(kv, "=") {
			return usage(stderr, "--env %q is not K=V", kv)
		}
	}
	h := agent.Hook{Name: fs.Arg(0), Env: *extra}
	if *relation != "" {
		id, err := strconv.Atoi((*relation)[strings.LastIndex(*relation, ":")+1:])
		if err != nil {
			return usage(stderr, "--relation %q is no relation id", *relation)
		}
		rh.ID = id
		h.Relation = &rh
	} else if rh != (fakejuju.RelationHook{}) {
		return usage(stderr, "--remote-unit, --remote-app and --departing-unit need --relation")
	}
	code, err := a.RunHook(h, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ERROR %v\n", err)
		return 1
	}
	return code
}

// action prints the outcome on stdout; the action's own output goes to
// stderr. A refused action prints Juju's error, as `juju run` does.
func action(a *agent.Agent, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("fakejuju action", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	paramsJSON := fs.String("params", "{}", "action parameters as a JSON object")
	if err := fs.Parse(args); err != nil {
		return usage(stderr, "%v", err)
	}
	if fs.NArg() != 1 {
		return usage(stderr, "action needs exactly one action name")
	}
	var params map[string]any
	if err := json.Unmarshal([]byte(*paramsJSON), &params); err != nil || params == nil {
		return usage(stderr, "--params must be a JSON object")
	}
	out, err := a.RunAction(fs.Arg(0), params, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ERROR %v\n", err)
		return 1
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(stdout, "%s\n", b)
	if out.Status != "completed" {
		return 1
	}
	return 0
}

// serve runs the agent's juju-exec listener until SIGTERM or SIGINT.
func serve(a *agent.Agent) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	stop, err := a.ServeJujuExec()
	if err != nil {
		return err
	}
	defer stop()
	<-sigs
	return nil
}

// installTools links every hook tool Juju provides to DIR/jujuc, as the
// unit agent lays out its tools directory.
func installTools(args []string) error {
	if len(args) != 1 {
		return errors.New("install-tools needs exactly one directory (holding jujuc)")
	}
	dir := args[0]
	if _, err := os.Stat(filepath.Join(dir, "jujuc")); err != nil {
		return fmt.Errorf("no jujuc in %s: %w", dir, err)
	}
	for _, name := range jujuc.CommandNames() {
		link := filepath.Join(dir, name)
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink("jujuc", link); err != nil {
			return err
		}
	}
	return nil
}
