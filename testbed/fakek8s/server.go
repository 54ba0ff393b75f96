// Package fakek8s is a fake Kubernetes API server standing in for the
// Cluster API management cluster in the integration test bed. It runs inside
// the Debian box, whose private network has only loopback, so the charm's
// preflight (package charm/kubeconfig) runs for real from the unit: TLS with
// the kubeconfig's CA and credentials, /readyz, API discovery and
// SelfSubjectAccessReviews.
//
// It serves just those paths, with answers shaped like a real API server's,
// and makes its own CA, serving certificate, client certificate and token,
// and the kubeconfig that uses them. Options choose what it serves (the
// infrastructure provider's version, missing groups or resources), what the
// identity may do, how it authenticates, and whether it is ready.
package fakek8s

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultListen is the address a management cluster's API server has in a
// k3s or kubeadm kubeconfig, and the one the test bed's charm is given.
const DefaultListen = "127.0.0.1:6443"

// AuthMode is which credential the server accepts and its kubeconfig holds.
type AuthMode string

const (
	// AuthCert accepts client certificates issued by the server's CA.
	AuthCert AuthMode = "cert"
	// AuthToken accepts the bearer token, which driver releases before
	// 1.3.0 do not send.
	AuthToken AuthMode = "token"
)

// Options configure a Server. The zero value serves a v1beta1 management
// cluster on DefaultListen with client-certificate auth, everything allowed
// and ready.
type Options struct {
	// Listen is the host:port to listen on; "" means DefaultListen, port 0
	// picks a free one.
	Listen string
	// InfraVersions are the infrastructure.cluster.x-k8s.io versions to
	// serve (see Preset); none means DefaultInfraVersion. Ignored when APIs
	// is set.
	InfraVersions []string
	// CAPO serves what a real cluster-api-provider-openstack release line
	// ("v0.10") and the Cluster API it was built against serve (see
	// Release), instead of Preset. It excludes InfraVersions.
	CAPO string
	// APIs replaces the preset entirely.
	APIs []GroupVersion
	// MissingGroups removes groups ("addons.stackhpc.com") or group
	// versions ("cluster.x-k8s.io/v1beta1") from what is served.
	MissingGroups []string
	// MissingResources removes resources, named group/version/plural
	// ("cluster.x-k8s.io/v1beta1/machinedeployments").
	MissingResources []string
	// Auth is the credential accepted; "" means AuthCert.
	Auth AuthMode
	// Deny lists "verb/resource" pairs SelfSubjectAccessReviews answer not
	// allowed, such as "create/namespaces"; "*" matches any verb or
	// resource. Everything else is allowed.
	Deny []string
	// NotReady makes /readyz, /livez and /healthz answer 500, as a server
	// whose etcd is down does.
	NotReady bool
	// NoReadyz answers /readyz and /livez with 404, as API servers before
	// Kubernetes 1.16 do, leaving /healthz.
	NoReadyz bool
	// Credentials are the PKI and token to use; nil makes fresh ones.
	Credentials *Credentials
	// Log receives one line per request and the HTTP server's own errors
	// (failed TLS handshakes); nil discards them.
	Log io.Writer
}

// Request is one request the server answered, for tests to assert what the
// charm asked.
type Request struct {
	Method string
	Path   string
	// User is who the request authenticated as; "" when it did not.
	User   string
	Status int
	// Detail is what an access review asked and was answered, such as
	// "create namespaces: denied".
	Detail string
}

func (r Request) String() string {
	s := fmt.Sprintf("%s %s %d user=%q", r.Method, r.Path, r.Status, r.User)
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	return s
}

// Server is a running fake API server.
type Server struct {
	auth     AuthMode
	creds    *Credentials
	pki      *parsed
	apis     []GroupVersion
	deny     map[string]bool
	noReadyz bool
	ready    atomic.Bool
	log      io.Writer

	listener net.Listener
	http     *http.Server
	done     chan struct{}
	serveErr error

	mu       sync.Mutex
	requests []Request
}

