package driver

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIndex is a simple index serving the driver's project page (JSON or
// HTML) and its files.
type fakeIndex struct {
	srv      *httptest.Server
	files    map[string][]byte // file name -> content
	hashes   map[string]string // file name -> advertised sha256 ("" none)
	html     bool
	requests []string
}

func newFakeIndex(t *testing.T) *fakeIndex {
	t.Helper()
	ix := &fakeIndex{files: map[string][]byte{}, hashes: map[string]string{}}
	ix.srv = httptest.NewTLSServer(http.HandlerFunc(ix.serve))
	t.Cleanup(ix.srv.Close)
	return ix
}

func (ix *fakeIndex) add(name string, data []byte) {
	sum := sha256.Sum256(data)
	ix.files[name] = data
	ix.hashes[name] = hex.EncodeToString(sum[:])
}

func (ix *fakeIndex) serve(w http.ResponseWriter, r *http.Request) {
	ix.requests = append(ix.requests, r.URL.Path)
	switch {
	case r.URL.Path == "/simple/magnum-capi-helm/":
		if ix.html || !strings.Contains(r.Header.Get("Accept"), simpleJSON) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!DOCTYPE html><html><body>\n")
			for name := range ix.files {
				href := "../../files/" + name
				if h := ix.hashes[name]; h != "" {
					href += "#sha256=" + h
				}
				fmt.Fprintf(w, "<a href=\"%s\" data-requires-python=\"&gt;=3.6\">%s</a><br/>\n", href, name)
			}
			fmt.Fprint(w, "</body></html>\n")
			return
		}
		w.Header().Set("Content-Type", simpleJSON)
		var entries []string
		for name := range ix.files {
			hashes := "{}"
			if h := ix.hashes[name]; h != "" {
				hashes = fmt.Sprintf(`{"sha256": %q}`, h)
			}
			entries = append(entries, fmt.Sprintf(`{"filename": %q, "url": %q, "hashes": %s}`, name, "/files/"+name, hashes))
		}
		fmt.Fprintf(w, `{"meta": {"api-version": "1.0"}, "name": "magnum-capi-helm", "files": [%s]}`, strings.Join(entries, ","))
	case strings.HasPrefix(r.URL.Path, "/files/"):
		data, ok := ix.files[strings.TrimPrefix(r.URL.Path, "/files/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	default:
		http.NotFound(w, r)
	}
}

func fakeWheel(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("magnum_capi_helm-" + version + ".dist-info/METADATA")
	require.NoError(t, err)
	fmt.Fprintf(w, "Metadata-Version: 2.1\nName: magnum-capi-helm\nVersion: %s\n", version)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestFetchWheelJSONAndHTML(t *testing.T) {
	for _, html := range []bool{false, true} {
		t.Run(fmt.Sprintf("html=%v", html), func(t *testing.T) {
			ix := newFakeIndex(t)
			ix.html = html
			w120, w140 := fakeWheel(t, "1.2.0"), fakeWheel(t, "1.4.0")
			ix.add("magnum_capi_helm-1.2.0-py3-none-any.whl", w120)
			ix.add("magnum_capi_helm-1.4.0-py3-none-any.whl", w140)
			ix.add("magnum_capi_helm-1.4.0.tar.gz", []byte("sdist"))
			cache := filepath.Join(t.TempDir(), "wheels")

			p, temp, err := fetchWheel(context.Background(), ix.srv.Client(), ix.srv.URL+"/simple", "1.4.0", cache, false)
			require.NoError(t, err)
			assert.False(t, temp)
			assert.Equal(t, filepath.Join(cache, "magnum_capi_helm-1.4.0-py3-none-any.whl"), p)
			got, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.Equal(t, w140, got)
			fi, err := os.Stat(p)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

			// A second fetch (a reinstall after a Python upgrade) needs no
			// network: the cache answers.
			n := len(ix.requests)
			ix.srv.Close()
			p2, _, err := fetchWheel(context.Background(), ix.srv.Client(), ix.srv.URL+"/simple", "1.4.0", cache, false)
			require.NoError(t, err)
			assert.Equal(t, p, p2)
			assert.Equal(t, n, len(ix.requests))
		})
	}
}

func TestFetchWheelRefuses(t *testing.T) {
	ctx := context.Background()
	ix := newFakeIndex(t)
	good := fakeWheel(t, "1.2.0")
	ix.add("magnum_capi_helm-1.2.0-py3-none-any.whl", good)
	ix.add("magnum_capi_helm-1.3.0.tar.gz", []byte("sdist"))
	ix.add("magnum_capi_helm-1.3.0-cp313-cp313-linux_x86_64.whl", []byte("binary"))
	cache := filepath.Join(t.TempDir(), "wheels")
	url := ix.srv.URL + "/simple"

	_, _, err := fetchWheel(ctx, ix.srv.Client(), url, "1.4.0", cache, false)
	assert.ErrorContains(t, err, "lists no magnum-capi-helm 1.4.0")
	_, _, err = fetchWheel(ctx, ix.srv.Client(), url, "1.3.0", cache, false)
	assert.ErrorContains(t, err, "lists no pure wheel of magnum-capi-helm 1.3.0 (only")

	// A digest that does not match, and none at all.
	ix.hashes["magnum_capi_helm-1.2.0-py3-none-any.whl"] = strings.Repeat("0", 64)
	_, _, err = fetchWheel(ctx, ix.srv.Client(), url, "1.2.0", cache, false)
	assert.ErrorContains(t, err, "but the index says 0000")
	ix.hashes["magnum_capi_helm-1.2.0-py3-none-any.whl"] = ""
	_, _, err = fetchWheel(ctx, ix.srv.Client(), url, "1.2.0", cache, false)
	assert.ErrorContains(t, err, "gives no sha256 for magnum_capi_helm-1.2.0-py3-none-any.whl")
	_, err = os.Stat(cache)
	assert.True(t, os.IsNotExist(err), "nothing unverified reaches the cache")

	// Not https.
	_, _, err = fetchWheel(ctx, ix.srv.Client(), "http://pypi.example/simple", "1.2.0", cache, false)
	assert.ErrorContains(t, err, "is not an https URL")
	// An unreachable index says where it tried.
	ix.srv.Close()
	_, _, err = fetchWheel(ctx, ix.srv.Client(), url, "1.2.0", cache, false)
	assert.ErrorContains(t, err, "fetch "+url+"/magnum-capi-helm/")
}

func TestFetchWheelDryRunLeavesNoCache(t *testing.T) {
	ix := newFakeIndex(t)
	ix.add("magnum_capi_helm-1.2.0-py3-none-any.whl", fakeWheel(t, "1.2.0"))
	cache := filepath.Join(t.TempDir(), "wheels")
	p, temp, err := fetchWheel(context.Background(), ix.srv.Client(), ix.srv.URL+"/simple", "1.2.0", cache, true)
	require.NoError(t, err)
	assert.True(t, temp)
	defer os.Remove(p)
	_, err = os.Stat(cache)
	assert.True(t, os.IsNotExist(err))
}

func TestPureWheelFor(t *testing.T) {
	for name, want := range map[string]bool{
		"magnum_capi_helm-1.2.0-py3-none-any.whl":             true,
		"magnum_capi_helm-1.2.0-py2.py3-none-any.whl":         true,
		"magnum-capi-helm-1.2.0-py3-none-any.whl":             false, // not a valid wheel name
		"magnum_capi_helm-1.2.0-1-py3-none-any.whl":           true,
		"magnum_capi_helm-1.2.0-py2-none-any.whl":             false,
		"magnum_capi_helm-1.2.0-cp313-cp313-linux_x86_64.whl": false,
		"magnum_capi_helm-1.2.01-py3-none-any.whl":            false,
		"magnum_capi_helm_x-1.2.0-py3-none-any.whl":           false,
		"magnum_capi_helm-1.2.0.tar.gz":                       false,
	} {
		assert.Equal(t, want, pureWheelFor(name, "1.2.0"), name)
	}
}

func TestParseSimpleHTML(t *testing.T) {
	files := parseSimpleHTML(`<a href="https://files.example/a/magnum_capi_helm-1.2.0-py3-none-any.whl#sha256=abc" >magnum_capi_helm-1.2.0-py3-none-any.whl</a>
<A HREF='x.whl' data-yanked="">x.whl</A>`)
	require.Len(t, files, 2)
	assert.Equal(t, indexFile{Filename: "magnum_capi_helm-1.2.0-py3-none-any.whl",
		URL: "https://files.example/a/magnum_capi_helm-1.2.0-py3-none-any.whl#sha256=abc", SHA256: "abc"}, files[0])
	assert.True(t, files[1].Yanked)
}
