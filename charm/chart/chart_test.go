package chart_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/chart"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/outside"
)

func ptr(s string) *string { return &s }

// world is the test bed's outside world, in process: a chart repository
// (openstack-cluster 0.10.1, 0.16.0, 0.23.0 unless charts say otherwise)
// at https://charts.example, which only the proxy resolves.
type world struct {
	repo  *outside.Repo
	proxy *outside.Proxy
	roots *x509.CertPool
}

func newWorld(t *testing.T, charts ...outside.Chart) *world {
	t.Helper()
	repo, err := outside.StartRepo(outside.RepoOptions{Charts: charts})
	require.NoError(t, err)
	t.Cleanup(func() { repo.Close() })
	proxy, err := outside.StartProxy(outside.ProxyOptions{Hosts: map[string]string{repo.HostPort(): repo.Addr()}})
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(repo.CACertPEM()))
	return &world{repo: repo, proxy: proxy, roots: roots}
}

// request is what the reconcile would ask with the model's proxy set as
// JUJU_CHARM_HTTPS_PROXY.
func (w *world) request(version *string) chart.Request {
	parsed, err := proxy.New(proxy.Settings{HTTPS: w.proxy.URL()})
	if err != nil {
		panic(err)
	}
	return chart.Request{Repo: ptr(w.repo.URL()), Version: version, DriverVersion: "1.4.0", Proxy: parsed.Func, RootCAs: w.roots}
}

func TestVersionPresent(t *testing.T) {
	w := newWorld(t)
	r := chart.Check(context.Background(), w.request(ptr("0.16.0")))
	assert.Equal(t, chart.Result{State: chart.Present, Repo: "https://charts.example", Name: "openstack-cluster",
		Version: "0.16.0", Resolved: "0.16.0", Newest: "0.23.0",
		Evidence: "https://charts.example serves openstack-cluster 0.16.0 (newest 0.23.0), through the model's proxy"}, r)
	var lines []string
	for _, req := range w.proxy.Requests() {
		lines = append(lines, req.Line())
	}
	assert.Equal(t, []string{"CONNECT charts.example:443"}, lines)
	assert.Equal(t, []string{"/index.yaml"}, w.repo.Paths())
}

func TestVersionMissing(t *testing.T) {
	w := newWorld(t)
	r := chart.Check(context.Background(), w.request(ptr("0.99.0")))
	assert.Equal(t, chart.Missing, r.State)
	assert.Equal(t, "chart: https://charts.example serves no openstack-cluster 0.99.0 (newest 0.23.0)", r.Problem)
	assert.Equal(t, r.Problem, r.Evidence)

	req := w.request(ptr("0.16.0"))
	req.Name = ptr("other-cluster")
	r = chart.Check(context.Background(), req)
	assert.Equal(t, chart.Missing, r.State)
	assert.Equal(t, "chart: https://charts.example serves no chart other-cluster", r.Problem)
}

// Unset, the driver's own default is what it asks for; the warning names it
// and the repository's newest.
func TestUnsetVersion(t *testing.T) {
	w := newWorld(t)
	r := chart.Check(context.Background(), w.request(nil))
	assert.Equal(t, chart.Present, r.State)
	assert.True(t, r.DriverDefault)
	assert.Equal(t, "0.10.1", r.Version)
	assert.Equal(t, "chart: default-helm-chart-version unset, so driver 1.4.0 uses openstack-cluster 0.10.1, its own default; "+
		"https://charts.example serves up to 0.23.0", r.Warning)

	// A repository without the default: missing, and the warning still
	// says what would work.
	w = newWorld(t, outside.Chart{Name: "openstack-cluster", Versions: []string{"0.20.0", "0.23.0", "0.24.0-rc.1"}})
	r = chart.Check(context.Background(), w.request(nil))
	assert.Equal(t, chart.Missing, r.State)
	assert.Equal(t, "chart: https://charts.example serves no openstack-cluster 0.10.1 (newest 0.23.0)", r.Problem)
	assert.Equal(t, "chart: default-helm-chart-version unset, so driver 1.4.0 uses openstack-cluster 0.10.1, its own default; "+
		"https://charts.example serves up to 0.23.0", r.Warning, "a pre-release is not the newest")
}

