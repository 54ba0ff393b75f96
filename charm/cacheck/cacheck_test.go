package cacheck_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/cacheck"
	modelproxy "github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/outside"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/pki"
)

// keystone is a TLS server standing in for Keystone's public endpoint,
// with a certificate from its own CA for names (127.0.0.1 always).
type keystone struct {
	srv   *httptest.Server
	caPEM []byte
}

func newKeystone(t *testing.T, notAfter time.Time, names ...string) *keystone {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caPEM, caKeyPEM, err := pki.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "private CA"}, NotBefore: now.Add(-2 * time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, caKey, caKey)
	require.NoError(t, err)
	ca, err := tls.X509KeyPair(caPEM, caKeyPEM)
	require.NoError(t, err)
	certPEM, keyPEM, err := pki.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "keystone"}, NotBefore: now.Add(-time.Hour),
		NotAfter: notAfter, DNSNames: names, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca.Leaf, caKey, nil)
	require.NoError(t, err)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMultipleChoices) // Keystone's / answers 300
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &keystone{srv: srv, caPEM: caPEM}
}

func (k *keystone) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(k.caPEM)
	return p
}

func writeFile(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "openstack-ca.pem")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestVerifiesWithTheCAFile(t *testing.T) {
	k := newKeystone(t, time.Now().Add(time.Hour))
	caFile := writeFile(t, k.caPEM)
	r := cacheck.Check(context.Background(), cacheck.Input{Endpoint: k.srv.URL + "/v3", CAFile: caFile})
	assert.Equal(t, cacheck.Result{State: cacheck.Pass,
		Evidence: k.srv.URL + "/v3 verifies with [drivers] openstack_ca_file (" + caFile + ")"}, r)
}

// The CA file is all a cluster gets: a file without Keystone's CA fails,
// even if the system store would verify it.
func TestCAFileWithoutKeystonesCA(t *testing.T) {
	k := newKeystone(t, time.Now().Add(time.Hour))
	other := newKeystone(t, time.Now().Add(time.Hour))
	caFile := writeFile(t, other.caPEM)
	r := cacheck.Check(context.Background(), cacheck.Input{Endpoint: k.srv.URL, CAFile: caFile, SystemRoots: k.pool()})
	assert.Equal(t, cacheck.Fail, r.State)
	assert.Equal(t, "keystone CA: "+k.srv.URL+"'s certificate does not verify with [drivers] openstack_ca_file ("+caFile+
		"), the CA bundle clusters get: put the CA that signed it in "+caFile+
		" (charm-magnum writes it from the certificates relation) or point openstack_ca_file at a bundle that holds it", r.Problem)
}

// No CA file: the system store is what clusters get.
func TestSystemStore(t *testing.T) {
	k := newKeystone(t, time.Now().Add(time.Hour))
	r := cacheck.Check(context.Background(), cacheck.Input{Endpoint: k.srv.URL, SystemRoots: x509.NewCertPool()})
	assert.Equal(t, cacheck.Fail, r.State)
	assert.Equal(t, "keystone CA: "+k.srv.URL+"'s certificate does not verify with the system store, the CA bundle clusters get: "+
		"relate magnum to a certificates provider (charm-magnum then sets [drivers] openstack_ca_file) "+
		"or set openstack_ca_file to a bundle holding the CA that signed it", r.Problem)

	r = cacheck.Check(context.Background(), cacheck.Input{Endpoint: k.srv.URL, SystemRoots: k.pool()})
	assert.Equal(t, cacheck.Result{State: cacheck.Pass, Evidence: k.srv.URL + " verifies with the system store"}, r)
}

func TestBadCAFiles(t *testing.T) {
	k := newKeystone(t, time.Now().Add(time.Hour))
	missing := filepath.Join(t.TempDir(), "nope.pem")
	r := cacheck.Check(context.Background(), cacheck.Input{Endpoint: k.srv.URL, CAFile: missing})
	assert.Equal(t, "keystone CA: [drivers] openstack_ca_file ("+missing+") does not exist on the unit: clusters would get no CA for "+
		k.srv.URL+"; relate magnum to a certificates provider (charm-magnum writes the file) or correct the option", r.Problem)

	notPEM := writeFile(t, []byte("not a certificate\n"))
	r = cacheck.Check(context.Background(), cacheck.Input{Endpoint: k.srv.URL, CAFile: notPEM})
	assert.Contains(t, r.Problem, "("+notPEM+") holds no PEM certificate")

	r = cacheck.Check(context.Background(), cacheck.Input{Endpoint: k.srv.URL, CAFile: "/dev/zero"})
	assert.Contains(t, r.Problem, "(/dev/zero) is not a regular file")
}

