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

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
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
	// noop: the re-grafts find the unit as wanted and change nothing.
	noop atomic.Bool
}

// startRun runs the watcher with tiny intervals: the scheduler's timing is
// tested with a fake clock elsewhere; these tests check the wiring and
// never wait for time to pass, only for things to happen.
func startRun(t *testing.T, list WatchList, tweak func(*Config)) *harness {
	t.Helper()
	return startRunIn(t, t.TempDir(), list, tweak)
}

// startRunIn is startRun with the watch list (and so the failure record) in
// dir.
func startRunIn(t *testing.T, dir string, list WatchList, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{
		dir:      dir,
		sys:      &fakeSystemd{ch: make(chan *dbus.Signal, 8)},
		log:      &syncBuffer{},
		triggers: make(chan []string, 16),
	}
	h.list = filepath.Join(h.dir, "watch.json")
	saveList(t, list, h.list)
	cfg := Config{
		WatchList:   h.list,
		Unit:        "magnum-capi-graft/0",
		Debounce:    time.Nanosecond,
		MinInterval: time.Nanosecond,
		EchoGrace:   time.Nanosecond,
		Stderr:      h.log,
		Trigger: func(_ context.Context, reasons []string) (bool, error) {
			h.triggers <- reasons
			if h.failing.Load() {
				return true, errors.New("juju-exec: exit status 1")
			}
			return !h.noop.Load(), nil
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
		Trigger:   func(context.Context, []string) (bool, error) { return true, nil },
		Stderr:    &bytes.Buffer{},
		dial:      func(context.Context) (signalSource, error) { return h, nil },
	})
	assert.ErrorContains(t, err, "connection to systemd lost")
}

func TestRunReloadsWatchList(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "magnum-api"), filepath.Join(dir, "magnum-conductor")
	h := startRun(t, WatchList{Paths: []string{first}}, nil)

	saveList(t, WatchList{Paths: []string{first, second}, Units: []string{"magnum-conductor.service"}}, h.list)
	h.waitLog(t, "watch list changed: now 2 paths, 1 units")
	assert.Equal(t, []string{"magnum-conductor.service"}, h.sys.Units())

	writeFile(t, second, "DAEMON_ARGS=")
	assert.Equal(t, []string{"path " + second}, h.nextTrigger(t), "a path added by the new list is watched")
}

// TestRunFollowsTheFailureRecord: the hook keeps the count of failed
// re-grafts; the watcher stops when the record says so and starts again
// when a hook removes it. Changes seen while stopped are dropped.
func TestRunFollowsTheFailureRecord(t *testing.T) {
	dir := t.TempDir()
	conf, other := filepath.Join(dir, "99-capi.conf"), filepath.Join(dir, "magnum-conductor")
	record := state.Dir(dir)
	_, err := RecordFailure(record, "blocked: driver resource missing", time.Now())
	require.NoError(t, err)
	h := startRunIn(t, dir, WatchList{Paths: []string{conf, other}}, func(c *Config) {
		inner := c.Trigger
		// The hook run by the watcher records its failure, as
		// hooks/update-status --from-watcher does.
		c.Trigger = func(ctx context.Context, reasons []string) (bool, error) {
			changed, err := inner(ctx, reasons)
			if err != nil {
				_, rerr := RecordFailure(record, "blocked: driver resource missing", time.Now())
				assert.NoError(t, rerr)
			}
			return changed, err
		}
	})
	h.failing.Store(true)

	// One failure recorded before the watcher started: one more stops it.
	writeFile(t, conf, "a")
	h.nextTrigger(t)
	h.waitLog(t, "re-grafts stopped: 2 failed in a row")
	assert.Contains(t, h.log.String(), "last: blocked: driver resource missing")
	// Until the watcher has seen the re-graft end, changes count as its echo.
	h.waitLog(t, "re-graft failed in")

	writeFile(t, other, "changed while stopped")
	// A config change: the hook removes the record.
	_, err = ClearFailures(record)
	require.NoError(t, err)
	h.waitLog(t, "re-graft failures cleared by the charm: re-grafting again")

	h.failing.Store(false)
	writeFile(t, conf, "b")
	assert.Equal(t, []string{"path " + conf}, h.nextTrigger(t), "the change made while stopped was dropped")
	assert.Equal(t, 1, strings.Count(h.log.String(), "re-graft failed"))
}

func TestRunStartsStoppedWhenTheRecordSaysSo(t *testing.T) {
	dir := t.TempDir()
	conf, other := filepath.Join(dir, "99-capi.conf"), filepath.Join(dir, "magnum-conductor")
	record := state.Dir(dir)
	for range MaxFailures {
		_, err := RecordFailure(record, "blocked: x", time.Now())
		require.NoError(t, err)
	}
	h := startRunIn(t, dir, WatchList{Paths: []string{conf, other}}, nil)
	h.waitLog(t, "re-grafts stopped: 2 failed in a row")
	writeFile(t, other, "changed while stopped")
	_, err := ClearFailures(record)
	require.NoError(t, err)
	h.waitLog(t, "re-grafting again")
	writeFile(t, conf, "b")
	assert.Equal(t, []string{"path " + conf}, h.nextTrigger(t), "the change made while stopped was dropped")
}

