// Package outside is the world outside a unit that the unit reaches only
// through the model's proxy: a forward proxy (HTTP CONNECT and plain HTTP)
// and an HTTPS helm chart repository behind it.
//
// A box has only loopback and an empty resolv.conf, so nothing there
// resolves a host name. The chart repository is served under a host name
// (DefaultRepoHost) that only the proxy resolves, to the repository's
// loopback listener: a client that goes through the proxy fetches the
// index, the same client without it cannot even look the name up. That is
// the shape of a proxied cloud: the unit's own resolver and routes do not
// reach the chart repository, the proxy does.
package outside

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultProxyListen is where the serve command's proxy listens unless told
// otherwise: the port squid listens on, on loopback.
const DefaultProxyListen = "127.0.0.1:3128"

// ProxyRequest is one request the proxy was sent, as recorded. It never
// holds credentials: only whether the client presented any.
type ProxyRequest struct {
	Time time.Time `json:"time"`
	// Method is CONNECT for a tunnel, the request's method otherwise.
	Method string `json:"method"`
	// Target is the host:port asked for (port 80 or 443 filled in).
	Target string `json:"target"`
	// Status is what the proxy answered: 200 for an established tunnel, the
	// upstream's status for plain HTTP, or the proxy's own error.
	Status int `json:"status"`
	// Authenticated says the request carried Proxy-Authorization.
	Authenticated bool `json:"authenticated,omitempty"`
}

// Line is the request as "METHOD host:port".
func (r ProxyRequest) Line() string { return r.Method + " " + r.Target }

// ProxyOptions say how a Proxy serves.
type ProxyOptions struct {
	// Listen is the address to listen on; "" is 127.0.0.1:0.
	Listen string
	// Hosts maps a host:port clients ask for to the address the proxy
	// connects to instead: its private resolver. Targets not in it are
	// dialled as asked (resolved by the system, which in a box resolves
	// nothing).
	Hosts map[string]string
	// User and Password, when User is set, are the credentials every
	// request must carry in Proxy-Authorization (basic); others get 407.
	User, Password string
	// RequestsFile, when set, gets one JSON line (a ProxyRequest) per
	// request, appended as it is answered.
	RequestsFile string
	// Log, when set, gets the HTTP server's own errors.
	Log io.Writer
}

// Proxy is a running forward proxy.
type Proxy struct {
	opts  ProxyOptions
	ln    net.Listener
	srv   *http.Server
	done  chan struct{}
	err   error
	dial  net.Dialer
	plain *http.Transport

	mu       sync.Mutex
	requests []ProxyRequest
	file     *os.File
}

// StartProxy serves a forward proxy until Close.
func StartProxy(opts ProxyOptions) (*Proxy, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	p := &Proxy{opts: opts, done: make(chan struct{}), dial: net.Dialer{Timeout: 10 * time.Second}}
	if opts.RequestsFile != "" {
		f, err := os.OpenFile(opts.RequestsFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("cannot open the proxy's request log: %w", err)
		}
		p.file = f
	}
	p.plain = &http.Transport{
		Proxy:                 nil,
		DialContext:           p.dialTarget,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		if p.file != nil {
			p.file.Close()
		}
		return nil, fmt.Errorf("cannot listen: %w", err)
	}
	p.ln = ln
	errorLog := io.Discard
	if opts.Log != nil {
		errorLog = opts.Log
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(errorLog, "outside proxy: ", 0),
	}
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			p.err = err
		}
	}()
	return p, nil
}

// URL is the proxy's URL, http://HOST:PORT, as a client's HTTPS_PROXY names
// it (without credentials).
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Requests returns what the proxy was asked, oldest first.
func (p *Proxy) Requests() []ProxyRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProxyRequest(nil), p.requests...)
}

// Close stops serving at once, tunnels included.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	<-p.done
	p.plain.CloseIdleConnections()
	if p.file != nil {
		p.file.Close()
	}
	return err
}

// Done is closed when the proxy has stopped; Err then says why, if it was
// not Close.
func (p *Proxy) Done() <-chan struct{} { return p.done }

// Err is the error serving stopped with, once Done is closed.
func (p *Proxy) Err() error { return p.err }

