package watcher

import (
	"context"
	"fmt"
	"os"
	"strconv"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

const (
	systemdBusName = "org.freedesktop.systemd1"
	systemdPath    = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface   = "org.freedesktop.systemd1.Manager"
	propsIface     = "org.freedesktop.DBus.Properties"
	// systemdPrivate is systemd's own socket: root may talk to systemd there
	// even when dbus-daemon is down, and systemd sends it every signal
	// without match rules.
	systemdPrivate = "unix:path=/run/systemd/private"
)

// signalSource is the watcher's view of systemd: a stream of signals and
// the set of units it should carry. Tests replace it; the real one is thin
// on purpose, all decisions live in classifySignal.
type signalSource interface {
	Signals() <-chan *dbus.Signal
	SetUnits(ctx context.Context, units []string) error
	Close() error
}

// systemdSignals is one D-Bus connection to systemd, subscribed to its
// signals. The channel is closed when the connection is lost (systemd
// re-executing closes its private connections); the watcher then exits and
// systemd restarts it.
type systemdSignals struct {
	conn    *dbus.Conn
	onBus   bool
	ch      chan *dbus.Signal
	matched []string
}

func dialSystemd(ctx context.Context) (signalSource, error) {
	s := &systemdSignals{ch: make(chan *dbus.Signal, 32)}
	var err error
	if os.Geteuid() == 0 {
		s.conn, err = dialPrivate(ctx)
	}
	if s.conn == nil {
		s.conn, err = dbus.ConnectSystemBus(dbus.WithContext(ctx))
		s.onBus = true
	}
	if err != nil {
		return nil, fmt.Errorf("connect to systemd: %w", err)
	}
	s.conn.Signal(s.ch)
	if s.onBus {
		// On the bus, signals only reach us through match rules.
		for _, member := range []string{"UnitFilesChanged", "Reloading"} {
			if err := s.conn.AddMatchSignalContext(ctx,
				dbus.WithMatchSender(systemdBusName),
				dbus.WithMatchObjectPath(systemdPath),
				dbus.WithMatchInterface(managerIface),
				dbus.WithMatchMember(member)); err != nil {
				s.conn.Close()
				return nil, fmt.Errorf("subscribe to systemd %s: %w", member, err)
			}
		}
	}
	// On the bus, systemd emits unit signals only while someone is
	// subscribed. On the private socket every signal arrives anyway, and
	// Subscribe there never answers (seen on systemd 252): do not call it.
	if s.onBus {
		obj := s.conn.Object(systemdBusName, systemdPath)
		if err := obj.CallWithContext(ctx, managerIface+".Subscribe", 0).Store(); err != nil {
			s.conn.Close()
			return nil, fmt.Errorf("subscribe to systemd: %w", err)
		}
	}
	return s, nil
}

func dialPrivate(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.Dial(systemdPrivate, dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	// systemd's private socket is peer to peer: authenticate, but no Hello.
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (s *systemdSignals) Signals() <-chan *dbus.Signal { return s.ch }

// SetUnits asks the bus for the PropertiesChanged signals of exactly these
// units, so that the rest of the machine's services do not wake the watcher.
// On the private socket every signal arrives anyway and classifySignal
// filters them.
func (s *systemdSignals) SetUnits(ctx context.Context, units []string) error {
	if !s.onBus {
		return nil
	}
	for _, u := range s.matched {
		_ = s.conn.RemoveMatchSignalContext(ctx, unitMatch(u)...)
	}
	s.matched = nil
	for _, u := range units {
		if err := s.conn.AddMatchSignalContext(ctx, unitMatch(u)...); err != nil {
			return fmt.Errorf("subscribe to %s: %w", u, err)
		}
		s.matched = append(s.matched, u)
	}
	return nil
}

func (s *systemdSignals) Close() error { return s.conn.Close() }

func unitMatch(unit string) []dbus.MatchOption {
	return []dbus.MatchOption{
		dbus.WithMatchSender(systemdBusName),
		dbus.WithMatchObjectPath(unitPath(unit)),
		dbus.WithMatchInterface(propsIface),
		dbus.WithMatchMember("PropertiesChanged"),
	}
}

// unitPath is the D-Bus object of a loaded unit.
func unitPath(unit string) dbus.ObjectPath {
	return dbus.ObjectPath("/org/freedesktop/systemd1/unit/" + sd.PathBusEscape(unit))
}

// unitPaths maps the units' object paths back to their names.
func unitPaths(units []string) map[dbus.ObjectPath]string {
	m := make(map[dbus.ObjectPath]string, len(units))
	for _, u := range units {
		m[unitPath(u)] = u
	}
	return m
}

// restartProps are the properties that move when a service is stopped,
// started or restarted, by anyone: the principal's hooks, a package's
// postinst, an operator, or Restart=on-failure.
var restartProps = map[string]bool{"ActiveState": true, "SubState": true, "MainPID": true}

// unitTransition reads a watched unit's new ActiveState from a signal:
// unit is the unit ("" when the signal says no ActiveState of a watched
// unit), and moving whether the unit is on its way between states
// (activating, deactivating, reloading: a job of systemd's still runs on
// it), as systemd's unit_active_state_to_string names them
// (src/basic/unit-def.c).
func unitTransition(sig *dbus.Signal, units map[dbus.ObjectPath]string) (unit string, moving bool) {
	if sig.Name != propsIface+".PropertiesChanged" || len(sig.Body) != 3 {
		return "", false
	}
	u, watched := units[sig.Path]
	changed, _ := sig.Body[1].(map[string]dbus.Variant)
	v, ok := changed["ActiveState"]
	if !watched || !ok {
		return "", false
	}
	state, _ := v.Value().(string)
	switch state {
	case "activating", "deactivating", "reloading":
		return u, true
	}
	return u, false
}

// classifySignal says whether a systemd signal is one the watcher acts on,
// and why.
func classifySignal(sig *dbus.Signal, units map[dbus.ObjectPath]string) (reason string, ok bool) {
	switch sig.Name {
	case managerIface + ".UnitFilesChanged":
		// enable, disable, mask, unmask: charm-magnum's pause and resume.
		return "unit files changed (enable/disable/mask)", true
	case managerIface + ".Reloading":
		// Reloading(true) starts a daemon-reload and Reloading(false) ends
		// it; only the end means the new unit files are in effect.
		if len(sig.Body) == 1 {
			if starting, isBool := sig.Body[0].(bool); isBool && !starting {
				return "daemon-reload", true
			}
		}
		return "", false
	case propsIface + ".PropertiesChanged":
		unit, watched := units[sig.Path]
		if !watched || len(sig.Body) != 3 {
			return "", false
		}
		iface, _ := sig.Body[0].(string)
		if iface != "org.freedesktop.systemd1.Unit" && iface != "org.freedesktop.systemd1.Service" {
			return "", false
		}
		changed, _ := sig.Body[1].(map[string]dbus.Variant)
		for name := range changed {
			if restartProps[name] {
				return "unit " + unit + " state changed", true
			}
		}
		invalidated, _ := sig.Body[2].([]string)
		for _, name := range invalidated {
			if restartProps[name] {
				return "unit " + unit + " state changed", true
			}
		}
	}
	return "", false
}
