package fakecloud

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/pki"
)

// Options say where and how a Cloud serves.
type Options struct {
	// Listen is the address to listen on; port 0 picks a free one. The
	// default is 127.0.0.1:0.
	Listen string
	// Advertise is the host (name or IP) clients reach the server by. It
	// goes into every URL the cloud hands out (the service catalog, links)
	// and into the serving certificate. The default is the listen host,
	// or 127.0.0.1 when that is unspecified (0.0.0.0, ::).
	Advertise string
	// CA signs the serving certificate; nil makes a fresh one.
	CA *CA
	// Behaviour is how the cloud acts; nil means DefaultBehaviour().
	Behaviour *Behaviour
	// RecordsFile, when set, is rewritten with the Records (JSON, mode
	// 0600) after every request.
	RecordsFile string
	// Log, when set, gets one line per request, and the HTTP server's own
	// errors (such as TLS handshakes a client broke off).
	Log io.Writer
	// Now is the clock Behaviour.Hold is measured with; default time.Now.
	Now func() time.Time
}

// Start serves a cloud over HTTPS until Close or Shutdown.
func Start(opts Options) (*Cloud, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := DefaultBehaviour()
	if opts.Behaviour != nil {
		b = *opts.Behaviour
	}
	listenHost, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", opts.Listen, err)
	}
	advertise := opts.Advertise
	if advertise == "" {
		advertise = listenHost
		if ip := net.ParseIP(listenHost); listenHost == "" || (ip != nil && ip.IsUnspecified()) {
			advertise = "127.0.0.1"
		}
	}
	ca := opts.CA
	if ca == nil {
		if ca, err = NewCA(opts.Now()); err != nil {
			return nil, err
		}
	}
	cert, err := serverCertificate(ca, opts.Now(), advertise, listenHost)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	c := newCloud(b, opts.Now)
	c.url = "https://" + net.JoinHostPort(advertise, port)
	c.caPEM = ca.CertPEM
	c.recordsFile = opts.RecordsFile
	c.log = opts.Log
	errorLog := io.Discard
	if opts.Log != nil {
		errorLog = opts.Log
	}
	c.srv = &http.Server{
		Handler:           c.routes(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(errorLog, "fakecloud: ", 0),
	}
	c.done = make(chan struct{})
	c.mu.Lock()
	c.writeRecords()
	c.mu.Unlock()
	go func() {
		defer close(c.done)
		if err := c.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			c.serveErr = err
		}
	}()
	return c, nil
}

// URL is the cloud's base URL, https://HOST:PORT.
func (c *Cloud) URL() string { return c.url }

// CACertPEM is the CA that signed the serving certificate.
func (c *Cloud) CACertPEM() []byte { return c.caPEM }

// Close stops serving at once.
func (c *Cloud) Close() {
	_ = c.srv.Close()
	<-c.done
}

// Shutdown stops serving once the requests being served are answered.
func (c *Cloud) Shutdown(ctx context.Context) error {
	err := c.srv.Shutdown(ctx)
	<-c.done
	return err
}

// Done is closed when the server has stopped; Err then says why, if it was
// not Close or Shutdown.
func (c *Cloud) Done() <-chan struct{} { return c.done }

// Err is the error the server stopped with, once Done is closed.
func (c *Cloud) Err() error { return c.serveErr }

// Connection is what an operator needs to call the cloud. Its JSON names are
// the keys of the charm's smoke-test credentials secret and the names of the
// smoke-test action's parameters.
type Connection struct {
	AuthURL           string `json:"auth-url"`
	Username          string `json:"username"`
	Password          string `json:"password"`
	ProjectName       string `json:"project-name"`
	UserDomainName    string `json:"user-domain-name"`
	ProjectDomainName string `json:"project-domain-name"`
	RegionName        string `json:"region-name"`
	Interface         string `json:"interface"`
	// CAFile is the CA certificate (PEM) to trust, as the serve command
	// wrote it.
	CAFile string `json:"ca-file,omitempty"`

	Image           string `json:"image"`
	Keypair         string `json:"keypair"`
	ExternalNetwork string `json:"external-network"`
	MasterFlavor    string `json:"master-flavor"`
	Flavor          string `json:"flavor"`
	KubeTag         string `json:"kube-tag"`
}

// Connection returns how to reach this cloud (CAFile unset).
func (c *Cloud) Connection() Connection {
	return Connection{
		AuthURL:           c.url + "/identity/v3",
		Username:          Username,
		Password:          Password,
		ProjectName:       Project,
		UserDomainName:    Domain,
		ProjectDomainName: Domain,
		RegionName:        Region,
		Interface:         Interface,
		Image:             ImageName,
		Keypair:           Keypair,
		ExternalNetwork:   ExternalNetwork,
		MasterFlavor:      Flavor,
		Flavor:            Flavor,
		KubeTag:           KubeTag,
	}
}

// SecretContent is the content of the charm's smoke-test credentials secret
// for this cloud, with caPEM as its cacert.
func (c Connection) SecretContent(caPEM []byte) map[string]string {
	return map[string]string{
		"auth-url":            c.AuthURL,
		"username":            c.Username,
		"password":            c.Password,
		"project-name":        c.ProjectName,
		"user-domain-name":    c.UserDomainName,
		"project-domain-name": c.ProjectDomainName,
		"region-name":         c.RegionName,
		"interface":           c.Interface,
		"cacert":              string(caPEM),
	}
}

// SmokeTestParams are the smoke-test action's parameters naming what the
// cloud serves; the caller adds credentials and anything else.
func (c Connection) SmokeTestParams() map[string]any {
	return map[string]any{
		"image":            c.Image,
		"keypair":          c.Keypair,
		"external-network": c.ExternalNetwork,
		"master-flavor":    c.MasterFlavor,
		"flavor":           c.Flavor,
		"kube-tag":         c.KubeTag,
	}
}

// CA is the cloud's certificate authority (pki.CA). Clients trust CertPEM.
type CA = pki.CA

// Files of the CA in a state directory.
const (
	CAFile    = pki.CAFile
	CAKeyFile = pki.CAKeyFile
)

// serverValidity is how long a serving certificate is valid, from an hour
// before now (clock skew between a host and its boxes).
const serverValidity = 365 * 24 * time.Hour

// NewCA makes a fresh self-signed CA.
func NewCA(now time.Time) (*CA, error) { return pki.NewCA(now, "fakecloud CA") }

// LoadOrCreateCA returns the CA kept in dir, or makes one and keeps it
// there (pki.LoadOrCreateCA).
func LoadOrCreateCA(dir string, now time.Time) (*CA, error) {
	return pki.LoadOrCreateCA(dir, now, "fakecloud CA")
}

// serverCertificate issues a serving certificate for hosts, localhost and
// the loopback addresses.
func serverCertificate(ca *CA, now time.Time, hosts ...string) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "fakecloud"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(serverValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}
	for _, h := range hosts {
		ip := net.ParseIP(h)
		switch {
		case ip != nil && !ip.IsUnspecified() && !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal):
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case ip == nil && h != "" && !slices.Contains(tmpl.DNSNames, h):
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.ServerCertificate(tmpl)
}
