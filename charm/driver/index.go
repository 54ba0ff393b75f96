package driver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// The index source fetches exactly one file, the driver's pure wheel for
// driver-version, from a PEP 503 (HTML) or PEP 691 (JSON) simple index, and
// checks it against the sha256 the index gives: pip is not on Magnum units,
// and a resolving install is what the charm must never do. The wheel is
// cached in the charm's state directory, so a reinstall (a Python upgrade, a
// regraft) needs no network.

const (
	maxIndexPage  = 8 << 20
	maxWheelSize  = 64 << 20
	indexTimeout  = 2 * time.Minute
	simpleJSON    = "application/vnd.pypi.simple.v1+json"
	simpleHTMLOld = "text/html"
)

// indexHTTPClient is the client for the index: https only, through the
// model's proxy (JUJU_CHARM_HTTPS_PROXY, JUJU_CHARM_NO_PROXY), never the
// process's own proxy variables. Tests replace it.
var indexHTTPClient = func(settings proxy.Settings) (*http.Client, error) {
	px, err := proxy.New(settings)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = px.Func
	return &http.Client{Transport: tr, Timeout: indexTimeout, CheckRedirect: httpsRedirectsOnly}, nil
}

func httpsRedirectsOnly(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme != "https" {
		return fmt.Errorf("refusing a redirect to %s: not https", redact.URL(req.URL))
	}
	if len(via) >= 10 {
		return errors.New("too many redirects")
	}
	return nil
}

// indexFile is one file an index lists for the project.
type indexFile struct {
	Filename string
	URL      string
	SHA256   string
	Yanked   bool
}

var wheelNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([A-Za-z0-9._]+)-([^-]+)(?:-\d[^-]*)?-([^-]+)-([^-]+)-([^-]+)\.whl$`)
})

// pureWheelFor reports whether filename is a pure-Python wheel of the
// driver at version.
func pureWheelFor(filename, version string) bool {
	m := wheelNameRE().FindStringSubmatch(filename)
	if m == nil {
		return false
	}
	name := strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(m[1], "-"))
	if name != DistName || m[2] != version || m[4] != "none" || m[5] != "any" {
		return false
	}
	for _, tag := range strings.Split(m[3], ".") {
		if tag == "py3" || tag == "py2.py3" {
			return true
		}
	}
	return false
}

// fetchWheel returns the path of the driver's wheel for version: from the
// cache if an earlier fetch verified it, else from the index. A dry run
// looks at the cache and the index but does not fill the cache: the wheel
// goes to a temporary file (temp is true) the caller removes.
func fetchWheel(ctx context.Context, client *http.Client, indexURL, version, cacheDir string, dryRun bool) (path string, temp bool, err error) {
	if p := cachedWheel(cacheDir, version); p != "" {
		return p, false, nil
	}
	path, err = fetchIndexWheel(ctx, client, indexURL, version, cacheDir, dryRun)
	return path, dryRun && err == nil, err
}

func fetchIndexWheel(ctx context.Context, client *http.Client, indexURL, version, cacheDir string, dryRun bool) (string, error) {
	project, err := url.Parse(strings.TrimRight(indexURL, "/") + "/" + DistName + "/")
	if err != nil || project.Scheme != "https" {
		return "", fmt.Errorf("index %s is not an https URL", indexURL)
	}
	list, err := listIndex(ctx, client, project)
	if err != nil {
		return "", err
	}
	var pick *indexFile
	var others []string
	for i := range list {
		f := &list[i]
		if pureWheelFor(f.Filename, version) && !f.Yanked {
			pick = f
			break
		}
		if strings.Contains(f.Filename, "-"+version) {
			others = append(others, f.Filename)
		}
	}
	if pick == nil {
		if len(others) > 0 {
			return "", fmt.Errorf("%s lists no pure wheel of %s %s (only %s)", redact.URL(project), DistName, version, strings.Join(others, ", "))
		}
		return "", fmt.Errorf("%s lists no %s %s", redact.URL(project), DistName, version)
	}
	if len(pick.SHA256) != 64 {
		return "", fmt.Errorf("%s gives no sha256 for %s: refusing an unverifiable download", redact.URL(project), pick.Filename)
	}
	u, err := project.Parse(pick.URL)
	if err != nil || u.Scheme != "https" {
		return "", fmt.Errorf("%s: the link to %s is not https", redact.URL(project), pick.Filename)
	}
	u.Fragment = ""
	data, err := get(ctx, client, u, "", maxWheelSize)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != strings.ToLower(pick.SHA256) {
		return "", fmt.Errorf("%s has sha256 %s, but the index says %s", pick.Filename, got, pick.SHA256)
	}
	if dryRun {
		tmp, err := os.CreateTemp("", "magnum-capi-graft-*.whl")
		if err != nil {
			return "", err
		}
		defer tmp.Close()
		if _, err := tmp.Write(data); err != nil {
			os.Remove(tmp.Name())
			return "", err
		}
		return tmp.Name(), nil
	}
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(cacheDir, filepath.Base(pick.Filename))
	if err := osutil.AtomicWriteFile(p, data, 0o600, 0); err != nil {
		return "", err
	}
	return p, nil
}

// cachedWheel finds a wheel for version that an earlier fetch verified.
// Only fetchWheel writes the cache (root-only), after checking the index's
// sha256; anything else there is ignored.
func cachedWheel(cacheDir, version string) string {
	entries, err := os.ReadDir(cacheDir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if e.Type().IsRegular() && pureWheelFor(e.Name(), version) {
			return filepath.Join(cacheDir, e.Name())
		}
	}
	return ""
}

// listIndex reads the project page, asking for PEP 691 JSON and accepting
// PEP 503 HTML.
func listIndex(ctx context.Context, client *http.Client, project *url.URL) ([]indexFile, error) {
	var ctype string
	data, err := getTyped(ctx, client, project, simpleJSON+", "+simpleHTMLOld+";q=0.1", maxIndexPage, &ctype)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(ctype)
	if mt == simpleJSON || (mt == "application/json") {
		var page struct {
			Files []struct {
				Filename string            `json:"filename"`
				URL      string            `json:"url"`
				Hashes   map[string]string `json:"hashes"`
				Yanked   any               `json:"yanked"`
			} `json:"files"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			return nil, fmt.Errorf("%s: %w", redact.URL(project), err)
		}
		var out []indexFile
		for _, f := range page.Files {
			yanked := false
			switch y := f.Yanked.(type) {
			case bool:
				yanked = y
			case string:
				yanked = true
			}
			out = append(out, indexFile{Filename: f.Filename, URL: f.URL, SHA256: f.Hashes["sha256"], Yanked: yanked})
		}
		return out, nil
	}
	return parseSimpleHTML(string(data)), nil
}

var anchorRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<a\s([^>]*)>([^<]*)</a>`) })
var hrefRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)\bhref\s*=\s*("([^"]*)"|'([^']*)')`) })
var yankedRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)\bdata-yanked\b`) })

// parseSimpleHTML reads PEP 503's anchors; the sha256 is the URL's
// #sha256= fragment.
func parseSimpleHTML(page string) []indexFile {
	var out []indexFile
	for _, m := range anchorRE().FindAllStringSubmatch(page, -1) {
		h := hrefRE().FindStringSubmatch(m[1])
		if h == nil {
			continue
		}
		href := html.UnescapeString(h[2] + h[3])
		f := indexFile{Filename: strings.TrimSpace(html.UnescapeString(m[2])), URL: href, Yanked: yankedRE().MatchString(m[1])}
		if _, frag, ok := strings.Cut(href, "#"); ok {
			if v, ok := strings.CutPrefix(frag, "sha256="); ok {
				f.SHA256 = v
			}
		}
		out = append(out, f)
	}
	return out
}

func get(ctx context.Context, client *http.Client, u *url.URL, accept string, limit int64) ([]byte, error) {
	var ctype string
	return getTyped(ctx, client, u, accept, limit, &ctype)
}

func getTyped(ctx context.Context, client *http.Client, u *url.URL, accept string, limit int64, ctype *string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", redact.URL(u), unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", redact.URL(u), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", redact.URL(u), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("fetch %s: larger than %d MiB", redact.URL(u), limit>>20)
	}
	*ctype = resp.Header.Get("Content-Type")
	return data, nil
}

// unwrapURLError drops url.Error's repetition of the method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
