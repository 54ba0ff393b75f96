package testbed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// graftPaths are the files a graft with a default-file conductor (Debian's
// packages, bookworm and trixie) puts on the unit; their state is what
// "converged" compares, together with the driver's activation and install
// (see GraftState).
func (b *Box) graftPaths() []string {
	return []string{
		"/etc/magnum/magnum.conf.d", "/etc/magnum/magnum.conf.d/99-capi.conf",
		"/etc/magnum/kubeconfig", "/etc/default/magnum-conductor",
		b.ActivationFile(),
	}
}

// ActivationFile is the driver's activation (.pth) in the /usr/local site
// directory of the box's python3, whose /usr/bin/python3 link names the
// version: python3.11 on bookworm, python3.13 on trixie. A link that cannot
// be read gives a path that exists nowhere, so the graft reads as absent.
func (b *Box) ActivationFile() string {
	target, err := b.Readlink("/usr/bin/python3")
	if err != nil || !strings.HasPrefix(target, "python3.") {
		target = "(unreadable /usr/bin/python3)"
	}
	return "/usr/local/lib/" + target + "/dist-packages/magnum-capi-graft.pth"
}

// GraftState describes the graft's files (mode and content; a directory by
// its entries) and the driver's version directory the activation names.
type GraftState map[string]string

// driverDirKey is the GraftState key of the directory the .pth names.
const driverDirKey = "driver version directory"

// GraftState reads the graft's files from the host side.
func (b *Box) GraftState() GraftState {
	st := GraftState{}
	for _, p := range b.graftPaths() {
		st[p] = b.describe(p)
	}
	st[driverDirKey] = "no activation"
	if dir := b.ActiveDriverDir(); dir != "" {
		st[driverDirKey] = dir + ": " + b.describe(dir)
	}
	return st
}

func (b *Box) describe(p string) string {
	fi, err := b.Stat(p)
	if err != nil {
		return "absent"
	}
	desc := fi.Mode.String()
	switch {
	case fi.Mode.IsRegular():
		data, _ := b.ReadFile(p)
		desc += " " + string(data)
	case fi.Mode.IsDir():
		names, _ := b.ReadDir(p)
		for _, n := range names {
			desc += " " + n
		}
	}
	return desc
}

