// Command magnum-capi-graft is the charm's one binary. Juju runs it through
// `dispatch` for every hook and action; operators run it on a unit (through
// `juju exec`, which provides the hook tools) to see what a reconcile would
// do without doing it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/hooks"
)

// version is set at build time (-X main.version=...).
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	dispatchPath := os.Getenv("JUJU_DISPATCH_PATH")
	if dispatchPath != "" || filepath.Base(filepath.Dir(args[0])) == "hooks" {
		return dispatch(ctx, dispatchPath, args, stderr)
	}
	if len(args) > 1 && args[1] == "watch" {
		// The watcher service parses its own flags.
		return watcher.Command(args[2:], stderr)
	}
	return cli(ctx, args, stdout, stderr)
}

func runtime() *hooks.Runtime {
	stateDir := os.Getenv("MAGNUM_CAPI_GRAFT_STATE_DIR")
	if stateDir == "" {
		stateDir = reconcile.DefaultStateDir
	}
	return &hooks.Runtime{
		Juju:     hooktool.New(hooktool.ExecRunner{}),
		StateDir: stateDir,
		Settle:   2 * time.Second,
		CharmDir: os.Getenv("JUJU_CHARM_DIR"),
	}
}

func dispatch(ctx context.Context, dispatchPath string, args []string, stderr io.Writer) int {
	ev, err := hooks.Parse(dispatchPath, args[0], args[1:])
	if err != nil {
		fmt.Fprintln(stderr, "magnum-capi-graft:", err)
		return 1
	}
	if err := runtime().Run(ctx, ev); err != nil {
		fmt.Fprintf(stderr, "magnum-capi-graft: %s: %v\n", ev, err)
		return 1
	}
	return 0
}

const usage = `magnum-capi-graft: the magnum-capi-graft charm's hook binary.

Juju runs it through dispatch for every hook and action. On a unit, with the
hook tools of juju exec:

  juju exec --unit magnum-capi-graft/0 -- \
      /var/lib/juju/agents/unit-magnum-capi-graft-0/charm/bin/magnum-capi-graft plan

Commands:
  plan        print the plan a reconcile would apply now, and change nothing
  watch       the watcher service the charm installs (re-grafts on drift)
  version     print the version

Flags:
`

func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("magnum-capi-graft", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "magnum-capi-graft", version)
		return 0
	}
	switch fs.Arg(0) {
	case "version":
		fmt.Fprintln(stdout, "magnum-capi-graft", version)
		return 0
	case "plan":
		if os.Getenv("JUJU_UNIT_NAME") == "" {
			fmt.Fprintln(stderr, "magnum-capi-graft plan needs Juju's hook tools: run it with juju exec --unit <unit> -- ...")
			return 2
		}
		rt := runtime()
		r := &reconcile.Reconciler{Juju: rt.Juju, StateDir: rt.StateDir}
		defer r.Close()
		out := r.Reconcile(ctx, reconcile.Options{DryRun: true})
		fmt.Fprint(stdout, out.Plan.String())
		fmt.Fprintf(stdout, "status after: %s: %s\n", out.Status, out.Message)
		return 0
	case "":
		fs.Usage()
		return 2
	default:
		fmt.Fprintf(stderr, "magnum-capi-graft: unknown command %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
}
