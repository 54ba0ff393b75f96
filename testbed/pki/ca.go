package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/canonical/pebble/internals/osutil"
)

// CA is a fake server's certificate authority. Clients trust CertPEM.
type CA struct {
	CertPEM []byte
	KeyPEM  []byte
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// CAValidity is how long a CA is valid, from an hour before now (clock skew
// between a host and its boxes).
const CAValidity = 10 * 365 * 24 * time.Hour

// NewCA makes a fresh self-signed CA named name.
func NewCA(now time.Time, name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := Issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
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

// Files of a CA in a server's state directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// LoadOrCreateCA returns the CA kept in dir, or makes one named name and
// keeps it there (ca.pem 0644, ca-key.pem 0600). Keeping it lets a server
// restart, with other options, while what a client was told to trust stays
// true.
func LoadOrCreateCA(dir string, now time.Time, name string) (*CA, error) {
	certPEM, certErr := os.ReadFile(filepath.Join(dir, CAFile))
	keyPEM, keyErr := os.ReadFile(filepath.Join(dir, CAKeyFile))
	switch {
	case certErr == nil && keyErr == nil:
		ca, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("state directory %s: %w", dir, err)
		}
		return ca, nil
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, certErr
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, keyErr
	default:
		// A lone half would otherwise be replaced silently, and every
		// client trusting the old CA would fail.
		return nil, fmt.Errorf("state directory %s holds only one of %s and %s; remove both to start afresh", dir, CAFile, CAKeyFile)
	}
	ca, err := NewCA(now, name)
	if err != nil {
		return nil, err
	}
	// The key first: a certificate without its key is the state refused above.
	if err := osutil.AtomicWriteFile(filepath.Join(dir, CAKeyFile), ca.KeyPEM, 0o600, 0); err != nil {
		return nil, err
	}
	if err := osutil.AtomicWriteFile(filepath.Join(dir, CAFile), ca.CertPEM, 0o644, 0); err != nil {
		return nil, err
	}
	return ca, nil
}

// ServerCertificate issues a serving certificate from tmpl, signed by the CA.
func (ca *CA) ServerCertificate(tmpl *x509.Certificate) (tls.Certificate, error) {
	certPEM, keyPEM, err := Issue(tmpl, ca.cert, ca.key, nil)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot issue the serving certificate: %w", err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