// The version goes through the driver's filter, then helm's rule: the
// exact version, else the newest satisfying it.
func TestVersionAsTheDriverAndHelmReadIt(t *testing.T) {
	w := newWorld(t, outside.Chart{Name: "openstack-cluster", Versions: []string{"0.16.0", "0.16.2", "0.23.0"}})
	for _, tc := range []struct{ set, version, resolved string }{
		{"0.16.2", "0.16.2", "0.16.2"},
		{" 0.16.0\n", "0.16.0", "0.16.0"},
		{"0.16", "0.16", "0.16.2"},
		{"~0.16.0", "0.16.0", "0.16.0"},
	} {
		r := chart.Check(context.Background(), w.request(ptr(tc.set)))
		assert.Equal(t, chart.Present, r.State, "%q: %s", tc.set, r.Problem)
		assert.Equal(t, tc.version, r.Version, "%q", tc.set)
		assert.Equal(t, tc.resolved, r.Resolved, "%q", tc.set)
	}
}

func TestUnreachable(t *testing.T) {
	w := newWorld(t)
	w.repo.SetStatus(http.StatusServiceUnavailable)
	r := chart.Check(context.Background(), w.request(ptr("0.16.0")))
	assert.Equal(t, chart.Unreachable, r.State)
	assert.Equal(t, "chart: https://charts.example/index.yaml answered HTTP 503", r.Problem)

	// Without the proxy the name does not resolve.
	req := w.request(ptr("0.16.0"))
	req.Proxy = nil
	r = chart.Check(context.Background(), req)
	assert.Equal(t, chart.Unreachable, r.State)
	assert.Equal(t, "chart: cannot reach https://charts.example (host not found; no model proxy is set)", r.Problem)

	// The proxy gone.
	req = w.request(ptr("0.16.0"))
	w.proxy.Close()
	r = chart.Check(context.Background(), req)
	assert.Equal(t, "chart: cannot reach the model's proxy (connection refused)", r.Problem)

	// A CA the unit does not trust.
	w = newWorld(t)
	req = w.request(ptr("0.16.0"))
	req.RootCAs = x509.NewCertPool()
	r = chart.Check(context.Background(), req)
	assert.Equal(t, "chart: https://charts.example's certificate is not signed by a CA the unit trusts", r.Problem)
}

// A repository that accepts and never answers costs the check's timeout,
// no more.
func TestSilentRepositoryIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	r := chart.Check(context.Background(), chart.Request{Repo: ptr("http://" + ln.Addr().String()), Version: ptr("1.0.0"),
		DriverVersion: "1.4.0", Timeout: 300 * time.Millisecond})
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, chart.Unreachable, r.State)
	assert.Equal(t, "chart: http://"+ln.Addr().String()+" did not answer within 300ms", r.Problem)
}

// An index over the limit is refused without being parsed; one that is
// not an index is named.
func TestBadIndexes(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat(" ", 1<<20)
		for i := 0; i <= chart.MaxIndexSize>>20; i++ {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	defer big.Close()
	r := chart.Check(context.Background(), chart.Request{Repo: ptr(big.URL), Version: ptr("1.0.0"), DriverVersion: "1.4.0"})
	assert.Equal(t, chart.Unreachable, r.State)
	assert.Equal(t, "chart: "+big.URL+"/index.yaml is larger than 16 MiB", r.Problem)

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html>not here</html>")
	}))
	defer html.Close()
	r = chart.Check(context.Background(), chart.Request{Repo: ptr(html.URL + "/"), Version: ptr("1.0.0"), DriverVersion: "1.4.0"})
	assert.Equal(t, "chart: "+html.URL+"/index.yaml is not a chart repository index", r.Problem)
}

// Credentials in the repository's URL never appear in a text.
func TestCredentialsAreHidden(t *testing.T) {
	w := newWorld(t)
	req := w.request(ptr("0.99.0"))
	u, _ := url.Parse(w.repo.URL())
	u.User = url.UserPassword("reader", "hunter2")
	req.Repo = ptr(u.String())
	r := chart.Check(context.Background(), req)
	out, _ := json.Marshal(r)
	assert.NotContains(t, string(out), "hunter2")
	assert.Contains(t, r.Problem, "https://reader:xxxxx@charts.example")
}

func TestInvalidSettings(t *testing.T) {
	for _, tc := range []struct {
		req  chart.Request
		want string
	}{
		{chart.Request{DriverVersion: "9.9.9"}, "chart: the charm does not know driver 9.9.9's default chart settings"},
		{chart.Request{DriverVersion: "1.4.0", Name: ptr("oci://ghcr.io/x/openstack-cluster")},
			"chart: helm-chart-name is an oci:// reference, so helm-chart-repo must be set to the empty string (the driver would pass --repo)"},
		{chart.Request{DriverVersion: "1.4.0", Repo: ptr("")}, "chart: helm-chart-repo is empty and helm-chart-name is not an oci:// reference"},
		{chart.Request{DriverVersion: "1.4.0", Repo: ptr("ftp://charts.example")}, "chart: helm-chart-repo is not an http(s) URL"},
	} {
		r := chart.Check(context.Background(), tc.req)
		assert.Equal(t, tc.want, r.Problem)
	}
}

