package fakek8s_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// start serves opts on a free loopback port for the length of the test.
func start(t *testing.T, opts fakek8s.Options) *fakek8s.Server {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	s, err := fakek8s.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// preflight runs the charm's real Validate and Preflight on data, as the
// unit does, and returns both reports. Validate must pass.
func preflight(t *testing.T, data []byte, driverVersion string) (*kubeconfig.Kubeconfig, kubeconfig.Report) {
	t.Helper()
	kc, vr := kubeconfig.Validate(data, driverVersion, time.Now(), kubeconfig.ValidateOptions{})
	require.Empty(t, vr.Problems, "Validate")
	require.Empty(t, vr.Warnings, "Validate")
	require.NotNil(t, kc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return kc, kubeconfig.Preflight(ctx, kc, driverVersion, kubeconfig.Options{})
}

func host(s *fakek8s.Server) string {
	return strings.TrimPrefix(s.URL(), "https://")
}

func TestPreflightPassesForEachDriverRelease(t *testing.T) {
	for _, tc := range []struct {
		driver, infra string
		auth          fakek8s.AuthMode
		wantAuth      kubeconfig.AuthMethod
	}{
		{"1.2.1", "v1alpha6", fakek8s.AuthCert, kubeconfig.AuthClientCertificate},
		{"1.4.0", "v1beta1", fakek8s.AuthCert, kubeconfig.AuthClientCertificate},
		{"1.3.0", "v1alpha6", fakek8s.AuthToken, kubeconfig.AuthBearerToken},
	} {
		t.Run(tc.driver+"-"+tc.infra+"-"+string(tc.auth), func(t *testing.T) {
			s := start(t, fakek8s.Options{InfraVersions: []string{tc.infra}, Auth: tc.auth})
			kc, r := preflight(t, s.Kubeconfig(), tc.driver)
			assert.Equal(t, tc.wantAuth, kc.Auth)
			assert.Equal(t, host(s), kc.Address())
			assert.True(t, r.OK(), "%v", r.Problems)
			assert.Empty(t, r.Warnings)
			assert.Equal(t, map[string]string{
				"connection":                          "pass: https://" + host(s) + "/readyz ok, TLS verified with the kubeconfig CA, " + string(tc.wantAuth) + " auth",
				"api-cluster-x-k8s-io":                "pass: cluster.x-k8s.io/v1beta1 serves Cluster, MachineDeployment, Machine",
				"api-infrastructure-cluster-x-k8s-io": "pass: infrastructure.cluster.x-k8s.io/" + tc.infra + " serves OpenStackCluster",
				"api-controlplane-cluster-x-k8s-io":   "pass: controlplane.cluster.x-k8s.io/v1beta1 serves KubeadmControlPlane",
				"api-addons-stackhpc-com":             "pass: addons.stackhpc.com/v1alpha1 serves HelmRelease, Manifests",
				"rbac-deletecollection-secrets":       "pass: identity may deletecollection secrets in all namespaces",
				"rbac-create-namespaces":              "pass: identity may create namespaces in all namespaces",
			}, r.ActionResults())

			user := fakek8s.ClientCommonName
			if tc.auth == fakek8s.AuthToken {
				user = fakek8s.TokenUser
			}
			var seen []string
			for _, req := range s.Requests() {
				assert.Equal(t, user, req.User, "%v", req)
				seen = append(seen, fmt.Sprintf("%s %s %d %s", req.Method, req.Path, req.Status, req.Detail))
			}
			assert.Equal(t, []string{
				"GET /readyz 200 ",
				"GET /apis/cluster.x-k8s.io/v1beta1 200 ",
				"GET /apis/infrastructure.cluster.x-k8s.io/" + tc.infra + " 200 ",
				"GET /apis/controlplane.cluster.x-k8s.io/v1beta1 200 ",
				"GET /apis/addons.stackhpc.com/v1alpha1 200 ",
				"POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews 201 deletecollection secrets: allowed",
				"POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews 201 create namespaces: allowed",
			}, seen)
		})
	}
}

// The provider's version is what separates the driver's releases: each
// meets a management cluster serving only the other's version.
func TestPreflightWrongInfrastructureVersion(t *testing.T) {
	for _, tc := range []struct {
		driver, infra, want string
	}{
		{"1.4.0", "v1alpha6", "management cluster: missing API infrastructure.cluster.x-k8s.io/v1beta1 OpenStackCluster"},
		{"1.2.1", "v1beta1", "management cluster: missing API infrastructure.cluster.x-k8s.io/v1alpha6 OpenStackCluster"},
		{"1.3.0", "v1alpha7", "management cluster: missing API infrastructure.cluster.x-k8s.io/v1alpha6 OpenStackCluster"},
	} {
		t.Run(tc.driver+"-"+tc.infra, func(t *testing.T) {
			s := start(t, fakek8s.Options{InfraVersions: []string{tc.infra}})
			_, r := preflight(t, s.Kubeconfig(), tc.driver)
			assert.Equal(t, []string{tc.want}, r.Problems)
		})
	}

	// CAPO 0.10 serves both, and both releases are content.
	s := start(t, fakek8s.Options{InfraVersions: []string{"v1alpha6", "v1beta1"}})
	for _, driver := range []string{"1.2.1", "1.4.0"} {
		_, r := preflight(t, s.Kubeconfig(), driver)
		assert.True(t, r.OK(), "%s: %v", driver, r.Problems)
	}
}

func TestPreflightDeniedRBAC(t *testing.T) {
	s := start(t, fakek8s.Options{Deny: []string{"create/namespaces"}})
	_, r := preflight(t, s.Kubeconfig(), "1.4.0")
	assert.Equal(t, []string{"management cluster: identity may not create namespaces"}, r.Problems)
	assert.Equal(t, "fail: management cluster: identity may not create namespaces", r.ActionResults()["rbac-create-namespaces"])
	assert.Equal(t, "pass: identity may deletecollection secrets in all namespaces", r.ActionResults()["rbac-deletecollection-secrets"])

	s = start(t, fakek8s.Options{Deny: []string{"*/secrets", "create/namespaces"}, Auth: fakek8s.AuthToken, InfraVersions: []string{"v1alpha6"}})
	_, r = preflight(t, s.Kubeconfig(), "1.3.0")
	assert.Equal(t, []string{
		"management cluster: identity may not deletecollection secrets",
		"management cluster: identity may not create namespaces",
	}, r.Problems)
	assert.Equal(t, "management cluster: identity may not deletecollection secrets (+1 more)", r.BlockedStatus())
}

func TestPreflightMissingAPIs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts fakek8s.Options
		want []string
	}{
		{"group", fakek8s.Options{MissingGroups: []string{"addons.stackhpc.com"}},
			[]string{"management cluster: missing API addons.stackhpc.com/v1alpha1 HelmRelease, Manifests"}},
		{"group version", fakek8s.Options{MissingGroups: []string{"controlplane.cluster.x-k8s.io/v1beta1"}},
			[]string{"management cluster: missing API controlplane.cluster.x-k8s.io/v1beta1 KubeadmControlPlane"}},
		{"resource", fakek8s.Options{MissingResources: []string{"cluster.x-k8s.io/v1beta1/machinedeployments"}},
			[]string{"management cluster: missing API cluster.x-k8s.io/v1beta1 MachineDeployment"}},
		// Without authorization.k8s.io the review endpoint is gone too.
		{"authorization", fakek8s.Options{MissingGroups: []string{"authorization.k8s.io"}},
			[]string{"management cluster: access review failed (HTTP 404)", "management cluster: access review failed (HTTP 404)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			_, r := preflight(t, s.Kubeconfig(), "1.4.0")
			assert.Equal(t, tc.want, r.Problems)
		})
	}
}

