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
// own subordinate unit, under one controller; grafts them all with the
// charm as it is (no rolling yet); shows relation data and leadership
// moving between them through Juju's own hook tools; records today's
// behaviour for a config change, every unit restarting at once, with an
// haproxy-like check of every unit's magnum-api (the seconds in which no
// unit answered are the baseline that rolling restarts are to bring to
// zero: reported, not asserted); and removes a unit.
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

	// Today's behaviour: a config change restarts every unit's services
	// at the same moment.
	for _, b := range units {
		require.NoError(t, b.AwaitAPIReady(ctx, 5*time.Minute), b.UnitName())
	}
	starts := map[string]int{}
	for _, b := range units {
		for _, svc := range []string{"magnum-api", "magnum-conductor"} {
			n, err := b.Starts(ctx, svc)
			require.NoError(t, err)
			starts[b.UnitName()+" "+svc] = n
		}
	}
	check, err := testbed.StartAPICheck(units, 100*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(2 * time.Second)
	t0 = time.Now()
	require.NoError(t, c.SetConfig(map[string]any{"namespace-prefix": "baseline"}))
	idle("namespace-prefix changed")
	hooksDone := time.Since(t0)
	require.Eventually(t, func() bool { return len(check.Last().Answered) == peerUnits }, 5*time.Minute, 100*time.Millisecond,
		"every magnum-api answers again")
	samples := check.Stop()

	require.NotEmpty(t, samples)
	assert.Len(t, samples[0].Answered, peerUnits, "every unit answered before the change")
	var down []string
	for _, b := range units {
		down = append(down, fmt.Sprintf("%s %.1fs", b.UnitName(), samples.Down(b.UnitName()).Seconds()))
		conf, err := os.ReadFile(b.Path("/etc/magnum/magnum.conf.d/99-capi.conf"))
		require.NoError(t, err)
		assert.Contains(t, string(conf), "namespace_prefix = baseline", b.UnitName())
		for _, svc := range []string{"magnum-api", "magnum-conductor"} {
			n, err := b.Starts(ctx, svc)
			require.NoError(t, err)
			assert.Equal(t, starts[b.UnitName()+" "+svc]+1, n, "%s %s restarted once", b.UnitName(), svc)
		}
	}
	silent := samples.Silent()
	var window string
	if len(silent) > 0 {
		window = fmt.Sprintf(", from %.1fs to %.1fs after the change", silent[0].At.Sub(t0).Seconds(), silent[len(silent)-1].At.Sub(t0).Seconds())
	}
	t.Logf("BASELINE (all units at once, as the charm does today): config-changed done on all %d units in %s; %s%s; each unit's API down: %s",
		peerUnits, hooksDone.Round(100*time.Millisecond), samples, window, strings.Join(down, ", "))

	// A unit leaves: it takes its graft off and departs; the others run
	// graft-relation-departed for it and no longer list it.
	from = len(c.Runs())
	gone := units[1]
	require.NoError(t, c.RemoveUnit(gone.UnitName()))
	idle("unit 1 removed")
	assert.Equal(t, []string{"juju-info-relation-broken", "graft-relation-departed (" + units[0].UnitName() + ")",
		"graft-relation-departed (" + units[2].UnitName() + ")", "stop", "remove"}, ran(c.Runs()[from:], gone.UnitName()))
	status, msg, err := gone.Status()
	require.NoError(t, err)
	assert.Equal(t, "maintenance", status)
	assert.Contains(t, msg, "graft removed")
	for _, pair := range [][2]*testbed.Box{{units[0], units[2]}, {units[2], units[0]}} {
		b, other := pair[0], pair[1]
		assert.Equal(t, []string{"graft-relation-departed (" + gone.UnitName() + ")"}, ran(c.Runs()[from:], b.UnitName()))
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
