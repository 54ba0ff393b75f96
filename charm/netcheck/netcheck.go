// Package netcheck is what the charm's checks across the network from the
// unit share (the management cluster's preflight, the chart repository,
// Keystone's CA): a bounded time, the proxy a request went through, and a
// failure named by its type. A transport error's text can quote a URL, and
// a proxy URL can carry credentials, so no check shows the text.
package netcheck

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// Bound is timeout, or def when timeout is not set, and at most max.
func Bound(timeout, def, max time.Duration) time.Duration {
	if timeout <= 0 {
		timeout = def
	}
	return min(timeout, max)
}

// Proxy is a request's proxy (Func, nil to connect directly) that
// remembers whether a request went through one.
type Proxy struct {
	Func func(*http.Request) (*url.URL, error)
	Used bool
}

// For is the proxy of r, for http.Transport.Proxy.
func (p *Proxy) For(r *http.Request) (*url.URL, error) {
	if p.Func == nil {
		return nil, nil
	}
	u, err := p.Func(r)
	if u != nil {
		p.Used = true
	}
	return u, err
}

// Failure is why a request failed, as far as its type says.
type Failure int

const (
	// Other: none of the below.
	Other Failure = iota
	// UnknownAuthority: the server's certificate is not signed by a CA
	// the client trusts.
	UnknownAuthority
	// WrongName: the certificate is not valid for the server's name.
	WrongName
	// Expired: the certificate, or one in its chain, has expired or is not
	// yet valid.
	Expired
	// InvalidCertificate: the chain is not valid otherwise.
	InvalidCertificate
	// VerificationFailed: verification failed in another way.
	VerificationFailed
	// Timeout: no answer in time.
	Timeout
	// Refused, Unreachable (no route to host), Reset (by the peer) and
	// NotFound (the host's name does not resolve) are the connection's.
	Refused
	Unreachable
	Reset
	NotFound
)

// Classify names err's failure. Certificate failures come first, then a
// timeout, then the connection's failures.
func Classify(err error) Failure {
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return UnknownAuthority
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return WrongName
	}
	if invalid, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		if invalid.Reason == x509.Expired {
			return Expired
		}
		return InvalidCertificate
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return VerificationFailed
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return Timeout
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unreachable
	case errors.Is(err, syscall.ECONNRESET):
		return Reset
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return NotFound
	}
	return Other
}

// Unreached says why a connection to target failed, for the connection's
// failures Refused, Unreachable and Reset ("" for any other).
func Unreached(f Failure, target string) string {
	switch f {
	case Refused:
		return "cannot reach " + target + " (connection refused)"
	case Unreachable:
		return "cannot reach " + target + " (no route to host)"
	case Reset:
		return target + " reset the connection"
	}
	return ""
}

// AtProxy reports that err is the proxy's: connecting to it failed, not to
// the server behind it.
func AtProxy(err error) bool {
	opErr, ok := errors.AsType[*net.OpError](err)
	return ok && opErr.Op == "proxyconnect"
}
