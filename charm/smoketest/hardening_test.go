package smoketest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProxyIsTheModels: the smoke test reaches the cloud through the
// model's proxy (JUJU_CHARM_HTTPS_PROXY, JUJU_CHARM_HTTP_PROXY,
// JUJU_CHARM_NO_PROXY), never through whatever proxy variables the
// action's process happens to carry.
func TestProxyIsTheModels(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://process-proxy.invalid:1")
	t.Setenv("HTTP_PROXY", "http://process-proxy.invalid:1")
	t.Setenv("NO_PROXY", "")
	t.Setenv("JUJU_CHARM_HTTPS_PROXY", "http://model-proxy.invalid:3128")
	t.Setenv("JUJU_CHARM_HTTP_PROXY", "http://model-http-proxy.invalid:3128")
	t.Setenv("JUJU_CHARM_NO_PROXY", "10.0.0.0/8,.internal.example")
	tr, err := newTransport(Credentials{})
	require.NoError(t, err)
	proxyFor := func(raw string) string {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		p, err := tr.Proxy(&http.Request{URL: u})
		require.NoError(t, err)
		if p == nil {
			return "direct"
		}
		return p.String()
	}
	assert.Equal(t, "http://model-proxy.invalid:3128", proxyFor("https://keystone.example:5000/v3"))
	assert.Equal(t, "http://model-http-proxy.invalid:3128", proxyFor("http://keystone.example:5000/v3"))
	assert.Equal(t, "direct", proxyFor("https://10.1.2.3:5000/v3"))
	assert.Equal(t, "direct", proxyFor("https://keystone.internal.example:5000/v3"))

	t.Setenv("JUJU_CHARM_HTTPS_PROXY", "")
	t.Setenv("JUJU_CHARM_HTTP_PROXY", "")
	tr, err = newTransport(Credentials{})
	require.NoError(t, err)
	assert.Equal(t, "direct", proxyFor("https://keystone.example:5000/v3"), "no model proxy: direct, whatever the process says")
}

// TestPlainHTTPAuthURLNeedsConsent: a plain-http auth-url would send the
// password in clear, so it is refused unless the credentials secret says
// allow-plain-http=true (a cloud without TLS on Keystone, knowingly).
func TestPlainHTTPAuthURLNeedsConsent(t *testing.T) {
	content := map[string]string{
		"auth-url": "http://keystone.example:5000/v3", "username": "u", "password": "p", "project-name": "p",
		"user-domain-name": "d", "project-domain-name": "d",
	}
	_, err := CredentialsFromSecret(content)
	assert.EqualError(t, err, "credentials secret: auth-url http://keystone.example:5000/v3 is plain http, which would send the password in clear: use https, or add allow-plain-http=true to the credentials secret")
	content["allow-plain-http"] = "true"
	c, err := CredentialsFromSecret(content)
	require.NoError(t, err)
	assert.Equal(t, "http://keystone.example:5000/v3", c.AuthURL)
	content["allow-plain-http"] = "yes please"
	_, err = CredentialsFromSecret(content)
	assert.EqualError(t, err, `credentials secret: allow-plain-http must be "true" or "false"`)
}

// TestAuthURLCredentialsAreRedacted: an auth-url with user:password@ never
// appears whole in what the smoke test says.
func TestAuthURLCredentialsAreRedacted(t *testing.T) {
	c := Credentials{AuthURL: "https://admin:hunter2@keystone.example:5000/v3", Username: "u"}
	assert.NotContains(t, c.String(), "hunter2")
	c.AuthURL = "ftp://admin:hunter2@keystone.example/"
	assert.NotContains(t, c.Validate().Error(), "hunter2")
}
