package fakek8s_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// Each real CAPO release line meets each real driver release as it would in
// life: driver 1.2.0 reads OpenStackCluster at v1alpha6 (its kubernetes.py,
// Debian's python3-magnum-capi-helm 1.2.0-3), which v0.9 and v0.10 still
// serve and v0.11 no longer does; 1.4.0 reads v1beta1, which v0.10 and
// later serve and v0.9 does not.
func TestPreflightAgainstRealCAPOReleases(t *testing.T) {
	missing120 := []string{"management cluster: missing API infrastructure.cluster.x-k8s.io/v1alpha6 OpenStackCluster"}
	missing140 := []string{"management cluster: missing API infrastructure.cluster.x-k8s.io/v1beta1 OpenStackCluster"}
	for _, tc := range []struct {
		capo             string
		want120, want140 []string
	}{
		{"v0.9", nil, missing140},
		{"v0.10", nil, nil},
		{"v0.11", missing120, nil},
		{"v0.12", missing120, nil},
		{"v0.13", missing120, nil},
		{"v0.14", missing120, nil},
	} {
		t.Run(tc.capo, func(t *testing.T) {
			s := start(t, fakek8s.Options{CAPO: tc.capo})
			_, r := preflight(t, s.Kubeconfig(), "1.2.0")
			assert.Equal(t, tc.want120, r.Problems)
			if tc.want120 == nil {
				assert.Equal(t, "pass: infrastructure.cluster.x-k8s.io/v1alpha6 serves OpenStackCluster",
					r.ActionResults()["api-infrastructure-cluster-x-k8s-io"])
			}
			_, r = preflight(t, s.Kubeconfig(), "1.4.0")
			assert.Equal(t, tc.want140, r.Problems)
		})
	}
}

// Discovery lists what the release's CRDs serve, with the version priority
// a real API server gives a CRD group.
func TestCAPOReleaseDiscovery(t *testing.T) {
	s := start(t, fakek8s.Options{CAPO: "v0.10.8"})
	get := func(path string, v any) int {
		resp, err := s.Client().Get(s.URL() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		if v != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
		}
		return resp.StatusCode
	}
	var group struct {
		PreferredVersion struct{ GroupVersion string }
		Versions         []struct{ Version string }
	}
	require.Equal(t, http.StatusOK, get("/apis/infrastructure.cluster.x-k8s.io", &group))
	assert.Equal(t, "infrastructure.cluster.x-k8s.io/v1beta1", group.PreferredVersion.GroupVersion)
	var versions []string
	for _, v := range group.Versions {
		versions = append(versions, v.Version)
	}
	assert.Equal(t, []string{"v1beta1", "v1alpha7", "v1alpha6", "v1alpha1"}, versions)

	var list struct {
		Resources []struct {
			Name       string
			Namespaced bool
		}
	}
	names := func(gv string) []string {
		list.Resources = nil
		require.Equal(t, http.StatusOK, get("/apis/"+gv, &list), gv)
		var out []string
		for _, r := range list.Resources {
			out = append(out, r.Name)
		}
		return out
	}
	assert.Equal(t, []string{"openstackfloatingippools", "openstackfloatingippools/status"}, names("infrastructure.cluster.x-k8s.io/v1alpha1"))
	assert.Contains(t, names("infrastructure.cluster.x-k8s.io/v1alpha7"), "openstackclusters/status")
	assert.Contains(t, names("cluster.x-k8s.io/v1beta1"), "machinepools/scale")
	assert.NotContains(t, names("cluster.x-k8s.io/v1beta1"), "machinedrainrules", "Cluster API v1.6 has no MachineDrainRule")
	assert.Equal(t, []string{"extensionconfigs", "extensionconfigs/status"}, names("runtime.cluster.x-k8s.io/v1alpha1"))
	assert.False(t, list.Resources[0].Namespaced, "ExtensionConfig is cluster-scoped")
	assert.Equal(t, http.StatusNotFound, get("/apis/infrastructure.cluster.x-k8s.io/v1alpha5", nil), "v0.10 lists v1alpha5 as not served")
	assert.Equal(t, http.StatusNotFound, get("/apis/cluster.x-k8s.io/v1alpha4", nil))

	s12 := start(t, fakek8s.Options{CAPO: "0.12"})
	resp, err := s12.Client().Get(s12.URL() + "/apis/cluster.x-k8s.io/v1beta1")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	var got []string
	for _, r := range list.Resources {
		got = append(got, r.Name)
	}
	assert.Contains(t, got, "machinedrainrules", "Cluster API v1.9 serves MachineDrainRule")
}

