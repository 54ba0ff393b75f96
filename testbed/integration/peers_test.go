//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// peerUnits is how many units TestThreeUnitsUnderOneController runs, and
// apiWorkers how many uWSGI workers each one's magnum-api runs: Debian's 8
// in each of three boxes do not fit a 2-core machine.
const (
	peerUnits  = 3
	apiWorkers = 2
)

// TestThreeUnitsUnderOneController boots three Magnum units, each with its
// own subordinate unit, under one controller; grafts them all (a rolling
// restart already); shows relation data and leadership moving between
// them through Juju's own hook tools; then rolls config changes through
// them with an haproxy-like check of every unit's magnum-api: each unit
// restarts once, one at a time in the leader's order, and at every 100 ms
// sample some unit answered. A driver that does not import stops at its
// canary; a rotated kubeconfig secret rolls as a config change does, and
// the leadership moving mid-roll does not stop it; a paused unit is
// skipped and converges on resume; a unit removed mid-roll does not stop
// a roll.
func TestThreeUnitsUnderOneController(t *testing.T) {
	ctx := context.Background()
	memBefore := memAvailable(t)
	start := time.Now()
	creds, err := fakek8s.NewCredentials(time.Now())
	require.NoError(t, err)
	units := make([]*testbed.Box, peerUnits)
	errs := make([]error, peerUnits)
	var wg sync.WaitGroup
	for i := range peerUnits {
		name := fmt.Sprintf("it-%d-%d", os.Getpid(), boxes.Add(1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			units[i], errs[i] = testbed.BootUnitWith(ctx, name, "bookworm", artifacts, testbed.UnitOptions{
				Unit: fmt.Sprintf("%s/%d", testbed.Application, i), APIWorkers: apiWorkers, Credentials: creds,
				// Bookworm's Magnum with Debian's 1.2.0 relabelled as
				// 1.4.0 (the default driver-version): a stand-in for
				// the release, as in bootRelabelled140.
				Driver: testbed.Relabelled("1.4.0"),
			})
		}()
	}
	wg.Wait()
	for i, b := range units {
		if b == nil {
			continue
		}
		t.Cleanup(func() {
			if st, err := b.State(); assert.NoError(t, err) {
				assert.Empty(t, st.Leaks, "outputs that held secret material")
			}
			if t.Failed() {
				out, _ := b.MustRun(ctx, "journalctl", "-n", "30", "--no-pager", "-u", "magnum-api", "-u", "magnum-conductor", "-u", "magnum-capi-graft-watcher")
				t.Logf("journal of %s:\n%s", b.UnitName(), out)
			}
			_ = b.Down()
		})
		require.NoError(t, errs[i])
	}
	for _, err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d units booted side by side in %s; memory available: %d MiB before, %d MiB after; in the units: %s",
		peerUnits, time.Since(start).Round(time.Second), memBefore, memAvailable(t), boxMemory(t, units))

	c := testbed.NewController(t.Logf)
	t.Cleanup(c.Close)
	idle := func(what string) {
		t.Helper()
		waitCtx, cancel := context.WithTimeout(ctx, 20*time.Minute)
		defer cancel()
		t0 := time.Now()
		require.NoError(t, c.WaitIdle(waitCtx), what)
		t.Logf("%s: every unit idle after %s", what, time.Since(t0).Round(100*time.Millisecond))
	}

	// One kubeconfig for all: the units' management clusters share their
	// credentials.
	kubeconfig, err := os.ReadFile(units[0].Path(testbed.ManagementKubeconfig))
	require.NoError(t, err)
	for _, b := range units[1:] {
		other, err := os.ReadFile(b.Path(testbed.ManagementKubeconfig))
		require.NoError(t, err)
		require.Equal(t, string(kubeconfig), string(other), "the units' management clusters differ")
	}
	secret, err := c.AddSecret(map[string]string{"kubeconfig": string(kubeconfig)})
	require.NoError(t, err)

	for _, b := range units {
		require.NoError(t, c.AddUnit(b))
	}
	idle("three units added")
	for _, b := range units {
		status, msg, err := b.Status()
		require.NoError(t, err)
		assert.Equal(t, "blocked", status, "%s with no kubeconfig: %s", b.UnitName(), msg)
	}
	for i, b := range units {
		peers := run(t, b, "relation-list -r "+peerRelation)
		want := []string{}
		for j, o := range units {
			if j != i {
				want = append(want, o.UnitName())
			}
		}
		assert.Equal(t, strings.Join(want, "\n")+"\n", peers, "%s's peers", b.UnitName())
	}

	// Graft them all at once: the charm as it is.
	t0 := time.Now()
	require.NoError(t, c.SetConfig(map[string]any{"kubeconfig": secret}))
	idle("kubeconfig set")
	t.Logf("all three grafted in %s; memory available %d MiB; in the units: %s", time.Since(t0).Round(time.Second), memAvailable(t), boxMemory(t, units))
	for _, b := range units {
		status, msg, err := b.Status()
		require.NoError(t, err)
		require.Equal(t, "active", status, "%s: %s", b.UnitName(), msg)
		assert.Contains(t, msg, "conf.d read by", b.UnitName())
	}

	// Relation data: what a unit commits with relation-set, the others
	// read with relation-get, and each ran graft-relation-changed for it.
	from := len(c.Runs())
	run(t, units[1], "relation-set -r "+peerRelation+" probe=hello-from-1")
	idle("unit 1 set probe")
	for _, i := range []int{0, 2} {
		assert.Equal(t, "hello-from-1\n", run(t, units[i], "relation-get -r "+peerRelation+" probe "+units[1].UnitName()), units[i].UnitName())
		assert.Contains(t, ran(c.Runs()[from:], units[i].UnitName()), "graft-relation-changed ("+units[1].UnitName()+")")
	}
	// The leader's application settings reach everyone; another unit
	// cannot write them.
	leader := units[0]
	require.Equal(t, leader.UnitName(), c.Leader())
	run(t, leader, "relation-set -r "+peerRelation+" --app note=from-the-leader")
	idle("the leader set note")
	for _, b := range units {
		assert.Equal(t, "from-the-leader\n", run(t, b, "relation-get -r "+peerRelation+" --app note "+testbed.Application), b.UnitName())
	}
	res, err := units[1].Run(ctx, testbed.JujuExec, "-u", units[1].UnitName(), "--", "relation-set -r "+peerRelation+" --app note=mine")
	require.NoError(t, err)
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Stderr, "ERROR cannot write relation settings")

	// Leadership moves: leader-elected runs on the new leader alone.
	from = len(c.Runs())
	require.NoError(t, c.SetLeader(units[2].UnitName()))
	idle("leadership moved")
	assert.Equal(t, []string{"leader-elected"}, ran(c.Runs()[from:], units[2].UnitName()))
	assert.Empty(t, ran(c.Runs()[from:], units[0].UnitName()))
	assert.Equal(t, "True\n", run(t, units[2], "is-leader"))
	assert.Equal(t, "False\n", run(t, units[0], "is-leader"))

	// A config change rolls: each unit restarts once, one at a time in
	// the leader's order, and some magnum-api answers throughout.
	for _, b := range units {
		require.NoError(t, b.AwaitAPIReady(ctx, 5*time.Minute), b.UnitName())
	}
	rollThrough(t, c, units, configRoll(c, "rolled"))

	// A new driver whose wheel does not import: the first unit is the
	// canary; it proves the driver before any restart, finds it broken,
	// rolls back on itself and stops the roll; the other two never
	// restart, and every unit says which unit failed and why.
	bad := wheel(t, testbed.WheelOptions{Relabel: "1.4.0", ImportError: true})
	for _, b := range units {
		require.NoError(t, b.AttachResource(ctx, "driver", bad))
	}
	before := startCounts(t, units)
	require.NoError(t, c.SetConfig(map[string]any{"namespace-prefix": "canary"}))
	idle("a broken driver attached and the config changed")
	canary := appSetting(t, units[0], "roll-canary")
	require.NotEmpty(t, canary)
	assert.Equal(t, canary, strings.Split(appSetting(t, units[0], "roll-order"), ",")[0], "the roll's first unit is the canary")
	assert.Equal(t, canary, appSetting(t, units[0], "roll-stopped-by"))
	assert.Equal(t, before, startCounts(t, units), "no unit restarted")
	for _, b := range units {
		status, msg, err := b.Status()
		require.NoError(t, err)
		assert.Equal(t, "blocked", status, b.UnitName())
		assert.Contains(t, msg, "does not load as user magnum", b.UnitName())
		if b.UnitName() == canary {
			assert.Contains(t, msg, "this unit was the rolling restart's canary", b.UnitName())
		} else {
			assert.Contains(t, msg, "rolling restart stopped: the canary "+canary+" failed", b.UnitName())
		}
		conf, err := os.ReadFile(b.Path("/etc/magnum/magnum.conf.d/99-capi.conf"))
		require.NoError(t, err)
		assert.Contains(t, string(conf), "namespace_prefix = rolled", "%s keeps what it runs", b.UnitName())
	}
	// The good driver back and a later change: a new roll through all.
	good := wheel(t, testbed.WheelOptions{Relabel: "1.4.0"})
	for _, b := range units {
		require.NoError(t, b.AttachResource(ctx, "driver", good))
	}
	rollThrough(t, c, units, configRoll(c, "after-canary"))

	// The kubeconfig secret rotated (a new revision): secret-changed on
	// every unit at once rolls like a config change. The leadership moves
	// while the second unit restarts: the new leader carries the roll on
	// from the relation data.
	rotated := strings.TrimSpace(string(kubeconfig)) + "\n# rotated by the operator\n"
	rollThrough(t, c, units, rollCase{
		what:   "kubeconfig secret rotated",
		change: func() error { return c.RotateSecret(secret, map[string]string{"kubeconfig": rotated}) },
		path:   "/etc/magnum/kubeconfig", want: "# rotated by the operator",
		during: func() {
			_, holder := awaitLaterTurn(t, units[0], len(units))
			next := units[0].UnitName()
			if next == c.Leader() {
				next = units[2].UnitName()
			}
			require.NoError(t, c.SetLeader(next))
			t.Logf("leadership moved to %s while %s held a later turn", next, holder)
		},
	})

	// A paused unit (charm-magnum's pause: its services stopped, disabled
	// and masked) takes no turn: the roll goes through the other two, the
	// paused one gets the graft's files and says it waits; resumed, its
	// services start on them, and it converges with no further restart.
	paused := units[1]
	require.NoError(t, pauseMagnum(ctx, paused))
	pausedStarts := startCounts(t, []*testbed.Box{paused})
	rollThrough(t, c, []*testbed.Box{units[0], units[2]}, configRoll(c, "paused-one"))
	assert.NotContains(t, strings.Split(appSetting(t, units[0], "roll-order"), ","), paused.UnitName(), "the paused unit is not in the roll")
	assert.Equal(t, pausedStarts, startCounts(t, []*testbed.Box{paused}), "the paused unit started nothing")
	status, msg, err := paused.Status()
	require.NoError(t, err)
	assert.Equal(t, "waiting", status)
	assert.Contains(t, msg, "masked (paused)")
	conf, err := os.ReadFile(paused.Path("/etc/magnum/magnum.conf.d/99-capi.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(conf), "namespace_prefix = paused-one", "the paused unit has the graft's files")
	want := paused.GraftState()
	resumed := time.Now()
	require.NoError(t, resumeMagnum(ctx, paused))
	took, err := paused.AwaitConverged(ctx, want, resumed, 2*time.Minute)
	require.NoError(t, err)
	require.Eventually(t, func() bool { s, _, _ := paused.Status(); return s == "active" }, 2*time.Minute, 250*time.Millisecond,
		"the resumed unit says active")
	after := startCounts(t, []*testbed.Box{paused})
	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		k := paused.UnitName() + " " + svc
		assert.Equal(t, pausedStarts[k]+1, after[k], "%s: started once, by the resume", k)
	}
	t.Logf("the paused unit converged %s after its resume", took.Round(100*time.Millisecond))
	require.NoError(t, paused.AwaitAPIReady(ctx, 5*time.Minute))

	// While a later unit of a roll holds the turn, the first one's
	// principal takes the graft's wiring away as a package reinstall does
	// (services stopped, the wiring gone, daemon-reload, services started
	// unwired): it serves no graft to keep up, so it re-grafts at once,
	// within the watcher's goal, without asking for a turn.
	var unwired *testbed.Box
	rollThrough(t, c, units, rollCase{
		what: "namespace-prefix=unwired", change: configChange(c, "unwired"),
		path: "/etc/magnum/magnum.conf.d/99-capi.conf", want: "namespace_prefix = unwired",
		during: func() {
			order, holder := awaitLaterTurn(t, units[0], len(units))
			unwired = unitNamed(units, order[0])
			t.Logf("%s holds the turn", holder)
			asked := turnRequests(t, unwired)
			regrafts := unwired.Regrafts(ctx)
			conductor, err := unwired.Starts(ctx, "magnum-conductor")
			require.NoError(t, err)
			want := unwired.GraftState()
			start := time.Now()
			// Stopped first, as dpkg's prerm does: a hook that runs while
			// the wiring goes finds nothing serving.
			_, err = unwired.MustRun(ctx, "systemctl", "stop", "magnum-api", "magnum-conductor")
			require.NoError(t, err)
			require.NoError(t, scenario("wiring deleted").Disrupt(ctx, unwired))
			took, err := unwired.AwaitConverged(ctx, want, start, time.Minute)
			require.NoError(t, err)
			holder = appSetting(t, unwired, "roll-turn")
			stops := unwired.StopTime(ctx, start)
			t.Logf("%s re-grafted %s after its services were restarted unwired (%s of it stopping them); the turn was then %q's",
				unwired.UnitName(), took.Round(time.Millisecond), stops.Round(time.Millisecond), holder)
			assert.Less(t, took-stops, reconvergeGoal, "the re-graft's share")
			assert.Equal(t, asked, turnRequests(t, unwired), "the unwired unit asked for no turn")
			assert.Greater(t, unwired.Regrafts(ctx), regrafts, "the watcher re-grafted it")
			n, err := unwired.Starts(ctx, "magnum-conductor")
			require.NoError(t, err)
			assert.GreaterOrEqual(t, n, conductor+2, "started unwired by hand, then restarted by the re-graft")
		},
		disturbed: func() *testbed.Box { return unwired },
	})

	// A unit removed while it holds the turn: it takes its graft off
	// without waiting, the leader takes the turn back, and the roll
	// completes on the two left. The others run graft-relation-departed
	// for it and no longer list it.
	gone := units[1]
	left := []*testbed.Box{units[0], units[2]}
	from = len(c.Runs())
	oneGone := configRoll(c, "one-gone")
	oneGone.during = func() {
		awaitTurn(t, gone, gone.UnitName())
		require.NoError(t, c.RemoveUnit(gone.UnitName()))
		t.Logf("%s removed while it held the turn", gone.UnitName())
	}
	rollThrough(t, c, left, oneGone)
	gr := ran(c.Runs()[from:], gone.UnitName())
	assert.Contains(t, gr, "juju-info-relation-broken")
	assert.Equal(t, []string{"stop", "remove"}, gr[len(gr)-2:])
	status, msg, err = gone.Status()
	require.NoError(t, err)
	assert.Equal(t, "maintenance", status)
	assert.Contains(t, msg, "graft removed")
	for _, pair := range [][2]*testbed.Box{{units[0], units[2]}, {units[2], units[0]}} {
		b, other := pair[0], pair[1]
		assert.Contains(t, ran(c.Runs()[from:], b.UnitName()), "graft-relation-departed ("+gone.UnitName()+")")
		assert.Equal(t, other.UnitName()+"\n", run(t, b, "relation-list -r "+peerRelation), b.UnitName())
		assert.Equal(t, "hello-from-1\n", run(t, b, "relation-get -r "+peerRelation+" probe "+gone.UnitName()),
			"a departed unit's settings stay readable")
	}
	t.Logf("whole test %s; memory available %d MiB", time.Since(start).Round(time.Second), memAvailable(t))
}

