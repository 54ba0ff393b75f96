// Command fakecloud serves the smoke test's contract server (Keystone v3,
// Glance, Nova, Neutron and Magnum over HTTPS); see package testbed/fakecloud.
// Built with CGO_ENABLED=0 it is a static binary that runs inside a box as a
// transient unit:
//
//	systemd-run --unit fakecloud /usr/local/sbin/fakecloud serve --listen 127.0.0.1:5000 --state-dir /root/fakecloud --hold 10m
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
)

func main() {
	// systemctl stop sends SIGTERM; a clean stop exits 0 so the transient
	// unit ends inactive rather than failed.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := fakecloud.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
