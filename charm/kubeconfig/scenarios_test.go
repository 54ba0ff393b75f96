package kubeconfig

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
)

// fixedNow is the clock for checks that need no live server, so their dates
// are exact.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// scenario is one end-to-end case. run asserts the exact texts and records
// every output in o, so TestNoSecretMaterialInOutputs can rerun all of them
// and scan what they produced.
type scenario struct {
	name string
	run  func(t *testing.T, fx *fixture, o *outcome)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// validated runs Validate and requires it to pass.
func validated(t *testing.T, o *outcome, data []byte, driverVersion string) *Kubeconfig {
	kc, r := Validate(data, driverVersion, time.Now(), ValidateOptions{})
	o.kubeconfig(kc)
	o.report(r)
	require.Empty(t, r.Problems)
	require.NotNil(t, kc)
	return kc
}

// validateClient runs Validate, for driver 1.2.1 at fixedNow, on a
// kubeconfig whose client certificate is valid from notBefore to notAfter.
func validateClient(fx *fixture, o *outcome, notBefore, notAfter time.Time) (*Kubeconfig, Report) {
	client := fx.ca.issueClient(notBefore, notAfter)
	kc, r := Validate(kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &client}.yaml(), "1.2.1", fixedNow, ValidateOptions{})
	o.kubeconfig(kc)
	o.report(r)
	return kc, r
}

// allPass asserts every check passed and returns the action results.
func allPass(t *testing.T, r Report) map[string]string {
	t.Helper()
	require.Empty(t, r.Problems)
	results := r.ActionResults()
	for name, result := range results {
		assert.True(t, strings.HasPrefix(result, "pass: "), "%s: %s", name, result)
	}
	return results
}