// ActiveDriverDir is the directory the driver's .pth names, or "".
func (b *Box) ActiveDriverDir() string {
	data, err := b.ReadFile(b.ActivationFile())
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

// ServicesPATH is the PATH Magnum's services run with on a bookworm unit.
const ServicesPATH = "/sbin:/usr/sbin:/bin:/usr/bin"

// AsMagnum runs argv in the box as user magnum with the services' PATH and
// HOME, and returns its stdout.
func (b *Box) AsMagnum(ctx context.Context, argv ...string) (string, error) {
	return b.MustRun(ctx, append([]string{"runuser", "-u", "magnum", "--", "env", "-i", "PATH=" + ServicesPATH,
		"HOME=/var/lib/magnum", "LANG=C.UTF-8"}, argv...)...)
}

// DriverLoadsAsMagnum reports whether Magnum's Python, as user magnum with
// the services' environment, finds the driver's entry point and imports its
// module.
func (b *Box) DriverLoadsAsMagnum(ctx context.Context) error {
	_, err := b.AsMagnum(ctx, "python3", "-c",
		"from importlib import metadata as m; ep, = m.entry_points(group='magnum.drivers', name='k8s_capi_helm_v1'); ep.load()")
	return err
}

// readAtStart are the graft's files each service reads when it starts: a
// service whose process is older than one of them runs without the graft
// as it is now.
func (b *Box) readAtStart() map[string][]string {
	pth := b.ActivationFile()
	return map[string][]string{
		"magnum-api":       {"/etc/magnum/magnum.conf.d/99-capi.conf", "/etc/magnum/kubeconfig", pth},
		"magnum-conductor": {"/etc/magnum/magnum.conf.d/99-capi.conf", "/etc/magnum/kubeconfig", pth, "/etc/default/magnum-conductor"},
	}
}

// Converged reports whether the graft is as in want and in effect: its
// files; both services running, started after the graft's files they read
// last changed; the conductor with conf.d on its live command line; and the
// driver loading as user magnum (checked last: it runs Python).
func (b *Box) Converged(ctx context.Context, want GraftState) bool {
	return b.graftConverged(ctx, want) && b.DriverLoadsAsMagnum(ctx) == nil
}

// graftConverged is Converged but for the driver loading: the files and
// the services, read from outside without running anything in the box.
func (b *Box) graftConverged(ctx context.Context, want GraftState) bool {
	got := b.GraftState()
	for p, d := range want {
		if got[p] != d {
			return false
		}
	}
	for svc, paths := range b.readAtStart() {
		s, err := b.Service(ctx, svc)
		if err != nil || s.ActiveState != "active" || s.Started.IsZero() {
			return false
		}
		for _, p := range paths {
			if fi, err := b.Stat(p); err != nil || !s.Started.After(fi.ModTime) {
				return false
			}
		}
		if svc == "magnum-conductor" && !slices.Contains(s.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d") {
			return false
		}
	}
	return true
}

// AwaitConverged polls until converged and returns the time from start to
// the beginning of the check that found the unit converged with no
// re-graft of the watcher's still running.
//
// A re-graft ends when the unit is converged and the charm's hook that made
// it has ended: the hook still settles the services it restarted, checks
// their live command lines and the cloud (the collision probe, when what
// Magnum's loader reads changed) and says its status after the services
// look converged from outside. So a check begins by asking whether that
// hook is still running (its process, hooks/update-status --from-watcher,
// or juju-exec waiting to start it), and then reads the files, when each
// service started and its command line: when all hold, the re-graft had
// ended and the unit was converged at the check's beginning. The check
// ends by running Python as magnum to load the driver, which after a
// restart of magnum-api competes with its workers loading Magnum (1-5 s
// of a bench round, seen in the bench box at load 2-8) and tests a fact
// settled before any service restarted (the charm proves the driver
// first): it must hold, but timing the end of the check charged the bench's
// own Python to the unit.
func (b *Box) AwaitConverged(ctx context.Context, want GraftState, start time.Time, limit time.Duration) (time.Duration, error) {
	t, err := b.AwaitConvergedTimes(ctx, want, start, limit)
	return t.Done, err
}

// ConvergedTimes are the times from a disruption that AwaitConvergedTimes
// saw.
type ConvergedTimes struct {
	// Done: the unit converged and the watcher's re-graft ended (the
	// measure AwaitConverged returns).
	Done time.Duration
	// Files: the files and services first looked converged from outside,
	// whether or not a re-graft was still running (its settles, proofs
	// and status still to come).
	Files time.Duration
	// CheckEnd: the end of the check that found Done, Python included.
	CheckEnd time.Duration
}

// AwaitConvergedTimes is AwaitConverged, with the other times it saw. The
// driver is loaded with Python only once no re-graft runs, so the check
// does not compete with the hook it waits for.
func (b *Box) AwaitConvergedTimes(ctx context.Context, want GraftState, start time.Time, limit time.Duration) (ConvergedTimes, error) {
	var t ConvergedTimes
	for time.Since(start) < limit {
		checked := time.Now()
		running := b.regraftRunning(ctx)
		if b.graftConverged(ctx, want) {
			if t.Files == 0 {
				t.Files = checked.Sub(start)
			}
			if !running && b.DriverLoadsAsMagnum(ctx) == nil {
				t.Done, t.CheckEnd = checked.Sub(start), time.Since(start)
				return t, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, _ := b.MustRun(ctx, "journalctl", "-u", "magnum-capi-graft-watcher", "--no-pager", "-n", "20")
	return t, fmt.Errorf("not converged %s after the disruption; watcher journal:\n%s", limit, out)
}

// regraftRunning reports whether a re-graft the watcher asked for is
// running: the watcher's juju-exec or the hook it runs.
func (b *Box) regraftRunning(ctx context.Context) bool {
	res, err := b.Run(ctx, "pgrep", "-f", "update-status "+watcherFlag)
	return err != nil || res.Code != 1
}

// watcherFlag is the argument the watcher gives update-status
// (watcher.FromWatcherFlag).
const watcherFlag = "--from-watcher"

// AwaitAPIReady waits until every uWSGI worker of magnum-api has loaded
// Magnum since the service last started. Debian's magnum-api loads the app
// lazily in each of its 8 workers, which takes about 20 s of both CPUs of a
// test machine; a stop in that window can hang until systemd's SIGKILL.
// A principal that has been up for a while is what the scenarios disrupt,
// so they wait for this first.
func (b *Box) AwaitAPIReady(ctx context.Context, limit time.Duration) error {
	ini, err := b.ReadFile("/etc/magnum/magnum-api-uwsgi.ini")
	if err != nil {
		return err
	}
	workers := 1
	for _, l := range strings.Split(string(ini), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "processes" {
			fmt.Sscan(strings.TrimSpace(v), &workers)
		}
	}
	ready := 0
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		log, err := b.ReadFile("/var/log/magnum/magnum-api.log")
		if err != nil {
			return err
		}
		s := string(log)
		if i := strings.LastIndex(s, "*** Starting uWSGI"); i >= 0 {
			s = s[i:]
		}
		if ready = strings.Count(s, "WSGI app 0 (mountpoint='') ready in"); ready >= workers {
			return nil
		}
	}
	return fmt.Errorf("magnum-api: %d of %d workers ready after %s", ready, workers, limit)
}

// StopTime is how long systemd spent stopping the Magnum services since
// since, read from the journal ("Stopping" to "Stopped"). It is the
// principal's share of a re-graft's time: on bookworm, magnum-api's uWSGI
// workers often segfault in greenlet while Python finalizes (its log shows
// the backtrace through Py_FinalizeEx), the master then waits, and systemd
// kills the service at its TimeoutStopSec=15.
func (b *Box) StopTime(ctx context.Context, since time.Time) time.Duration {
	out, _ := b.MustRun(ctx, "journalctl", "--no-pager", "-o", "short-unix", "-u", "magnum-api", "-u", "magnum-conductor",
		"--since", fmt.Sprintf("@%d", since.Unix()))
	var total time.Duration
	stopping := map[string]float64{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		var at float64
		if _, err := fmt.Sscan(f[0], &at); err != nil || at < float64(since.UnixMicro())/1e6 {
			continue
		}
		switch unit := strings.TrimSuffix(f[4], ".service"); f[3] {
		case "Stopping":
			stopping[unit] = at
		case "Stopped":
			if t0, ok := stopping[unit]; ok {
				total += time.Duration((at - t0) * float64(time.Second))
				delete(stopping, unit)
			}
		}
	}
	return total
}

// Regrafts counts the watcher's re-grafts since the box last booted.
func (b *Box) Regrafts(ctx context.Context) int {
	out, _ := b.MustRun(ctx, "journalctl", "-b", "-u", "magnum-capi-graft-watcher", "--no-pager", "-o", "cat")
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
	{Name: "driver version directory removed", Disrupt: func(ctx context.Context, b *Box) error {
		dir := b.ActiveDriverDir()
		if dir == "" {
			return fmt.Errorf("no driver activation to disrupt")
		}
		return b.runAll(ctx, []string{"rm", "-rf", dir})
	}},
	{Name: "driver activation (.pth) removed", Disrupt: func(ctx context.Context, b *Box) error {
		return b.runAll(ctx, []string{"rm", b.ActivationFile()})
	}},
	{Name: "pause (stop, disable, mask) then resume", Disrupt: func(ctx context.Context, b *Box) error {
		return b.runAll(ctx, []string{"systemctl", "stop", "magnum-conductor"}, []string{"systemctl", "disable", "magnum-conductor"},
			[]string{"systemctl", "mask", "magnum-conductor"})
	}, Resume: func(ctx context.Context, b *Box) error {
		return b.runAll(ctx, []string{"systemctl", "unmask", "magnum-conductor"}, []string{"systemctl", "enable", "magnum-conductor"},
			[]string{"systemctl", "start", "magnum-conductor"})
	}},
}
