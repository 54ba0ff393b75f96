package outside_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/outside"
)

// world starts a repository and a proxy that maps its name to it.
func world(t *testing.T, popts outside.ProxyOptions) (*outside.Repo, *outside.Proxy) {
	t.Helper()
	repo, err := outside.StartRepo(outside.RepoOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { repo.Close() })
	if popts.Hosts == nil {
		popts.Hosts = map[string]string{}
	}
	popts.Hosts[repo.HostPort()] = repo.Addr()
	proxy, err := outside.StartProxy(popts)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	return repo, proxy
}

func client(t *testing.T, caPEM []byte, proxyURL string) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	if proxyURL != "" {
		u, err := url.Parse(proxyURL)
		require.NoError(t, err)
		tr.Proxy = http.ProxyURL(u)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) []byte {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, u)
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return data
}

// Through the proxy the index lists every version newest first, and each
// archive is a chart whose sha256 is the index's digest.
func TestRepositoryThroughTheProxy(t *testing.T) {
	log := filepath.Join(t.TempDir(), "requests.jsonl")
	repo, proxy := world(t, outside.ProxyOptions{RequestsFile: log})
	assert.Equal(t, "https://charts.example", repo.URL())
	c := client(t, repo.CACertPEM(), proxy.URL())

	var idx outside.Index
	require.NoError(t, yaml.Unmarshal(get(t, c, repo.URL()+"/index.yaml"), &idx))
	assert.Equal(t, "v1", idx.APIVersion)
	entries := idx.Entries[outside.DefaultChart]
	var versions []string
	for _, e := range entries {
		versions = append(versions, e.Version)
		require.Len(t, e.URLs, 1)
		assert.Equal(t, "https://charts.example/openstack-cluster-"+e.Version+".tgz", e.URLs[0])
		data := get(t, c, e.URLs[0])
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), e.Digest, "digest of %s", e.Version)
		chart := chartYAML(t, data)
		assert.Equal(t, outside.DefaultChart, chart["name"])
		assert.Equal(t, e.Version, chart["version"])
		assert.Equal(t, "v2", chart["apiVersion"])
	}
	assert.Equal(t, []string{"0.23.0", "0.16.0", "0.10.1"}, versions)

	// One tunnel carried every request; the log file says the same.
	lines := func(rs []outside.ProxyRequest) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Line())
		}
		return out
	}
	assert.Equal(t, []string{"CONNECT charts.example:443"}, lines(proxy.Requests()))
	fromFile, err := outside.ReadProxyRequests(log)
	require.NoError(t, err)
	assert.Equal(t, []string{"CONNECT charts.example:443"}, lines(fromFile))
	assert.Equal(t, http.StatusOK, fromFile[0].Status)
	assert.Equal(t, []string{"/index.yaml", "/openstack-cluster-0.23.0.tgz", "/openstack-cluster-0.16.0.tgz",
		"/openstack-cluster-0.10.1.tgz"}, repo.Paths())
}

// chartYAML reads NAME/Chart.yaml from a chart archive.
func chartYAML(t *testing.T, tgz []byte) map[string]any {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		require.NoError(t, err, "no Chart.yaml")
		if filepath.Base(hdr.Name) == "Chart.yaml" {
			data, err := io.ReadAll(tr)
			require.NoError(t, err)
			var out map[string]any
			require.NoError(t, yaml.Unmarshal(data, &out))
			return out
		}
	}
}

// The archives are the same bytes on every build, so a repository that
// restarts serves the digests it served before.
func TestArchivesAreReproducible(t *testing.T) {
	a, err := outside.Archive("openstack-cluster", "0.16.0")
	require.NoError(t, err)
	b, err := outside.Archive("openstack-cluster", "0.16.0")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	_, err = outside.Archive("openstack-cluster", "latest")
	assert.Error(t, err)
}

// Without the proxy the repository's name does not resolve: the fetch
// fails before any connection.
func TestWithoutTheProxyTheNameDoesNotResolve(t *testing.T) {
	repo, proxy := world(t, outside.ProxyOptions{})
	_, err := client(t, repo.CACertPEM(), "").Get(repo.URL() + "/index.yaml")
	require.Error(t, err)
	_, isDNS := errors.AsType[*net.DNSError](err)
	assert.True(t, isDNS, "want a DNS error, got %v", err)
	assert.Empty(t, proxy.Requests())
	assert.Empty(t, repo.Paths())
}

