// Command fakek8s serves a fake Kubernetes management-cluster API for the
// integration test bed; see package testbed/fakek8s. Built with
// CGO_ENABLED=0 it is a static binary that runs inside the box as a
// transient unit:
//
//	systemd-run --unit fakek8s /usr/local/sbin/fakek8s serve --state-dir /var/lib/fakek8s
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

func main() {
	// systemctl stop sends SIGTERM; a clean stop exits 0 so the transient
	// unit ends inactive rather than failed.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := fakek8s.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
