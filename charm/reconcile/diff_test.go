package reconcile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

func runningUnit(started time.Time) *unitshape.Unit {
	u := &unitshape.Unit{}
	for _, name := range unitshape.Services {
		u.Services = append(u.Services, unitshape.Service{Name: name, Cmdline: []string{"/usr/bin/python3", "/usr/bin/" + name},
			Unit: systemd.Unit{ActiveState: "active", MainPID: 42, StartedAt: started}})
	}
	return u
}

// TestDiffLinksStampsAndDriverRestarts: helm's link is a planned change
// that restarts nothing; a package installed after a service started (its
// dpkg list is newer) restarts that service; so does an apt install a dry
// run foresees.
func TestDiffLinksStampsAndDriverRestarts(t *testing.T) {
	dir := t.TempDir()
	started := time.Now().Add(-time.Hour)
	stamp := filepath.Join(dir, "python3-magnum-capi-helm.list")
	require.NoError(t, os.WriteFile(stamp, nil, 0o644))

	d := &Desired{Part: artifact.Part{
		Links:  []files.Symlink{{Path: filepath.Join(dir, "helm"), Target: "/opt/magnum-capi-graft/helm/helm"}},
		Stamps: []string{stamp},
	}}
	for range unitshape.Services {
		d.Wirings = append(d.Wirings, wiring.Wiring{Method: wiring.ByDefaultDirs})
	}
	p, err := Diff(d, runningUnit(started), nil)
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, plan.Symlink, p.Changes[0].Kind)
	require.Len(t, p.Restarts, 2)
	for _, rs := range p.Restarts {
		assert.Equal(t, []string{"python3-magnum-capi-helm.list changed since it started"}, rs.Because)
	}

	// Services started after the package: nothing but the link.
	p, err = Diff(d, runningUnit(time.Now().Add(time.Minute)), nil)
	require.NoError(t, err)
	assert.Empty(t, p.Restarts)

	d.Restart = []string{"apt-get install python3-magnum-capi-helm"}
	p, err = Diff(d, runningUnit(time.Now().Add(time.Minute)), nil)
	require.NoError(t, err)
	require.Len(t, p.Restarts, 2)
	assert.Equal(t, []string{"apt-get install python3-magnum-capi-helm"}, p.Restarts[0].Because)
}
