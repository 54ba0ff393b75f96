// Package cacheck checks that the clusters the driver creates will trust
// Keystone: that the Keystone endpoint Magnum uses verifies with the CA
// bundle the driver hands them.
//
// What the driver hands a cluster (magnum_capi_helm/common/app_creds.py:
// _get_openstack_ca_certificate, at 1.2.0): the content of [drivers]
// openstack_ca_file (magnum/common/utils.py: get_openstack_ca), or, when
// that is unset, certifi's bundle, which on Debian and Ubuntu is the
// system store (/etc/ssl/certs/ca-certificates.crt, what Go's
// x509.SystemCertPool reads there too). The cluster's OpenStack
// integrations (Cluster API provider, cloud controller, Cinder CSI) verify
// Keystone with that bundle only, unless [drivers] verify_ca is False.
// charm-magnum sets openstack_ca_file when magnum is related to a
// certificates provider.
//
// The endpoint is [keystone_authtoken] www_authenticate_uri (the public
// Identity endpoint, what clusters are given through the catalog), else
// auth_url. The values are best resolved by confprobe with the service's
// own arguments (Keys), so conf.d and magnum.conf count as Magnum reads
// them.
package cacheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/netcheck"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// Keys are the (group, key) pairs to resolve with confprobe.Probe.
var Keys = [][2]string{
	{"keystone_authtoken", "www_authenticate_uri"},
	{"keystone_authtoken", "auth_url"},
	{"drivers", "openstack_ca_file"},
	{"drivers", "verify_ca"},
}

const (
	// DefaultTimeout bounds a check when Input sets none.
	DefaultTimeout = 10 * time.Second
	// MaxTimeout bounds a check whatever Input says.
	MaxTimeout = 15 * time.Second
	// maxCAFile bounds the CA bundle read, as for the kubeconfig's CA.
	maxCAFile = 1 << 20
)

// State is a check's outcome.
type State string

const (
	Pass State = "pass"
	Fail State = "fail"
	// Skip: nothing to check (plain http, verification off, no endpoint)
	// or Keystone could not be reached, which says nothing of the CA.
	Skip State = "skip"
)

// Input says what to check.
type Input struct {
	// Endpoint is Keystone's URL (see Endpoint).
	Endpoint string
	// CAFile is [drivers] openstack_ca_file ("" unset: the system store).
	CAFile string
	// VerifyCA is [drivers] verify_ca as oslo.config resolves it ("" is
	// its default, True).
	VerifyCA string
	// SystemRoots stands for the system store; nil is x509.SystemCertPool.
	SystemRoots *x509.CertPool
	// Proxy is how the unit reaches Keystone (nil: directly).
	Proxy func(*http.Request) (*url.URL, error)
	// Timeout bounds the check: 0 is DefaultTimeout, at most MaxTimeout.
	Timeout time.Duration
}

// Result is what the check found. Its texts name files and endpoints
// (credentials in a URL hidden), never certificate content.
type Result struct {
	State    State  `json:"state"`
	Evidence string `json:"evidence"`
	// Problem is the status text of a failure, naming the fix.
	Problem string `json:"problem,omitempty"`
}

// Endpoint picks the Keystone URL from confprobe's values (group.key to
// value, nil when unset): www_authenticate_uri, else auth_url.
func Endpoint(values map[string]*string) string {
	for _, k := range []string{"keystone_authtoken.www_authenticate_uri", "keystone_authtoken.auth_url"} {
		if v := values[k]; v != nil && strings.TrimSpace(*v) != "" {
			return strings.TrimSpace(*v)
		}
	}
	return ""
}

// FromValues builds an Input from confprobe's values.
func FromValues(values map[string]*string) Input {
	in := Input{Endpoint: Endpoint(values)}
	if v := values["drivers.openstack_ca_file"]; v != nil {
		in.CAFile = strings.TrimSpace(*v)
	}
	if v := values["drivers.verify_ca"]; v != nil {
		in.VerifyCA = strings.TrimSpace(*v)
	}
	return in
}

// Check connects to the endpoint with the CA bundle the driver would hand
// a cluster and says whether the TLS handshake verifies.
func Check(ctx context.Context, in Input) Result {
	if in.Endpoint == "" {
		return Result{State: Skip, Evidence: "[keystone_authtoken] names no www_authenticate_uri or auth_url"}
	}
	u, err := url.Parse(in.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Result{State: Skip, Evidence: "[keystone_authtoken]'s Keystone endpoint is not an http(s) URL"}
	}
	where := redact.URL(u)
	if strings.EqualFold(in.VerifyCA, "false") {
		return Result{State: Skip, Evidence: "[drivers] verify_ca is False: clusters do not verify " + where + "'s certificate"}
	}
	if u.Scheme == "http" {
		return Result{State: Skip, Evidence: where + " is plain http: there is no certificate for clusters to verify"}
	}
	roots, bundle, unusable := caBundle(in, where)
	if unusable != nil {
		return *unusable
	}
	return handshake(ctx, in, u, roots, bundle)
}