func TestPreflightReadiness(t *testing.T) {
	s := start(t, fakek8s.Options{NotReady: true})
	_, r := preflight(t, s.Kubeconfig(), "1.4.0")
	assert.Equal(t, []string{"management cluster: /readyz reports not ready (HTTP 500)"}, r.Problems)

	s.SetReady(true)
	_, r = preflight(t, s.Kubeconfig(), "1.4.0")
	assert.True(t, r.OK(), "%v", r.Problems)

	old := start(t, fakek8s.Options{NoReadyz: true})
	_, r = preflight(t, old.Kubeconfig(), "1.4.0")
	assert.True(t, r.OK(), "%v", r.Problems)
	assert.Equal(t, "pass: https://"+host(old)+"/healthz ok, TLS verified with the kubeconfig CA, client-certificate auth",
		r.ActionResults()["connection"])

	old.SetReady(false)
	_, r = preflight(t, old.Kubeconfig(), "1.4.0")
	assert.Equal(t, []string{"management cluster: /healthz reports not ready (HTTP 500)"}, r.Problems)
}

// editUser replaces fields of the kubeconfig's user.
func editUser(t *testing.T, data []byte, fields map[string]string) []byte {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	user := doc["users"].([]any)[0].(map[string]any)["user"].(map[string]any)
	for k, v := range fields {
		if v == "" {
			delete(user, k)
		} else {
			user[k] = v
		}
	}
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return out
}

