// Command demo is `make demo`: it boots a real Magnum unit in a box (real
// systemd, the real Debian Magnum packages), installs the packed charm beside
// a fake Juju agent and a fake management cluster, runs the hooks and actions
// an operator's first day would run, and prints what happened.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

func main() {
	release := pflag.String("release", "bookworm", "Debian release of the box (bookworm, trixie)")
	name := pflag.String("name", "demo", "box name")
	keep := pflag.Bool("keep", false, "leave the box running (testbed/box exec NAME ... to look around; testbed/box down NAME)")
	pflag.Parse()
	if err := run(*release, *name, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func run(release, name string, keep bool) error {
	ctx := context.Background()
	artifacts, err := testbed.ArtifactsFromEnv()
	if err != nil {
		return err
	}
	step("booting a real Magnum unit (%s) in box %q", release, name)
	box, err := testbed.BootUnit(ctx, name, release, artifacts, testbed.Relabelled("1.4.0"))
	if err != nil {
		return err
	}
	if !keep {
		defer box.Down()
	}

	status := func() {
		s, m, err := box.Status()
		if err == nil {
			fmt.Printf("    status: %s: %s\n", s, m)
		}
	}
	hook := func(name string) error {
		fmt.Printf("    hook %s\n", name)
		if err := box.Hook(ctx, name); err != nil {
			return err
		}
		status()
		return nil
	}
	action := func(name string) error {
		out, err := box.Action(ctx, name, nil)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(out.Results, "    ", "  ")
		fmt.Printf("    action %s: %s %s\n    %s\n", name, out.Status, out.Message, b)
		return nil
	}

	step("investigate (the runbook's Step 1) before anything is grafted")
	if err := action("investigate"); err != nil {
		return err
	}
	step("install with nothing configured")
	if err := hook("install"); err != nil {
		return err
	}
	step("juju add-secret + grant-secret + juju config kubeconfig=<secret>")
	secret, err := box.Fake(ctx, "add-secret", "--grant", "kubeconfig#file="+testbed.ManagementKubeconfig)
	if err != nil {
		return err
	}
	if _, err := box.Fake(ctx, "config", "kubeconfig="+strings.TrimSpace(secret), "namespace-prefix=demo"); err != nil {
		return err
	}
	if err := hook("config-changed"); err != nil {
		return err
	}
	for _, p := range []string{"/etc/magnum/magnum.conf.d/99-capi.conf", "/etc/default/magnum-conductor"} {
		out, _ := box.MustRun(ctx, "cat", p)
		fmt.Printf("    --- %s\n%s", p, indent(out))
	}
	step("a second config-changed: converged, nothing to do")
	if err := hook("config-changed"); err != nil {
		return err
	}
	st, err := box.State()
	if err == nil {
		fmt.Println("    charm log:")
		for _, l := range st.Logs {
			fmt.Printf("      %s %s\n", l.Level, l.Message)
		}
	}
	step("verify (the runbook's exit criteria, on the live unit)")
	if err := action("verify"); err != nil {
		return err
	}
	if keep {
		fmt.Printf("\nbox %q is still running: testbed/box exec %s <argv>; testbed/box down %s\n", name, name, name)
	}
	return nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "      " + strings.Join(lines, "\n      ") + "\n"
}
