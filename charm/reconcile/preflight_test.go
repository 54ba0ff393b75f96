package reconcile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// The preflight reads the versions the driver will read: with
// api-resources set, the overridden ones. When the cluster serves other
// versions, the blocked status says the exact value to set (compat's
// fix); once it is set, the preflight passes, not waiting for the
// remembered failure to age.
func TestPreflightFollowsAPIResources(t *testing.T) {
	// CAPO v0.9 serves OpenStackCluster at v1alpha7, which driver 1.4.0
	// (v1beta1) and 1.2.x-1.3.x (v1alpha6) do not read by themselves.
	srv, err := fakek8s.Start(fakek8s.Options{Listen: "127.0.0.1:0", CAPO: "v0.9"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	data := srv.Kubeconfig()
	kc, vr := kubeconfig.Validate(data, "1.4.0", time.Now(), kubeconfig.ValidateOptions{})
	require.Empty(t, vr.Problems)
	r := &Reconciler{State: state.Dir(filepath.Join(t.TempDir(), "state"))}
	desired := func(apiResources any) *Desired {
		raw := map[string]any{"driver-version": "1.4.0"}
		if apiResources != nil {
			raw["api-resources"] = apiResources
		}
		return &Desired{Kubeconfig: kc, Config: Config{Raw: raw, DriverVersion: "1.4.0"},
			Part: artifact.Part{Files: []files.File{{Path: KubeconfigFile, Content: data}}}}
	}
	ctx := context.Background()

	rep := r.Preflight(ctx, desired(nil), false)
	value := `{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha7"}}`
	assert.Equal(t, "management cluster: missing API infrastructure.cluster.x-k8s.io/v1beta1 OpenStackCluster: "+
		"set api-resources='"+value+"' (or choose driver-version 1.3.0)", rep.BlockedStatus())

	// The operator sets it: not the remembered failure, a pass.
	rep = r.Preflight(ctx, desired(value), false)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.Equal(t, "pass: infrastructure.cluster.x-k8s.io/v1alpha7 serves OpenStackCluster",
		rep.ActionResults()["api-infrastructure-cluster-x-k8s-io"])
}