func TestPreflightWrongCredentials(t *testing.T) {
	s := start(t, fakek8s.Options{})
	other := start(t, fakek8s.Options{})
	b64 := base64.StdEncoding.EncodeToString
	unauthorized := []string{"management cluster: " + host(s) + " rejected the kubeconfig credentials (401 Unauthorized)"}

	// A client certificate from another CA: refused by the authenticator,
	// not the handshake, as kube-apiserver does.
	foreign := editUser(t, s.Kubeconfig(), map[string]string{
		"client-certificate-data": b64(other.Credentials().ClientCertPEM),
		"client-key-data":         b64(other.Credentials().ClientKeyPEM),
	})
	_, r := preflight(t, foreign, "1.4.0")
	assert.Equal(t, unauthorized, r.Problems)

	// A token where the server wants a client certificate.
	token := editUser(t, s.Kubeconfig(), map[string]string{
		"client-certificate-data": "", "client-key-data": "", "token": s.Credentials().Token,
	})
	_, r = preflight(t, token, "1.4.0")
	assert.Equal(t, unauthorized, r.Problems)

	// Another server's token.
	ts := start(t, fakek8s.Options{Auth: fakek8s.AuthToken})
	wrongToken := editUser(t, ts.Kubeconfig(), map[string]string{"token": other.Credentials().Token})
	_, r = preflight(t, wrongToken, "1.4.0")
	assert.Equal(t, []string{"management cluster: " + host(ts) + " rejected the kubeconfig credentials (401 Unauthorized)"}, r.Problems)
	assert.Equal(t, "", ts.Requests()[0].User)

	// Another server's CA.
	_, r = preflight(t, other.Kubeconfig(), "1.4.0")
	assert.True(t, r.OK(), "%v", r.Problems)
	otherCA := []byte(strings.Replace(string(other.Kubeconfig()), host(other), host(s), 1))
	_, r = preflight(t, otherCA, "1.4.0")
	assert.Equal(t, []string{"management cluster: server certificate of " + host(s) + " is not signed by the kubeconfig CA"}, r.Problems)
}

// Driver releases before 1.3.0 cannot use the token kubeconfig at all.
func TestTokenKubeconfigForOldDriver(t *testing.T) {
	s := start(t, fakek8s.Options{Auth: fakek8s.AuthToken, InfraVersions: []string{"v1alpha6"}})
	kc, r := kubeconfig.Validate(s.Kubeconfig(), "1.2.1", time.Now(), kubeconfig.ValidateOptions{})
	assert.Nil(t, kc)
	assert.Equal(t, []string{"kubeconfig: bearer token auth needs driver-version >= 1.3.0 (have 1.2.1)"}, r.Problems)
}