func TestWrongNameAndExpired(t *testing.T) {
	k := newKeystone(t, time.Now().Add(time.Hour), "keystone.example")
	wrong := strings.Replace(k.srv.URL, "127.0.0.1", "localhost", 1)
	r := cacheck.Check(context.Background(), cacheck.Input{Endpoint: wrong, SystemRoots: k.pool()})
	assert.Equal(t, "keystone CA: "+wrong+"'s certificate is not valid for localhost: clusters would refuse it whatever the CA; reissue it with that name", r.Problem)

	old := newKeystone(t, time.Now().Add(-time.Minute))
	r = cacheck.Check(context.Background(), cacheck.Input{Endpoint: old.srv.URL, SystemRoots: old.pool()})
	assert.Equal(t, "keystone CA: "+old.srv.URL+"'s certificate (or one in its chain) has expired or is not yet valid", r.Problem)
}

func TestNothingToCheck(t *testing.T) {
	for _, tc := range []struct {
		in   cacheck.Input
		want cacheck.Result
	}{
		{cacheck.Input{}, cacheck.Result{State: cacheck.Skip, Evidence: "[keystone_authtoken] names no www_authenticate_uri or auth_url"}},
		{cacheck.Input{Endpoint: "http://keystone.example:5000/v3"}, cacheck.Result{State: cacheck.Skip,
			Evidence: "http://keystone.example:5000/v3 is plain http: there is no certificate for clusters to verify"}},
		{cacheck.Input{Endpoint: "https://keystone.example:5000/v3", VerifyCA: "False"}, cacheck.Result{State: cacheck.Skip,
			Evidence: "[drivers] verify_ca is False: clusters do not verify https://keystone.example:5000/v3's certificate"}},
	} {
		assert.Equal(t, tc.want, cacheck.Check(context.Background(), tc.in))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	r := cacheck.Check(context.Background(), cacheck.Input{Endpoint: "https://" + addr, SystemRoots: x509.NewCertPool()})
	assert.Equal(t, cacheck.Result{State: cacheck.Skip, Evidence: "cannot check https://" + addr + "'s certificate: connection refused"}, r)
}

// Through the model's proxy, as the unit reaches Keystone when the model
// does not keep it direct.
func TestThroughTheProxy(t *testing.T) {
	k := newKeystone(t, time.Now().Add(time.Hour), "keystone.example")
	proxy, err := outside.StartProxy(outside.ProxyOptions{Hosts: map[string]string{"keystone.example:5000": k.srv.Listener.Addr().String()}})
	require.NoError(t, err)
	defer proxy.Close()
	parsed, err := modelproxy.New(modelproxy.Settings{HTTPS: proxy.URL()})
	require.NoError(t, err)
	r := cacheck.Check(context.Background(), cacheck.Input{Endpoint: "https://keystone.example:5000/v3", SystemRoots: k.pool(), Proxy: parsed.Func})
	assert.Equal(t, cacheck.Result{State: cacheck.Pass,
		Evidence: "https://keystone.example:5000/v3 verifies with the system store, through the model's proxy"}, r)
	require.Len(t, proxy.Requests(), 1)
	assert.Equal(t, "CONNECT keystone.example:5000", proxy.Requests()[0].Line())
}

func TestFromValues(t *testing.T) {
	s := func(v string) *string { return &v }
	in := cacheck.FromValues(map[string]*string{
		"keystone_authtoken.www_authenticate_uri": s(""),
		"keystone_authtoken.auth_url":             s("https://keystone.internal:5000"),
		"drivers.openstack_ca_file":               s("/etc/magnum/ca.pem"),
		"drivers.verify_ca":                       nil,
	})
	assert.Equal(t, cacheck.Input{Endpoint: "https://keystone.internal:5000", CAFile: "/etc/magnum/ca.pem"}, in)
	assert.Equal(t, "https://public:5000", cacheck.Endpoint(map[string]*string{
		"keystone_authtoken.www_authenticate_uri": s("https://public:5000"), "keystone_authtoken.auth_url": s("https://internal:5000")}))
}
