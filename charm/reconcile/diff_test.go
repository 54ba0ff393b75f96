package reconcile

import (
	"os"
	"os/user"
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
	p, err := Diff(d, runningUnit(started))
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, plan.Symlink, p.Changes[0].Kind)
	require.Len(t, p.Restarts, 2)
	for _, rs := range p.Restarts {
		assert.Equal(t, []string{"python3-magnum-capi-helm.list changed since it started"}, rs.Because)
	}

	// Services started after the package: nothing but the link.
	p, err = Diff(d, runningUnit(time.Now().Add(time.Minute)))
	require.NoError(t, err)
	assert.Empty(t, p.Restarts)

	d.Restart = []string{"apt-get install python3-magnum-capi-helm"}
	p, err = Diff(d, runningUnit(time.Now().Add(time.Minute)))
	require.NoError(t, err)
	require.Len(t, p.Restarts, 2)
	assert.Equal(t, []string{"apt-get install python3-magnum-capi-helm"}, p.Restarts[0].Because)
}

// TestDiffRemovesStaleTemporaryFiles: a hook killed (kill -9, a reboot)
// inside pebble's AtomicWriteFile leaves "<file>.<12 random>~" beside the
// file it was writing, with part of the new content (a kubeconfig holds
// credentials). The next reconcile removes it, restarts nothing for it, and
// does not count it as something removal must put back.
func TestDiffRemovesStaleTemporaryFiles(t *testing.T) {
	me, err := user.Current()
	require.NoError(t, err)
	group, err := user.LookupGroupId(me.Gid)
	require.NoError(t, err)
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\n"), 0o640))
	stale := kc + ".BCDFGHJKLM01~"
	require.NoError(t, os.WriteFile(stale, []byte("apiVersion: v1\nusers: [half"), 0o640))
	notOurs := []string{kc + ".bak~", kc + ".BCDFGHJKLMAE~", kc + ".orig"}
	for _, p := range notOurs {
		require.NoError(t, os.WriteFile(p, nil, 0o644))
	}
	d := &Desired{Part: artifact.Part{Files: []files.File{{Path: kc, Content: []byte("apiVersion: v1\n"), Mode: 0o640,
		Owner: me.Username, Group: group.Name, Secret: true, Restarts: []string{"magnum-api"}}}}}
	p, err := Diff(d, &unitshape.Unit{})
	require.NoError(t, err)
	require.Len(t, p.Changes, 1, "%v", p.Changes)
	c := p.Changes[0]
	assert.Equal(t, plan.Remove, c.Kind)
	assert.Equal(t, stale, c.Path)
	assert.True(t, c.Scratch)
	assert.Empty(t, c.Restarts)
	assert.Empty(t, p.Restarts)
	require.NoError(t, files.Apply(c))
	assert.NoFileExists(t, stale)
	for _, p := range notOurs {
		assert.FileExists(t, p)
	}
	p, err = Diff(d, &unitshape.Unit{})
	require.NoError(t, err)
	assert.Empty(t, p.Changes)
}
