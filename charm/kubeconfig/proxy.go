package kubeconfig

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// proxy decides whether a request goes through the model's https proxy.
//
// It follows the semantics of golang.org/x/net/http/httpproxy (which
// net/http's ProxyFromEnvironment uses) without reading the process
// environment: the charm gets its proxy from JUJU_CHARM_* variables, not the
// standard ones, and the module does not depend on x/net. That is: loopback
// addresses never use the proxy; NO_PROXY is a comma-separated list of "*",
// IP addresses, CIDR ranges, and domain names with an optional port, where
// "example.com" matches the domain and its subdomains and ".example.com" or
// "*.example.com" only the subdomains.
type proxy struct {
	url     *url.URL
	noProxy []noProxyEntry
}

type noProxyEntry struct {
	all       bool
	network   *net.IPNet
	ip        net.IP
	domain    string // lower case, with a leading dot
	matchBare bool   // domain without its dot matches too
	port      string
}

// newProxy parses the proxy settings. Its errors never quote the proxy URL,
// which may carry a user name and password.
func newProxy(httpsProxy, noProxy string) (*proxy, error) {
	p := &proxy{}
	httpsProxy = strings.TrimSpace(httpsProxy)
	if httpsProxy == "" {
		return p, nil
	}
	u, err := url.Parse(httpsProxy)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
		// Like httpproxy, accept a bare host:port as an http proxy.
		u, err = url.Parse("http://" + httpsProxy)
		if err != nil || u.Host == "" {
			return nil, errors.New("invalid proxy URL")
		}
	}
	p.url = u
	for _, field := range strings.Split(noProxy, ",") {
		field = strings.ToLower(strings.TrimSpace(field))
		if field == "" {
			continue
		}
		if field == "*" {
			p.noProxy = append(p.noProxy, noProxyEntry{all: true})
			continue
		}
		if _, network, err := net.ParseCIDR(field); err == nil {
			p.noProxy = append(p.noProxy, noProxyEntry{network: network})
			continue
		}
		host, port := field, ""
		if h, pt, err := net.SplitHostPort(field); err == nil {
			host, port = h, pt
		}
		if ip := net.ParseIP(host); ip != nil {
			p.noProxy = append(p.noProxy, noProxyEntry{ip: ip, port: port})
			continue
		}
		entry := noProxyEntry{port: port}
		switch {
		case strings.HasPrefix(host, "*."):
			entry.domain = host[1:]
		case strings.HasPrefix(host, "."):
			entry.domain = host
		default:
			entry.domain = "." + host
			entry.matchBare = true
		}
		p.noProxy = append(p.noProxy, entry)
	}
	return p, nil
}

// use reports whether a connection to hostport goes through the proxy.
func (p *proxy) use(hostport string) bool {
	if p.url == nil {
		return false
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "443"
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return false
	}
	for _, e := range p.noProxy {
		switch {
		case e.all:
			return false
		case e.network != nil:
			if ip != nil && e.network.Contains(ip) {
				return false
			}
		case e.ip != nil:
			if ip != nil && e.ip.Equal(ip) && (e.port == "" || e.port == port) {
				return false
			}
		case e.domain != "":
			if e.port != "" && e.port != port {
				continue
			}
			if strings.HasSuffix(host, e.domain) || (e.matchBare && host == e.domain[1:]) {
				return false
			}
		}
	}
	return true
}

// forRequest is the http.Transport Proxy function.
func (p *proxy) forRequest(req *http.Request) (*url.URL, error) {
	if !p.use(req.URL.Host) {
		return nil, nil
	}
	return p.url, nil
}

// ModelProxy is an http.Transport Proxy function for the model's proxy
// settings, as Juju hands them to a charm (JUJU_CHARM_HTTP_PROXY,
// JUJU_CHARM_HTTPS_PROXY, JUJU_CHARM_NO_PROXY), with the rules above: http
// requests go through httpProxy, https ones through httpsProxy, none
// through a proxy the process's own environment names. Its error never
// quotes a proxy URL.
func ModelProxy(httpProxy, httpsProxy, noProxy string) (func(*http.Request) (*url.URL, error), error) {
	forHTTP, err := newProxy(httpProxy, noProxy)
	if err != nil {
		return nil, errors.New("JUJU_CHARM_HTTP_PROXY is not a valid proxy URL")
	}
	forHTTPS, err := newProxy(httpsProxy, noProxy)
	if err != nil {
		return nil, errors.New("JUJU_CHARM_HTTPS_PROXY is not a valid proxy URL")
	}
	return func(req *http.Request) (*url.URL, error) {
		p, port := forHTTPS, "443"
		if req.URL.Scheme == "http" {
			p, port = forHTTP, "80"
		}
		hostport := req.URL.Host
		if req.URL.Port() == "" {
			hostport = net.JoinHostPort(req.URL.Hostname(), port)
		}
		if !p.use(hostport) {
			return nil, nil
		}
		return p.url, nil
	}, nil
}
