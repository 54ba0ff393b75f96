package watcher

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// The watch list of a graft holds its own paths and Magnum's services,
// their environment files, drop-in directories and packages.
func TestForGraft(t *testing.T) {
	l := ForGraft([]string{"/etc/magnum/kubeconfig", "/opt/magnum-capi-graft"}).Normalize()
	assert.Equal(t, []string{"/etc/default/magnum-api", "/etc/default/magnum-conductor", "/etc/magnum/kubeconfig",
		"/etc/magnum/magnum.conf.d", "/etc/systemd/system/magnum-api.service.d", "/etc/systemd/system/magnum-conductor.service.d",
		"/opt/magnum-capi-graft"}, l.Paths)
	assert.Equal(t, []string{"magnum-api.service", "magnum-conductor.service"}, l.Units)
	assert.Equal(t, []string{"magnum-api", "magnum-common", "magnum-conductor", "python3-magnum"}, l.Packages)
}

// ensureSystemd records what Ensure asks of systemd.
type ensureSystemd struct {
	systemd.Controller
	unit  systemd.Unit
	calls []string
}

func (s *ensureSystemd) Unit(context.Context, string) (systemd.Unit, error) { return s.unit, nil }
func (s *ensureSystemd) Enable(_ context.Context, name string) error {
	s.calls = append(s.calls, "enable "+name)
	return nil
}
func (s *ensureSystemd) RestartNoSettle(_ context.Context, name string) error {
	s.calls = append(s.calls, "restart "+name)
	return nil
}

// The watcher is enabled when it is not, and restarted only when its unit
// file changed or it is not running.
func TestEnsure(t *testing.T) {
	running := systemd.Unit{Name: ServiceName, LoadState: "loaded", ActiveState: "active", MainPID: 7, UnitFileState: "enabled"}
	stopped := systemd.Unit{Name: ServiceName, LoadState: "loaded", ActiveState: "inactive", UnitFileState: "disabled"}
	logf := func(string, ...any) {}
	for _, c := range []struct {
		name    string
		unit    systemd.Unit
		changed bool
		want    []string
	}{
		{"converged", running, false, nil},
		{"unit file changed", running, true, []string{"restart " + ServiceName}},
		{"new", stopped, false, []string{"enable " + ServiceName, "restart " + ServiceName}},
	} {
		sd := &ensureSystemd{unit: c.unit}
		require.NoError(t, Ensure(context.Background(), sd, c.changed, logf), c.name)
		assert.Equal(t, c.want, sd.calls, c.name)
	}
}
