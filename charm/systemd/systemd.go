// Package systemd is the charm's typed view of systemd: unit state read over
// D-Bus, daemon-reload, restarts that wait for their job and then for the
// service to settle, and the journal lines an operator needs when a restart
// fails. It never starts or restarts a masked unit: charm-magnum's pause masks
// the services, and a paused principal must stay paused.
package systemd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

// Unit is what the charm reads of one service unit. It is read in a single
// D-Bus call, because every hook reads it.
type Unit struct {
	Name             string
	LoadState        string // loaded, not-found, masked
	ActiveState      string // active, inactive, failed, activating, ...
	SubState         string
	UnitFileState    string // enabled, disabled, masked, ...
	FragmentPath     string
	DropInPaths      []string
	NeedDaemonReload bool
	// ExecStart is the argv of the unit's (last) ExecStart line in effect.
	ExecStart []string
	MainPID   uint32
	NRestarts uint32
	// StartedAt is when the current main process started (zero if none).
	StartedAt time.Time
}

// Masked reports whether the unit is masked (charm-magnum's pause).
func (u Unit) Masked() bool {
	return u.LoadState == "masked" || strings.HasPrefix(u.UnitFileState, "masked")
}

// Running reports whether the unit is active with a main process.
func (u Unit) Running() bool { return u.ActiveState == "active" && u.MainPID != 0 }

// ErrMasked is returned when asked to restart a masked unit.
var ErrMasked = errors.New("unit is masked")

// StartFailure is a restart's error when the service itself did not come up
// (its job failed, it failed or kept being replaced while settling, it did
// not settle in time): the unit's own doing, which a retry of the same files
// would repeat. Any other error from Restart (D-Bus, a cancelled context) is
// the charm's way to systemd failing, and a retry may well succeed.
type StartFailure struct{ Err error }

func (e *StartFailure) Error() string { return e.Err.Error() }
func (e *StartFailure) Unwrap() error { return e.Err }

// IsStartFailure reports whether err says the service did not start.
func IsStartFailure(err error) bool {
	var sf *StartFailure
	return errors.As(err, &sf)
}

func startFailure(format string, args ...any) error {
	return &StartFailure{fmt.Errorf(format, args...)}
}

// Controller is what the charm needs of the unit's systemd: Manager, and
// in unit tests systemdtest.Fake, so the reconcile's and removal's
// rollback paths run in milliseconds instead of in a box.
type Controller interface {
	Unit(ctx context.Context, name string) (Unit, error)
	DaemonReload(ctx context.Context) error
	// Restart restarts a service and waits until it has settled; an error
	// that IsStartFailure recognises means the service did not come up,
	// any other means systemd could not be asked.
	Restart(ctx context.Context, name string, settle time.Duration) (Unit, error)
	Settle(ctx context.Context, name string, window time.Duration) (Unit, error)
	RestartNoSettle(ctx context.Context, name string) error
	Enable(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Disable(ctx context.Context, name string) error
	JournalTail(ctx context.Context, unit string, n int) string
	Close()
}

var _ Controller = (*Manager)(nil)

// Manager talks to the unit's systemd. Every hook reads unit state, and
// few change anything, so reads go over one plain connection fetching only
// the properties the charm uses; go-systemd's connection (two sockets and
// job tracking) is opened only when a unit must be reloaded, restarted,
// enabled or stopped.
type Manager struct {
	read *godbus.Conn
	conn *sd.Conn
	// readAhead are units to read with the next read, and ahead what was
	// read ahead and not yet asked for (see ReadAhead).
	readAhead []string
	ahead     map[string]Unit
	// readUnits replaces units in tests.
	readUnits func(ctx context.Context, names []string) ([]Unit, []error)
}

// Connect dials systemd. As root it uses systemd's private socket, which is
// faster than the bus and works even when dbus-daemon is down; otherwise the
// system bus.
func Connect(ctx context.Context) (*Manager, error) {
	var conn *godbus.Conn
	var err error
	if os.Geteuid() == 0 {
		conn, err = godbus.Dial("unix:path=/run/systemd/private", godbus.WithContext(ctx))
		if err == nil {
			if err = conn.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
				conn.Close()
				conn = nil
			}
		}
	}
	if conn == nil {
		if conn, err = godbus.ConnectSystemBus(godbus.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("connect to systemd: %w", err)
		}
	}
	return &Manager{read: conn}, nil
}