var scenarios = []scenario{{
	name: "valid client certificate",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		assert.Equal(t, AuthClientCertificate, kc.Auth)
		assert.Equal(t, hostPort(srv), kc.Address())
		assert.Equal(t, "kubeconfig for https://"+hostPort(srv)+" (client-certificate auth)", fmt.Sprintf("%#v", kc))

		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, "", r.BlockedStatus())
		assert.Equal(t, "", r.WarningSuffix())
		results := allPass(t, r)
		assert.Equal(t, map[string]string{
			"connection":                          "pass: https://" + hostPort(srv) + "/readyz ok, TLS verified with the kubeconfig CA, client-certificate auth",
			"api-cluster-x-k8s-io":                "pass: cluster.x-k8s.io/v1beta1 serves Cluster, MachineDeployment, Machine",
			"api-infrastructure-cluster-x-k8s-io": "pass: infrastructure.cluster.x-k8s.io/v1beta1 serves OpenStackCluster",
			"api-controlplane-cluster-x-k8s-io":   "pass: controlplane.cluster.x-k8s.io/v1beta1 serves KubeadmControlPlane",
			"api-addons-stackhpc-com":             "pass: addons.stackhpc.com/v1alpha1 serves HelmRelease, Manifests",
			"rbac-deletecollection-secrets":       "pass: identity may deletecollection secrets in all namespaces",
			"rbac-create-namespaces":              "pass: identity may create namespaces in all namespaces",
		}, results)
	},
}, {
	name: "API versions per driver release",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		alpha6 := fx.start(&fakeAPI{served: capiServed("v1alpha6")})
		beta1 := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		client := fx.validClient()
		for _, tc := range []struct {
			driver  string
			srv     *httptest.Server
			problem string
		}{
			{"1.2.0", alpha6, ""},
			{"1.2.1", alpha6, ""},
			{"1.3.0", alpha6, ""},
			{"1.4.0", beta1, ""},
			{"1.4.0", alpha6, "management cluster: missing API infrastructure.cluster.x-k8s.io/v1beta1 OpenStackCluster"},
			{"1.2.1", beta1, "management cluster: missing API infrastructure.cluster.x-k8s.io/v1alpha6 OpenStackCluster"},
		} {
			kc := validated(t, o, kcSpec{server: tc.srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), tc.driver)
			r := o.report(Preflight(testContext(t), kc, tc.driver, Options{}))
			if tc.problem == "" {
				allPass(t, r)
				continue
			}
			assert.Equal(t, []string{tc.problem}, r.Problems, "driver %s", tc.driver)
			assert.Equal(t, tc.problem, r.BlockedStatus())
			assert.Equal(t, "fail: "+tc.problem, r.ActionResults()["api-infrastructure-cluster-x-k8s-io"])
		}
	},
}, {
	name: "api_resources override",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1alpha6")})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{
			APIVersions: map[string]string{"OpenstackCluster": "infrastructure.cluster.x-k8s.io/v1alpha6"},
		}))
		allPass(t, r)
		r = o.report(Preflight(testContext(t), kc, "1.4.0", Options{
			APIVersions: map[string]string{"OpenstackCluster": "v1alpha6"},
		}))
		assert.Equal(t, []string{"management cluster: an api version override is not group/version"}, r.Problems)
	},
}, {
	name: "advice when the cluster serves other versions",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		alpha6 := fx.start(&fakeAPI{served: capiServed("v1alpha6")})
		beta1 := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		client := fx.validClient()
		asked := 0
		advise := func(context.Context, *Kubeconfig) string { asked++; return "set api-resources='X'" }

		// The cluster answers without the driver's version: the first such
		// problem, in the status and in verify, says what to set.
		kc := validated(t, o, kcSpec{server: alpha6.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{Advise: advise}))
		want := "management cluster: missing API infrastructure.cluster.x-k8s.io/v1beta1 OpenStackCluster: set api-resources='X'"
		assert.Equal(t, []string{want}, r.Problems)
		assert.Equal(t, want, r.BlockedStatus())
		assert.Equal(t, "fail: "+want, r.ActionResults()["api-infrastructure-cluster-x-k8s-io"])
		assert.Equal(t, 1, asked)

		// Everything served: nobody is asked.
		kc = validated(t, o, kcSpec{server: beta1.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		allPass(t, o.report(Preflight(testContext(t), kc, "1.4.0", Options{Advise: advise})))
		assert.Equal(t, 1, asked)

		// Refused credentials are not a version problem: nobody is asked.
		denied := fx.start(&fakeAPI{served: capiServed("v1alpha6"), token: fx.token()})
		kc = validated(t, o, kcSpec{server: denied.URL, caPEM: fx.ca.pem, token: fx.token()}.yaml(), "1.4.0")
		r = o.report(Preflight(testContext(t), kc, "1.4.0", Options{Advise: advise}))
		assert.False(t, r.OK())
		assert.Equal(t, 1, asked)

		// No advice to give: the problem stays as it is.
		kc = validated(t, o, kcSpec{server: alpha6.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r = o.report(Preflight(testContext(t), kc, "1.4.0", Options{Advise: func(context.Context, *Kubeconfig) string { return "" }}))
		assert.Equal(t, []string{"management cluster: missing API infrastructure.cluster.x-k8s.io/v1beta1 OpenStackCluster"}, r.Problems)
	},
}, {
	name: "bearer token with driver 1.3.0",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		token := fx.token()
		srv := fx.start(&fakeAPI{served: capiServed("v1alpha6"), token: token})
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, token: token}.yaml(), "1.3.0")
		assert.Equal(t, AuthBearerToken, kc.Auth)
		r := o.report(Preflight(testContext(t), kc, "1.3.0", Options{}))
		results := allPass(t, r)
		assert.Equal(t, "pass: https://"+hostPort(srv)+"/readyz ok, TLS verified with the kubeconfig CA, bearer-token auth", results["connection"])
	},
}, {
	name: "bearer token refused with driver 1.2.1",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		data := kcSpec{server: "https://127.0.0.1:6443", caPEM: fx.ca.pem, token: fx.token()}.yaml()
		kc, r := Validate(data, "1.2.1", fixedNow, ValidateOptions{})
		o.kubeconfig(kc)
		o.report(r)
		assert.Nil(t, kc)
		assert.Equal(t, []string{"kubeconfig: bearer token auth needs driver-version >= 1.3.0 (have 1.2.1)"}, r.Problems)
		assert.Equal(t, "fail: kubeconfig: bearer token auth needs driver-version >= 1.3.0 (have 1.2.1)", r.ActionResults()["kubeconfig-auth"])
	},
}, {
	name: "expired client certificate",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		kc, r := validateClient(fx, o, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		assert.Nil(t, kc)
		assert.Equal(t, "kubeconfig: client certificate expired 2026-01-02", r.BlockedStatus())
	},
}, {
	name: "client certificate not yet valid",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		kc, r := validateClient(fx, o, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC))
		assert.Nil(t, kc)
		assert.Equal(t, "kubeconfig: client certificate not valid until 2026-03-10 00:00 UTC", r.BlockedStatus())
	},
}, {
	name: "client certificate expires in 20 days",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		kc, r := validateClient(fx, o, fixedNow.Add(-345*24*time.Hour), fixedNow.Add(20*24*time.Hour+time.Hour))
		require.NotNil(t, kc)
		assert.True(t, r.OK())
		assert.Equal(t, []string{"kubeconfig: client certificate expires in 20 days"}, r.Warnings)
		assert.Equal(t, "; kubeconfig: client certificate expires in 20 days", r.WarningSuffix())
		assert.Equal(t, "pass: client certificate and key match, valid until 2026-03-21; kubeconfig: client certificate expires in 20 days",
			r.ActionResults()["kubeconfig-client-certificate"])
	},
}, {
	name: "wrong CA",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		other := fx.newCA("some other CA")
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: other.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		want := "management cluster: server certificate of " + hostPort(srv) + " is not signed by the kubeconfig CA"
		assert.Equal(t, []string{want}, r.Problems)
		assert.Equal(t, "skip: skipped: no connection", r.ActionResults()["rbac-create-namespaces"])
	},
}, {
	name: "client certificate from another CA",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		// The server names its client CAs in the handshake, so Go (like
		// the driver's requests) sends no certificate it would refuse:
		// the request arrives without credentials.
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		client := fx.newCA("some other CA").issueClient(time.Now().Add(-time.Hour), time.Now().Add(time.Hour*24*365))
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: " + hostPort(srv) + " rejected the kubeconfig credentials (401 Unauthorized)"}, r.Problems)

		// A server that takes any certificate and then refuses it fails the
		// handshake instead.
		strict := fx.start(&fakeAPI{served: capiServed("v1beta1")}, func(c *tls.Config) {
			c.ClientAuth = tls.RequireAnyClientCert
			c.ClientCAs = nil
			c.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error { return errors.New("refused") }
		})
		kc = validated(t, o, kcSpec{server: strict.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r = o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: " + hostPort(strict) + " rejected the client certificate (tls: bad certificate)"}, r.Problems)
	},
}, {
	name: "mismatched key",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		client := fx.validClient()
		stranger := fx.validClient()
		data := kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &client, keyPEM: stranger.keyPEM}.yaml()
		kc, r := Validate(data, "1.4.0", fixedNow, ValidateOptions{})
		o.kubeconfig(kc)
		o.report(r)
		assert.Nil(t, kc)
		assert.Equal(t, []string{"kubeconfig: client certificate and key do not match"}, r.Problems)
	},
}, {
	name: "unreachable host",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: "https://" + addr, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: cannot reach " + addr + " (connection refused)"}, r.Problems)
		results := r.ActionResults()
		assert.Len(t, results, 7)
		assert.Equal(t, "skip: skipped: no connection", results["api-addons-stackhpc-com"])
	},
}, {
	name: "plain HTTP server",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := httptest.NewServer(&fakeAPI{served: capiServed("v1beta1")})
		t.Cleanup(srv.Close)
		addr := strings.TrimPrefix(srv.URL, "http://")
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: "https://" + addr, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: " + addr + " does not speak TLS"}, r.Problems)
	},
}, {
	name: "timeout",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1"), delay: 10 * time.Second})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		start := time.Now()
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{RequestTimeout: 100 * time.Millisecond}))
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.Equal(t, []string{"management cluster: " + hostPort(srv) + " did not answer within 100ms"}, r.Problems)
	},
}, {
	name: "whole preflight deadline",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1"), delay: 10 * time.Second})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		start := time.Now()
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{Timeout: 150 * time.Millisecond, RequestTimeout: time.Minute}))
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.Equal(t, []string{"management cluster: preflight timed out after 150ms"}, r.Problems)
	},
}, {
	name: "401 unauthorized",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1alpha6"), token: fx.token()})
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, token: fx.token()}.yaml(), "1.3.0")
		r := o.report(Preflight(testContext(t), kc, "1.3.0", Options{}))
		assert.Equal(t, []string{"management cluster: " + hostPort(srv) + " rejected the kubeconfig credentials (401 Unauthorized)"}, r.Problems)
	},
}, {
	name: "missing CRD group",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		served := capiServed("v1beta1")
		delete(served, "addons.stackhpc.com/v1alpha1")
		srv := fx.start(&fakeAPI{served: served})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: missing API addons.stackhpc.com/v1alpha1 HelmRelease, Manifests"}, r.Problems)
		assert.Equal(t, "pass: identity may create namespaces in all namespaces", r.ActionResults()["rbac-create-namespaces"])
	},
}, {
	name: "missing resource in a served group",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		served := capiServed("v1beta1")
		served["cluster.x-k8s.io/v1beta1"] = []string{"clusters", "machines"}
		srv := fx.start(&fakeAPI{served: served})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: missing API cluster.x-k8s.io/v1beta1 MachineDeployment"}, r.Problems)
	},
}, {
	name: "missing RBAC",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1"), denied: map[string]bool{"create namespaces": true}})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: identity may not create namespaces"}, r.Problems)
		assert.Equal(t, "pass: identity may deletecollection secrets in all namespaces", r.ActionResults()["rbac-deletecollection-secrets"])
	},
}, {
	name: "403 on discovery and access reviews",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1"), forbidden: map[string]bool{
			"/apis/addons.stackhpc.com/v1alpha1":                     true,
			"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews": true,
		}})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{
			"management cluster: identity may not read /apis/addons.stackhpc.com/v1alpha1 (403 Forbidden)",
			"management cluster: identity may not create selfsubjectaccessreviews (403 Forbidden)",
			"management cluster: identity may not create selfsubjectaccessreviews (403 Forbidden)",
		}, r.Problems)
	},
}, {
	name: "server certificate for another name",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		client := fx.validClient()
		doc := strings.Replace(string(kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml()),
			"    server: "+srv.URL+"\n", "    server: "+srv.URL+"\n    tls-server-name: api.elsewhere.example\n", 1)
		kc := validated(t, o, []byte(doc), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, []string{"management cluster: server certificate of " + hostPort(srv) + " is not valid for the kubeconfig's tls-server-name"}, r.Problems)
	},
}, {
	name: "several problems in one status",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		served := capiServed("v1beta1")
		delete(served, "controlplane.cluster.x-k8s.io/v1beta1")
		srv := fx.start(&fakeAPI{served: served, denied: map[string]bool{"deletecollection secrets": true, "create namespaces": true}})
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		assert.Equal(t, "management cluster: missing API controlplane.cluster.x-k8s.io/v1beta1 KubeadmControlPlane (+2 more)", r.BlockedStatus())
	},
}, {
	name: "healthz fallback",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		api := &fakeAPI{served: capiServed("v1beta1"), noReadyz: true}
		srv := fx.start(api)
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: srv.URL, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{}))
		results := allPass(t, r)
		assert.Equal(t, "pass: https://"+hostPort(srv)+"/healthz ok, TLS verified with the kubeconfig CA, client-certificate auth", results["connection"])
		assert.Equal(t, []string{"GET /readyz", "GET /healthz"}, api.seen()[:2])
	},
}, {
	name: "certificate-authority file on the unit",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		caFile := filepath.Join(t.TempDir(), "ca.crt")
		require.NoError(t, os.WriteFile(caFile, fx.ca.pem, 0o600))
		client := fx.validClient()
		data := kcSpec{server: srv.URL, caFile: caFile, client: &client}.yaml()
		kc := validated(t, o, data, "1.4.0")
		assert.Equal(t, caFile, kc.CAFile)
		allPass(t, o.report(Preflight(testContext(t), kc, "1.4.0", Options{})))

		kc, r := Validate(data, "1.4.0", time.Now(), ValidateOptions{FileExists: func(string) bool { return false }})
		o.kubeconfig(kc)
		o.report(r)
		assert.Nil(t, kc)
		assert.Equal(t, []string{"kubeconfig: certificate-authority file does not exist on the unit"}, r.Problems)
	},
}, {
	name: "through the https proxy",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
		password := string(fx.secret([]byte("proxy-password-" + fx.token())))
		var connects atomic.Int32
		proxyAddr := connectProxy(t, "magnum", password, hostPort(srv), &connects)
		client := fx.validClient()
		_, port, _ := net.SplitHostPort(hostPort(srv))
		// api.test is not resolvable: only the proxy can reach it.
		kc := validated(t, o, kcSpec{server: "https://api.test:" + port, caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{Proxy: proxy.Settings{
			HTTPS:   "http://magnum:" + password + "@" + proxyAddr,
			NoProxy: "10.0.0.0/8,.internal,keystone",
		}}))
		results := allPass(t, r)
		assert.Equal(t, "pass: https://api.test:"+port+"/readyz ok, TLS verified with the kubeconfig CA, client-certificate auth, via the https proxy", results["connection"])
		assert.Equal(t, int32(1), connects.Load())
	},
}, {
	name: "https proxy unreachable",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		proxyAddr := l.Addr().String()
		require.NoError(t, l.Close())
		client := fx.validClient()
		kc := validated(t, o, kcSpec{server: "https://api.test:6443", caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0")
		password := string(fx.secret([]byte("proxy-password-" + fx.token())))
		r := o.report(Preflight(testContext(t), kc, "1.4.0", Options{Proxy: proxy.Settings{HTTPS: "http://magnum:" + password + "@" + proxyAddr}}))
		assert.Equal(t, []string{"management cluster: cannot reach the https proxy (connection refused)"}, r.Problems)
	},
}, {
	name: "exec plugin",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		data := kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, extraUser: `    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: token-helper
      args: ["--secret", "` + fx.token() + `"]
`}.yaml()
		kc, r := Validate(data, "1.4.0", fixedNow, ValidateOptions{})
		o.kubeconfig(kc)
		o.report(r)
		assert.Nil(t, kc)
		assert.Equal(t, []string{"kubeconfig: exec plugins are not supported by the driver"}, r.Problems)
		assert.Equal(t, "kubeconfig: exec plugins are not supported by the driver", r.BlockedStatus())
	},
}, {
	name: "malformed YAML",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		data := []byte("apiVersion: v1\nusers:\n- name: magnum\n  user:\n    token: " + fx.token() + "\n\tclient-key-data: x\n")
		kc, r := Validate(data, "1.4.0", fixedNow, ValidateOptions{})
		o.kubeconfig(kc)
		o.report(r)
		assert.Nil(t, kc)
		assert.Equal(t, []string{"kubeconfig: not valid YAML (line 5)"}, r.Problems)

		// yaml.v3 quotes the offending value in type errors; the token
		// must not come through.
		data = []byte("current-context: x\nusers: " + fx.token() + "\n")
		kc, r = Validate(data, "1.4.0", fixedNow, ValidateOptions{})
		o.kubeconfig(kc)
		o.report(r)
		assert.Equal(t, []string{"kubeconfig: not a kubeconfig document (line 2)"}, r.Problems)
	},
}, {
	name: "empty secret or missing key",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		_, err := FromSecret(map[string]string{})
		assert.EqualError(t, o.err(err), `kubeconfig secret: no "kubeconfig" or "kubeconfig-base64" key`)
		_, err = FromSecret(map[string]string{"kubeconfig": " \n"})
		assert.EqualError(t, o.err(err), `kubeconfig secret: "kubeconfig" is empty`)
		_, err = FromSecret(map[string]string{"kubeconfig-base64": ""})
		assert.EqualError(t, o.err(err), `kubeconfig secret: "kubeconfig-base64" is empty`)

		client := fx.validClient()
		doc := kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &client}.yaml()
		_, err = FromSecret(map[string]string{"kubeconfig": string(doc), "kubeconfig-base64": b64(doc)})
		assert.EqualError(t, o.err(err), `kubeconfig secret: set only one of "kubeconfig" and "kubeconfig-base64"`)
		// Raw YAML is not base64: the error must say so without quoting it.
		_, err = FromSecret(map[string]string{"kubeconfig-base64": string(doc)})
		require.Error(t, o.err(err))
		assert.True(t, strings.HasPrefix(err.Error(), `kubeconfig secret: "kubeconfig-base64" is not valid base64: illegal base64 data at input byte `), err.Error())

		kc, r := Validate(nil, "1.4.0", fixedNow, ValidateOptions{})
		o.kubeconfig(kc)
		o.report(r)
		assert.Equal(t, []string{"kubeconfig: document is empty"}, r.Problems)
	},
}, {
	name: "secret round trip",
	run: func(t *testing.T, fx *fixture, o *outcome) {
		client := fx.validClient()
		doc := kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &client}.yaml()
		raw, err := FromSecret(map[string]string{"kubeconfig": string(doc)})
		require.NoError(t, o.err(err))
		assert.Equal(t, strings.TrimSpace(string(doc)), string(raw))
		// Wrapped base64, as pasted from `base64` without -w0.
		encoded := b64(doc)
		var wrapped strings.Builder
		for len(encoded) > 76 {
			wrapped.WriteString(encoded[:76] + "\n")
			encoded = encoded[76:]
		}
		wrapped.WriteString(encoded)
		decoded, err := FromSecret(map[string]string{"kubeconfig-base64": wrapped.String()})
		require.NoError(t, o.err(err))
		assert.Equal(t, doc, decoded)
		kc := validated(t, o, decoded, "1.2.0")
		assert.Equal(t, "10.0.0.1:6443", kc.Address())
	},
}}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			sc.run(t, newFixture(t), &outcome{})
		})
	}
}

