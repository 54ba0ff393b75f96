// Command outside serves the world outside a unit: a forward proxy and an
// HTTPS helm chart repository only the proxy reaches; see package
// testbed/outside. Built with CGO_ENABLED=0 it is a static binary that runs
// inside a box as a transient unit:
//
//	systemd-run --unit outside /usr/local/sbin/outside serve --state-dir /root/outside
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/outside"
)

func main() {
	// systemctl stop sends SIGTERM; a clean stop exits 0 so the transient
	// unit ends inactive rather than failed.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := outside.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
