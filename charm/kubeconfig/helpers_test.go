package kubeconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fixture is one test's world: the PKI and tokens it made, remembered so the
// leak test can look for every one of them in every output.
type fixture struct {
	t       *testing.T
	secrets [][]byte
	ca      *authority
}

func newFixture(t *testing.T) *fixture {
	fx := &fixture{t: t}
	fx.ca = fx.newCA("test management CA")
	return fx
}

// secret registers material that must never appear in any output.
func (fx *fixture) secret(b []byte) []byte {
	fx.secrets = append(fx.secrets, b)
	return b
}

// token makes a random bearer token.
func (fx *fixture) token() string {
	b := make([]byte, 24)
	_, err := rand.Read(b)
	require.NoError(fx.t, err)
	return string(fx.secret([]byte("tok-" + base64.RawURLEncoding.EncodeToString(b))))
}

// authority is a test CA.
type authority struct {
	fx   *fixture
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func (fx *fixture) newCA(cn string) *authority {
	key := fx.key()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(fx.t),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(fx.t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(fx.t, err)
	ca := &authority{fx: fx, cert: cert, key: key, pool: x509.NewCertPool()}
	ca.pem = fx.secret(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	ca.pool.AddCert(cert)
	return ca
}

func (fx *fixture) key() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(fx.t, err)
	return key
}

func serial(t *testing.T) *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	return n
}

// issued is a certificate and its key, as PEM and as a tls.Certificate.
type issued struct {
	certPEM, keyPEM []byte
	pair            tls.Certificate
}

// issueClient issues a client certificate valid from notBefore to notAfter.
func (ca *authority) issueClient(notBefore, notAfter time.Time) issued {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "magnum", Organization: []string{"system:masters"}},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// issueServer issues a serving certificate for 127.0.0.1, localhost and
// api.test (the name the proxy test dials through its proxy).
func (ca *authority) issueServer() issued {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost", "api.test"},
	})
}

func (ca *authority) issue(tmpl *x509.Certificate) issued {
	t := ca.fx.t
	key := ca.fx.key()
	tmpl.SerialNumber = serial(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	out := issued{
		certPEM: ca.fx.secret(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:  ca.fx.secret(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})),
	}
	out.pair, err = tls.X509KeyPair(out.certPEM, out.keyPEM)
	require.NoError(t, err)
	return out
}

// validClient issues a client certificate good for a year from now.
func (fx *fixture) validClient() issued {
	return fx.ca.issueClient(time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
}

// kcSpec describes a kubeconfig document to write.
type kcSpec struct {
	server    string
	caPEM     []byte
	caFile    string
	client    *issued
	keyPEM    []byte // overrides client.keyPEM when set
	token     string
	extraUser string // raw YAML lines appended to the user, indented 4
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// yaml writes the document the way kubectl does, with a decoy context first
// so current-context resolution is exercised.
func (s kcSpec) yaml() []byte {
	var cluster, user strings.Builder
	fmt.Fprintf(&cluster, "    server: %s\n", s.server)
	if s.caPEM != nil {
		fmt.Fprintf(&cluster, "    certificate-authority-data: %s\n", b64(s.caPEM))
	}
	if s.caFile != "" {
		fmt.Fprintf(&cluster, "    certificate-authority: %s\n", s.caFile)
	}
	if s.client != nil {
		key := s.client.keyPEM
		if s.keyPEM != nil {
			key = s.keyPEM
		}
		fmt.Fprintf(&user, "    client-certificate-data: %s\n    client-key-data: %s\n", b64(s.client.certPEM), b64(key))
	}
	if s.token != "" {
		fmt.Fprintf(&user, "    token: %s\n", s.token)
	}
	user.WriteString(s.extraUser)
	if user.Len() == 0 {
		user.WriteString("    {}\n")
	}
	return []byte(`apiVersion: v1
kind: Config
clusters:
- name: other
  cluster:
    server: http://wrong.invalid
- name: capi-mgmt
  cluster:
` + cluster.String() + `contexts:
- name: other
  context:
    cluster: other
    user: other
- name: magnum@capi-mgmt
  context:
    cluster: capi-mgmt
    user: magnum
current-context: magnum@capi-mgmt
users:
- name: other
  user:
    token: decoy
- name: magnum
  user:
` + user.String())
}

// fakeAPI is a Kubernetes API server with just the paths Preflight uses.
type fakeAPI struct {
	// served maps a group version to the plural resources it serves.
	served map[string][]string
	// denied lists "verb resource" pairs the identity may not do.
	denied map[string]bool
	// token is the accepted bearer token; client certificates signed by
	// the server's client CA are always accepted.
	token string
	// noReadyz answers /readyz with 404, as API servers before 1.16 do.
	noReadyz bool
	// delay holds every answer back, or until the client gives up.
	delay time.Duration
	// forbidden answers these paths with 403.
	forbidden map[string]bool

	mu       sync.Mutex
	requests []string
}

// capiServed returns what a management cluster serves with the
// infrastructure provider at infraVersion.
func capiServed(infraVersion string) map[string][]string {
	return map[string][]string{
		"cluster.x-k8s.io/v1beta1":                        {"clusters", "clusters/status", "machinedeployments", "machinedeployments/scale", "machines", "machinesets"},
		"infrastructure.cluster.x-k8s.io/" + infraVersion: {"openstackclusters", "openstackclusters/status", "openstackmachines", "openstackmachinetemplates"},
		"controlplane.cluster.x-k8s.io/v1beta1":           {"kubeadmcontrolplanes", "kubeadmcontrolplanes/scale"},
		"addons.stackhpc.com/v1alpha1":                    {"helmreleases", "manifests"},
	}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			// Abort rather than return: a normal return would answer
			// 200 on a connection that may still be open.
			panic(http.ErrAbortHandler)
		}
	}
	authenticated := r.TLS != nil && len(r.TLS.VerifiedChains) > 0
	if f.token != "" && r.Header.Get("Authorization") == "Bearer "+f.token {
		authenticated = true
	}
	if !authenticated {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"kind": "Status", "code": 401, "reason": "Unauthorized"})
		return
	}
	switch {
	case f.forbidden[r.URL.Path]:
		writeJSON(w, http.StatusForbidden, map[string]any{"kind": "Status", "code": 403})
	case r.URL.Path == "/readyz" && !f.noReadyz, r.URL.Path == "/healthz":
		_, _ = io.WriteString(w, "ok")
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		var review selfSubjectAccessReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		attrs := review.Spec.ResourceAttributes
		review.Status.Allowed = !f.denied[attrs.Verb+" "+attrs.Resource]
		writeJSON(w, http.StatusCreated, review)
	case strings.HasPrefix(r.URL.Path, "/apis/"):
		gv := strings.TrimPrefix(r.URL.Path, "/apis/")
		resources, ok := f.served[gv]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"kind": "Status", "code": 404})
			return
		}
		list := map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv}
		var items []map[string]any
		for _, name := range resources {
			items = append(items, map[string]any{"name": name, "kind": "Whatever", "namespaced": true})
		}
		list["resources"] = items
		writeJSON(w, http.StatusOK, list)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"kind": "Status", "code": 404})
	}
}

