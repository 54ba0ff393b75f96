package watcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSystemd stands in for the D-Bus connection.
type fakeSystemd struct {
	ch    chan *dbus.Signal
	mu    sync.Mutex
	units []string
}

func (f *fakeSystemd) Signals() <-chan *dbus.Signal { return f.ch }
func (f *fakeSystemd) Close() error                 { return nil }
func (f *fakeSystemd) SetUnits(_ context.Context, units []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.units = append([]string(nil), units...)
	return nil
}
func (f *fakeSystemd) Units() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.units
}

// syncBuffer is a log the test reads while the watcher writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	dir      string
	list     string
	sys      *fakeSystemd
	log      *syncBuffer
	triggers chan []string
	failing  atomic.Bool
}

// startRun runs the watcher with tiny intervals: the scheduler's timing is
// tested with a fake clock elsewhere; these tests check the wiring and
// never wait for time to pass, only for things to happen.
func startRun(t *testing.T, list WatchList, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{
		dir:      t.TempDir(),
		sys:      &fakeSystemd{ch: make(chan *dbus.Signal, 8)},
		log:      &syncBuffer{},
		triggers: make(chan []string, 16),
	}
	h.list = filepath.Join(h.dir, "watch.json")
	require.NoError(t, list.Save(h.list))
	cfg := Config{
		WatchList:   h.list,
		Unit:        "magnum-capi-graft/0",
		Debounce:    time.Nanosecond,
		MinInterval: time.Nanosecond,
		EchoGrace:   time.Nanosecond,
		Stderr:      h.log,
		Trigger: func(_ context.Context, reasons []string) error {
			h.triggers <- reasons
			if h.failing.Load() {
				return errors.New("juju-exec: exit status 1")
			}
			return nil
		},
		dial: func(context.Context) (signalSource, error) { return h.sys, nil },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-errc, "Run returns nil when cancelled")
	})
	h.waitLog(t, "watching ")
	return h
}

func (h *harness) waitLog(t *testing.T, substr string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(h.log.String(), substr) }, testWait, time.Millisecond,
		"log never said %q; log:\n%s", substr, h.log.String())
}

func (h *harness) nextTrigger(t *testing.T) []string {
	t.Helper()
	select {
	case r := <-h.triggers:
		return r
	case <-time.After(testWait):
		t.Fatalf("no re-graft; log:\n%s", h.log.String())
		return nil
	}
}

func TestRunTriggersOnWatchedFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "99-capi.conf")
	h := startRun(t, WatchList{Paths: []string{conf}}, nil)

	writeFile(t, filepath.Join(dir, "unwatched"), "x")
	writeFile(t, conf, "[capi_helm]\n")
	assert.Equal(t, []string{"path " + conf}, h.nextTrigger(t))
	h.waitLog(t, "re-graft succeeded in ")
	assert.Contains(t, h.log.String(), "changed: path "+conf)
	assert.NotContains(t, h.log.String(), "capi_helm", "file contents are never logged")
}

func TestRunTriggersOnUnitSignal(t *testing.T) {
	h := startRun(t, WatchList{Units: []string{"magnum-api.service"}}, nil)
	assert.Equal(t, []string{"magnum-api.service"}, h.sys.Units())

	// Signals are handled in order, so had the unwatched unit counted it
	// would be among the reasons of the first re-graft.
	h.sys.ch <- propsSignal("cron.service", "org.freedesktop.systemd1.Unit", map[string]any{"ActiveState": "active"})
	h.sys.ch <- propsSignal("magnum-api.service", "org.freedesktop.systemd1.Unit", map[string]any{"ActiveState": "active"})
	assert.Equal(t, []string{"unit magnum-api.service state changed"}, h.nextTrigger(t))
}