func TestKubeconfigDocument(t *testing.T) {
	s := start(t, fakek8s.Options{})
	var doc struct {
		Clusters []struct {
			Cluster map[string]string `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			User map[string]string `yaml:"user"`
		} `yaml:"users"`
		CurrentContext string `yaml:"current-context"`
	}
	require.NoError(t, yaml.Unmarshal(s.Kubeconfig(), &doc))
	assert.Equal(t, fakek8s.KubeconfigContext, doc.CurrentContext)
	assert.Equal(t, s.URL(), doc.Clusters[0].Cluster["server"])
	assert.Regexp(t, `^https://127\.0\.0\.1:\d+$`, s.URL())
	assert.Equal(t, base64.StdEncoding.EncodeToString(s.Credentials().CACertPEM), doc.Clusters[0].Cluster["certificate-authority-data"])
	assert.ElementsMatch(t, []string{"client-certificate-data", "client-key-data"}, keys(doc.Users[0].User))

	ts := start(t, fakek8s.Options{Auth: fakek8s.AuthToken})
	require.NoError(t, yaml.Unmarshal(ts.Kubeconfig(), &doc))
	assert.Equal(t, map[string]string{"token": ts.Credentials().Token}, doc.Users[0].User)

	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, ts.WriteKubeconfig(path))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Discovery beyond what the preflight reads answers as a real server does,
// for anyone pointing kubectl at the box.
func TestDiscoveryDocuments(t *testing.T) {
	s := start(t, fakek8s.Options{InfraVersions: []string{"v1alpha6", "v1beta1"}, MissingGroups: []string{"bootstrap.cluster.x-k8s.io"}})
	get := func(path string, v any) int {
		resp, err := s.Client().Get(s.URL() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		if v != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
		}
		return resp.StatusCode
	}
	var groups struct {
		Kind   string
		Groups []struct {
			Name             string
			PreferredVersion struct{ GroupVersion string }
			Versions         []struct{ Version string }
		}
	}
	require.Equal(t, http.StatusOK, get("/apis", &groups))
	assert.Equal(t, "APIGroupList", groups.Kind)
	var names []string
	for _, g := range groups.Groups {
		names = append(names, g.Name)
	}
	assert.Equal(t, []string{"cluster.x-k8s.io", "controlplane.cluster.x-k8s.io", "infrastructure.cluster.x-k8s.io", "addons.stackhpc.com", "authorization.k8s.io"}, names)
	assert.Equal(t, "infrastructure.cluster.x-k8s.io/v1beta1", groups.Groups[2].PreferredVersion.GroupVersion)
	assert.Len(t, groups.Groups[2].Versions, 2)

	var group struct{ Kind, Name string }
	require.Equal(t, http.StatusOK, get("/apis/addons.stackhpc.com", &group))
	assert.Equal(t, "APIGroup", group.Kind)
	assert.Equal(t, http.StatusNotFound, get("/apis/bootstrap.cluster.x-k8s.io", nil))
	assert.Equal(t, http.StatusNotFound, get("/apis/bootstrap.cluster.x-k8s.io/v1beta1", nil))
	assert.Equal(t, http.StatusNotFound, get("/apis/cluster.x-k8s.io/v1alpha4", nil))

	var core struct {
		GroupVersion string
		Resources    []struct{ Name string }
	}
	require.Equal(t, http.StatusOK, get("/api/v1", &core))
	assert.Equal(t, "v1", core.GroupVersion)
	var version struct{ GitVersion string }
	require.Equal(t, http.StatusOK, get("/version", &version))
	assert.NotEmpty(t, version.GitVersion)

	resp, err := s.Client().Post(s.URL()+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "application/json", strings.NewReader(`{"spec":{}}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s", body)
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opts fakek8s.Options
		want string
	}{
		{fakek8s.Options{InfraVersions: []string{"v1beta2"}}, `unknown infrastructure.cluster.x-k8s.io version "v1beta2" (known: v1alpha6, v1alpha7, v1beta1)`},
		{fakek8s.Options{Auth: "oidc"}, `auth mode "oidc" is not "cert" or "token"`},
		{fakek8s.Options{Deny: []string{"create"}}, `deny "create" is not verb/resource`},
		{fakek8s.Options{MissingGroups: []string{"addons.stackhcp.com"}}, `missing group "addons.stackhcp.com": not served anyway`},
		{fakek8s.Options{MissingResources: []string{"cluster.x-k8s.io/machines"}}, `missing resource "cluster.x-k8s.io/machines" is not group/version/plural`},
		{fakek8s.Options{MissingResources: []string{"cluster.x-k8s.io/v1beta1/machine"}}, `missing resource "cluster.x-k8s.io/v1beta1/machine": not served anyway`},
		{fakek8s.Options{Listen: "6443"}, `listen address "6443": address 6443: missing port in address`},
	} {
		_, err := fakek8s.Start(tc.opts)
		assert.EqualError(t, err, tc.want)
	}
}

func TestCredentialsPersist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := fakek8s.LoadOrCreateCredentials(dir, time.Now())
	require.NoError(t, err)
	again, err := fakek8s.LoadOrCreateCredentials(dir, time.Now())
	require.NoError(t, err)
	assert.Equal(t, first, again)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), e.Name())
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"ca.crt", "ca.key", "client.crt", "client.key", "server.crt", "server.key", "token"}, names)

	// A server restarted on the same credentials accepts the kubeconfig the
	// charm already holds.
	s := start(t, fakek8s.Options{Credentials: first})
	held := s.Kubeconfig()
	require.NoError(t, s.Close())
	restarted := start(t, fakek8s.Options{Credentials: again, Listen: host(s)})
	_, r := preflight(t, held, "1.4.0")
	assert.True(t, r.OK(), "%v", r.Problems)
	assert.NotEmpty(t, restarted.Requests())

	require.NoError(t, os.Remove(filepath.Join(dir, "client.key")))
	_, err = fakek8s.LoadOrCreateCredentials(dir, time.Now())
	assert.EqualError(t, err, "state directory "+dir+" holds some credential files but not client.key; remove them all to start afresh")

	// Mismatched files are refused rather than served.
	other, err := fakek8s.NewCredentials(time.Now())
	require.NoError(t, err)
	other.ClientKeyPEM = first.ClientKeyPEM
	_, err = fakek8s.Start(fakek8s.Options{Listen: "127.0.0.1:0", Credentials: other})
	assert.ErrorContains(t, err, "credentials: client certificate and key:")
}
