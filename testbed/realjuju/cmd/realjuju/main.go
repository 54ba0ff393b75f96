// Command realjuju brings the real-Juju test bed up and keeps it until it is
// interrupted (Ctrl-C or SIGTERM), then tears it down: a way to look around
// a real controller and Magnum machine by hand.
//
//	go run ./testbed/realjuju/cmd/realjuju
//
// It prints the environment to use the bed's juju client with.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/realjuju"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "realjuju:", err)
		os.Exit(1)
	}
}

func run() error {
	dist, err := realjuju.Unpack(realjuju.DistDir())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	// Bring-up is not interrupted halfway: a signal then tears down at once.
	bed, err := realjuju.Up(context.WithoutCancel(ctx), realjuju.Options{Dist: dist, Logf: logf})
	if err != nil {
		return err
	}
	defer func() {
		logf("tearing down")
		if err := bed.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "realjuju: teardown:", err)
		}
	}()
	fmt.Printf("\nThe test bed is up. In another shell:\n\n")
	for _, e := range bed.Juju.Env {
		fmt.Printf("  export %s\n", e)
	}
	fmt.Printf("  alias juju=%s\n\n", bed.Juju.Bin)
	fmt.Printf("Magnum machine: juju machine %s, box %s (testbed/box exec %s ARGV...)\n",
		bed.MagnumMachine, bed.Magnum.Name, bed.Magnum.Name)
	fmt.Printf("Ctrl-C tears it down.\n")
	<-ctx.Done()
	if dir, err := bed.CollectLogs(); err == nil {
		logf("Juju's logs kept in %s", dir)
	}
	return nil
}