func TestRunReturnsErrorWhenSystemdGoesAway(t *testing.T) {
	h := &fakeSystemd{ch: make(chan *dbus.Signal)}
	dir := t.TempDir()
	close(h.ch)
	err := Run(context.Background(), Config{
		WatchList: filepath.Join(dir, "watch.json"),
		Trigger:   func(context.Context, []string) error { return nil },
		Stderr:    &bytes.Buffer{},
		dial:      func(context.Context) (signalSource, error) { return h, nil },
	})
	assert.ErrorContains(t, err, "connection to systemd lost")
}

func TestRunReloadsWatchList(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "magnum-api"), filepath.Join(dir, "magnum-conductor")
	h := startRun(t, WatchList{Paths: []string{first}}, nil)

	require.NoError(t, WatchList{Paths: []string{first, second}, Units: []string{"magnum-conductor.service"}}.Save(h.list))
	h.waitLog(t, "watch list changed: now 2 paths, 1 units")
	assert.Equal(t, []string{"magnum-conductor.service"}, h.sys.Units())

	writeFile(t, second, "DAEMON_ARGS=")
	assert.Equal(t, []string{"path " + second}, h.nextTrigger(t), "a path added by the new list is watched")
}

func TestRunSuspendsAfterFailuresAndResumes(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "99-capi.conf")
	list := WatchList{Paths: []string{conf}}
	h := startRun(t, list, nil)
	h.failing.Store(true)

	writeFile(t, conf, "a")
	h.nextTrigger(t)
	h.waitLog(t, "(1 in a row)")
	writeFile(t, conf, "b")
	h.nextTrigger(t)
	h.waitLog(t, "re-grafts suspended after 2 failures in a row")

	// While suspended, changes are dropped...
	writeFile(t, conf, "c")
	// ...until the charm writes the watch list again, even unchanged.
	require.NoError(t, list.Save(h.list))
	h.waitLog(t, "resuming re-grafts")
	assert.Equal(t, 2, strings.Count(h.log.String(), "re-graft failed"), "no re-graft while suspended")
	assert.Empty(t, h.triggers)

	h.failing.Store(false)
	writeFile(t, conf, "d")
	assert.Equal(t, []string{"path " + conf}, h.nextTrigger(t))
}

func dpkgStatus(pkgs ...string) string {
	var b strings.Builder
	for i := 0; i+2 < len(pkgs); i += 3 {
		fmt.Fprintf(&b, "Package: %s\nStatus: %s\nVersion: %s\n\n", pkgs[i], pkgs[i+1], pkgs[i+2])
	}
	return b.String()
}

// writeDpkgStatus replaces the file by rename, as dpkg does.
func writeDpkgStatus(t *testing.T, path, content string) {
	t.Helper()
	writeFile(t, path+"-new", content)
	require.NoError(t, os.Rename(path+"-new", path))
}

func TestRunPackages(t *testing.T) {
	dpkg := filepath.Join(t.TempDir(), "status")
	writeDpkgStatus(t, dpkg, dpkgStatus(
		"python3-magnum", "install ok installed", "1",
		"unrelated", "install ok installed", "1"))
	h := startRun(t, WatchList{Packages: []string{"python3-magnum"}}, func(c *Config) { c.DpkgStatus = dpkg })

	// dpkg rewrites its status for an unrelated package: not a change.
	writeDpkgStatus(t, dpkg, dpkgStatus(
		"python3-magnum", "install ok installed", "1",
		"unrelated", "install ok installed", "2"))
	// An upgrade of the watched package, half way: held...
	writeDpkgStatus(t, dpkg, dpkgStatus(
		"python3-magnum", "install ok unpacked", "2",
		"unrelated", "install ok installed", "2"))
	h.waitLog(t, "waiting for dpkg to finish with python3-magnum")
	// ...until it is configured: one re-graft for the whole upgrade.
	writeDpkgStatus(t, dpkg, dpkgStatus(
		"python3-magnum", "install ok installed", "2",
		"unrelated", "install ok installed", "2"))
	assert.Equal(t, []string{
		"package python3-magnum 1 (install ok installed) -> 2 (install ok unpacked)",
		"package python3-magnum 2 (install ok unpacked) -> 2 (install ok installed)",
	}, h.nextTrigger(t))
}
