package testbed

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// GraftPaths are the files a bookworm graft (default-file conductor) puts on
// the unit; their state is what "converged" compares.
var GraftPaths = []string{
	"/etc/magnum/magnum.conf.d", "/etc/magnum/magnum.conf.d/99-capi.conf",
	"/etc/magnum/kubeconfig", "/etc/default/magnum-conductor",
}

// GraftState describes the graft's files (mode and content).
type GraftState map[string]string

// GraftState reads the graft's files from the host side.
func (b *Box) GraftState() GraftState {
	st := GraftState{}
	for _, p := range GraftPaths {
		fi, err := os.Stat(b.Path(p))
		if err != nil {
			st[p] = "absent"
			continue
		}
		desc := fi.Mode().String()
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(b.Path(p))
			desc += " " + string(data)
		}
		st[p] = desc
	}
	return st
}

// Converged reports whether the graft's files are as in want and the
// conductor runs with conf.d on its live command line.
func (b *Box) Converged(ctx context.Context, want GraftState) bool {
	got := b.GraftState()
	for p, d := range want {
		if got[p] != d {
			return false
		}
	}
	cond, err := b.Service(ctx, "magnum-conductor")
	if err != nil || cond.ActiveState != "active" {
		return false
	}
	for _, a := range cond.Cmdline {
		if a == "--config-dir=/etc/magnum/magnum.conf.d" {
			return true
		}
	}
	return false
}

// AwaitConverged polls until converged and returns the time since start.
func (b *Box) AwaitConverged(ctx context.Context, want GraftState, start time.Time, limit time.Duration) (time.Duration, error) {
	for time.Since(start) < limit {
		if b.Converged(ctx, want) {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, _ := b.MustRun(ctx, "journalctl", "-u", "magnum-capi-graft-watcher", "--no-pager", "-n", "20")
	return 0, fmt.Errorf("not converged %s after the disruption; watcher journal:\n%s", limit, out)
}

// Regrafts counts the watcher's re-grafts so far.
func (b *Box) Regrafts(ctx context.Context) int {
	out, _ := b.MustRun(ctx, "journalctl", "-u", "magnum-capi-graft-watcher", "--no-pager", "-o", "cat")
	return strings.Count(out, "re-graft succeeded") + strings.Count(out, "re-graft failed")
}

// Scenario is a change of the principal that Juju gives the subordinate no
// hook for. Disrupt makes it happen; Resume, if set, ends it (the clock for
// re-grafting starts there).
type Scenario struct {
	Name    string
	Disrupt func(ctx context.Context, b *Box) error
	Resume  func(ctx context.Context, b *Box) error
}

func (b *Box) runAll(ctx context.Context, cmds ...[]string) error {
	for _, argv := range cmds {
		if _, err := b.MustRun(ctx, argv...); err != nil {
			return err
		}
	}
	return nil
}

// Scenarios are the disruptions of issue 7, in the order the benchmark runs
// them on one box.
var Scenarios = []Scenario{
	{Name: "wiring deleted, daemon-reload, restarted by hand", Disrupt: func(ctx context.Context, b *Box) error {
		return b.runAll(ctx, []string{"rm", "/etc/default/magnum-conductor"}, []string{"systemctl", "daemon-reload"},
			[]string{"systemctl", "restart", "magnum-api", "magnum-conductor"})
	}},
	{Name: "apt-get install --reinstall --force-confnew", Disrupt: func(ctx context.Context, b *Box) error {
		return b.runAll(ctx, []string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--reinstall",
			"--no-download", "-o", "Dpkg::Options::=--force-confnew", "magnum-api", "magnum-conductor"})
	}},
	{Name: "pause (stop, disable, mask) then resume", Disrupt: func(ctx context.Context, b *Box) error {
		return b.runAll(ctx, []string{"systemctl", "stop", "magnum-conductor"}, []string{"systemctl", "disable", "magnum-conductor"},
			[]string{"systemctl", "mask", "magnum-conductor"})
	}, Resume: func(ctx context.Context, b *Box) error {
		return b.runAll(ctx, []string{"systemctl", "unmask", "magnum-conductor"}, []string{"systemctl", "enable", "magnum-conductor"},
			[]string{"systemctl", "start", "magnum-conductor"})
	}},
}