// actions returns go-systemd's connection, dialling it on first use. Every
// change made through the Manager asks for it, so what was read ahead is
// forgotten here.
func (m *Manager) actions(ctx context.Context) (*sd.Conn, error) {
	m.forget()
	if m.conn != nil {
		return m.conn, nil
	}
	var conn *sd.Conn
	var err error
	if os.Geteuid() == 0 {
		conn, err = sd.NewSystemdConnectionContext(ctx)
	}
	if conn == nil {
		conn, err = sd.NewSystemConnectionContext(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to systemd: %w", err)
	}
	m.conn = conn
	return conn, nil
}

// Close releases the connections.
func (m *Manager) Close() {
	m.read.Close()
	if m.conn != nil {
		m.conn.Close()
	}
}

// unitProps and serviceProps are the properties Unit reads.
var (
	unitProps    = []string{"LoadState", "ActiveState", "SubState", "UnitFileState", "FragmentPath", "DropInPaths", "NeedDaemonReload"}
	serviceProps = []string{"MainPID", "NRestarts", "ExecMainStartTimestamp", "ExecStart"}
)

// Unit reads the state of one unit, e.g. "magnum-api.service", together
// with the units named by ReadAhead, in one round trip to systemd.
func (m *Manager) Unit(ctx context.Context, name string) (Unit, error) {
	if u, ok := m.ahead[name]; ok {
		delete(m.ahead, name)
		return u, nil
	}
	names := append([]string{name}, m.readAhead...)
	m.readAhead = nil
	read := m.units
	if m.readUnits != nil {
		read = m.readUnits
	}
	us, errs := read(ctx, names)
	for i, n := range names[1:] {
		if n != name && errs[i+1] == nil {
			if m.ahead == nil {
				m.ahead = map[string]Unit{}
			}
			m.ahead[n] = us[i+1]
		}
	}
	return us[0], errs[0]
}

// ReadAhead names units to read along with the next Unit call, in the same
// round trip: each is answered once from it, as long as nothing is done
// through the Manager in between (a reload, restart, enable, stop or
// disable forgets them). A converged hook reads Magnum's two services and,
// at its end, the watcher's unit: one round trip instead of three.
func (m *Manager) ReadAhead(names ...string) {
	m.readAhead = append(m.readAhead, names...)
}

// forget drops what was read ahead: the Manager is about to change it.
func (m *Manager) forget() {
	m.ahead, m.readAhead = nil, nil
}

// units reads several units. The Gets are all sent at once: systemd's
// sd-bus takes a connection's calls one after another as sd_bus_process
// reads them and answers each from the object's vtable
// (src/libsystemd/sd-bus/bus-objects.c, bus_process_object) without
// waiting on anything, and godbus matches each reply to its call by
// serial, so this is one round trip rather than one per property and unit
// (most of a converged hook's time was spent waiting on these). GetAll
// would also be one, but it makes systemd compute every property, cgroup
// statistics included.
func (m *Manager) units(ctx context.Context, names []string) ([]Unit, []error) {
	type get struct {
		prop string
		call *godbus.Call
	}
	send := func(obj godbus.BusObject, iface string, props []string) []get {
		gets := make([]get, len(props))
		for i, p := range props {
			gets[i] = get{p, obj.GoWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, nil, iface, p)}
		}
		return gets
	}
	unitGets := make([][]get, len(names))
	serviceGets := make([][]get, len(names))
	for i, name := range names {
		obj := m.read.Object("org.freedesktop.systemd1", godbus.ObjectPath("/org/freedesktop/systemd1/unit/"+sd.PathBusEscape(name)))
		unitGets[i] = send(obj, "org.freedesktop.systemd1.Unit", unitProps)
		if strings.HasSuffix(name, ".service") {
			serviceGets[i] = send(obj, "org.freedesktop.systemd1.Service", serviceProps)
		}
	}
	us, errs := make([]Unit, len(names)), make([]error, len(names))
	for i, name := range names {
		props := map[string]any{}
		collect := func(gets []get) error {
			var first error
			for _, g := range gets {
				var v godbus.Variant
				if err := (<-g.call.Done).Store(&v); err != nil {
					first = cmp.Or(first, err)
					continue
				}
				props[g.prop] = v.Value()
			}
			return first
		}
		uerr := collect(unitGets[i])
		// Only a loaded service has the Service interface: for any
		// other the service Gets fail, and that is no error.
		serr := collect(serviceGets[i])
		switch {
		case uerr != nil:
			errs[i] = fmt.Errorf("read %s: %w", name, uerr)
			continue
		case serr != nil && props["LoadState"] == "loaded":
			errs[i] = fmt.Errorf("read %s: %w", name, serr)
			continue
		}
		us[i] = unitFrom(name, props)
	}
	return us, errs
}

