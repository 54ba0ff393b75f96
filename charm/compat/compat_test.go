package compat_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/compat"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// discover serves opts with the fake management cluster and runs the
// charm's real Validate and Discover against it, as a unit would.
func discover(t *testing.T, opts fakek8s.Options) kubeconfig.Served {
	t.Helper()
	opts.Listen = "127.0.0.1:0"
	s, err := fakek8s.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	kc, vr := kubeconfig.Validate(s.Kubeconfig(), "1.4.0", time.Now(), kubeconfig.ValidateOptions{})
	require.Empty(t, vr.Problems)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	served, err := kubeconfig.Discover(ctx, kc, compat.Groups(), kubeconfig.Options{})
	require.NoError(t, err)
	return served
}

func build(t *testing.T, served kubeconfig.Served, driver, apiResources string) compat.Report {
	t.Helper()
	r, err := compat.Build(compat.Input{MagnumVersion: "20.0.0", DriverVersion: driver, APIResources: apiResources, Served: served})
	require.NoError(t, err)
	if r.Fix != nil && r.Fix.APIResourcesSet && r.Fix.APIResources != "" {
		// The suggestion is a value the charm accepts for the version it
		// is meant for.
		v := driver
		if r.Fix.DriverVersion != "" {
			v = r.Fix.DriverVersion
		}
		assert.Empty(t, confd.Check(map[string]any{"api-resources": r.Fix.APIResources}, v))
	}
	return r
}

// Discovery reads every served version of each group, most preferred
// first, with its resources.
func TestDiscoverServesEveryVersion(t *testing.T) {
	served := discover(t, fakek8s.Options{CAPO: "v0.13"})
	capi := served.Group("cluster.x-k8s.io")
	assert.Equal(t, "v1beta2", capi.Preferred)
	require.Len(t, capi.Versions, 2)
	assert.Equal(t, "v1beta1", capi.Versions[1].Version)
	assert.Contains(t, capi.Versions[1].Resources, "machinedeployments")
	assert.NotContains(t, capi.Versions[1].Resources, "machinedeployments/scale", "subresources are left out")
	assert.Equal(t, []string{"v1beta1"}, served.VersionsServing("infrastructure.cluster.x-k8s.io", "openstackclusters"))
	assert.Equal(t, []string{"v1alpha1"}, served.VersionsServing("infrastructure.cluster.x-k8s.io", "openstackservers"))

	missing := discover(t, fakek8s.Options{MissingGroups: []string{"addons.stackhpc.com"}})
	assert.Equal(t, kubeconfig.ServedGroup{Name: "addons.stackhpc.com"}, missing.Group("addons.stackhpc.com"))
}

// A credential the server refuses is a problem named as the preflight
// names it, with nothing of the kubeconfig in it.
func TestDiscoverNamesTheProblem(t *testing.T) {
	s, err := fakek8s.Start(fakek8s.Options{Listen: "127.0.0.1:0", Auth: fakek8s.AuthToken})
	require.NoError(t, err)
	defer s.Close()
	kc, vr := kubeconfig.Validate(s.Kubeconfig(), "1.4.0", time.Now(), kubeconfig.ValidateOptions{})
	require.Empty(t, vr.Problems)
	require.NoError(t, s.Close())
	_, err = kubeconfig.Discover(context.Background(), kc, compat.Groups(), kubeconfig.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "management cluster: cannot reach")
	assert.Contains(t, err.Error(), "connection refused")
}