// TestNoSecretMaterialInOutputs reruns every scenario and scans everything
// they produced (errors, problems, warnings, statuses, action results, the
// report and Kubeconfig in every fmt and JSON form) for the keys,
// certificates, tokens and proxy passwords they used, raw and base64.
func TestNoSecretMaterialInOutputs(t *testing.T) {
	scanned := 0
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			fx := newFixture(t)
			o := &outcome{}
			sc.run(t, fx, o)
			texts := o.texts(t)
			require.NotEmpty(t, texts)
			require.NotEmpty(t, fx.secrets)
			for _, secret := range fx.secrets {
				for _, needle := range needles(secret) {
					for _, text := range texts {
						if strings.Contains(text, needle) {
							t.Errorf("output leaks secret material: %q", text)
						}
					}
				}
			}
			scanned += len(texts)
		})
	}
	assert.Greater(t, scanned, 100)
}

// TestLeakScanFindsLeaks proves the scan above would see a leak in each form
// it looks for, so its passing means something.
func TestLeakScanFindsLeaks(t *testing.T) {
	fx := newFixture(t)
	client := fx.validClient()
	doc := string(kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &client}.yaml())
	leaks := map[string]string{
		"key PEM":           string(client.keyPEM),
		"key base64 in doc": doc[strings.Index(doc, "client-key-data: ")+40 : strings.Index(doc, "client-key-data: ")+90],
		"cert PEM line":     strings.Split(string(client.certPEM), "\n")[2],
		"CA DER base64":     base64.StdEncoding.EncodeToString(fx.ca.cert.Raw)[24:72],
	}
	for name, leak := range leaks {
		found := false
		for _, secret := range fx.secrets {
			for _, needle := range needles(secret) {
				if strings.Contains("status: "+leak+" end", needle) {
					found = true
				}
			}
		}
		assert.True(t, found, name)
	}
}

// connectProxy is an HTTP CONNECT proxy that requires basic auth and tunnels
// every CONNECT to target, whatever host was asked for.
func connectProxy(t *testing.T, user, password, target string, connects *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := proxyBasicAuth(r)
		if r.Method != http.MethodConnect || !ok || u != user || p != password {
			http.Error(w, "proxy auth required", http.StatusProxyAuthRequired)
			return
		}
		connects.Add(1)
		upstream, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		defer upstream.Close()
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(upstream, bufio.NewReader(buf)); done <- struct{}{} }()
		go func() { _, _ = io.Copy(conn, upstream); done <- struct{}{} }()
		<-done
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func proxyBasicAuth(r *http.Request) (user, password string, ok bool) {
	r2 := &http.Request{Header: http.Header{"Authorization": r.Header["Proxy-Authorization"]}}
	return r2.BasicAuth()
}