// Start checks opts, listens and serves in the background until Close or
// Shutdown. When it returns, the server accepts connections.
func Start(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	listen := opts.Listen
	if listen == "" {
		listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	s.listener, err = net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler: s,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{s.pki.serverPair},
			// kube-apiserver requests a client certificate and checks it
			// in its authenticator, so a certificate from another CA is
			// answered 401 rather than failing the handshake. Doing the
			// same gives the charm the texts it will meet for real.
			ClientAuth: tls.RequestClientCert,
			MinVersion: tls.VersionTLS12,
		},
		ErrorLog:          log.New(s.log, "fakek8s: ", 0),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.http.ServeTLS(s.listener, "", ""); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

func newServer(opts Options) (*Server, error) {
	s := &Server{auth: opts.Auth, noReadyz: opts.NoReadyz, log: opts.Log, deny: map[string]bool{}}
	if s.auth == "" {
		s.auth = AuthCert
	}
	if s.auth != AuthCert && s.auth != AuthToken {
		return nil, fmt.Errorf("auth mode %q is not %q or %q", opts.Auth, AuthCert, AuthToken)
	}
	if s.log == nil {
		s.log = io.Discard
	}
	s.ready.Store(!opts.NotReady)

	apis := opts.APIs
	if apis == nil {
		var err error
		switch {
		case opts.CAPO != "" && len(opts.InfraVersions) > 0:
			return nil, fmt.Errorf("a CAPO release (%s) and infrastructure versions (%s) exclude each other",
				opts.CAPO, strings.Join(opts.InfraVersions, ", "))
		case opts.CAPO != "":
			apis, err = Release(opts.CAPO)
		default:
			apis, err = Preset(opts.InfraVersions...)
		}
		if err != nil {
			return nil, err
		}
	}
	apis, err := removeMissing(apis, opts.MissingGroups, opts.MissingResources)
	if err != nil {
		return nil, err
	}
	s.apis = apis

	for _, d := range opts.Deny {
		verb, resource, ok := strings.Cut(d, "/")
		if !ok || verb == "" || resource == "" || strings.Contains(resource, "/") {
			return nil, fmt.Errorf("deny %q is not verb/resource", d)
		}
		s.deny[verb+"/"+resource] = true
	}

	s.creds = opts.Credentials
	if s.creds == nil {
		if s.creds, err = NewCredentials(time.Now()); err != nil {
			return nil, err
		}
	}
	if s.pki, err = s.creds.parse(); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr {
	return s.listener.Addr()
}

// URL returns the server's https URL for clients on the same host: an
// unspecified listen address (0.0.0.0, ::) is reached through loopback.
func (s *Server) URL() string {
	addr := s.listener.Addr().(*net.TCPAddr)
	ip := addr.IP
	switch {
	case ip == nil, ip.Equal(net.IPv4zero):
		ip = net.IPv4(127, 0, 0, 1)
	case ip.Equal(net.IPv6unspecified):
		ip = net.IPv6loopback
	}
	return "https://" + net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port))
}

// Auth returns the auth mode the server accepts.
func (s *Server) Auth() AuthMode {
	return s.auth
}

// Credentials returns the server's PKI and token.
func (s *Server) Credentials() *Credentials {
	return s.creds
}

// SetReady changes what /readyz answers, for tests of a management cluster
// that goes away and comes back.
func (s *Server) SetReady(ready bool) {
	s.ready.Store(ready)
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Done is closed when the server stops serving.
func (s *Server) Done() <-chan struct{} {
	return s.done
}

// Err returns why the server stopped, once Done is closed; nil after Close
// or Shutdown.
func (s *Server) Err() error {
	<-s.done
	return s.serveErr
}

// Shutdown stops the server, letting requests in flight finish until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	<-s.done
	return err
}

// Close stops the server at once.
func (s *Server) Close() error {
	err := s.http.Close()
	<-s.done
	return err
}