// peerRelation is the peer relation as the hook tools name it.
var peerRelation = fmt.Sprintf("%s:%d", testbed.PeerEndpoint, testbed.PeerRelationID)

// run runs a command in a unit's hook context with Juju's own juju-exec,
// and returns its stdout.
func run(t *testing.T, b *testbed.Box, command string) string {
	t.Helper()
	out, err := b.MustRun(context.Background(), testbed.JujuExec, "-u", b.UnitName(), "--", command)
	require.NoError(t, err)
	return out
}

// ran lists the hooks a unit ran among runs, as HookRun prints them
// without the unit.
func ran(runs []testbed.HookRun, unit string) []string {
	var out []string
	for _, r := range runs {
		if r.Unit == unit {
			out = append(out, strings.TrimPrefix(r.String(), unit+": "))
		}
	}
	return out
}

// memAvailable is the host's MemAvailable in MiB.
func memAvailable(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	require.NoError(t, err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemAvailable:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			require.NoError(t, err)
			return kb / 1024
		}
	}
	t.Fatal("no MemAvailable in /proc/meminfo")
	return 0
}

// boxMemory sums the resident memory of every process in each box.
func boxMemory(t *testing.T, boxes []*testbed.Box) string {
	t.Helper()
	var parts []string
	for _, b := range boxes {
		out, err := b.MustRun(context.Background(), "ps", "-e", "-o", "rss=")
		require.NoError(t, err)
		kb := 0
		for _, f := range strings.Fields(out) {
			n, _ := strconv.Atoi(f)
			kb += n
		}
		parts = append(parts, fmt.Sprintf("%s %d MiB", b.UnitName(), kb/1024))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ") + " (resident, summed over processes)"
}

// rollCase is a change that rolls through the units: change makes it,
// and afterwards the file path on every unit contains want. during, when
// not nil, runs while the roll is under way; disturbed, when not nil, is a
// unit that during restarted by itself, whose restarts and start time are
// not the roll's.
type rollCase struct {
	what       string
	change     func() error
	path, want string
	during     func()
	disturbed  func() *testbed.Box
}

// configChange sets namespace-prefix to value.
func configChange(c *testbed.Controller, value string) func() error {
	return func() error { return c.SetConfig(map[string]any{"namespace-prefix": value}) }
}

// configRoll is the roll of namespace-prefix set to value.
func configRoll(c *testbed.Controller, value string) rollCase {
	return rollCase{what: "namespace-prefix=" + value, change: configChange(c, value),
		path: "/etc/magnum/magnum.conf.d/99-capi.conf", want: "namespace_prefix = " + value}
}

// rollThrough makes a change and checks the roll it starts: every unit of
// units restarts each Magnum service exactly once, magnum-api restarts in
// the order the leader wrote (roll-order), and at every 100 ms sample at
// least one unit's magnum-api answered.
func rollThrough(t *testing.T, c *testbed.Controller, units []*testbed.Box, rc rollCase) {
	t.Helper()
	ctx := context.Background()
	before := startCounts(t, units)
	check, err := testbed.StartAPICheck(units, 100*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(2 * time.Second)
	t0 := time.Now()
	require.NoError(t, rc.change())
	if rc.during != nil {
		rc.during()
	}
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	require.NoError(t, c.WaitIdle(waitCtx), "rolling %s", rc.what)
	var disturbed string
	if rc.disturbed != nil {
		disturbed = rc.disturbed().UnitName()
	}
	hooksDone := time.Since(t0)
	require.Eventually(t, func() bool { return len(check.Last().Answered) == len(units) }, 5*time.Minute, 100*time.Millisecond,
		"every magnum-api answers again")
	samples := check.Stop()
	require.NotEmpty(t, samples)
	assert.Len(t, samples[0].Answered, len(units), "every unit answered before the change")
	assert.Empty(t, samples.Silent(), "at every sample some magnum-api answered")

	after := startCounts(t, units)
	started := map[string]uint64{}
	var down []string
	for _, b := range units {
		for _, svc := range []string{"magnum-api", "magnum-conductor"} {
			k := b.UnitName() + " " + svc
			if b.UnitName() == disturbed {
				assert.Greater(t, after[k], before[k], "%s restarted", k)
				continue
			}
			assert.Equal(t, before[k]+1, after[k], "%s restarted once", k)
		}
		got, err := os.ReadFile(b.Path(rc.path))
		require.NoError(t, err)
		assert.Contains(t, string(got), rc.want, "%s: %s", b.UnitName(), rc.path)
		status, msg, err := b.Status()
		require.NoError(t, err)
		assert.Equal(t, "active", status, "%s: %s", b.UnitName(), msg)
		out, err := b.MustRun(ctx, "systemctl", "show", "-p", "ExecMainStartTimestampMonotonic", "--value", "magnum-api")
		require.NoError(t, err)
		if b.UnitName() != disturbed {
			started[b.UnitName()], err = strconv.ParseUint(strings.TrimSpace(out), 10, 64)
			require.NoError(t, err)
		}
		down = append(down, fmt.Sprintf("%s %.1fs", b.UnitName(), samples.Down(b.UnitName()).Seconds()))
	}
	// The boxes share the host's kernel, and so CLOCK_MONOTONIC.
	byStart := make([]string, 0, len(units))
	for _, b := range units {
		if _, ok := started[b.UnitName()]; ok {
			byStart = append(byStart, b.UnitName())
		}
	}
	slices.SortFunc(byStart, func(a, b string) int { return int(int64(started[a]) - int64(started[b])) })
	order := strings.Split(appSetting(t, units[0], "roll-order"), ",")
	order = slices.DeleteFunc(order, func(u string) bool { _, ok := started[u]; return !ok })
	if !assert.Equal(t, order, byStart, "magnum-api restarted in the leader's order") {
		rollLogs(t, units)
	}
	t.Logf("ROLLING %s: the change to idle on %d units in %s; order %s; %s; each unit's API down: %s",
		rc.what, len(units), hooksDone.Round(100*time.Millisecond), strings.Join(order, " "), samples, strings.Join(down, ", "))
}

// startCounts is each unit's count of starts of each Magnum service.
func startCounts(t *testing.T, units []*testbed.Box) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, b := range units {
		for _, svc := range []string{"magnum-api", "magnum-conductor"} {
			n, err := b.Starts(context.Background(), svc)
			require.NoError(t, err)
			counts[b.UnitName()+" "+svc] = n
		}
	}
	return counts
}

// appSetting is a key of the application's settings in the peer relation
// as b's agent last received them (read from its state, not through
// juju-exec, which would queue behind the unit's running hook).
func appSetting(t *testing.T, b *testbed.Box, key string) string {
	t.Helper()
	st, err := b.State()
	require.NoError(t, err)
	r, err := st.Relation(testbed.PeerRelationID)
	require.NoError(t, err)
	return r.Applications[testbed.Application][key]
}

// awaitTurn waits until b's agent has received a roll that gives unit the
// turn.
func awaitTurn(t *testing.T, b *testbed.Box, unit string) {
	t.Helper()
	require.Eventually(t, func() bool { return appSetting(t, b, "roll-turn") == unit }, 10*time.Minute, 100*time.Millisecond,
		"%s gets the turn", unit)
}

// awaitLaterTurn waits until b's agent has received a roll of n units
// whose turn a unit after the first holds, and returns the roll's order
// and that unit. The leader's own turn is never seen by the others when it
// takes and hands it on in one hook, so which later unit is seen holding
// it depends on where the leader is in the order.
func awaitLaterTurn(t *testing.T, b *testbed.Box, n int) ([]string, string) {
	t.Helper()
	var order []string
	var holder string
	require.Eventually(t, func() bool {
		order = strings.Split(appSetting(t, b, "roll-order"), ",")
		holder = appSetting(t, b, "roll-turn")
		return len(order) == n && holder != "" && holder != order[0]
	}, 10*time.Minute, 100*time.Millisecond, "a later unit of the roll gets the turn")
	return order, holder
}

// pauseMagnum pauses a Magnum unit as charm-magnum's pause action does
// (charmhelpers' pause_unit: service_pause stops, disables and masks each
// of its services).
func pauseMagnum(ctx context.Context, b *testbed.Box) error {
	for _, verb := range []string{"stop", "disable", "mask"} {
		if _, err := b.MustRun(ctx, "systemctl", verb, "magnum-api", "magnum-conductor"); err != nil {
			return err
		}
	}
	return nil
}

// resumeMagnum is charm-magnum's resume (service_resume: unmask, enable,
// start).
func resumeMagnum(ctx context.Context, b *testbed.Box) error {
	for _, verb := range []string{"unmask", "enable", "start"} {
		if _, err := b.MustRun(ctx, "systemctl", verb, "magnum-api", "magnum-conductor"); err != nil {
			return err
		}
	}
	return nil
}

// rollLogs logs what each unit's charm said of the roll, and its roll
// settings.
func rollLogs(t *testing.T, units []*testbed.Box) {
	t.Helper()
	for _, b := range units {
		st, err := b.State()
		if err != nil {
			t.Logf("%s: %v", b.UnitName(), err)
			continue
		}
		var lines []string
		for _, l := range st.Logs {
			if strings.Contains(l.Message, "rolling restart") {
				lines = append(lines, l.Message)
			}
		}
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		var own map[string]string
		if r, err := st.Relation(testbed.PeerRelationID); err == nil {
			own = r.Units[b.UnitName()]
		}
		t.Logf("%s said of the roll:\n  %s\nits settings: %v", b.UnitName(), strings.Join(lines, "\n  "), own)
	}
}

// unitNamed is the box of the unit named name.
func unitNamed(units []*testbed.Box, name string) *testbed.Box {
	for _, b := range units {
		if b.UnitName() == name {
			return b
		}
	}
	panic("no unit " + name)
}

// turnRequests counts the times b's charm asked the leader for a turn.
func turnRequests(t *testing.T, b *testbed.Box) int {
	t.Helper()
	st, err := b.State()
	require.NoError(t, err)
	n := 0
	for _, l := range st.Logs {
		if strings.Contains(l.Message, "rolling restart: asking for a turn") {
			n++
		}
	}
	return n
}
