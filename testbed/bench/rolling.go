package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// rollingBench boots n Magnum units (one box each, magnum-api with 2 uWSGI
// workers so that n boxes fit this machine) and makes the same kind of
// config change on them two ways: all at once, as the charm did before it
// took turns (the units under a controller with no peer relation, so each
// is alone), and rolling (the same units under a controller with the peer
// relation). For each it prints the time from the change until every
// unit's hooks are done and every magnum-api answers again, and the
// seconds in which no unit's magnum-api answered (sampled every 100 ms, as
// haproxy's check would ask).
func rollingBench(ctx context.Context, a testbed.Artifacts, name string, n int) error {
	creds, err := fakek8s.NewCredentials(time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("\nbooting %d bookworm Magnum units side by side...\n", n)
	boxes := make([]*testbed.Box, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			boxes[i], errs[i] = testbed.BootUnitWith(ctx, fmt.Sprintf("%s-%d", name, i), "bookworm", a, testbed.UnitOptions{
				Unit: fmt.Sprintf("%s/%d", testbed.Application, i), APIWorkers: 2, Credentials: creds,
				Driver: testbed.Relabelled("1.4.0"),
			})
		}()
	}
	wg.Wait()
	for _, b := range boxes {
		if b != nil {
			defer b.Down()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(boxes[0].Path(testbed.ManagementKubeconfig))
	if err != nil {
		return err
	}
	fmt.Printf("\nconfig change on %d units (magnum-api with 2 uWSGI workers each), both ways in this run:\n", n)
	fmt.Printf("  %-12s %24s %23s %15s %17s\n", "", "change to all answering", "no magnum-api answered", "api restarts", "load avg (1 min)")
	for _, way := range []struct {
		name  string
		new   func(func(string, ...any)) *testbed.Controller
		value string
	}{{"all at once", testbed.NewControllerWithoutPeers, "bench-all-at-once"}, {"rolling", testbed.NewController, "bench-rolling"}} {
		m, err := configChange(ctx, way.new(nil), boxes, string(kubeconfig), way.value)
		if err != nil {
			return fmt.Errorf("%s: %w", way.name, err)
		}
		fmt.Printf("  %-12s %23.1fs %21.1fs   %-14s %6s -> %s\n", way.name, m.total.Seconds(), m.silent.Seconds(),
			strings.Trim(fmt.Sprint(m.restarts), "[]"), m.loadBefore, m.loadAfter)
	}
	fmt.Printf("  (the time runs from the change until every unit's hooks are done and every magnum-api answers again;\n" +
		"   \"no magnum-api answered\": 100 ms samples of every unit's magnum-api, as haproxy checks it, in which none answered;\n" +
		"   goal for rolling: 0.0 s; api restarts: each unit's magnum-api restarts, one each expected)\n")
	return nil
}

// measure is one way's config change: the time until every unit answered
// again, the time none answered, each unit's magnum-api restarts, and the
// machine's load average (1 minute) before and after.
type measure struct {
	total, silent         time.Duration
	restarts              []int
	loadBefore, loadAfter string
}

// configChange puts the units under c, grafts them, then changes
// namespace-prefix to value and measures it.
func configChange(ctx context.Context, c *testbed.Controller, boxes []*testbed.Box, kubeconfig, value string) (m measure, err error) {
	defer c.Close()
	idle := func() error {
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		defer cancel()
		return c.WaitIdle(waitCtx)
	}
	secret, err := c.AddSecret(map[string]string{"kubeconfig": kubeconfig})
	if err != nil {
		return m, err
	}
	for _, b := range boxes {
		if err := c.AddUnit(b); err != nil {
			return m, err
		}
	}
	if err := c.SetConfig(map[string]any{"kubeconfig": secret}); err != nil {
		return m, err
	}
	if err := idle(); err != nil {
		return m, err
	}
	for _, b := range boxes {
		if s, msg, _ := b.Status(); s != "active" {
			return m, fmt.Errorf("%s did not converge: %s: %s", b.UnitName(), s, msg)
		}
		if err := b.AwaitAPIReady(ctx, 5*time.Minute); err != nil {
			return m, err
		}
	}
	check, err := testbed.StartAPICheck(boxes, 100*time.Millisecond)
	if err != nil {
		return m, err
	}
	time.Sleep(2 * time.Second)
	before := make([]int, len(boxes))
	for i, b := range boxes {
		if before[i], err = b.Starts(ctx, "magnum-api"); err != nil {
			check.Stop()
			return m, err
		}
	}
	m.loadBefore = loadAverage()
	t0 := time.Now()
	if err := c.SetConfig(map[string]any{"namespace-prefix": value}); err != nil {
		check.Stop()
		return m, err
	}
	if err := idle(); err != nil {
		check.Stop()
		return m, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(check.Last().Answered) < len(boxes) {
		if time.Now().After(deadline) {
			check.Stop()
			return m, fmt.Errorf("not every magnum-api answers 5 minutes after the change")
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.total = time.Since(t0)
	m.loadAfter = loadAverage()
	samples := check.Stop()
	m.silent = samples.NoneAnswered()
	for i, b := range boxes {
		n, err := b.Starts(ctx, "magnum-api")
		if err != nil {
			return m, err
		}
		m.restarts = append(m.restarts, n-before[i])
	}
	return m, nil
}

// loadAverage is the machine's 1-minute load average.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