// Client returns an HTTP client that trusts the server's CA and
// authenticates the way its kubeconfig does, for poking at it directly.
func (s *Server) Client() *http.Client {
	tlsConfig := &tls.Config{RootCAs: s.pki.clientCAs, MinVersion: tls.VersionTLS12}
	var rt http.RoundTripper = &http.Transport{TLSClientConfig: tlsConfig}
	if s.auth == AuthCert {
		pair, err := tls.X509KeyPair(s.creds.ClientCertPEM, s.creds.ClientKeyPEM)
		if err == nil { // parse checked the pair already
			tlsConfig.Certificates = []tls.Certificate{pair}
		}
	} else {
		rt = bearer{token: s.creds.Token, next: rt}
	}
	return &http.Client{Transport: rt, Timeout: 10 * time.Second}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// authenticate returns who made r, or "" for nobody. Requests without
// credentials are refused too, on every path: kube-apiserver would let an
// anonymous client read /readyz, but the charm always sends credentials,
// and wrong ones are refused by a real server as well.
func (s *Server) authenticate(r *http.Request) string {
	switch s.auth {
	case AuthToken:
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.creds.Token)) == 1 {
			return TokenUser
		}
	default:
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return ""
		}
		intermediates := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			intermediates.AddCert(c)
		}
		leaf := r.TLS.PeerCertificates[0]
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         s.pki.clientCAs,
			Intermediates: intermediates,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err == nil {
			return leaf.Subject.CommonName
		}
	}
	return ""
}

// ServeHTTP answers one request and records it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{Method: r.Method, Path: r.URL.Path, User: s.authenticate(r)}
	if req.User == "" {
		req.Status = writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
	} else {
		req.Status, req.Detail = s.route(w, r)
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	fmt.Fprintln(s.log, req)
}

// route answers an authenticated request and returns the status it sent.
func (s *Server) route(w http.ResponseWriter, r *http.Request) (int, string) {
	path := r.URL.Path
	if path == "/apis/"+authorizationGroup+"/v1/selfsubjectaccessreviews" && s.served(authorizationGroup, "v1") {
		if r.Method != http.MethodPost {
			return writeMethodNotAllowed(w), ""
		}
		return s.accessReview(w, r)
	}
	// Every other path is read-only: a path that exists refuses other
	// methods with 405, one that does not answers 404 whatever the method.
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch path {
	case "/readyz", "/livez", "/healthz", "/version", "/api", "/api/v1", "/apis":
		if !get {
			return writeMethodNotAllowed(w), ""
		}
	}
	switch path {
	case "/readyz", "/livez":
		if s.noReadyz {
			return writeNotFound(w), ""
		}
		return s.health(w, strings.TrimPrefix(path, "/")), ""
	case "/healthz":
		return s.health(w, "healthz"), ""
	case "/version":
		return writeJSON(w, http.StatusOK, map[string]string{
			"major": "1", "minor": "30", "gitVersion": "v1.30.0+fakek8s", "platform": "linux/amd64",
		}), ""
	case "/api":
		return writeJSON(w, http.StatusOK, map[string]any{
			"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": s.listener.Addr().String()}},
		}), ""
	case "/api/v1":
		return writeJSON(w, http.StatusOK, resourceList("v1", coreResources)), ""
	case "/apis":
		return writeJSON(w, http.StatusOK, map[string]any{
			"kind": "APIGroupList", "apiVersion": "v1", "groups": s.groups(),
		}), ""
	}
	if rest, ok := strings.CutPrefix(path, "/apis/"); ok {
		group, version, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
		switch {
		case version == "":
			for _, g := range s.groups() {
				if g["name"] == group {
					if !get {
						return writeMethodNotAllowed(w), ""
					}
					g["kind"], g["apiVersion"] = "APIGroup", "v1"
					return writeJSON(w, http.StatusOK, g), ""
				}
			}
		case !strings.Contains(version, "/"):
			for _, gv := range s.apis {
				if gv.Group == group && gv.Version == version {
					if !get {
						return writeMethodNotAllowed(w), ""
					}
					return writeJSON(w, http.StatusOK, resourceList(gv.String(), gv.Resources)), ""
				}
			}
		}
	}
	return writeNotFound(w), ""
}

func writeNotFound(w http.ResponseWriter) int {
	return writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
}

func writeMethodNotAllowed(w http.ResponseWriter) int {
	return writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
}

// health answers /readyz, /livez or /healthz as kube-apiserver does without
// ?verbose: "ok", or a failing check list and 500.
func (s *Server) health(w http.ResponseWriter, name string) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "[-]etcd failed: reason withheld\n%s check failed\n", name)
		return http.StatusInternalServerError
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
	return http.StatusOK
}