// unitFrom is a Unit from the properties read.
func unitFrom(name string, props map[string]any) Unit {
	u := Unit{Name: name}
	u.LoadState, _ = props["LoadState"].(string)
	u.ActiveState, _ = props["ActiveState"].(string)
	u.SubState, _ = props["SubState"].(string)
	u.UnitFileState, _ = props["UnitFileState"].(string)
	u.FragmentPath, _ = props["FragmentPath"].(string)
	u.DropInPaths, _ = props["DropInPaths"].([]string)
	u.NeedDaemonReload, _ = props["NeedDaemonReload"].(bool)
	u.MainPID, _ = props["MainPID"].(uint32)
	u.NRestarts, _ = props["NRestarts"].(uint32)
	if us, ok := props["ExecMainStartTimestamp"].(uint64); ok && us > 0 {
		u.StartedAt = time.UnixMicro(int64(us))
	}
	u.ExecStart = execStartArgv(props["ExecStart"])
	return u
}

// execStartArgv decodes systemd's ExecStart property, an array of
// (path, argv, ignore-failure, timestamps..., pid, code, status), and returns
// the argv of the last entry: with several ExecStart= lines systemd runs them
// all, and the last one is the long-running daemon.
func execStartArgv(v any) []string {
	entries, ok := v.([][]any)
	if !ok || len(entries) == 0 {
		return nil
	}
	last := entries[len(entries)-1]
	if len(last) < 2 {
		return nil
	}
	argv, _ := last[1].([]string)
	return argv
}

// DaemonReload makes systemd re-read unit files and drop-ins.
func (m *Manager) DaemonReload(ctx context.Context) error {
	conn, err := m.actions(ctx)
	if err != nil {
		return err
	}
	if err := conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	return nil
}

// Restart restarts a unit, waits for the job, and then waits until the
// service has settled (see Settle). It refuses masked units.
func (m *Manager) Restart(ctx context.Context, name string, settle time.Duration) (Unit, error) {
	u, err := m.Unit(ctx, name)
	if err != nil {
		return u, err
	}
	if u.Masked() {
		return u, fmt.Errorf("restart %s: %w", name, ErrMasked)
	}
	// A service whose main process had forked its workers before must fork
	// them again to count as settled: under load the conductor's Python
	// can take longer than five windows to reach a bad value in conf.d and
	// die (seen in the test bed at a load average of 12 on 2 cores), and
	// the no-fork fallback would have called it settled.
	mustFork := u.Running() && HasChildren(u.MainPID)
	// A unit that hit its start limit refuses to start until reset.
	if u.ActiveState == "failed" {
		if conn, err := m.actions(ctx); err == nil {
			_ = conn.ResetFailedUnitContext(ctx, name)
		}
	}
	if err := m.restartJob(ctx, name); err != nil {
		u, _ = m.Unit(ctx, name)
		return u, err
	}
	return m.settle(ctx, name, settle, mustFork)
}

// NoForkSettle is how long a service that never forks must run unreplaced
// to count as settled: without the fork there is no sign that it read its
// configuration, only time. It was five windows of 2 s before the window
// became 1 s, and stays 10 s.
const NoForkSettle = 10 * time.Second

// Settle waits until the unit's main process has been running for the settle
// window without being replaced, and has forked its workers: the conductor
// and uwsgi fork only after parsing their configuration, so a bad conf.d
// value shows up as a process that dies before it has children. A service
// that never forks (a magnum-api run directly) counts as settled after
// NoForkSettle (or five windows, if longer) without being replaced. A unit
// that fails is an error.
//
// systemd's own Restart= may replace the main process once: seen in the
// test bed, bookworm's uwsgi magnum-api overran its 15 s stop, systemd's
// SIGKILL of the old workers had not taken effect when the new instance
// started, the new one exited at once and Restart=on-failure started it
// again, this time for good. A service the graft really breaks fails every
// start, so a second replacement (or systemd giving up: failed) is an error.
func (m *Manager) Settle(ctx context.Context, name string, window time.Duration) (Unit, error) {
	return m.settle(ctx, name, window, false)
}