// The watcher gives memory back once after start-up and once after each
// burst of activity, and never on its own: an idle watcher does nothing.
func TestRunTidiesOnceAfterActivity(t *testing.T) {
	var tidies atomic.Int32
	dir := t.TempDir()
	conf := filepath.Join(dir, "99-capi.conf")
	h := startRun(t, WatchList{Paths: []string{conf}}, func(c *Config) {
		c.tidyDelay = 20 * time.Millisecond
		c.freeMemory = func() { tidies.Add(1) }
	})
	require.Eventually(t, func() bool { return tidies.Load() == 1 }, testWait, time.Millisecond, "after start-up")
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, int32(1), tidies.Load(), "an idle watcher tidied again")

	writeFile(t, conf, "a")
	h.nextTrigger(t)
	require.Eventually(t, func() bool { return tidies.Load() == 2 }, testWait, time.Millisecond, "after the re-graft")
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, int32(2), tidies.Load(), "an idle watcher tidied again")
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

// A trigger that fails before the hook can record why (juju-exec refused
// it, say) is retried without a new event, and the watcher's record says
// so for verify; a success clears it.
func TestRunRetriesATriggerThatNeverReachedTheHook(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "99-capi.conf")
	refusal := "juju-exec: exit status 2: ERROR option provided but not defined: --from-watcher"
	var calls atomic.Int32
	// The third trigger (the second retry) waits until the test has read
	// the record the second failure left.
	proceed := make(chan struct{})
	h := startRunIn(t, dir, WatchList{Paths: []string{conf}}, func(c *Config) {
		inner := c.Trigger
		c.Trigger = func(ctx context.Context, reasons []string) (bool, error) {
			n := calls.Add(1)
			if n == 3 {
				<-proceed
			}
			changed, _ := inner(ctx, reasons)
			if n <= 2 {
				return true, errors.New(refusal)
			}
			return changed, nil
		}
	})
	writeFile(t, conf, "a")
	want := []string{"path " + conf}
	assert.Equal(t, want, h.nextTrigger(t))
	assert.Equal(t, want, h.nextTrigger(t), "retried with the same reasons, no new event")
	h.waitLog(t, "(2 in a row)")
	rec, err := LoadTrigger(state.Dir(dir))
	require.NoError(t, err)
	assert.Equal(t, TriggerFailed, rec.Outcome)
	assert.Equal(t, 2, rec.Failed)
	assert.Equal(t, refusal, rec.Reason)

	close(proceed)
	assert.Equal(t, want, h.nextTrigger(t), "retried again")
	h.waitLog(t, "re-graft succeeded")
	rec, err = LoadTrigger(state.Dir(dir))
	require.NoError(t, err)
	assert.Equal(t, TriggerRecord{Outcome: TriggerOK, Started: rec.Started, Ended: rec.Ended}, rec)
	select {
	case r := <-h.triggers:
		t.Fatalf("a fourth re-graft after the success: %v", r)
	case <-time.After(100 * time.Millisecond):
	}
}

// A trigger queued behind a long operation of the unit agent is waiting,
// not failed: the watcher says so and keeps waiting for it.
func TestRunWaitsForABusyUnitAgent(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "99-capi.conf")
	release := make(chan struct{})
	h := startRunIn(t, dir, WatchList{Paths: []string{conf}}, func(c *Config) {
		c.BusyAfter = 10 * time.Millisecond
		inner := c.Trigger
		c.Trigger = func(ctx context.Context, reasons []string) (bool, error) {
			changed, err := inner(ctx, reasons)
			<-release
			return changed, err
		}
	})
	writeFile(t, conf, "a")
	h.nextTrigger(t)
	h.waitLog(t, "waiting for the unit agent")
	rec, err := LoadTrigger(state.Dir(dir))
	require.NoError(t, err)
	assert.Equal(t, TriggerWaiting, rec.Outcome)
	assert.Contains(t, rec.Reason, "waiting for the unit agent since ")

	close(release)
	h.waitLog(t, "re-graft succeeded")
	rec, err = LoadTrigger(state.Dir(dir))
	require.NoError(t, err)
	assert.Equal(t, TriggerOK, rec.Outcome)
	assert.Equal(t, 0, rec.Failed)
}

// An operator's edit while a no-op re-graft runs is not lost: the hook says
// it changed nothing, so the edit is re-grafted.
func TestRunKeepsAnEditMadeDuringANoOpRegraft(t *testing.T) {
	dir := t.TempDir()
	conf, def := filepath.Join(dir, "99-capi.conf"), filepath.Join(dir, "magnum-api")
	inRun := make(chan struct{})
	h := startRunIn(t, dir, WatchList{Paths: []string{conf, def}}, func(c *Config) {
		inner := c.Trigger
		first := true
		c.Trigger = func(ctx context.Context, reasons []string) (bool, error) {
			changed, err := inner(ctx, reasons)
			if first {
				first = false
				// The operator edits while this re-graft runs.
				writeFile(t, def, "export SITE_MARK=kept\n")
				<-inRun
			}
			return changed, err
		}
	})
	h.noop.Store(true)
	// One event for conf: os.WriteFile's create and write could reach the
	// watcher on either side of the first re-graft (the debounce is 1 ns
	// here) and make conf's own late write look like the edit.
	tmp := filepath.Join(dir, ".99-capi.conf.tmp")
	writeFile(t, tmp, "a")
	require.NoError(t, os.Rename(tmp, conf))
	assert.Equal(t, []string{"path " + conf}, h.nextTrigger(t))
	// Let the watcher see the edit before the re-graft ends.
	time.Sleep(50 * time.Millisecond)
	close(inRun)
	assert.Equal(t, []string{"path " + def}, h.nextTrigger(t), "the edit made during a no-op re-graft")
}
