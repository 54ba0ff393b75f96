package reconcile

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/chart"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/helm"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// The sight of a converged reconcile: it lasts no longer than the memos
// and the client certificate's wording, and lists what a helm not the
// charm's, magnum.conf and each service's files are.
func TestSightListsWhatTheReconcileReadAndLastsUntilTheClockMatters(t *testing.T) {
	st := state.Dir(t.TempDir())
	since := time.Now()
	r := &Reconciler{State: st}
	unit := &unitshape.Unit{Python: "/usr/bin/python3", PythonVersion: "3.11", Services: []unitshape.Service{
		{Name: "magnum-api", Unit: systemd.Unit{ActiveState: "active", MainPID: 41, FragmentPath: "/lib/systemd/system/magnum-api.service"}},
		{Name: "magnum-conductor", Unit: systemd.Unit{ActiveState: "active", MainPID: 42, FragmentPath: "/lib/systemd/system/magnum-conductor.service"},
			PATH: "/usr/local/bin:/usr/bin"},
	}}
	d := &Desired{Kubeconfig: &kubeconfig.Kubeconfig{ClientCertNotAfter: since.Add(400 * 24 * time.Hour)},
		Helm: &helm.Helm{Mode: helm.External, Path: "/usr/local/bin/helm"}}

	// No preflight or chart check kept: nothing to outlive, no sight.
	assert.Nil(t, r.sight(context.Background(), unit, d, since))

	require.NoError(t, st.Save(state.Preflight, map[string]any{"key": "k", "at": since.Add(-10 * time.Minute)}))
	require.NoError(t, st.Save(state.ChartCheck, chart.Record{Key: "k", Checked: since.Add(-5 * time.Minute)}))
	s := r.sight(context.Background(), unit, d, since)
	require.NotNil(t, s)
	assert.Equal(t, since.Add(-10*time.Minute).Add(kubeconfig.PreflightInterval).UnixNano(), s.Until.UnixNano(), "the preflight is due first")
	for _, p := range []string{"/usr/local/bin/helm", wiring.MagnumConf, "/etc/default/magnum-api", "/lib/systemd/system/magnum-conductor.service",
		"/etc/systemd/system.control/magnum-conductor.service.d", "/usr/local/bin", "/usr/lib/python3/dist-packages", "/var/lib/dpkg/status",
		st.Path(state.Footprint)} {
		assert.Contains(t, s.Paths, p)
	}
	for _, p := range []string{st.Path(state.Inputs), st.Path(state.Glance), string(st), ""} {
		assert.NotContains(t, s.Paths, p)
	}
	assert.Equal(t, []uint32{41, 42}, []uint32{s.Processes[0].PID, s.Processes[1].PID})

	// A client certificate whose warning begins in 10 minutes, before
	// the preflight is due: the sight ends then.
	d.Kubeconfig.ClientCertNotAfter = since.Add(kubeconfig.ExpiryWarning + 10*time.Minute)
	s = r.sight(context.Background(), unit, d, since)
	require.NotNil(t, s)
	assert.Equal(t, since.Add(10*time.Minute).UnixNano(), s.Until.UnixNano())

	// The charm's own helm is a tree the watcher watches, not a path.
	d.Helm = &helm.Helm{Mode: helm.FromResource, Path: "/opt/magnum-capi-graft/helm/helm"}
	s = r.sight(context.Background(), unit, d, since)
	assert.False(t, slices.Contains(s.Paths, "/opt/magnum-capi-graft/helm/helm"))
}
