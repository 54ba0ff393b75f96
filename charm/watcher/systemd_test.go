package watcher

import (
	"context"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func propsSignal(unit, iface string, changed map[string]any, invalidated ...string) *dbus.Signal {
	c := make(map[string]dbus.Variant, len(changed))
	for k, v := range changed {
		c[k] = dbus.MakeVariant(v)
	}
	if invalidated == nil {
		invalidated = []string{}
	}
	return &dbus.Signal{
		Path: unitPath(unit),
		Name: propsIface + ".PropertiesChanged",
		Body: []any{iface, c, invalidated},
	}
}

func TestUnitPath(t *testing.T) {
	assert.Equal(t, dbus.ObjectPath("/org/freedesktop/systemd1/unit/magnum_2dapi_2eservice"), unitPath("magnum-api.service"))
}

func TestClassifySignal(t *testing.T) {
	units := unitPaths([]string{"magnum-api.service", "magnum-conductor.service"})
	for _, tc := range []struct {
		name   string
		sig    *dbus.Signal
		reason string
	}{{
		name:   "restart",
		sig:    propsSignal("magnum-api.service", "org.freedesktop.systemd1.Unit", map[string]any{"ActiveState": "deactivating", "SubState": "stop-sigterm"}),
		reason: "unit magnum-api.service state changed",
	}, {
		name:   "new main PID",
		sig:    propsSignal("magnum-conductor.service", "org.freedesktop.systemd1.Service", map[string]any{"MainPID": uint32(42)}),
		reason: "unit magnum-conductor.service state changed",
	}, {
		name:   "invalidated state",
		sig:    propsSignal("magnum-api.service", "org.freedesktop.systemd1.Unit", nil, "ActiveState"),
		reason: "unit magnum-api.service state changed",
	}, {
		name: "other property",
		sig:  propsSignal("magnum-api.service", "org.freedesktop.systemd1.Unit", map[string]any{"NeedDaemonReload": true}),
	}, {
		name: "unwatched unit",
		sig:  propsSignal("cron.service", "org.freedesktop.systemd1.Unit", map[string]any{"ActiveState": "active"}),
	}, {
		name:   "unit file changes",
		sig:    &dbus.Signal{Path: systemdPath, Name: managerIface + ".UnitFilesChanged"},
		reason: "unit files changed (enable/disable/mask)",
	}, {
		name:   "reload finished",
		sig:    &dbus.Signal{Path: systemdPath, Name: managerIface + ".Reloading", Body: []any{false}},
		reason: "daemon-reload",
	}, {
		name: "reload starting",
		sig:  &dbus.Signal{Path: systemdPath, Name: managerIface + ".Reloading", Body: []any{true}},
	}, {
		name: "job removed",
		sig:  &dbus.Signal{Path: systemdPath, Name: managerIface + ".JobRemoved", Body: []any{uint32(1), dbus.ObjectPath("/x"), "magnum-api.service", "done"}},
	}} {
		reason, ok := classifySignal(tc.sig, units)
		assert.Equal(t, tc.reason != "", ok, tc.name)
		assert.Equal(t, tc.reason, reason, tc.name)
	}
}

// TestSystemdSignalsLive subscribes on the real systemd when there is one.
// It only checks that the subscription works; restarts are not provoked.
func TestSystemdSignalsLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	src, err := dialSystemd(ctx)
	if err != nil {
		t.Skipf("no systemd on D-Bus here: %v", err)
	}
	defer src.Close()
	require.NoError(t, src.SetUnits(ctx, []string{"magnum-api.service"}))
	require.NoError(t, src.SetUnits(ctx, []string{"magnum-conductor.service"}))
	assert.NotNil(t, src.Signals())
}

func TestUnitTransition(t *testing.T) {
	units := unitPaths([]string{"magnum-api.service"})
	for _, tc := range []struct {
		state  any
		unit   string
		moving bool
	}{
		{"deactivating", "magnum-api.service", true},
		{"activating", "magnum-api.service", true},
		{"reloading", "magnum-api.service", true},
		{"active", "magnum-api.service", false},
		{"inactive", "magnum-api.service", false},
		{"failed", "magnum-api.service", false},
	} {
		unit, moving := unitTransition(propsSignal("magnum-api.service", "org.freedesktop.systemd1.Unit", map[string]any{"ActiveState": tc.state}), units)
		assert.Equal(t, tc.unit, unit, tc.state)
		assert.Equal(t, tc.moving, moving, tc.state)
	}
	for name, sig := range map[string]*dbus.Signal{
		"no ActiveState":  propsSignal("magnum-api.service", "org.freedesktop.systemd1.Service", map[string]any{"MainPID": uint32(42)}),
		"invalidated":     propsSignal("magnum-api.service", "org.freedesktop.systemd1.Unit", nil, "ActiveState"),
		"unwatched":       propsSignal("cron.service", "org.freedesktop.systemd1.Unit", map[string]any{"ActiveState": "activating"}),
		"manager signals": {Path: systemdPath, Name: managerIface + ".Reloading", Body: []any{false}},
	} {
		unit, moving := unitTransition(sig, units)
		assert.Empty(t, unit, name)
		assert.False(t, moving, name)
	}
}
