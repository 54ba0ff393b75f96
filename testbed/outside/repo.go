package outside

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

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
	cert, err := serverCertificate(ca, time.Now(), opts.Host)
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

// CA is the repository's certificate authority (pki.CA). Clients trust
// CertPEM.
type CA = pki.CA

// Files of the CA in a state directory.
const (
	CAFile    = pki.CAFile
	CAKeyFile = pki.CAKeyFile
)

// NewCA makes a fresh self-signed CA.
func NewCA(now time.Time) (*CA, error) { return pki.NewCA(now, "outside CA") }

// LoadOrCreateCA returns the CA kept in dir, or makes one and keeps it
// there (pki.LoadOrCreateCA), so a restart keeps what clients were told to
// trust.
func LoadOrCreateCA(dir string, now time.Time) (*CA, error) {
	return pki.LoadOrCreateCA(dir, now, "outside CA")
}

// serverCertificate issues a serving certificate for host, localhost and
// the loopback addresses.
func serverCertificate(ca *CA, now time.Time, host string) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: host},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{host, "localhost"},
	}
	return ca.ServerCertificate(tmpl)
}
