package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
)

// The smoke test's contract server inside the box: where it listens and
// keeps its state (CA, connection file, records).
const (
	FakeCloudListen   = "127.0.0.1:5000"
	FakeCloudStateDir = "/root/fakecloud"
	fakeCloudBinary   = "/usr/local/sbin/fakecloud"
	fakeCloudUnit     = "fakecloud"
)

// StartFakeCloud runs the smoke test's contract server (testbed/fakecloud)
// inside the box as a transient systemd service on FakeCloudListen, waits
// until it serves, and returns how to call it. Its CAFile is a path inside
// the box. args are more `fakecloud serve` flags, e.g. "--hold", "10m".
func (b *Box) StartFakeCloud(ctx context.Context, fakecloudBin string, args ...string) (fakecloud.Connection, error) {
	var conn fakecloud.Connection
	if fakecloudBin == "" {
		return conn, fmt.Errorf("no fakecloud binary: FAKECLOUD must name it (make fakejuju builds it)")
	}
	if err := b.Put(ctx, fakecloudBin, fakeCloudBinary, 0o755); err != nil {
		return conn, err
	}
	argv := append([]string{"systemd-run", "--unit", fakeCloudUnit, fakeCloudBinary, "serve",
		"--listen", FakeCloudListen, "--state-dir", FakeCloudStateDir}, args...)
	if _, err := b.MustRun(ctx, argv...); err != nil {
		return conn, err
	}
	// The connection file is written once the server listens, and removed
	// when it stops (the serve command removes a stale one first).
	connFile := path.Join(FakeCloudStateDir, fakecloud.ConnectionFile)
	for i := 0; i < 100; i++ {
		if data, err := b.ReadFile(connFile); err == nil {
			if err := json.Unmarshal(data, &conn); err != nil {
				return conn, fmt.Errorf("cannot read the contract server's %s: %w", fakecloud.ConnectionFile, err)
			}
			return conn, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := b.MustRun(ctx, "journalctl", "-u", fakeCloudUnit, "--no-pager")
	return conn, fmt.Errorf("contract server did not start:\n%s", out)
}

// FakeCloudRecords reads what the contract server in the box was asked,
// and what exists in it now.
func (b *Box) FakeCloudRecords() (fakecloud.Records, error) {
	var r fakecloud.Records
	data, err := b.ReadFile(path.Join(FakeCloudStateDir, fakecloud.RecordsFile))
	if err == nil {
		err = json.Unmarshal(data, &r)
	}
	if err != nil {
		return r, fmt.Errorf("cannot read the contract server's records: %w", err)
	}
	return r, nil
}