// releases are real CAPI/CAPO releases served, a driver release and an
// api-resources value, with what the report says of them.
var releases = []struct {
	name         string
	opts         fakek8s.Options
	driver       string
	apiResources string
	mismatches   []string
	fix          *compat.Fix
	notes        []string
	summary      string
}{{
	name:    "1.4.0 on CAPO v0.12 meets",
	opts:    fakek8s.Options{CAPO: "v0.12"},
	driver:  "1.4.0",
	summary: "Magnum 20.0.0, driver 1.4.0; Cluster API v1beta1; CAPO v1beta1, v1alpha1; addons v1alpha1: the driver reads only what is served",
}, {
	name:   "1.4.0 on CAPO v0.9 reads v1beta1, served only up to v1alpha7",
	opts:   fakek8s.Options{CAPO: "v0.9"},
	driver: "1.4.0",
	mismatches: []string{"OpenStackCluster: driver 1.4.0 reads infrastructure.cluster.x-k8s.io/v1beta1; " +
		"the cluster serves it at v1alpha7, v1alpha6, v1alpha5"},
	fix: &compat.Fix{APIResourcesSet: true, Possible: true,
		APIResources: `{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha7"}}`,
		Text:         `set api-resources='{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha7"}}' (or choose driver-version 1.3.0)`},
	summary: "Magnum 20.0.0, driver 1.4.0; Cluster API v1beta1; CAPO v1alpha7, v1alpha6, v1alpha5; addons v1alpha1: " +
		"OpenStackCluster: driver 1.4.0 reads infrastructure.cluster.x-k8s.io/v1beta1; the cluster serves it at v1alpha7, v1alpha6, v1alpha5; " +
		`set api-resources='{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha7"}}' (or choose driver-version 1.3.0)`,
}, {
	name:   "1.2.0 on CAPO v0.11 reads v1alpha6, no longer served",
	opts:   fakek8s.Options{CAPO: "v0.11"},
	driver: "1.2.0",
	mismatches: []string{"OpenStackCluster: driver 1.2.0 reads infrastructure.cluster.x-k8s.io/v1alpha6; " +
		"the cluster serves it at v1beta1, v1alpha7"},
	fix: &compat.Fix{DriverVersion: "1.4.0", Possible: true,
		Text: "choose driver-version 1.4.0: driver 1.2.0 cannot be told other versions (api-resources is read from 1.4.0)"},
}, {
	name:   "1.3.0 on CAPO v0.13 (Cluster API v1.11)",
	opts:   fakek8s.Options{CAPO: "v0.13"},
	driver: "1.3.0",
	mismatches: []string{"OpenStackCluster: driver 1.3.0 reads infrastructure.cluster.x-k8s.io/v1alpha6; " +
		"the cluster serves it at v1beta1"},
	fix: &compat.Fix{DriverVersion: "1.4.0", Possible: true,
		Text: "choose driver-version 1.4.0: driver 1.3.0 cannot be told other versions (api-resources is read from 1.4.0)"},
	notes: []string{
		"the cluster prefers cluster.x-k8s.io/v1beta2; the driver reads v1beta1, which it still serves",
		"the cluster prefers controlplane.cluster.x-k8s.io/v1beta2; the driver reads v1beta1, which it still serves",
	},
}, {
	name:   "1.4.0 on CAPO v0.14 (Cluster API v1.12) meets, on v1beta1 still served",
	opts:   fakek8s.Options{CAPO: "v0.14"},
	driver: "1.4.0",
	notes: []string{
		"the cluster prefers cluster.x-k8s.io/v1beta2; the driver reads v1beta1, which it still serves",
		"the cluster prefers controlplane.cluster.x-k8s.io/v1beta2; the driver reads v1beta1, which it still serves",
	},
	summary: "Magnum 20.0.0, driver 1.4.0; Cluster API v1beta2, v1beta1; CAPO v1beta1, v1alpha1; addons v1alpha1: the driver reads only what is served",
}, {
	name:   "an override left from an old cluster, now wrong",
	opts:   fakek8s.Options{CAPO: "v0.12"},
	driver: "1.4.0", apiResources: `{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha6"},"K8sControlPlane":{"plural_name":"kubeadmcontrolplanes"}}`,
	mismatches: []string{"OpenStackCluster: driver 1.4.0 reads infrastructure.cluster.x-k8s.io/v1alpha6; " +
		"the cluster serves it at v1beta1"},
	fix: &compat.Fix{APIResourcesSet: true, Possible: true,
		APIResources: `{"K8sControlPlane":{"plural_name":"kubeadmcontrolplanes"}}`,
		Text:         `set api-resources='{"K8sControlPlane":{"plural_name":"kubeadmcontrolplanes"}}'`},
}, {
	name:   "an override that only repeats the built-in version goes",
	opts:   fakek8s.Options{CAPO: "v0.12"},
	driver: "1.4.0", apiResources: `{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha7"}}`,
	mismatches: []string{"OpenStackCluster: driver 1.4.0 reads infrastructure.cluster.x-k8s.io/v1alpha7; " +
		"the cluster serves it at v1beta1"},
	fix: &compat.Fix{APIResourcesSet: true, Possible: true,
		Text: "unset api-resources: driver 1.4.0's own versions are all served"},
}, {
	name:   "only v1alpha7: no release reads it as it comes",
	opts:   fakek8s.Options{InfraVersions: []string{"v1alpha7"}},
	driver: "1.2.1",
	mismatches: []string{"OpenStackCluster: driver 1.2.1 reads infrastructure.cluster.x-k8s.io/v1alpha6; " +
		"the cluster serves it at v1alpha7"},
	fix: &compat.Fix{APIResourcesSet: true, DriverVersion: "1.4.0", Possible: true,
		APIResources: `{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha7"}}`,
		Text:         `choose driver-version 1.4.0 and set api-resources='{"OpenstackCluster":{"api_version":"infrastructure.cluster.x-k8s.io/v1alpha7"}}'`},
}, {
	name:   "no addon provider: nothing to set",
	opts:   fakek8s.Options{CAPO: "v0.12", MissingGroups: []string{"addons.stackhpc.com"}},
	driver: "1.4.0",
	mismatches: []string{
		"HelmRelease: driver 1.4.0 reads addons.stackhpc.com/v1alpha1; the cluster serves it at no version",
		"Manifests: driver 1.4.0 reads addons.stackhpc.com/v1alpha1; the cluster serves it at no version",
	},
	fix: &compat.Fix{Text: "the management cluster serves no HelmRelease (helmreleases) at any version: install the provider that serves addons.stackhpc.com"},
}}

