// Command bench is `make bench`: speed and footprint measured on a real Magnum
// unit in a box. It prints
//   - the converged (no-op) hook's median wall time over many runs, next to
//     `python3 -c pass` measured the same way in the same run (the floor of
//     any Python charm's hook);
//   - for each principal change of issue 7, over several rounds, the time
//     from disruption to a converged unit less the time Magnum's services
//     took to stop (min/median/max; the goal is 5 s), and the service
//     restarts it cost;
//   - the idle watcher's resident memory;
//   - a config change on several units (--units, 3 by default), all at
//     once as the charm did before it took turns and rolling, each with
//     the seconds in which no unit's magnum-api answered.
//
// By default it measures all of it; to time one part, --hook=false leaves
// the converged hook out, --scenario REGEX runs only the re-graft
// scenarios whose name matches, --rounds sets their runs and --units 0
// leaves the rolling restart out (BENCHFLAGS passes these through make).
//
// Timings are taken inside the box by this same binary (re-run there in its
// "time" mode), so the host's nsenter overhead is not counted.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "time" {
		os.Exit(timeInside(os.Args[2:]))
	}
	runs := pflag.Int("runs", 25, "runs per timed command (at least 20)")
	rounds := pflag.Int("rounds", 5, "runs of each re-graft scenario (at least 5; 0: none)")
	name := pflag.String("name", "bench", "box name")
	units := pflag.Int("units", 3, "units for the rolling restart (0: none)")
	only := pflag.Bool("rolling-only", false, "measure the rolling restart only")
	pick := pflag.String("scenario", "", "time only the re-graft scenarios whose name matches this regular expression")
	hook := pflag.Bool("hook", true, "time the converged hook")
	pflag.Parse()
	scenarios, err := selectScenarios(*pick)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if !*only {
		if *rounds != 0 {
			*rounds = max(*rounds, 5)
		}
		if err := bench(*name, *runs, *rounds, *hook, scenarios); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *units > 0 {
		a, err := testbed.ArtifactsFromEnv()
		if err == nil {
			err = rollingBench(context.Background(), a, *name, *units)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// selectScenarios is testbed.Scenarios, or those whose name matches expr.
func selectScenarios(expr string) ([]testbed.Scenario, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("cannot parse --scenario: %w", err)
	}
	var picked []testbed.Scenario
	for _, sc := range testbed.Scenarios {
		if re.MatchString(sc.Name) {
			picked = append(picked, sc)
		}
	}
	if len(picked) == 0 {
		return nil, fmt.Errorf("no scenario matches %q", expr)
	}
	return picked, nil
}

// timeInside runs argv N times and prints the durations in nanoseconds as
// JSON: `time N [--inherit] [--forget PATH] [K=V ...] -- ARGV...`. The environment is the
// K=V list, added to this program's own with --inherit (to time the hook
// inside a juju-exec context, whose hook tools answer for it).
func timeInside(args []string) int {
	var n int
	fmt.Sscan(args[0], &n)
	args = args[1:]
	var env []string
	if len(args) > 0 && args[0] == "--inherit" {
		env = os.Environ()
		args = args[1:]
	}
	// --forget PATH: PATH is removed before each run, untimed (the glance
	// record, to time the full converged reconcile).
	var forget string
	if len(args) > 1 && args[0] == "--forget" {
		forget, args = args[1], args[2:]
	}
	for len(args) > 0 && args[0] != "--" {
		env = append(env, args[0])
		args = args[1:]
	}
	args = args[1:]
	var ds []int64
	for i := 0; i < n; i++ {
		if forget != "" {
			_ = os.Remove(forget)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "%v: %v: %s\n", args, err, out)
			return 1
		}
		ds = append(ds, time.Since(start).Nanoseconds())
	}
	json.NewEncoder(os.Stdout).Encode(ds)
	return 0
}

func median(ds []int64) time.Duration {
	_, m, _ := spread(ds)
	return m
}

func bench(name string, runs, rounds int, hook bool, scenarios []testbed.Scenario) error {
	if runs < 20 {
		runs = 20
	}
	ctx := context.Background()
	artifacts, err := testbed.ArtifactsFromEnv()
	if err != nil {
		return err
	}
	// The charm's default driver-version is 1.4.0, of which the test bed
	// has no artefact: Debian's 1.2.0 relabelled stands in. What is timed
	// is the charm's work, which does not depend on the driver's code.
	driver := testbed.Relabelled("1.4.0")
	fmt.Printf("booting a bookworm Magnum unit (driver: %s)...\n", driver)
	box, err := testbed.BootUnit(ctx, name, "bookworm", artifacts, driver)
	if err != nil {
		return err
	}
	defer box.Down()
	secret, err := box.Fake(ctx, "add-secret", "--grant", "kubeconfig#file="+testbed.ManagementKubeconfig)
	if err != nil {
		return err
	}
	if _, err := box.Fake(ctx, "config", "kubeconfig="+strings.TrimSpace(secret)); err != nil {
		return err
	}
	for _, h := range []string{"install", "config-changed", "update-status"} {
		if err := box.Hook(ctx, h); err != nil {
			return err
		}
	}
	if s, m, _ := box.Status(); s != "active" {
		return fmt.Errorf("graft did not converge: %s: %s", s, m)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	if err := os.WriteFile(box.Path("/usr/local/sbin/graft-bench"), data, 0o755); err != nil {
		return err
	}
	// Let the watcher's echo of the graft pass before timing anything.
	time.Sleep(5 * time.Second)

	timeit := func(prefix, env []string, argv ...string) ([]int64, error) {
		args := append(append(prefix, "/usr/local/sbin/graft-bench", "time", fmt.Sprint(runs)), env...)
		args = append(append(args, "--"), argv...)
		out, err := box.MustRun(ctx, args...)
		if err != nil {
			return nil, err
		}
		var ds []int64
		if err := json.Unmarshal([]byte(out), &ds); err != nil {
			return nil, fmt.Errorf("%v: %s", err, out)
		}
		return ds, nil
	}
	if hook {
		if err := convergedHook(ctx, box, runs, timeit); err != nil {
			return err
		}
	}

	if rounds > 0 {
		fmt.Printf("\nre-graft after principal changes (no operator action), %d rounds:\n", rounds)
		if err := regrafts(ctx, box, rounds, scenarios); err != nil {
			return err
		}
	}

	svc, err := box.Service(ctx, "magnum-capi-graft-watcher")
	if err == nil && svc.MainPID != 0 {
		// RssFile is the charm binary's own pages (shared page cache, the
		// same pages every hook maps); RssAnon is the watcher's heap and
		// stacks.
		out, _ := box.MustRun(ctx, "grep", "-E", "^(VmRSS|RssAnon|RssFile|Threads):", fmt.Sprintf("/proc/%d/status", svc.MainPID))
		fmt.Printf("\nidle watcher (limit: VmRSS under 15 MB): %s\n", strings.Join(strings.Fields(out), " "))
	}
	return nil
}

// convergedHook times the converged update-status hook next to
// `python3 -c pass` and prints both.
func convergedHook(ctx context.Context, box *testbed.Box, runs int, timeit func(prefix, env []string, argv ...string) ([]int64, error)) error {
	// The hook as Juju's uniter runs it: dispatch with the hook environment,
	// its tools answered by Juju's own jujuc server. All runs share one
	// juju-exec context (one operation of the unit agent), so what is timed
	// is dispatch and its tool calls, not the agent's own start.
	startsBefore := starts(ctx, box)
	inContext := []string{testbed.JujuExec, "-u", testbed.UnitName, "--"}
	hook, err := timeit(inContext, []string{"--inherit", "JUJU_DISPATCH_PATH=hooks/update-status", "JUJU_HOOK_NAME=update-status"},
		testbed.CharmDir+"/dispatch")
	if err != nil {
		return err
	}
	// The same hook with no glance record: the full converged reconcile
	// (D-Bus, observation, desired state, plan), which every update-status
	// that finds something changed, and every other hook, runs.
	fullHook, err := timeit(inContext, []string{"--inherit", "--forget", state.DefaultDir + "/" + state.Glance,
		"JUJU_DISPATCH_PATH=hooks/update-status", "JUJU_HOOK_NAME=update-status"}, testbed.CharmDir+"/dispatch")
	if err != nil {
		return err
	}
	python, err := timeit(nil, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, "/usr/bin/python3", "-c", "pass")
	if err != nil {
		return err
	}
	agentHook, err := timeit(nil, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, testbed.FakeJuju, "hook", "update-status")
	if err != nil {
		return err
	}
	restarts := starts(ctx, box) - startsBefore
	fmt.Printf("\nconverged hook (update-status), %d runs in the box:   min / median / max (ms)\n", runs)
	for _, row := range []struct {
		name string
		ds   []int64
	}{{"dispatch with Juju's hook tools", hook}, {"  the same, reconciling in full", fullHook}, {"python3 -c pass", python},
		{"via the fake agent (locks, server)", agentHook}} {
		lo, mid, hi := spread(row.ds)
		fmt.Printf("  %-36s %7.2f / %7.2f / %7.2f\n", row.name, ms(lo), ms(mid), ms(hi))
	}
	fmt.Printf("  ratio of the medians hook / python3 -c pass  %.2f   (goal: below 0.5)\n", float64(median(hook))/float64(median(python)))
	fmt.Printf("  the same, reconciling in full                %.2f   (charm/glance: a converged update-status reconciles in full\n", float64(median(fullHook))/float64(median(python)))
	fmt.Printf("  only when a stamp changed, its inputs changed, or its record is 30 minutes old)\n")
	fmt.Printf("  service restarts during %d converged hooks: %d\n", 3*runs, restarts)
	return nil
}

// sample is one scenario's run: the time to converge less the time
// Magnum's services took to stop, the stop time, starts and re-grafts.
type sample struct {
	net, stop        time.Duration
	starts, regrafts int
	// files is the time until the files and services first looked
	// converged, a re-graft perhaps still running, and checkEnd the time
	// to the end of the check that found the unit converged (the measure
	// before the check's beginning was taken), each less the stop time
	// (see testbed.ConvergedTimes).
	files, checkEnd time.Duration
}

// regrafts runs every scenario rounds times, round by round, and prints
// each one's min/median/max.
func regrafts(ctx context.Context, box *testbed.Box, rounds int, scenarios []testbed.Scenario) error {
	samples := map[string][]sample{}
	var lastConverged time.Time
	for round := 0; round < rounds; round++ {
		for _, sc := range scenarios {
			s, err := scenario(ctx, box, sc, &lastConverged)
			if err != nil {
				return fmt.Errorf("%s (round %d): %w", sc.Name, round+1, err)
			}
			samples[sc.Name] = append(samples[sc.Name], s)
		}
	}
	fmt.Printf("  %-50s %24s %9s %7s %9s %24s %24s\n", "", "converged - stop (s)", "stop (s)", "starts", "re-grafts",
		"files, hook running (s)", "check's end - stop (s)")
	fmt.Printf("  %-50s %24s %9s %7s %9s %24s %24s\n", "scenario", "min / median / max", "median", "max", "max",
		"min / median / max", "min / median / max")
	for _, sc := range scenarios {
		ss := samples[sc.Name]
		var net, stop, files, end []int64
		maxStarts, maxRegrafts := 0, 0
		for _, s := range ss {
			net, stop = append(net, int64(s.net)), append(stop, int64(s.stop))
			files, end = append(files, int64(s.files)), append(end, int64(s.checkEnd))
			maxStarts, maxRegrafts = max(maxStarts, s.starts), max(maxRegrafts, s.regrafts)
		}
		lo, mid, hi := spread(net)
		flo, fmid, fhi := spread(files)
		elo, emid, ehi := spread(end)
		fmt.Printf("  %-50s %6.2f / %6.2f / %6.2f %9.2f %7d %9d %6.2f / %6.2f / %6.2f %6.2f / %6.2f / %6.2f\n", sc.Name,
			lo.Seconds(), mid.Seconds(), hi.Seconds(), median(stop).Seconds(), maxStarts, maxRegrafts,
			flo.Seconds(), fmid.Seconds(), fhi.Seconds(), elo.Seconds(), emid.Seconds(), ehi.Seconds())
	}
	fmt.Printf("  (goal: every max within 5 s. converged: the files and services converged and the watcher's re-graft\n")
	fmt.Printf("  ended, at the beginning of the check that found both; files, hook running: when the files and\n")
	fmt.Printf("  services first looked converged; check's end: the end of the check that found converged, its\n")
	fmt.Printf("  Python included. See testbed.ConvergedTimes.)\n")
	for _, sc := range scenarios {
		fmt.Printf("  %s, each round (converged - stop / stop / starts / re-grafts):", sc.Name)
		for _, s := range samples[sc.Name] {
			fmt.Printf("  %.2f/%.2f/%d/%d", s.net.Seconds(), s.stop.Seconds(), s.starts, s.regrafts)
		}
		fmt.Println()
	}
	return nil
}

// scenario disrupts the unit once and measures the re-graft.
func scenario(ctx context.Context, box *testbed.Box, sc testbed.Scenario, lastConverged *time.Time) (sample, error) {
	// A principal that has been up a while, not one still loading Magnum
	// into its api workers from the last restart, and changes spaced as
	// they are in life: not inside the 30 s the watcher leaves between two
	// re-grafts that changed something.
	if err := box.AwaitAPIReady(ctx, 90*time.Second); err != nil {
		return sample{}, err
	}
	if wait := 31*time.Second - time.Since(*lastConverged); !lastConverged.IsZero() && wait > 0 {
		time.Sleep(wait)
	}
	want := box.GraftState()
	before := starts(ctx, box)
	regrafts := box.Regrafts(ctx)
	// The clock starts with the disruption: re-grafting may begin before
	// the disruption's last command returns.
	start := time.Now()
	if err := sc.Disrupt(ctx, box); err != nil {
		return sample{}, err
	}
	if sc.Resume != nil {
		time.Sleep(5 * time.Second)
		if err := sc.Resume(ctx, box); err != nil {
			return sample{}, err
		}
		start = time.Now()
	}
	times, err := box.AwaitConvergedTimes(ctx, want, start, 60*time.Second)
	if err != nil {
		return sample{}, err
	}
	took := times.Done
	*lastConverged = time.Now()
	time.Sleep(8 * time.Second) // let the watcher settle before counting
	stop := box.StopTime(ctx, start)
	return sample{net: took - stop, stop: stop, starts: starts(ctx, box) - before, regrafts: box.Regrafts(ctx) - regrafts,
		files: times.Files - stop, checkEnd: times.CheckEnd - stop}, nil
}

// spread is the min, median and max.
func spread(ds []int64) (time.Duration, time.Duration, time.Duration) {
	s := append([]int64{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return time.Duration(s[0]), time.Duration(s[len(s)/2]), time.Duration(s[len(s)-1])
}

func starts(ctx context.Context, box *testbed.Box) int {
	a, _ := box.Starts(ctx, "magnum-api")
	c, _ := box.Starts(ctx, "magnum-conductor")
	return a + c
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