// seen returns the requests served so far, as "METHOD /path".
func (f *fakeAPI) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// start serves api over TLS with a certificate from the fixture's CA,
// accepting client certificates from it too.
// Options may adjust the server's TLS configuration.
func (fx *fixture) start(api *fakeAPI, options ...func(*tls.Config)) *httptest.Server {
	srv := httptest.NewUnstartedServer(api)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{fx.ca.issueServer().pair},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    fx.ca.pool,
	}
	for _, option := range options {
		option(srv.TLS)
	}
	// Failed handshakes are what some tests are about; their log lines
	// would only be noise.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	fx.t.Cleanup(srv.Close)
	return srv
}

// hostPort returns a test server's 127.0.0.1:port.
func hostPort(srv *httptest.Server) string {
	return strings.TrimPrefix(srv.URL, "https://")
}

// outcome is everything a scenario produced, for the leak test.
type outcome struct {
	errs    []error
	reports []Report
	kcs     []*Kubeconfig
}

func (o *outcome) report(r Report) Report {
	o.reports = append(o.reports, r)
	return r
}

func (o *outcome) kubeconfig(kc *Kubeconfig) *Kubeconfig {
	o.kcs = append(o.kcs, kc)
	return kc
}

func (o *outcome) err(err error) error {
	o.errs = append(o.errs, err)
	return err
}

// texts renders every output in every form a caller might log or show.
func (o *outcome) texts(t *testing.T) []string {
	var out []string
	for _, err := range o.errs {
		if err != nil {
			out = append(out, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	for _, r := range o.reports {
		out = append(out, r.BlockedStatus(), r.WarningSuffix())
		out = append(out, r.Problems...)
		out = append(out, r.Warnings...)
		for k, v := range r.ActionResults() {
			out = append(out, k, v)
		}
		js, err := json.Marshal(r)
		require.NoError(t, err)
		out = append(out, string(js), fmt.Sprintf("%#v", r))
	}
	for _, kc := range o.kcs {
		if kc == nil {
			continue
		}
		out = append(out, fmt.Sprint(kc), fmt.Sprintf("%+v", kc), fmt.Sprintf("%#v", kc),
			fmt.Sprintf("%s", kc), fmt.Sprintf("%d", kc), fmt.Sprintf("%x", kc),
			fmt.Sprintf("%+v", *kc), fmt.Sprintf("%#v", *kc))
		js, err := json.Marshal(kc)
		require.NoError(t, err)
		out = append(out, string(js))
	}
	return out
}

// needles returns the strings whose presence in an output would mean a leak
// of secret: the material itself, its base64 (as a kubeconfig holds it), and
// aligned 24-character pieces of both, so that a partial echo is caught too.
func needles(secret []byte) []string {
	var out []string
	add := func(s string) {
		out = append(out, s)
		for i := 0; i+24 <= len(s); i += 24 {
			out = append(out, s[i:i+24])
		}
	}
	add(string(secret))
	add(b64(secret))
	if block, _ := pem.Decode(secret); block != nil {
		add(b64(block.Bytes))
		for _, line := range strings.Split(string(secret), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				out = append(out, line)
			}
		}
	}
	return out
}