// registry is an OCI registry that lists tags only with the anonymous
// token its challenge names, in pages.
func registry(t *testing.T, tags []string) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			assert.Equal(t, "repository:charts/openstack-cluster:pull", r.URL.Query().Get("scope"))
			_ = json.NewEncoder(w).Encode(map[string]string{"token": "anon"})
		case r.URL.Path == "/v2/charts/openstack-cluster/tags/list":
			if r.Header.Get("Authorization") != "Bearer anon" {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="registry",scope="repository:charts/openstack-cluster:pull"`, srv.URL))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			page := tags[:2]
			if r.URL.Query().Get("last") != "" {
				page = tags[2:]
			} else {
				w.Header().Set("Link", `</v2/charts/openstack-cluster/tags/list?last=x&n=2>; rel="next"`)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "charts/openstack-cluster", "tags": page})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOCIReference(t *testing.T) {
	srv := registry(t, []string{"0.10.1", "0.16.0", "0.23.0", "0.24.0_build.1"})
	ref := "oci://" + strings.TrimPrefix(srv.URL, "https://") + "/charts/openstack-cluster"
	req := chart.Request{Repo: ptr(""), Name: ptr(ref), Version: ptr("0.24.0+build.1"), DriverVersion: "1.4.0",
		RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	r := chart.Check(context.Background(), req)
	assert.Equal(t, chart.Present, r.State, r.Problem)
	assert.Equal(t, "0.24.0+build.1", r.Resolved)
	assert.Equal(t, "0.24.0+build.1", r.Newest)

	req.Version = ptr("0.99.0")
	r = chart.Check(context.Background(), req)
	assert.Equal(t, chart.Missing, r.State)
	assert.Equal(t, "chart: "+ref+" serves no openstack-cluster 0.99.0 (newest 0.24.0+build.1)", r.Problem)
}

func TestHistory(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	down := chart.Result{State: chart.Unreachable, Repo: "https://r", Name: "c", Version: "1.0.0", Problem: "chart: https://r/index.yaml answered HTTP 503"}
	var h chart.History
	var v chart.Verdict

	// Down for a minute, over many hooks: a warning, never blocked.
	for i := 0; i < 10; i++ {
		h, v = h.Next(down, t0.Add(time.Duration(i)*6*time.Second))
		assert.False(t, v.Block)
	}
	assert.Equal(t, "chart: https://r/index.yaml answered HTTP 503 (failing for 1m0s, 10 checks)", v.Text)
	// Down for most of an hour: still not blocked.
	h, v = h.Next(down, t0.Add(59*time.Minute))
	assert.False(t, v.Block)
	// An hour, with three checks or more: blocked.
	h, v = h.Next(down, t0.Add(61*time.Minute))
	assert.True(t, v.Block)
	assert.Equal(t, "chart: https://r/index.yaml answered HTTP 503 (failing for 1h1m0s, 12 checks)", v.Text)
	// Back: cleared.
	ok := chart.Result{State: chart.Present, Repo: "https://r", Name: "c", Version: "1.0.0"}
	h, v = h.Next(ok, t0.Add(62*time.Minute))
	assert.Equal(t, chart.Verdict{}, v)
	assert.Equal(t, chart.History{Key: "https://r|c|1.0.0"}, h)

	// Missing: a burst of hooks confirms nothing; three answers five
	// minutes apart do.
	missing := chart.Result{State: chart.Missing, Repo: "https://r", Name: "c", Version: "9.9.9", Problem: "chart: https://r serves no c 9.9.9"}
	h = chart.History{}
	for i := 0; i < 5; i++ {
		h, v = h.Next(missing, t0.Add(time.Duration(i)*time.Second))
		assert.False(t, v.Block)
	}
	assert.Equal(t, 1, h.Failures)
	h, v = h.Next(missing, t0.Add(5*time.Minute))
	assert.False(t, v.Block)
	h, v = h.Next(missing, t0.Add(10*time.Minute))
	assert.True(t, v.Block)
	assert.Equal(t, "chart: https://r serves no c 9.9.9 (failing for 10m0s, 3 checks)", v.Text)

	// Another version starts afresh.
	other := missing
	other.Version = "9.9.8"
	h, v = h.Next(other, t0.Add(11*time.Minute))
	assert.False(t, v.Block)
	assert.Equal(t, 1, h.Failures)

	// Bad settings block at once.
	_, v = chart.History{}.Next(chart.Result{State: chart.Invalid, Problem: "chart: helm-chart-repo is not an http(s) URL"}, t0)
	assert.Equal(t, chart.Verdict{Block: true, Text: "chart: helm-chart-repo is not an http(s) URL"}, v)

	// The unset-version warning rides along, never blocking.
	warn := ok
	warn.Warning = "chart: default-helm-chart-version unset"
	_, v = chart.History{}.Next(warn, t0)
	assert.Equal(t, chart.Verdict{Text: "chart: default-helm-chart-version unset"}, v)

	// The history survives the reconcile's JSON state.
	h, _ = chart.History{}.Next(down, t0)
	data, err := json.Marshal(h)
	require.NoError(t, err)
	var back chart.History
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, h, back)
}

// A hook reuses a check younger than Interval; a config change (fresh), a
// new key, or an old check runs it again, and each run counts in the
// history: a repository down for a minute is one warning, never blocked.
func TestRememberRunsChecksAtMostEveryInterval(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	down := chart.Result{State: chart.Unreachable, Repo: "https://charts.example", Name: "openstack-cluster", Version: "0.16.0",
		Problem: "chart: cannot reach https://charts.example"}
	up := down
	up.State, up.Problem, up.Resolved = chart.Present, "", "0.16.0"
	runs := 0
	result := down
	check := func() chart.Result { runs++; return result }

	rec, ran := chart.Remember(chart.Record{}, "k", t0, false, check)
	assert.True(t, ran)
	assert.False(t, rec.Verdict.Block)
	assert.Equal(t, "chart: cannot reach https://charts.example", rec.Verdict.Text)
	for _, after := range []time.Duration{time.Minute, 5 * time.Minute, 29 * time.Minute} {
		again, ran := chart.Remember(rec, "k", t0.Add(after), false, check)
		assert.False(t, ran, "after %s", after)
		assert.Equal(t, rec, again)
	}
	assert.Equal(t, 1, runs)

	// Back up a minute later: a forced check clears it.
	result = up
	rec2, ran := chart.Remember(rec, "k", t0.Add(time.Minute), true, check)
	assert.True(t, ran)
	assert.Equal(t, chart.Verdict{}, rec2.Verdict)
	assert.Equal(t, 0, rec2.History.Failures)

	// Down for good: checks every Interval; blocked only once an hour and
	// three checks have failed.
	result = down
	rec = chart.Record{}
	var blockedAt time.Duration
	for at := time.Duration(0); at <= 2*time.Hour; at += 5 * time.Minute {
		rec, _ = chart.Remember(rec, "k", t0.Add(at), false, check)
		if rec.Verdict.Block && blockedAt == 0 {
			blockedAt = at
		}
	}
	assert.Equal(t, time.Hour, blockedAt)
	assert.Contains(t, rec.Verdict.Text, "(failing for 2h0m0s, 5 checks)")

	// Another key (settings or proxy changed) checks at once.
	_, ran = chart.Remember(rec, "other", t0.Add(2*time.Hour+time.Minute), false, check)
	assert.True(t, ran)
}

// Remembered checks once, through the proxy settings given, and keeps the
// record while the request and proxy stay the same; fresh checks again.
func TestRememberedChecksOnlyWhenAskedOrChanged(t *testing.T) {
	w := newWorld(t)
	st := state.Dir(t.TempDir())
	req := chart.RequestFor(map[string]any{"helm-chart-repo": w.repo.URL(), "default-helm-chart-version": "0.16.0"}, "1.4.0")
	assert.Equal(t, chart.Request{Repo: ptr(w.repo.URL()), Version: ptr("0.16.0"), DriverVersion: "1.4.0"}, req)
	req.RootCAs = w.roots
	settings := proxy.Settings{HTTPS: w.proxy.URL()}
	rec, err := chart.Remembered(context.Background(), st, req, settings, false)
	require.NoError(t, err)
	assert.Equal(t, chart.Present, rec.Result.State)
	_, err = chart.Remembered(context.Background(), st, req, settings, false)
	require.NoError(t, err)
	assert.Len(t, w.repo.Paths(), 1, "the same request: the record answers")
	_, err = chart.Remembered(context.Background(), st, req, settings, true)
	require.NoError(t, err)
	assert.Len(t, w.repo.Paths(), 2, "fresh")
	rec, err = chart.Remembered(context.Background(), st, req, proxy.Settings{}, false)
	require.NoError(t, err)
	assert.Equal(t, chart.Unreachable, rec.Result.State, "other proxy settings: checked again, directly")
}
