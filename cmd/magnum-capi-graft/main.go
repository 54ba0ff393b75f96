// Command magnum-capi-graft is the charm's one binary. Juju runs it through
// `dispatch` for every hook and action; operators run it on a unit (through
// `juju exec`, which provides the hook tools) to see what a reconcile would
// do without doing it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
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
	return cli(ctx, args, stdout, stderr)
}

// settle is how long a restarted service must run unreplaced, with its
// workers forked, before it counts as started (systemd.Settle), and so how
// long magnum-api must stand with the new graft before the conductor is
// touched. The fork is the proof that a service read its configuration (the
// conductor and uwsgi fork only after parsing it); the window only has to
// see a process that dies at once, and systemd's Restart=on-failure
// replacing it, which a failing uwsgi does within a few hundred
// milliseconds. Every re-graft that restarts magnum-api waits on it.
const settle = time.Second

func runtime() *hooks.Runtime {
	stateDir := os.Getenv("MAGNUM_CAPI_GRAFT_STATE_DIR")
	if stateDir == "" {
		stateDir = state.DefaultDir
	}
	return &hooks.Runtime{
		Juju:     hooktool.New(hooktool.ExecRunner{}),
		State:    state.Dir(stateDir),
		Settle:   settle,
		CharmDir: os.Getenv("JUJU_CHARM_DIR"),
		Stdout:   os.Stdout,
	}
}

func dispatch(ctx context.Context, dispatchPath string, args []string, stderr io.Writer) int {
	ev, err := hooks.Parse(dispatchPath, args[0], args[1:])
	if err != nil {
		fmt.Fprintln(stderr, "magnum-capi-graft:", err)
		return 1
	}
	if err := runtime().Run(ctx, ev); err != nil {
		// Juju copies a hook's stderr into its log.
		fmt.Fprintln(stderr, redact.Text(fmt.Sprintf("magnum-capi-graft: %s: %v", ev, err)))
		return 1
	}
	return 0
}

// A subcommand of the operator's CLI.
type subcommand struct {
	name, args, summary, doc string
	run                      func(ctx context.Context, stdout, stderr io.Writer) int
}

func subcommands() []subcommand {
	return []subcommand{
		{name: "plan", summary: "print the plan a reconcile would apply now, and change nothing",
			doc: `Computes the desired state from the charm's config and secrets, observes the
unit, and prints the plan a hook would apply, then the status it would set.
Nothing on the unit changes. It needs Juju's hook tools, so run it in the
unit's hook context:

  juju exec --unit magnum-capi-graft/0 -- \
      /var/lib/juju/agents/unit-magnum-capi-graft-0/charm/bin/magnum-capi-graft plan
`, run: plan},
		{name: "watch", args: "--unit UNIT --watch-list PATH [flags]", summary: "the watcher service the charm installs (re-grafts on drift)"},
		{name: "version", summary: "print the version", doc: "Prints the charm binary's version.\n",
			run: func(_ context.Context, stdout, _ io.Writer) int {
				fmt.Fprintln(stdout, "magnum-capi-graft", version)
				return 0
			}},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `magnum-capi-graft: the magnum-capi-graft charm's hook binary.

Juju runs it through dispatch for every hook and action. Operators run it on a
unit, in the unit's hook context (juju exec).

Usage: magnum-capi-graft <command> [--help]

Commands:
`)
	for _, c := range subcommands() {
		fmt.Fprintf(w, "  %-10s  %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\n\"magnum-capi-graft help <command>\" shows a command's help.\n")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "help" }

// cli is the operator's side. Help asked for goes to stdout and exits 0;
// a usage error prints the usage to stderr and exits 2, as Go tools do.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		usage(stderr)
		return 2
	}
	name, rest := args[1], args[2:]
	if isHelp(name) {
		if len(rest) == 0 {
			usage(stdout)
			return 0
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range subcommands() {
		if c.name != name {
			continue
		}
		if c.run == nil {
			// watch parses its own flags, help included.
			return watcher.Command(rest, stdout, stderr)
		}
		fs := pflag.NewFlagSet("magnum-capi-graft "+c.name, pflag.ContinueOnError)
		fs.SetOutput(stderr)
		line := strings.TrimSpace("magnum-capi-graft " + c.name + " " + c.args)
		fs.Usage = func() {
			fmt.Fprintf(stdout, "Usage: %s\n\n%s", line, c.doc)
		}
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, pflag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "magnum-capi-graft %s: %v\nUsage: %s\n", c.name, err, line)
			return 2
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "magnum-capi-graft %s: unexpected argument %q\n", c.name, fs.Arg(0))
			return 2
		}
		return c.run(ctx, stdout, stderr)
	}
	fmt.Fprintf(stderr, "magnum-capi-graft: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func plan(ctx context.Context, stdout, stderr io.Writer) int {
	if os.Getenv("JUJU_UNIT_NAME") == "" {
		fmt.Fprintln(stderr, "magnum-capi-graft plan needs Juju's hook tools: run it with juju exec --unit <unit> -- ...")
		return 2
	}
	rt := runtime()
	r := &reconcile.Reconciler{Juju: rt.Juju, State: rt.State, Env: reconcile.ProcessEnv()}
	defer r.Close()
	out, err := r.Reconcile(ctx, reconcile.Options{DryRun: true})
	if err != nil {
		fmt.Fprintf(stderr, "magnum-capi-graft plan: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, out.Plan.String())
	fmt.Fprintf(stdout, "status after: %s: %s\n", out.Status, out.Message)
	return 0
}