// settle is Settle; mustFork says the service forked its workers before
// the restart, so it has settled only once it has forked them again.
func (m *Manager) settle(ctx context.Context, name string, window time.Duration, mustFork bool) (Unit, error) {
	deadline := time.Now().Add(window + 60*time.Second)
	var stableSince time.Time
	var pid uint32
	replaced := 0
	for {
		u, err := m.Unit(ctx, name)
		if err != nil {
			return u, err
		}
		switch {
		case u.ActiveState == "failed":
			return u, startFailure("%s failed (%s)", name, u.SubState)
		case u.Running() && u.MainPID == pid:
			stable := time.Since(stableSince)
			if (stable >= window && HasChildren(pid)) || (!mustFork && stable >= max(5*window, NoForkSettle)) {
				return u, nil
			}
		case u.Running():
			if pid != 0 {
				// The main process was replaced: Restart=on-failure at work.
				if replaced++; replaced > 1 {
					return u, startFailure("%s restarted by itself (main PID %d -> %d): it is failing", name, pid, u.MainPID)
				}
			}
			pid, stableSince = u.MainPID, time.Now()
		}
		if time.Now().After(deadline) {
			return u, startFailure("%s did not settle (state %s/%s)", name, u.ActiveState, u.SubState)
		}
		select {
		case <-ctx.Done():
			return u, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hasChildren reports whether pid has at least one child process.
func HasChildren(pid uint32) bool {
	p := strconv.FormatUint(uint64(pid), 10)
	tasks, _ := os.ReadDir("/proc/" + p + "/task")
	for _, t := range tasks {
		b, err := files.ReadFile("/proc/"+p+"/task/"+t.Name()+"/children", files.MaxTextFile)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return true
		}
	}
	return false
}

// Cmdline returns the live command line of a process.
func Cmdline(pid uint32) ([]string, error) {
	if pid == 0 {
		return nil, errors.New("no main process")
	}
	b, err := files.ReadFile("/proc/"+strconv.FormatUint(uint64(pid), 10)+"/cmdline", files.MaxTextFile)
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(string(b), "\x00")
	if s == "" {
		return nil, errors.New("process has no command line")
	}
	return strings.Split(s, "\x00"), nil
}

// Environ returns the live environment of a process as a map.
func Environ(pid uint32) (map[string]string, error) {
	b, err := files.ReadFile("/proc/"+strconv.FormatUint(uint64(pid), 10)+"/environ", files.MaxTextFile)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// JournalTail is the package's JournalTail, for code that holds a Manager
// behind an interface.
func (m *Manager) JournalTail(ctx context.Context, unit string, n int) string {
	return JournalTail(ctx, unit, n)
}

// JournalTail returns the last n journal lines of a unit, for a blocked
// status and the operator's log. Magnum's own log files hold more; the
// journal holds what systemd and the init script said.
func JournalTail(ctx context.Context, unit string, n int) string {
	out, _ := command.Output(ctx, command.Cmd{
		Argv:    []string{"journalctl", "-u", unit, "-n", strconv.Itoa(n), "--no-pager", "-o", "cat"},
		Timeout: 5 * time.Second,
	})
	return out
}

// TailLine is a journal tail as one line, its last max characters: the
// end of what a failing service said, for a blocked status.
func TailLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[len(s)-max:]
	}
	return s
}

// IsNoSuchUnit reports whether err says the unit does not exist.
func IsNoSuchUnit(err error) bool {
	var de godbus.Error
	return errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit"
}

// Enable enables a unit file (the [Install] section's symlinks).
func (m *Manager) Enable(ctx context.Context, name string) error {
	conn, err := m.actions(ctx)
	if err != nil {
		return err
	}
	if _, _, err := conn.EnableUnitFilesContext(ctx, []string{name}, false, true); err != nil {
		return fmt.Errorf("enable %s: %w", name, err)
	}
	return nil
}

// Disable removes a unit file's [Install] symlinks.
func (m *Manager) Disable(ctx context.Context, name string) error {
	conn, err := m.actions(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.DisableUnitFilesContext(ctx, []string{name}, false); err != nil {
		return fmt.Errorf("disable %s: %w", name, err)
	}
	return nil
}

// Stop stops a unit and waits for the job.
func (m *Manager) Stop(ctx context.Context, name string) error {
	return m.job(ctx, "stop", name, func(c *sd.Conn, ch chan<- string) (int, error) {
		return c.StopUnitContext(ctx, name, "replace", ch)
	})
}

// RestartNoSettle restarts a unit and waits only for the job: for the
// charm's own watcher, which has no configuration to fail on.
func (m *Manager) RestartNoSettle(ctx context.Context, name string) error {
	return m.restartJob(ctx, name)
}

func (m *Manager) restartJob(ctx context.Context, name string) error {
	return m.job(ctx, "restart", name, func(c *sd.Conn, ch chan<- string) (int, error) {
		return c.RestartUnitContext(ctx, name, "replace", ch)
	})
}

// job queues a systemd job with start and waits for its result: anything
// but "done" (failed, timeout, dependency, canceled) is an error.
func (m *Manager) job(ctx context.Context, verb, name string, start func(*sd.Conn, chan<- string) (int, error)) error {
	conn, err := m.actions(ctx)
	if err != nil {
		return err
	}
	done := make(chan string, 1)
	if _, err := start(conn, done); err != nil {
		return fmt.Errorf("%s %s: %w", verb, name, err)
	}
	select {
	case result := <-done:
		if result != "done" {
			// systemd ran the job and the unit did not get there
			// (failed, timeout, dependency, canceled).
			return startFailure("%s %s: job %s", verb, name, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", verb, name, ctx.Err())
	}
}
