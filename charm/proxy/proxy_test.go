package proxy

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNoProxy(t *testing.T) {
	for _, tc := range []struct {
		noProxy, host string
		viaProxy      bool
	}{
		{"", "api.example.com:6443", true},
		{"", "127.0.0.1:6443", false},
		{"", "localhost:6443", false},
		{"", "[::1]:6443", false},
		// As httpproxy: only localhost itself, and a host as written.
		{"", "api.localhost:6443", true},
		{"example.com", "api.example.com.:6443", true},
		{"*", "api.example.com:6443", false},
		{"example.com", "api.example.com:6443", false},
		{"example.com", "example.com:6443", false},
		{"example.com", "badexample.com:6443", true},
		{".example.com", "example.com:6443", true},
		{".example.com", "api.example.com:6443", false},
		{"*.example.com", "api.example.com:6443", false},
		{"*.example.com", "example.com:6443", true},
		{"EXAMPLE.com", "API.example.COM:6443", false},
		{"example.com:443", "api.example.com:6443", true},
		{"example.com:6443", "api.example.com:6443", false},
		{"10.0.0.0/8", "10.1.2.3:6443", false},
		{"10.0.0.0/8", "192.168.1.1:6443", true},
		{"10.0.0.0/8", "ten.example:6443", true},
		{"192.168.1.1", "192.168.1.1:6443", false},
		{"192.168.1.1:443", "192.168.1.1:6443", true},
		{"[2001:db8::1]:6443", "[2001:db8::1]:6443", false},
		{":6443", "api.example.com:6443", true},
		{" foo.internal , 10.0.0.0/8 ,,", "api.foo.internal:6443", false},
	} {
		p, err := New(Settings{HTTPS: "http://proxy.example.com:3128", NoProxy: tc.noProxy})
		require.NoError(t, err)
		via := p.URLFor(&url.URL{Scheme: "https", Host: tc.host}) != nil
		assert.Equal(t, tc.viaProxy, via, "NO_PROXY=%q host %s", tc.noProxy, tc.host)
	}
}

func TestSchemes(t *testing.T) {
	p, err := New(Settings{HTTP: "http://web:3128", HTTPS: "squid.internal:3128", NoProxy: "*.svc:8443"})
	require.NoError(t, err)
	use := func(rawURL string) string {
		u, err := url.Parse(rawURL)
		require.NoError(t, err)
		via, err := p.Func(&http.Request{URL: u})
		require.NoError(t, err)
		if via == nil {
			return "direct"
		}
		return via.String()
	}
	assert.Equal(t, "http://squid.internal:3128", use("https://pypi.org/simple/"), "a bare host:port is an http proxy")
	assert.Equal(t, "http://web:3128", use("http://keystone:5000/v3"))
	assert.Equal(t, "direct", use("https://x.svc:8443/"))
	assert.Equal(t, "http://squid.internal:3128", use("https://x.svc/"), "the port must match (443 by default)")

	only, err := New(Settings{HTTPS: "http://squid:3128"})
	require.NoError(t, err)
	assert.Nil(t, only.URLFor(&url.URL{Scheme: "http", Host: "keystone:5000"}), "no fallback from http to the https proxy")

	none, err := New(Settings{})
	require.NoError(t, err)
	assert.Nil(t, none.URLFor(&url.URL{Scheme: "https", Host: "pypi.org"}))
}

func TestBadProxyIsNamedNotQuoted(t *testing.T) {
	_, err := New(Settings{HTTPS: "http://user:secret@%zz"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "JUJU_CHARM_HTTPS_PROXY")
	assert.NotContains(t, err.Error(), "secret")
	_, err = New(Settings{HTTP: "http://user:secret@%zz"})
	assert.ErrorContains(t, err, "JUJU_CHARM_HTTP_PROXY")
}