// caBundle is the CA bundle the driver would hand a cluster, and its name
// in the texts: [drivers] openstack_ca_file, else the system store. A
// bundle clusters could not use is the Result to give.
func caBundle(in Input, where string) (*x509.CertPool, string, *Result) {
	var roots *x509.CertPool
	bundle := "the system store"
	if in.CAFile != "" {
		bundle = "[drivers] openstack_ca_file (" + in.CAFile + ")"
		data, err := files.ReadFile(in.CAFile, maxCAFile)
		if err != nil {
			why := "cannot be read"
			switch {
			case errors.Is(err, fs.ErrNotExist):
				why = "does not exist on the unit"
			case errors.Is(err, files.ErrNotRegular):
				why = "is not a regular file"
			case errors.Is(err, files.ErrTooLarge):
				why = "is larger than 1 MiB"
			}
			r := fail(fmt.Sprintf("%s %s: clusters would get no CA for %s; relate magnum to a certificates provider (charm-magnum writes the file) or correct the option", bundle, why, where))
			return nil, bundle, &r
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(data) {
			r := fail(fmt.Sprintf("%s holds no PEM certificate: clusters would get no CA for %s; relate magnum to a certificates provider (charm-magnum writes the file) or correct the option", bundle, where))
			return nil, bundle, &r
		}
	} else if in.SystemRoots != nil {
		roots = in.SystemRoots
	} else if system, err := x509.SystemCertPool(); err != nil {
		return nil, bundle, &Result{State: Skip, Evidence: "cannot read the system store"}
	} else {
		roots = system
	}
	return roots, bundle, nil
}

// handshake connects to the endpoint u with roots and says whether the TLS
// handshake verifies.
func handshake(ctx context.Context, in Input, u *url.URL, roots *x509.CertPool, bundle string) Result {
	where := redact.URL(u)
	timeout := netcheck.Bound(in.Timeout, DefaultTimeout, MaxTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	proxy := &netcheck.Proxy{Func: in.Proxy}
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		Proxy:               proxy.For,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: timeout,
		DisableKeepAlives:   true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return Result{State: Skip, Evidence: "cannot build a request to " + where}
	}
	// Any answer, whatever its status, means the handshake verified.
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Do(req)
	if err == nil {
		resp.Body.Close()
		evidence := fmt.Sprintf("%s verifies with %s", where, bundle)
		if proxy.Used {
			evidence += ", through the model's proxy"
		}
		return Result{State: Pass, Evidence: evidence}
	}
	return refused(ctx, in, u, bundle, err, timeout, proxy.Used)
}

// refused says what a handshake that failed with err means for clusters:
// a certificate they would refuse fails the check; not reaching Keystone
// says nothing of the CA.
func refused(ctx context.Context, in Input, u *url.URL, bundle string, err error, timeout time.Duration, viaProxy bool) Result {
	where := redact.URL(u)
	fix := "relate magnum to a certificates provider (charm-magnum then sets [drivers] openstack_ca_file) or set openstack_ca_file to a bundle holding the CA that signed it"
	if in.CAFile != "" {
		fix = "put the CA that signed it in " + in.CAFile + " (charm-magnum writes it from the certificates relation) or point openstack_ca_file at a bundle that holds it"
	}
	reason := "cannot reach it"
	switch failure := netcheck.Classify(err); {
	case failure == netcheck.UnknownAuthority:
		return fail(fmt.Sprintf("%s's certificate does not verify with %s, the CA bundle clusters get: %s", where, bundle, fix))
	case failure == netcheck.WrongName:
		return fail(fmt.Sprintf("%s's certificate is not valid for %s: clusters would refuse it whatever the CA; reissue it with that name", where, u.Hostname()))
	case failure == netcheck.Expired:
		return fail(fmt.Sprintf("%s's certificate (or one in its chain) has expired or is not yet valid", where))
	case failure == netcheck.InvalidCertificate:
		return fail(fmt.Sprintf("%s's certificate chain is not valid for %s: %s", where, bundle, fix))
	case failure == netcheck.VerificationFailed:
		return fail(fmt.Sprintf("%s's certificate failed verification with %s: %s", where, bundle, fix))
	case failure == netcheck.Timeout:
		reason = fmt.Sprintf("no answer within %s", timeout)
	case failure == netcheck.NotFound:
		reason = "host not found"
	case ctx.Err() != nil:
		reason = fmt.Sprintf("no answer within %s", timeout)
	case failure == netcheck.Refused:
		reason = "connection refused"
	case failure == netcheck.Unreachable:
		reason = "no route to host"
	}
	if viaProxy {
		reason += ", through the model's proxy"
	}
	return Result{State: Skip, Evidence: fmt.Sprintf("cannot check %s's certificate: %s", where, reason)}
}

func fail(problem string) Result {
	return Result{State: Fail, Evidence: problem, Problem: "keystone CA: " + problem}
}
