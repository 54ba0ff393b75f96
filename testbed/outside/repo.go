package outside

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/pki"
)

// DefaultRepoHost is the name the chart repository is served under: a name
// under .example (RFC 2606), which no resolver answers, so only the proxy
// (which maps it) reaches it.
const DefaultRepoHost = "charts.example"

// DefaultRepoListen is the repository's loopback listener unless told
// otherwise.
const DefaultRepoListen = "127.0.0.1:8443"

// RepoOptions say how a Repo serves.
type RepoOptions struct {
	// Listen is the address to listen on; "" is 127.0.0.1:0.
	Listen string
	// Host is the name clients use (in URLs, the index and the
	// certificate); "" is DefaultRepoHost.
	Host string
	// Port is the port in the repository's URL, the one clients ask the
	// proxy for; "" is 443. The proxy maps Host:Port to Listen.
	Port string
	// CA signs the serving certificate; nil makes a fresh one.
	CA *CA
	// Charts are what the repository serves; none is openstack-cluster at
	// DefaultVersions.
	Charts []Chart
	// Log, when set, gets the HTTP server's own errors.
	Log io.Writer
}

// Repo is a running HTTPS chart repository.
type Repo struct {
	url     string
	addr    string
	content built
	ca      *CA
	srv     *http.Server
	done    chan struct{}
	err     error

	mu     sync.Mutex
	status int
	paths  []string
}

// StartRepo serves a chart repository until Close.
func StartRepo(opts RepoOptions) (*Repo, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Host == "" {
		opts.Host = DefaultRepoHost
	}
	if opts.Port == "" {
		opts.Port = "443"
	}
	if len(opts.Charts) == 0 {
		opts.Charts = []Chart{{Name: DefaultChart, Versions: DefaultVersions}}
	}
	ca := opts.CA
	var err error
	if ca == nil {
		if ca, err = NewCA(time.Now()); err != nil {
			return nil, err
		}
	}
	url := "https://" + opts.Host
	if opts.Port != "443" {
		url = "https://" + net.JoinHostPort(opts.Host, opts.Port)
	}
	content, err := build(url, opts.Charts)
	if err != nil {
		return nil, err
	}
	cert, err := ca.serverCertificate(time.Now(), opts.Host)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen: %w", err)
	}
	r := &Repo{url: url, addr: ln.Addr().String(), content: content, ca: ca, done: make(chan struct{})}
	errorLog := io.Discard
	if opts.Log != nil {
		errorLog = opts.Log
	}
	r.srv = &http.Server{
		Handler:           http.HandlerFunc(r.serveHTTP),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(errorLog, "outside repo: ", 0),
	}
	go func() {
		defer close(r.done)
		if err := r.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			r.err = err
		}
	}()
	return r, nil
}

// URL is the repository's URL as clients name it, e.g.
// https://charts.example: helm_chart_repo.
func (r *Repo) URL() string { return r.url }

// Addr is the loopback address the repository listens on: where the proxy
// maps its host name.
func (r *Repo) Addr() string { return r.addr }

// HostPort is the host:port clients ask the proxy for.
func (r *Repo) HostPort() string {
	host, port := r.url[len("https://"):], "443"
	if h, p, err := net.SplitHostPort(host); err == nil {
		host, port = h, p
	}
	return net.JoinHostPort(host, port)
}

// CACertPEM is the CA that signed the serving certificate.
func (r *Repo) CACertPEM() []byte { return r.ca.CertPEM }

// Index returns the index.yaml the repository serves.
func (r *Repo) Index() []byte { return r.content.index }

// Paths returns the paths the repository was asked for, oldest first.
func (r *Repo) Paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}

// SetStatus makes every request answer code (0: serve normally), as a
// repository behind a failing CDN does.
func (r *Repo) SetStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = code
}

// Close stops serving at once.
func (r *Repo) Close() error {
	err := r.srv.Close()
	<-r.done
	return err
}

// Done is closed when the repository has stopped; Err then says why, if it
// was not Close.
func (r *Repo) Done() <-chan struct{} { return r.done }

// Err is the error serving stopped with, once Done is closed.
func (r *Repo) Err() error { return r.err }

func (r *Repo) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	status := r.status
	r.mu.Unlock()
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch data, ok := r.content.archives[req.URL.Path]; {
	case req.URL.Path == "/index.yaml":
		w.Header().Set("Content-Type", "application/x-yaml")
		_, _ = w.Write(r.content.index)
	case ok:
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(data)
	default:
		http.NotFound(w, req)
	}
}

// CA is the repository's certificate authority. Clients trust CertPEM.
type CA struct {
	CertPEM []byte
	KeyPEM  []byte
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// NewCA makes a fresh self-signed CA.
func NewCA(now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := pki.Issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "outside CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, key, key)
	if err != nil {
		return nil, fmt.Errorf("cannot make a CA: %w", err)
	}
	return parseCA(certPEM, keyPEM)
}

func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate and key: %w", err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !pair.Leaf.IsCA {
		return nil, errors.New("CA certificate and key: not an ECDSA CA")
	}
	return &CA{CertPEM: certPEM, KeyPEM: keyPEM, cert: pair.Leaf, key: key}, nil
}

// Files of the CA in a state directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// LoadOrCreateCA returns the CA kept in dir, or makes one and keeps it
// there (ca.pem 0644, ca-key.pem 0600), so a restart keeps what clients
// were told to trust.
func LoadOrCreateCA(dir string, now time.Time) (*CA, error) {
	certPEM, certErr := os.ReadFile(filepath.Join(dir, CAFile))
	keyPEM, keyErr := os.ReadFile(filepath.Join(dir, CAKeyFile))
	switch {
	case certErr == nil && keyErr == nil:
		return parseCA(certPEM, keyPEM)
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, certErr
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, keyErr
	default:
		return nil, fmt.Errorf("state directory %s holds only one of %s and %s; remove both to start afresh", dir, CAFile, CAKeyFile)
	}
	ca, err := NewCA(now)
	if err != nil {
		return nil, err
	}
	if err := osutil.AtomicWriteFile(filepath.Join(dir, CAKeyFile), ca.KeyPEM, 0o600, 0); err != nil {
		return nil, err
	}
	if err := osutil.AtomicWriteFile(filepath.Join(dir, CAFile), ca.CertPEM, 0o644, 0); err != nil {
		return nil, err
	}
	return ca, nil
}

// serverCertificate issues a serving certificate for host, localhost and
// the loopback addresses.
func (ca *CA) serverCertificate(now time.Time, host string) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: host},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{host, "localhost"},
	}
	certPEM, keyPEM, err := pki.Issue(tmpl, ca.cert, ca.key, nil)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot issue the serving certificate: %w", err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
