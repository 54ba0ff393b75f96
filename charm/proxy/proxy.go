// Package proxy decides which of the charm's connections go through the
// model's proxy: the preflight of the management cluster, the package
// index the driver wheel comes from, and the smoke test's cloud calls.
//
// Juju hands a charm the model's juju-http-proxy, juju-https-proxy and
// juju-no-proxy as JUJU_CHARM_HTTP_PROXY, JUJU_CHARM_HTTPS_PROXY and
// JUJU_CHARM_NO_PROXY (juju/juju internal/worker/uniter/runner/context,
// HookContext.HookVars); the standard variables a process may carry are
// not the model's word, so http.ProxyFromEnvironment is never used.
//
// The rules are those of golang.org/x/net/http/httpproxy (which net/http's
// ProxyFromEnvironment uses), followed function by function without its
// dependencies (its idna tables): Config.proxyForURL picks the proxy by
// scheme, with no fallback from https to http; config.useProxy sends
// "localhost" and loopback addresses direct, and compares the lower-cased
// host with each NO_PROXY entry; config.init parses NO_PROXY: "*" matches
// everything, a CIDR range the addresses in it, an IP address (with an
// optional port) itself, and a domain name (with an optional port)
// "example.com" itself and its subdomains, ".example.com" and
// "*.example.com" only its subdomains. Like httpproxy, a host is compared
// as written: no trailing dot is dropped, and only "localhost" itself is
// local (a name under .localhost is matched like any other). Unlike
// httpproxy, a non-ASCII host is not converted to punycode first.
package proxy

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Settings are the model's proxy settings.
type Settings struct {
	HTTP, HTTPS, NoProxy string
}

// FromJuju reads the settings Juju gives a hook (getenv is os.Getenv).
func FromJuju(getenv func(string) string) Settings {
	return Settings{
		HTTP:    getenv("JUJU_CHARM_HTTP_PROXY"),
		HTTPS:   getenv("JUJU_CHARM_HTTPS_PROXY"),
		NoProxy: getenv("JUJU_CHARM_NO_PROXY"),
	}
}

// Set reports whether the settings name a proxy (NO_PROXY alone names
// none).
func (s Settings) Set() bool {
	return strings.TrimSpace(s.HTTP) != "" || strings.TrimSpace(s.HTTPS) != ""
}

// Proxy is the settings parsed.
type Proxy struct {
	http, https *url.URL
	noProxy     []match
}

// match is one NO_PROXY entry.
type match struct {
	all     bool
	network *net.IPNet
	ip      net.IP
	// domain is lower case with a leading dot; bare says the domain
	// without its dot matches too.
	domain string
	bare   bool
	port   string
}

// New parses the settings. Its errors name the setting, never its value:
// a proxy URL may carry a user name and password.
func New(s Settings) (*Proxy, error) {
	p := &Proxy{noProxy: parseNoProxy(s.NoProxy)}
	var err error
	if p.http, err = parseURL(s.HTTP); err != nil {
		return nil, errors.New("JUJU_CHARM_HTTP_PROXY is not a valid proxy URL")
	}
	if p.https, err = parseURL(s.HTTPS); err != nil {
		return nil, errors.New("JUJU_CHARM_HTTPS_PROXY is not a valid proxy URL")
	}
	return p, nil
}

// parseURL is httpproxy's parseProxy: a value without a scheme is an http
// proxy's host:port.
func parseURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
		if u, err = url.Parse("http://" + s); err != nil || u.Host == "" {
			return nil, errors.New("invalid proxy URL")
		}
	}
	return u, nil
}

// parseNoProxy is httpproxy's config.init for NO_PROXY.
func parseNoProxy(noProxy string) []match {
	var ms []match
	for _, field := range strings.Split(noProxy, ",") {
		field = strings.ToLower(strings.TrimSpace(field))
		if field == "" {
			continue
		}
		if field == "*" {
			return []match{{all: true}}
		}
		if _, network, err := net.ParseCIDR(field); err == nil {
			ms = append(ms, match{network: network})
			continue
		}
		host, port := field, ""
		if h, p, err := net.SplitHostPort(field); err == nil {
			host, port = h, p
			if host == "" {
				continue // no host part: malformed
			}
			host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
		if ip := net.ParseIP(host); ip != nil {
			ms = append(ms, match{ip: ip, port: port})
			continue
		}
		m := match{port: port}
		host = strings.TrimPrefix(host, "*")
		if strings.HasPrefix(host, ".") {
			m.domain = host
		} else {
			m.domain, m.bare = "."+host, true
		}
		ms = append(ms, m)
	}
	return ms
}

// URLFor returns the proxy a request to u goes through, or nil for a
// direct connection.
func (p *Proxy) URLFor(u *url.URL) *url.URL {
	via, port := p.https, "443"
	if u.Scheme == "http" {
		via, port = p.http, "80"
	}
	if via == nil {
		return nil
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if !p.use(u.Hostname(), port) {
		return nil
	}
	return via
}

// Func is an http.Transport's Proxy function.
func (p *Proxy) Func(req *http.Request) (*url.URL, error) {
	return p.URLFor(req.URL), nil
}

// use is httpproxy's config.useProxy.
func (p *Proxy) use(host, port string) bool {
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return false
	}
	host = strings.ToLower(strings.TrimSpace(host))
	for _, m := range p.noProxy {
		switch {
		case m.all:
			return false
		case m.network != nil:
			if ip != nil && m.network.Contains(ip) {
				return false
			}
		case m.ip != nil:
			if ip != nil && m.ip.Equal(ip) && (m.port == "" || m.port == port) {
				return false
			}
		case strings.HasSuffix(host, m.domain) || (m.bare && host == m.domain[1:]):
			if m.port == "" || m.port == port {
				return false
			}
		}
	}
	return true
}