func (p *Proxy) record(r ProxyRequest) {
	r.Time = time.Now().UTC()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, r)
	if p.file != nil {
		line, _ := json.Marshal(r)
		_, _ = p.file.Write(append(line, '\n'))
	}
}

// dialTarget connects to addr, or to where Hosts maps it.
func (p *Proxy) dialTarget(ctx context.Context, network, addr string) (net.Conn, error) {
	if to, ok := p.opts.Hosts[strings.ToLower(addr)]; ok {
		addr = to
	}
	return p.dial.DialContext(ctx, network, addr)
}

// authorized checks Proxy-Authorization when the proxy wants credentials.
func (p *Proxy) authorized(r *http.Request) (ok, presented bool) {
	h := r.Header.Get("Proxy-Authorization")
	presented = h != ""
	if p.opts.User == "" {
		return true, presented
	}
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "basic") {
		return false, presented
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false, presented
	}
	want := p.opts.User + ":" + p.opts.Password
	return subtle.ConstantTimeCompare(raw, []byte(want)) == 1, presented
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := ProxyRequest{Method: r.Method}
	if r.Method == http.MethodConnect {
		rec.Target = withPort(r.Host, "443")
	} else {
		rec.Target = withPort(r.URL.Host, defaultPort(r.URL.Scheme))
	}
	ok, presented := p.authorized(r)
	rec.Authenticated = presented
	switch {
	case !ok:
		w.Header().Set("Proxy-Authenticate", `Basic realm="outside"`)
		rec.Status = http.StatusProxyAuthRequired
		http.Error(w, "proxy authentication required", rec.Status)
	case r.Method == http.MethodConnect:
		rec.Status = p.tunnel(w, r, rec.Target)
	case r.URL.Host == "" || (r.URL.Scheme != "http"):
		// A request for the proxy itself, or https:// without CONNECT.
		rec.Status = http.StatusBadRequest
		http.Error(w, "a forward proxy: send absolute http:// URLs or CONNECT", rec.Status)
	default:
		rec.Status = p.forward(w, r, rec.Target)
	}
	p.record(rec)
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func withPort(host, port string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return strings.ToLower(host)
	}
	return net.JoinHostPort(strings.ToLower(strings.Trim(host, "[]")), port)
}

// tunnel connects to target and splices the client's connection to it.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request, target string) int {
	upstream, err := p.dialTarget(r.Context(), "tcp", target)
	if err != nil {
		http.Error(w, "cannot connect to "+target, http.StatusBadGateway)
		return http.StatusBadGateway
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return http.StatusInternalServerError
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		upstream.Close()
		return http.StatusOK
	}
	go func() {
		defer client.Close()
		defer upstream.Close()
		done := make(chan struct{}, 2)
		go func() {
			// Bytes the client sent after its CONNECT request, already
			// buffered by the server, go first.
			if n := buf.Reader.Buffered(); n > 0 {
				pending, _ := buf.Reader.Peek(n)
				_, _ = upstream.Write(pending)
			}
			_, _ = io.Copy(upstream, client)
			if c, ok := upstream.(*net.TCPConn); ok {
				_ = c.CloseWrite()
			}
			done <- struct{}{}
		}()
		go func() {
			_, _ = io.Copy(client, upstream)
			if c, ok := client.(*net.TCPConn); ok {
				_ = c.CloseWrite()
			}
			done <- struct{}{}
		}()
		<-done
		<-done
	}()
	return http.StatusOK
}

// hopByHop are the headers a proxy must not forward (RFC 9110 7.6.1), and
// the proxy's own.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends a plain HTTP request on and copies the answer back.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, target string) int {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.plain.RoundTrip(out)
	if err != nil {
		http.Error(w, "cannot reach "+target, http.StatusBadGateway)
		return http.StatusBadGateway
	}
	defer resp.Body.Close()
	for _, h := range hopByHop {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	return resp.StatusCode
}

// ReadProxyRequests reads a proxy's RequestsFile.
func ReadProxyRequests(path string) ([]ProxyRequest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []ProxyRequest
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r ProxyRequest
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