// The lines around v0.10 serve what their CRDs say: v0.9 no
// infrastructure v1beta1 and no v1alpha1 kinds; v0.13 (Cluster API v1.11)
// every Cluster API group at v1beta2 first and v1beta1 still; v0.14 a
// cluster-scoped OpenStackClusterIdentity and a status on
// OpenStackMachineTemplate.
func TestOlderAndNewerCAPOReleases(t *testing.T) {
	type group struct {
		PreferredVersion struct{ GroupVersion string }
		Versions         []struct{ Version string }
	}
	type list struct {
		Resources []struct {
			Name       string
			Namespaced bool
		}
	}
	get := func(s *fakek8s.Server, path string, v any) int {
		resp, err := s.Client().Get(s.URL() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		if v != nil && resp.StatusCode == http.StatusOK {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
		}
		return resp.StatusCode
	}
	versions := func(s *fakek8s.Server, g string) (preferred string, out []string) {
		var gr group
		require.Equal(t, http.StatusOK, get(s, "/apis/"+g, &gr), g)
		for _, v := range gr.Versions {
			out = append(out, v.Version)
		}
		return gr.PreferredVersion.GroupVersion, out
	}
	resources := func(s *fakek8s.Server, gv string) map[string]bool {
		var l list
		require.Equal(t, http.StatusOK, get(s, "/apis/"+gv, &l), gv)
		out := map[string]bool{}
		for _, r := range l.Resources {
			out[r.Name] = r.Namespaced
		}
		return out
	}

	s9 := start(t, fakek8s.Options{CAPO: "v0.9"})
	pref, vs := versions(s9, "infrastructure.cluster.x-k8s.io")
	assert.Equal(t, "infrastructure.cluster.x-k8s.io/v1alpha7", pref)
	assert.Equal(t, []string{"v1alpha7", "v1alpha6", "v1alpha5"}, vs)
	_, vs = versions(s9, "cluster.x-k8s.io")
	assert.Equal(t, []string{"v1beta1"}, vs)

	s13 := start(t, fakek8s.Options{CAPO: "v0.13"})
	for _, g := range []string{"cluster.x-k8s.io", "addons.cluster.x-k8s.io", "bootstrap.cluster.x-k8s.io", "controlplane.cluster.x-k8s.io"} {
		pref, vs := versions(s13, g)
		assert.Equal(t, g+"/v1beta2", pref)
		assert.Equal(t, []string{"v1beta2", "v1beta1"}, vs, g)
	}
	_, vs = versions(s13, "ipam.cluster.x-k8s.io")
	assert.Equal(t, []string{"v1beta2", "v1beta1", "v1alpha1"}, vs)
	_, vs = versions(s13, "runtime.cluster.x-k8s.io")
	assert.Equal(t, []string{"v1beta2", "v1alpha1"}, vs)
	_, vs = versions(s13, "infrastructure.cluster.x-k8s.io")
	assert.Equal(t, []string{"v1beta1", "v1alpha1"}, vs)
	assert.Equal(t, resources(s13, "cluster.x-k8s.io/v1beta1"), resources(s13, "cluster.x-k8s.io/v1beta2"))
	assert.Contains(t, resources(s13, "cluster.x-k8s.io/v1beta2"), "machinedrainrules")
	assert.NotContains(t, resources(s13, "addons.cluster.x-k8s.io/v1beta2"), "clusterresourcesetbindings/status")
	assert.Contains(t, resources(s13, "addons.cluster.x-k8s.io/v1beta1"), "clusterresourcesetbindings/status")
	assert.NotContains(t, resources(s13, "infrastructure.cluster.x-k8s.io/v1beta1"), "openstackmachinetemplates/status")

	s14 := start(t, fakek8s.Options{CAPO: "v0.14"})
	alpha1 := resources(s14, "infrastructure.cluster.x-k8s.io/v1alpha1")
	namespaced, ok := alpha1["openstackclusteridentities"]
	assert.True(t, ok)
	assert.False(t, namespaced, "OpenStackClusterIdentity is cluster-scoped")
	assert.Contains(t, resources(s14, "infrastructure.cluster.x-k8s.io/v1beta1"), "openstackmachinetemplates/status")
	assert.True(t, fakek8s.CAPIServesV1beta2("v1.12"))
	assert.False(t, fakek8s.CAPIServesV1beta2("v1.9"))
}

func TestCAPOReleaseErrors(t *testing.T) {
	_, err := fakek8s.Start(fakek8s.Options{Listen: "127.0.0.1:0", CAPO: "v0.8"})
	assert.EqualError(t, err, `unknown cluster-api-provider-openstack release "v0.8" (known: v0.9, v0.10, v0.11, v0.12, v0.13, v0.14)`)
	_, err = fakek8s.Start(fakek8s.Options{Listen: "127.0.0.1:0", CAPO: "v0.10", InfraVersions: []string{"v1alpha6"}})
	assert.EqualError(t, err, "a CAPO release (v0.10) and infrastructure versions (v1alpha6) exclude each other")

	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := fakek8s.Main(context.Background(), []string{"serve", "--state-dir", dir, "--capo", "v0.10", "--capi", "v1alpha6"}, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "--capo and --capi exclude each other")
}

func TestServeCommandCAPORelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fakek8s")
	held, stderr, stop := serveCLI(t, dir, "--listen", "127.0.0.1:0", "--capo", "v0.10")
	_, r := preflight(t, held, "1.2.0")
	assert.True(t, r.OK(), "%v", r.Problems)
	assert.Equal(t, 0, stop())
	assert.Contains(t, stderr.String(), "(auth cert, infrastructure Cluster API v1.6 + cluster-api-provider-openstack v0.10 (infrastructure.cluster.x-k8s.io v1alpha6, v1alpha7, v1beta1) + addon provider (addons.stackhpc.com v1alpha1), deny")
}