func TestCompatibilityAgainstRealReleases(t *testing.T) {
	for _, tc := range releases {
		t.Run(tc.name, func(t *testing.T) {
			r := build(t, discover(t, tc.opts), tc.driver, tc.apiResources)
			assert.Equal(t, tc.mismatches, r.Mismatches)
			assert.Equal(t, tc.fix, r.Fix)
			assert.Equal(t, tc.notes, r.Notes)
			assert.Equal(t, tc.mismatches == nil, r.OK())
			if tc.summary != "" {
				assert.Equal(t, tc.summary, r.Summary())
			}
		})
	}
}

// Following the suggestion makes the next report clean.
func TestFollowingTheFixMeets(t *testing.T) {
	served := discover(t, fakek8s.Options{CAPO: "v0.9"})
	r := build(t, served, "1.4.0", "")
	require.NotNil(t, r.Fix)
	again := build(t, served, "1.4.0", r.Fix.APIResources)
	assert.True(t, again.OK(), "%v", again.Mismatches)
	assert.Nil(t, again.Fix)
	alt := build(t, served, "1.3.0", "")
	assert.True(t, alt.OK(), "%v", alt.Mismatches)
}

func TestChecks(t *testing.T) {
	r := build(t, discover(t, fakek8s.Options{CAPO: "v0.11"}), "1.2.0", "")
	checks := map[string]kubeconfig.Check{}
	for _, c := range r.Checks() {
		checks[c.Name] = c
	}
	assert.Equal(t, kubeconfig.Fail, checks["compat-openstackcluster"].Result)
	assert.Equal(t, "driver 1.2.0 reads OpenStackCluster infrastructure.cluster.x-k8s.io/v1alpha6; served: v1beta1, v1alpha7",
		checks["compat-openstackcluster"].Evidence)
	assert.Equal(t, kubeconfig.Pass, checks["compat-cluster"].Result)
	assert.Equal(t, kubeconfig.Fail, checks["compat-fix"].Result)
	assert.Len(t, checks, 8)
}

func TestBadInput(t *testing.T) {
	_, err := compat.Build(compat.Input{DriverVersion: "latest"})
	assert.Error(t, err)
	_, err = compat.Build(compat.Input{DriverVersion: "1.4.0", APIResources: "[1]"})
	assert.Error(t, err)
}
