package netcheck

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBound(t *testing.T) {
	assert.Equal(t, 20*time.Second, Bound(0, 20*time.Second, 30*time.Second), "unset: the default")
	assert.Equal(t, 5*time.Second, Bound(5*time.Second, 20*time.Second, 30*time.Second))
	assert.Equal(t, 30*time.Second, Bound(time.Minute, 20*time.Second, 30*time.Second), "at most max")
	assert.Equal(t, 15*time.Second, Bound(0, 20*time.Second, 15*time.Second), "a default above max is cut too")
}

func TestProxyRemembersItWasUsed(t *testing.T) {
	direct := &Proxy{}
	u, err := direct.For(&http.Request{})
	require.NoError(t, err)
	assert.Nil(t, u)
	assert.False(t, direct.Used)

	squid, err := url.Parse("http://squid.internal:3128")
	require.NoError(t, err)
	p := &Proxy{Func: func(r *http.Request) (*url.URL, error) {
		if r.URL.Host == "direct.example" {
			return nil, nil
		}
		return squid, nil
	}}
	_, err = p.For(&http.Request{URL: &url.URL{Host: "direct.example"}})
	require.NoError(t, err)
	assert.False(t, p.Used)
	u, err = p.For(&http.Request{URL: &url.URL{Host: "charts.example"}})
	require.NoError(t, err)
	assert.Equal(t, squid, u)
	assert.True(t, p.Used)
	_, _ = p.For(&http.Request{URL: &url.URL{Host: "direct.example"}})
	assert.True(t, p.Used, "once used, said")
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	op := func(e error) error {
		return &url.Error{Op: "Get", URL: "https://user:secret@x/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}}
	}
	for want, err := range map[Failure]error{
		UnknownAuthority:   fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}),
		WrongName:          x509.HostnameError{Host: "x"},
		Expired:            x509.CertificateInvalidError{Reason: x509.Expired},
		InvalidCertificate: x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign},
		Timeout:            &url.Error{Op: "Get", URL: "https://x/", Err: timeoutErr{}},
		Refused:            op(syscall.ECONNREFUSED),
		Unreachable:        op(syscall.EHOSTUNREACH),
		Reset:              op(syscall.ECONNRESET),
		NotFound:           &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x"}},
		Other:              errors.New("EOF"),
	} {
		assert.Equal(t, want, Classify(err), "%v", err)
	}
	assert.Equal(t, Unreachable, Classify(op(syscall.ENETUNREACH)))
	assert.True(t, AtProxy(&url.Error{Err: &net.OpError{Op: "proxyconnect", Err: syscall.ECONNREFUSED}}))
	assert.False(t, AtProxy(op(syscall.ECONNREFUSED)))
}

func TestUnreached(t *testing.T) {
	assert.Equal(t, "cannot reach the model's proxy (connection refused)", Unreached(Refused, "the model's proxy"))
	assert.Equal(t, "cannot reach 10.0.0.1:6443 (no route to host)", Unreached(Unreachable, "10.0.0.1:6443"))
	assert.Equal(t, "10.0.0.1:6443 reset the connection", Unreached(Reset, "10.0.0.1:6443"))
	assert.Empty(t, Unreached(NotFound, "x"))
}