func (s *Server) served(group, version string) bool {
	return slices.ContainsFunc(s.apis, func(gv GroupVersion) bool {
		return gv.Group == group && gv.Version == version
	})
}

// groups returns the APIGroup entries of /apis, in the order first served;
// each group prefers its first-listed version.
func (s *Server) groups() []map[string]any {
	var out []map[string]any
	index := map[string]int{}
	for _, gv := range s.apis {
		entry := map[string]string{"groupVersion": gv.String(), "version": gv.Version}
		i, ok := index[gv.Group]
		if !ok {
			index[gv.Group] = len(out)
			out = append(out, map[string]any{
				"name":             gv.Group,
				"versions":         []map[string]string{entry},
				"preferredVersion": entry,
			})
			continue
		}
		out[i]["versions"] = append(out[i]["versions"].([]map[string]string), entry)
	}
	return out
}

func resourceList(groupVersion string, resources []Resource) map[string]any {
	return map[string]any{
		"kind": "APIResourceList", "apiVersion": "v1",
		"groupVersion": groupVersion, "resources": resources,
	}
}

// accessReview is the part of a SelfSubjectAccessReview the server reads
// and writes back; spec is echoed as sent.
type accessReview struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       struct {
		ResourceAttributes *struct {
			Namespace string `json:"namespace,omitempty"`
			Verb      string `json:"verb,omitempty"`
			Group     string `json:"group,omitempty"`
			Version   string `json:"version,omitempty"`
			Resource  string `json:"resource,omitempty"`
			Name      string `json:"name,omitempty"`
		} `json:"resourceAttributes,omitempty"`
		NonResourceAttributes *struct {
			Path string `json:"path,omitempty"`
			Verb string `json:"verb,omitempty"`
		} `json:"nonResourceAttributes,omitempty"`
	} `json:"spec"`
	Status struct {
		Allowed bool   `json:"allowed"`
		Denied  bool   `json:"denied,omitempty"`
		Reason  string `json:"reason,omitempty"`
	} `json:"status"`
}

// accessReview answers a SelfSubjectAccessReview from Options.Deny, 201
// Created as kube-apiserver does.
func (s *Server) accessReview(w http.ResponseWriter, r *http.Request) (int, string) {
	var review accessReview
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&review); err != nil {
		return writeStatus(w, http.StatusBadRequest, "BadRequest", "the request body is not a SelfSubjectAccessReview"), ""
	}
	if review.Kind != "" && review.Kind != "SelfSubjectAccessReview" {
		return writeStatus(w, http.StatusBadRequest, "BadRequest", "the request body is not a SelfSubjectAccessReview"), ""
	}
	var verb, resource string
	switch {
	case review.Spec.ResourceAttributes != nil:
		verb, resource = review.Spec.ResourceAttributes.Verb, review.Spec.ResourceAttributes.Resource
	case review.Spec.NonResourceAttributes != nil:
		verb, resource = review.Spec.NonResourceAttributes.Verb, review.Spec.NonResourceAttributes.Path
	default:
		return writeStatus(w, http.StatusUnprocessableEntity, "Invalid", "exactly one of nonResourceAttributes or resourceAttributes must be specified"), ""
	}
	allowed := !(s.deny[verb+"/"+resource] || s.deny["*/"+resource] || s.deny[verb+"/*"] || s.deny["*/*"])
	review.APIVersion, review.Kind = authorizationGroup+"/v1", "SelfSubjectAccessReview"
	review.Metadata = map[string]any{"creationTimestamp": nil}
	review.Status.Allowed = allowed
	detail := verb + " " + resource + ": allowed"
	if allowed {
		review.Status.Reason = `RBAC: allowed by ClusterRoleBinding "fakek8s" of ClusterRole "cluster-admin"`
	} else {
		// A real denial is the absence of a rule: no reason, not "denied".
		detail = verb + " " + resource + ": denied"
	}
	return writeJSON(w, http.StatusCreated, review), detail
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
	return code
}

// writeStatus answers with a metav1.Status, as the API server does for
// every error.
func writeStatus(w http.ResponseWriter, code int, reason, message string) int {
	return writeJSON(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}