// Plain HTTP is forwarded and recorded with the target's host:port.
func TestPlainHTTPIsForwarded(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Empty(t, r.Header.Get("Proxy-Authorization"), "the proxy's credentials must not travel on")
		_, _ = io.WriteString(w, "hello "+r.URL.Path)
	}))
	defer upstream.Close()
	_, proxy := world(t, outside.ProxyOptions{User: "u", Password: "p"})
	withCreds := "http://u:p@" + proxy.Addr()
	c := client(t, unusedCA(t), withCreds)
	assert.Equal(t, "hello /x", string(get(t, c, upstream.URL+"/x")))
	reqs := proxy.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "GET "+upstream.Listener.Addr().String(), reqs[0].Line())
	assert.True(t, reqs[0].Authenticated)
}

// unusedCA is a CA no server here uses: plain HTTP needs none.
func unusedCA(t *testing.T) []byte {
	ca, err := outside.NewCA(time.Now())
	require.NoError(t, err)
	return ca.CertPEM
}

// A proxy that wants credentials refuses a tunnel without them (407) and
// records that no credentials came; with them the tunnel works.
func TestProxyCredentials(t *testing.T) {
	repo, proxy := world(t, outside.ProxyOptions{User: "capi", Password: "s3cret"})
	_, err := client(t, repo.CACertPEM(), proxy.URL()).Get(repo.URL() + "/index.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Proxy Authentication Required")
	get(t, client(t, repo.CACertPEM(), "http://capi:s3cret@"+proxy.Addr()), repo.URL()+"/index.yaml")
	reqs := proxy.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, http.StatusProxyAuthRequired, reqs[0].Status)
	assert.False(t, reqs[0].Authenticated)
	assert.Equal(t, http.StatusOK, reqs[1].Status)
	assert.True(t, reqs[1].Authenticated)
}

// A tunnel to a name nobody maps fails with 502 (the box resolves nothing).
func TestUnknownTargetIsABadGateway(t *testing.T) {
	_, proxy := world(t, outside.ProxyOptions{})
	_, err := client(t, unusedCA(t), proxy.URL()).Get("https://nowhere.example/index.yaml")
	require.Error(t, err)
	reqs := proxy.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "CONNECT nowhere.example:443", reqs[0].Line())
	assert.Equal(t, http.StatusBadGateway, reqs[0].Status)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The serve command writes outside.json while it serves, keeps its CA, and
// SIGUSR1/SIGUSR2 take the repository down and up.
func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- outside.Main(ctx, []string{"serve", "--state-dir", dir, "--proxy-listen", "127.0.0.1:0",
			"--repo-listen", "127.0.0.1:0", "--chart", "openstack-cluster=0.10.1,0.23.0", "--chart", "other=1.0.0"}, io.Discard, stderr)
	}()
	connPath := filepath.Join(dir, outside.ConnectionFile)
	var conn outside.Connection
	require.Eventually(t, func() bool {
		var err error
		conn, err = outside.ReadConnection(connPath)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "outside.json never appeared: %s", stderr)
	caPEM, err := os.ReadFile(conn.CAFile)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, outside.RequestsFile), conn.RequestsFile)

	c := client(t, caPEM, conn.ProxyURL)
	var idx outside.Index
	require.NoError(t, yaml.Unmarshal(get(t, c, conn.RepoURL+"/index.yaml"), &idx))
	assert.Len(t, idx.Entries["openstack-cluster"], 2)
	assert.Len(t, idx.Entries["other"], 1)

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	require.Eventually(t, func() bool {
		resp, err := c.Get(conn.RepoURL + "/index.yaml")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR2))
	require.Eventually(t, func() bool {
		resp, err := c.Get(conn.RepoURL + "/index.yaml")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)

	reqs, err := outside.ReadProxyRequests(conn.RequestsFile)
	require.NoError(t, err)
	require.NotEmpty(t, reqs)
	assert.Equal(t, "CONNECT charts.example:443", reqs[0].Line())

	cancel()
	assert.Equal(t, 0, <-code)
	_, err = os.Stat(connPath)
	assert.True(t, os.IsNotExist(err), "outside.json must go when serving stops")
	_, err = os.Stat(filepath.Join(dir, outside.CAKeyFile))
	assert.NoError(t, err, "the CA is kept for the next start")
}

func TestServeUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, outside.Main(context.Background(), nil, &out, &errOut))
	assert.Equal(t, 2, outside.Main(context.Background(), []string{"serve"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "--state-dir is required")
	assert.Equal(t, 2, outside.Main(context.Background(), []string{"serve", "--state-dir", t.TempDir(), "--chart", "x=latest"}, &out, &errOut))
	assert.Equal(t, 2, outside.Main(context.Background(), []string{"serve", "--state-dir", t.TempDir(), "--proxy-auth", "nopassword"}, &out, &errOut))
}
