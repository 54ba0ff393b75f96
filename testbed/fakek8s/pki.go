package fakek8s

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/pki"
)

// Validity of what NewCredentials issues. The client certificate gets a
// year, as kubeadm and k3s issue, so the charm's 30-day expiry warning stays
// quiet unless a test means to trigger it.
const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 365 * 24 * time.Hour
	clientValidity = 365 * 24 * time.Hour
)

// ClientCommonName and ClientOrganization are the client certificate's
// identity, as kubeadm writes admin.conf; the server logs requests under it.
const (
	ClientCommonName   = "magnum"
	ClientOrganization = "system:masters"
)

// TokenUser is the name requests authenticated by the bearer token are
// logged under.
const TokenUser = "magnum-token"

// Credentials are everything the server and its kubeconfig need: its own CA,
// a serving certificate for 127.0.0.1, ::1 and localhost, a client
// certificate from the same CA, and a bearer token. Both kinds of client
// credential always exist, so restarting the server in the other auth mode
// keeps every credential the charm was already given.
type Credentials struct {
	CACertPEM     []byte
	CAKeyPEM      []byte
	ServerCertPEM []byte
	ServerKeyPEM  []byte
	ClientCertPEM []byte
	ClientKeyPEM  []byte
	Token         string
}

// NewCredentials makes a fresh CA and issues the rest from it, valid from an
// hour before now (clock skew between the host and the box).
func NewCredentials(now time.Time) (*Credentials, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "fakek8s CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caCertPEM, caKeyPEM, err := pki.Issue(caTmpl, nil, caKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := pki.ParseCertificate(caCertPEM)
	if err != nil {
		return nil, err
	}
	serverCertPEM, serverKeyPEM, err := pki.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(serverValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}, caCert, caKey, nil)
	if err != nil {
		return nil, err
	}
	clientCertPEM, clientKeyPEM, err := pki.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: ClientCommonName, Organization: []string{ClientOrganization}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(clientValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, caCert, caKey, nil)
	if err != nil {
		return nil, err
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	return &Credentials{
		CACertPEM:     caCertPEM,
		CAKeyPEM:      caKeyPEM,
		ServerCertPEM: serverCertPEM,
		ServerKeyPEM:  serverKeyPEM,
		ClientCertPEM: clientCertPEM,
		ClientKeyPEM:  clientKeyPEM,
		Token:         "fakek8s." + base64.RawURLEncoding.EncodeToString(token),
	}, nil
}

// parsed is Credentials in the forms the server uses.
type parsed struct {
	serverPair tls.Certificate
	clientCAs  *x509.CertPool
}

// parse checks that the credentials hang together: each pair matches and
// both leaves are signed by the CA. Hand-edited state files would otherwise
// surface as a baffling TLS failure in the charm's preflight.
func (c *Credentials) parse() (*parsed, error) {
	if c == nil {
		return nil, errors.New("no credentials")
	}
	ca, err := tls.X509KeyPair(c.CACertPEM, c.CAKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate and key: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Leaf)
	server, err := tls.X509KeyPair(c.ServerCertPEM, c.ServerKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("server certificate and key: %w", err)
	}
	client, err := tls.X509KeyPair(c.ClientCertPEM, c.ClientKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("client certificate and key: %w", err)
	}
	if _, err := server.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	if _, err := client.Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	if c.Token == "" || strings.ContainsFunc(c.Token, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return nil, errors.New("token is empty or not visible ASCII")
	}
	return &parsed{serverPair: server, clientCAs: pool}, nil
}

// Credential files in a state directory.
const (
	caCertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	serverCertFile = "server.crt"
	serverKeyFile  = "server.key"
	clientCertFile = "client.crt"
	clientKeyFile  = "client.key"
	tokenFile      = "token"
)

// credentialFiles maps each file to its field.
func (c *Credentials) credentialFiles() map[string]*[]byte {
	return map[string]*[]byte{
		caCertFile:     &c.CACertPEM,
		caKeyFile:      &c.CAKeyPEM,
		serverCertFile: &c.ServerCertPEM,
		serverKeyFile:  &c.ServerKeyPEM,
		clientCertFile: &c.ClientCertPEM,
		clientKeyFile:  &c.ClientKeyPEM,
	}
}

// LoadOrCreateCredentials returns the credentials kept in dir, creating and
// saving new ones when dir holds none. Keeping them lets a test restart the
// server with other options while the charm keeps the kubeconfig it was
// given. A dir holding only some of the files is an error rather than a
// reason to start over, which would silently invalidate that kubeconfig.
func LoadOrCreateCredentials(dir string, now time.Time) (*Credentials, error) {
	c := &Credentials{}
	var present, absent []string
	for name, field := range c.credentialFiles() {
		data, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case err == nil:
			*field = data
			present = append(present, name)
		case errors.Is(err, fs.ErrNotExist):
			absent = append(absent, name)
		default:
			return nil, err
		}
	}
	token, err := os.ReadFile(filepath.Join(dir, tokenFile))
	switch {
	case err == nil:
		c.Token = strings.TrimSpace(string(token))
		present = append(present, tokenFile)
	case errors.Is(err, fs.ErrNotExist):
		absent = append(absent, tokenFile)
	default:
		return nil, err
	}
	switch {
	case len(present) == 0:
		c, err := NewCredentials(now)
		if err != nil {
			return nil, err
		}
		return c, c.Save(dir)
	case len(absent) > 0:
		return nil, fmt.Errorf("state directory %s holds some credential files but not %s; remove them all to start afresh", dir, strings.Join(absent, ", "))
	}
	if _, err := c.parse(); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	return c, nil
}

// Save writes the credentials into dir, creating it, every file mode 0600.
func (c *Credentials) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, field := range c.credentialFiles() {
		if err := writeFileAtomic(filepath.Join(dir, name), *field); err != nil {
			return err
		}
	}
	return writeFileAtomic(filepath.Join(dir, tokenFile), []byte(c.Token+"\n"))
}

// writeFileAtomic writes data to path, mode 0600, through a temporary file
// in the same directory, so a reader polling for path (the test bed waiting
// for the kubeconfig) never sees it half written.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
