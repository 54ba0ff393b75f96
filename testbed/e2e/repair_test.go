//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// disruption is a change of the principal that Juju gives the subordinate
// no hook for: only the charm's watcher, running the update-status hook
// through the real juju-exec, repairs it.
type disruption struct {
	testbed.Scenario
	// fromEnd starts the clock when the disruption has finished (a
	// package reinstall's own run is not the charm's to speed up).
	fromEnd bool
	// keepsGraft: nothing of the graft is lost (a reinstall keeps files
	// that are not conffiles), so the watcher may re-graft at most once,
	// finding nothing to do. Otherwise it must have re-grafted.
	keepsGraft bool
}

func scenario(name string) testbed.Scenario {
	for _, s := range testbed.Scenarios {
		if strings.HasPrefix(s.Name, name) {
			return s
		}
	}
	panic("no scenario " + name)
}

// disruptions are the README's promises: Magnum's packages reinstalled as
// an upgrade does, the wiring deleted, the driver's install tree removed.
// The reinstall goes first: it leaves the watcher nothing to change, so the
// next disruption need not wait out a re-graft's 30 s.
var disruptions = []disruption{
	{Scenario: scenario("apt-get install --reinstall"), fromEnd: true, keepsGraft: true},
	{Scenario: scenario("wiring deleted")},
	{Scenario: testbed.Scenario{Name: "driver install tree removed", Disrupt: func(ctx context.Context, b *testbed.Box) error {
		_, err := b.MustRun(ctx, "rm", "-rf", "/opt/magnum-capi-graft/driver")
		if err == nil && b.DriverLoadsAsMagnum(ctx) == nil {
			err = fmt.Errorf("the driver still loads: the disruption proves nothing")
		}
		return err
	}}},
}

// repair is one disruption's repair, measured where the machine is close
// (see repairOne).
type repair struct {
	Took, Stops time.Duration
	// Regrafts the watcher ran meanwhile, and its journal.
	Regrafts int
	Journal  string
	Err      string
}

// repairOne disrupts the principal, no sooner than after wait, and times
// the repair: from the disruption to a converged unit (graft files as they
// were, both services started after them, the conductor wired, the driver
// loading as magnum). It runs beside the machine (the test bed's box is
// read from the host) or on it (see probe): timing over juju ssh would
// measure juju ssh.
func repairOne(ctx context.Context, box *testbed.Box, d disruption, wait time.Duration) repair {
	notBefore := time.Now().Add(wait)
	// A principal that has been up a while, not one still loading Magnum
	// into its api workers from the last restart.
	if err := box.AwaitAPIReady(ctx, 3*time.Minute); err != nil {
		return repair{Err: err.Error()}
	}
	time.Sleep(time.Until(notBefore))
	want := box.GraftState()
	before := box.Regrafts(ctx)
	start := time.Now()
	if err := d.Disrupt(ctx, box); err != nil {
		return repair{Err: err.Error()}
	}
	if d.fromEnd {
		start = time.Now()
	}
	took, err := box.AwaitConverged(ctx, want, start, 2*time.Minute)
	if err != nil {
		return repair{Err: err.Error()}
	}
	r := repair{Took: took, Stops: box.StopTime(ctx, start)}
	// Let the watcher's echo of its own re-graft pass, then count.
	time.Sleep(5 * time.Second)
	r.Regrafts = box.Regrafts(ctx) - before
	r.Journal, err = box.MustRun(ctx, "journalctl", "-b", "-u", "magnum-capi-graft-watcher", "--no-pager", "-o", "cat",
		"--since", fmt.Sprintf("@%d", start.Add(-time.Second).Unix()))
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// repairs breaks the principal in each way, spaced as in life (not inside
// the 30 s the watcher leaves after a re-graft that changed something), and
// checks each repair.
func (o *operator) repairs() []time.Duration {
	t := o.t
	var times []time.Duration
	var wait time.Duration
	for i, d := range disruptions {
		var r repair
		if o.box.Remote == nil {
			r = repairOne(o.ctx, o.box, d, wait)
		} else {
			r = o.repairRemotely(i, wait)
		}
		wait = 0
		if !d.keepsGraft {
			wait = 31 * time.Second
		}
		require.Empty(t, r.Err, d.Name)
		logf("e2e: %-30s repaired in %6.2f s (%5.2f s of it stopping Magnum's services)", d.Name, r.Took.Seconds(), r.Stops.Seconds())
		assert.Less(t, r.Took-r.Stops, repairGoal, "%s: the charm's share of the repair", d.Name)
		// The repair was the watcher's, through juju-exec, and it worked.
		assert.NotContains(t, r.Journal, "re-graft failed", d.Name)
		if d.keepsGraft {
			assert.LessOrEqual(t, r.Regrafts, 1, "%s: re-grafts\n%s", d.Name, r.Journal)
		} else {
			assert.GreaterOrEqual(t, r.Regrafts, 1, "%s: repaired, but not by the watcher?\n%s", d.Name, r.Journal)
		}
		times = append(times, r.Took)
		o.awaitGraft("active", "conf.d read by", time.Minute)
	}
	return times
}

// probeVerb runs the suite's binary as a probe (see TestMain).
const probeVerb = "e2e-probe"

// probePath is where the suite's binary is put on a remote machine:
// outside the trees a manifest compares.
const probePath = "/root/magnum-capi-graft-e2e-probe"

// repairRemotely runs repairOne for disruptions[i] on the remote machine,
// with the suite's own binary copied there.
func (o *operator) repairRemotely(i int, wait time.Duration) repair {
	t := o.t
	if !o.probeInstalled {
		self, err := os.Executable()
		require.NoError(t, err)
		require.NoError(t, o.box.Put(o.ctx, self, probePath, 0o755))
		o.probeInstalled = true
	}
	out, err := o.box.MustRun(o.ctx, probePath, probeVerb, "repair", strconv.Itoa(i), wait.String())
	require.NoError(t, err)
	var r repair
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r
}

// probe is the suite's binary run on the machine: `e2e-probe repair N
// WAIT` prints repairOne's result for disruptions[N] as JSON.
func probe(args []string) int {
	if len(args) != 3 || args[0] != "repair" {
		fmt.Fprintln(os.Stderr, "usage: e2e-probe repair N WAIT")
		return 2
	}
	i, err := strconv.Atoi(args[1])
	if err != nil || i < 0 || i >= len(disruptions) {
		fmt.Fprintln(os.Stderr, "e2e-probe: no disruption", args[1])
		return 2
	}
	wait, err := time.ParseDuration(args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e-probe:", err)
		return 2
	}
	here := &testbed.Box{Name: "here", Release: "bookworm", Remote: testbed.Here{}}
	r := repairOne(context.Background(), here, disruptions[i], wait)
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}
