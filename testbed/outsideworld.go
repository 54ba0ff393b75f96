package testbed

import (
	"context"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/outside"
)

// The world outside the unit inside the box: where its proxy listens and
// where it keeps its state (CA, outside.json, the proxy's request log).
const (
	OutsideProxyListen = outside.DefaultProxyListen
	OutsideStateDir    = "/srv/outside"
	outsideBinary      = "/usr/local/sbin/outside"
	outsideUnit        = "outside"
)

// StartOutside runs the world outside the unit (testbed/outside: a forward
// proxy on OutsideProxyListen and an HTTPS chart repository whose name only
// the proxy resolves) inside the box as a transient systemd service, waits
// until both serve, and returns how to use them. Paths in the Connection
// (CAFile, RequestsFile) are inside the box. args are more `outside serve`
// flags, e.g. "--proxy-auth", "user:password".
func (b *Box) StartOutside(ctx context.Context, outsideBin string, args ...string) (outside.Connection, error) {
	var conn outside.Connection
	if outsideBin == "" {
		return conn, fmt.Errorf("no outside binary: OUTSIDE must name it (make fakejuju builds it)")
	}
	data, err := os.ReadFile(outsideBin)
	if err != nil {
		return conn, err
	}
	if err := os.WriteFile(b.Path(outsideBinary), data, 0o755); err != nil {
		return conn, err
	}
	argv := append([]string{"systemd-run", "--unit", outsideUnit, outsideBinary, "serve",
		"--proxy-listen", OutsideProxyListen, "--state-dir", OutsideStateDir}, args...)
	if _, err := b.MustRun(ctx, argv...); err != nil {
		return conn, err
	}
	// The connection file is written once both listen, and removed when
	// the command stops (it removes a stale one first).
	connFile := b.Path(path.Join(OutsideStateDir, outside.ConnectionFile))
	for i := 0; i < 100; i++ {
		if c, err := outside.ReadConnection(connFile); err == nil {
			return c, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := b.MustRun(ctx, "journalctl", "-u", outsideUnit, "--no-pager")
	return conn, fmt.Errorf("the outside world did not start:\n%s", out)
}

// StopOutside stops the proxy and the repository, as a proxy that goes away.
func (b *Box) StopOutside(ctx context.Context) error {
	_, err := b.MustRun(ctx, "systemctl", "stop", outsideUnit)
	return err
}

// OutsideRequests reads what the proxy in the box was asked, oldest first.
func (b *Box) OutsideRequests() ([]outside.ProxyRequest, error) {
	reqs, err := outside.ReadProxyRequests(b.Path(path.Join(OutsideStateDir, outside.RequestsFile)))
	if os.IsNotExist(err) {
		return nil, nil
	}
	return reqs, err
}
