package main

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	fmt.Printf("\nconfig change on %d units (magnum-api with 2 uWSGI workers each):\n", n)
	fmt.Printf("  %-14s %22s %28s\n", "", "change to all answering", "no magnum-api answered")
	for _, way := range []struct {
		name  string
		new   func(func(string, ...any)) *testbed.Controller
		value string
	}{{"all at once", testbed.NewControllerWithoutPeers, "bench-all-at-once"}, {"rolling", testbed.NewController, "bench-rolling"}} {
		total, silent, err := configChange(ctx, way.new(nil), boxes, string(kubeconfig), way.value)
		if err != nil {
			return fmt.Errorf("%s: %w", way.name, err)
		}
		fmt.Printf("  %-14s %21.1fs %27.1fs\n", way.name, total.Seconds(), silent.Seconds())
	}
	fmt.Printf("  (goal for rolling: 0.0 s with no magnum-api answering)\n")
	return nil
}

// configChange puts the units under c, grafts them, then changes
// namespace-prefix to value and measures it.
func configChange(ctx context.Context, c *testbed.Controller, boxes []*testbed.Box, kubeconfig, value string) (total, silent time.Duration, err error) {
	defer c.Close()
	idle := func() error {
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		defer cancel()
		return c.WaitIdle(waitCtx)
	}
	secret, err := c.AddSecret(map[string]string{"kubeconfig": kubeconfig})
	if err != nil {
		return 0, 0, err
	}
	for _, b := range boxes {
		if err := c.AddUnit(b); err != nil {
			return 0, 0, err
		}
	}
	if err := c.SetConfig(map[string]any{"kubeconfig": secret}); err != nil {
		return 0, 0, err
	}
	if err := idle(); err != nil {
		return 0, 0, err
	}
	for _, b := range boxes {
		if s, m, _ := b.Status(); s != "active" {
			return 0, 0, fmt.Errorf("%s did not converge: %s: %s", b.UnitName(), s, m)
		}
		if err := b.AwaitAPIReady(ctx, 5*time.Minute); err != nil {
			return 0, 0, err
		}
	}
	check, err := testbed.StartAPICheck(boxes, 100*time.Millisecond)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(2 * time.Second)
	t0 := time.Now()
	if err := c.SetConfig(map[string]any{"namespace-prefix": value}); err != nil {
		check.Stop()
		return 0, 0, err
	}
	if err := idle(); err != nil {
		check.Stop()
		return 0, 0, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(check.Last().Answered) < len(boxes) {
		if time.Now().After(deadline) {
			check.Stop()
			return 0, 0, fmt.Errorf("not every magnum-api answers 5 minutes after the change")
		}
		time.Sleep(100 * time.Millisecond)
	}
	total = time.Since(t0)
	samples := check.Stop()
	return total, samples.NoneAnswered(), nil
}
