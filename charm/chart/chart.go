// Package chart checks from the unit, through the proxy helm will use, that the
// chart repository the driver will use serves the chart at the version the
// driver will ask for.
//
// What the driver does (magnum_capi_helm/driver.py at tags 1.2.0 to 1.4.0 of
// openstack/magnum-capi-helm): on cluster create and upgrade it runs
// `helm upgrade RELEASE <helm_chart_name> --repo <helm_chart_repo>
// --version <v>` (helm.py: install_or_upgrade; --repo only when the option
// is not empty, so an oci:// helm_chart_name is pulled from its registry),
// where v is the template's capi_helm_chart_version label or
// [capi_helm] default_helm_chart_version, with every character outside
// [a-z0-9.+-] removed (_get_chart_version). helm then reads
// <repo>/index.yaml and picks the entry whose version equals v, else the
// newest that satisfies v as a semver constraint (helm.sh/helm/v3
// pkg/repo/index.go: IndexFile.Get, entries sorted newest first); for an
// OCI reference it reads the registry's tags, where "+" is written "_"
// (pkg/registry).
//
// Supported: chart repositories over https (and http) serving index.yaml,
// and OCI registries that list tags anonymously through the Distribution
// API (GET /v2/<name>/tags/list, with the anonymous bearer token a
// registry's WWW-Authenticate names, as ghcr.io hands out). Not supported:
// registries that need a login (helm registry login as user magnum), which
// report unreachable with the registry's answer. A template's own
// capi_helm_chart_version label lives in Magnum's database and is not
// checked here.
//
// How long a failure must last before it blocks: see History.
package chart

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/netcheck"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

const (
	// DefaultTimeout bounds a whole check when Request sets none.
	DefaultTimeout = 20 * time.Second
	// MaxTimeout bounds a whole check, whatever Request says: a hook holds
	// the machine lock while it runs.
	MaxTimeout = 30 * time.Second
	// MaxIndexSize bounds what is read of an index.yaml (after gzip, if
	// the server compresses it). A repository with many charts and
	// pre-releases publishes a few MiB; more is refused, not parsed.
	MaxIndexSize = 16 << 20
	// maxSmall bounds a registry's token and tag-list answers.
	maxSmall = 4 << 20
	// maxTagPages bounds how many pages of an OCI tag list are followed.
	maxTagPages = 20
)

// State is the outcome of a check.
type State string

const (
	// Present: the repository serves the chart at a version that satisfies
	// the one the driver will ask for.
	Present State = "present"
	// Missing: the repository answered, and its index (or tag list) has no
	// such chart or no such version.
	Missing State = "missing"
	// Unreachable: no usable answer: a name that does not resolve, a
	// refused or timed-out connection, a proxy or TLS failure, an HTTP
	// error, an index too large or unreadable.
	Unreachable State = "unreachable"
	// Invalid: the settings themselves cannot be used (no driver default
	// known, a repository URL that is not one, an oci:// name with a
	// repository set).
	Invalid State = "invalid"
)

// Request says what to check. A nil setting is unset: the driver's own
// default for DriverVersion applies (confd.DriverDefault).
type Request struct {
	// Repo is helm-chart-repo; "" (set, empty) with an oci:// Name.
	Repo *string
	// Name is helm-chart-name: a chart in Repo, or an oci:// reference.
	Name *string
	// Version is default-helm-chart-version.
	Version *string
	// DriverVersion is driver-version, for the driver's defaults.
	DriverVersion string
	// Proxy is the proxy helm will use (proxy.Proxy.Func); nil connects
	// directly.
	Proxy func(*http.Request) (*url.URL, error)
	// ProxyName names that proxy in the texts ("" is "the model's
	// proxy"), and NoProxy says why a connection went direct ("" is "no
	// model proxy is set").
	ProxyName, NoProxy string
	// RootCAs verifies the repository; nil is the system's store, which
	// helm run by the driver also uses.
	RootCAs *x509.CertPool
	// Timeout bounds the whole check: 0 is DefaultTimeout, at most
	// MaxTimeout.
	Timeout time.Duration
}

// Result is what a check found. Its texts name the repository with any
// credentials in its URL hidden.
type Result struct {
	State State `json:"state"`
	// Repo and Name are the effective settings (the driver's defaults
	// applied); Repo is "" for an OCI reference.
	Repo string `json:"repo"`
	Name string `json:"name"`
	// Version is what the driver asks helm for, after its filter.
	Version string `json:"version"`
	// DriverDefault says Version is the driver's default: the option is
	// unset.
	DriverDefault bool `json:"driver-default,omitempty"`
	// Resolved is the version helm would install ("" unless Present).
	Resolved string `json:"resolved,omitempty"`
	// Newest is the newest stable version the repository serves of the
	// chart ("" when not known).
	Newest string `json:"newest,omitempty"`
	// Problem says why the state is not Present.
	Problem string `json:"problem,omitempty"`
	// Warning is worth showing even when Present: the version is the
	// driver's default.
	Warning string `json:"warning,omitempty"`
	// Evidence is what was seen, for verify.
	Evidence string `json:"evidence"`
}

// versionFilter is the driver's filter of a chart version
// (driver.py: _get_chart_version).
var versionFilter = regexp.MustCompile(`[^a-z0-9.+-]+`)

// Check fetches the repository's index (or the registry's tags) through
// the proxy and compares it with the version the driver will use.
func Check(ctx context.Context, req Request) Result {
	var r Result
	repo, name, version, isDefault, ok := effective(req)
	if !ok {
		r.State = Invalid
		r.Problem = fmt.Sprintf("chart: the charm does not know driver %s's default chart settings", req.DriverVersion)
		r.Evidence = r.Problem
		return r
	}
	// Results are reported: the repository as text never carries its
	// credentials.
	r.Repo, r.Name, r.DriverDefault = strings.TrimSuffix(redact.String(repo), "/"), redact.String(name), isDefault
	r.Version = versionFilter.ReplaceAllString(version, "")

	timeout := netcheck.Bound(req.Timeout, DefaultTimeout, MaxTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f := newFetcher(req, timeout)
	defer f.client.CloseIdleConnections()

	versions, where, problem := f.versions(ctx, repo, name, &r)
	if r.State != "" {
		r.Evidence = r.Problem
		return r
	}
	if problem != "" {
		r.State, r.Problem, r.Evidence = Unreachable, problem, problem
		return r
	}
	via := ""
	if f.proxy.Used {
		via = f.proxyName
	}
	r.judge(versions, where, name, req.DriverVersion, via)
	return r
}

// effective are the chart settings the driver will use: each option as
// set, else the driver's default for its version (isDefault: the
// version's). ok is false when the charm does not know a default needed.
func effective(req Request) (repo, name, version string, isDefault, ok bool) {
	setting := func(p *string, option string) (string, bool, bool) {
		if p != nil {
			return *p, false, true
		}
		v, ok := confd.DriverDefault(option, req.DriverVersion)
		return v, true, ok
	}
	repo, _, okRepo := setting(req.Repo, "helm-chart-repo")
	name, _, okName := setting(req.Name, "helm-chart-name")
	version, isDefault, okVersion := setting(req.Version, "default-helm-chart-version")
	return repo, name, version, isDefault, okRepo && okName && okVersion
}

// versions fetches the versions of chart name that the repository (or the
// registry of an oci:// name) serves, and names where for texts. Settings
// the driver cannot use, or a repository without the chart, set r's State
// and Problem; problem says why the repository could not be read.
func (f *fetcher) versions(ctx context.Context, repo, name string, r *Result) (versions []string, where, problem string) {
	isOCI := strings.HasPrefix(name, "oci://")
	switch {
	case isOCI && strings.TrimSpace(repo) != "":
		r.State = Invalid
		r.Problem = "chart: helm-chart-name is an oci:// reference, so helm-chart-repo must be set to the empty string (the driver would pass --repo)"
	case isOCI:
		where = r.Name
		versions, problem = f.ociTags(ctx, name)
	case strings.TrimSpace(repo) == "":
		r.State = Invalid
		r.Problem = "chart: helm-chart-repo is empty and helm-chart-name is not an oci:// reference"
	default:
		where = r.Repo
		var entries map[string][]string
		entries, problem = f.index(ctx, repo)
		if problem == "" {
			var ok bool
			if versions, ok = entries[name]; !ok {
				r.State = Missing
				r.Problem = fmt.Sprintf("chart: %s serves no chart %s", where, name)
			}
		}
	}
	return versions, where, problem
}

// judge compares the versions where serves of chart name with the one the
// driver asks for (r.Version), as helm would pick.
func (r *Result) judge(versions []string, where, name, driverVersion, viaProxy string) {
	r.Newest = newest(versions)
	newestText := ""
	if r.Newest != "" {
		newestText = " (newest " + r.Newest + ")"
	}
	if r.DriverDefault {
		r.Warning = fmt.Sprintf("chart: default-helm-chart-version unset, so driver %s uses %s %s, its own default; %s serves up to %s",
			driverVersion, shortName(name), r.Version, where, orNone(r.Newest))
	}
	resolved, ok := resolve(versions, r.Version)
	if !ok {
		r.State = Missing
		what := r.Version
		if what == "" {
			what = "any stable version"
		}
		r.Problem = fmt.Sprintf("chart: %s serves no %s %s%s", where, shortName(name), what, newestText)
		r.Evidence = r.Problem
		return
	}
	r.State, r.Resolved = Present, resolved
	r.Evidence = fmt.Sprintf("%s serves %s %s", where, shortName(name), resolved)
	if resolved != r.Version {
		r.Evidence += " for " + r.Version
	}
	r.Evidence += newestText
	if viaProxy != "" {
		r.Evidence += ", through " + viaProxy
	}
}

func orNone(s string) string {
	if s == "" {
		return "no stable version"
	}
	return s
}

// shortName is a chart's name without its registry, for texts.
func shortName(name string) string {
	if strings.HasPrefix(name, "oci://") {
		return name[strings.LastIndex(name, "/")+1:]
	}
	return name
}

// resolve picks what helm would: the version written exactly, else the
// newest that satisfies it as a constraint ("" is any stable version).
func resolve(versions []string, want string) (string, bool) {
	if want != "" {
		for _, v := range versions {
			if v == want {
				return v, true
			}
		}
	}
	constraint := "*"
	if want != "" {
		constraint = want
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", false
	}
	for _, v := range sortedNewestFirst(versions) {
		if c.Check(v) {
			return v.Original(), true
		}
	}
	return "", false
}

func sortedNewestFirst(versions []string) []*semver.Version {
	var out []*semver.Version
	for _, s := range versions {
		if v, err := semver.NewVersion(s); err == nil {
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].GreaterThan(out[j]) })
	return out
}

// newest is the newest version without a pre-release part.
func newest(versions []string) string {
	for _, v := range sortedNewestFirst(versions) {
		if v.Prerelease() == "" {
			return v.Original()
		}
	}
	return ""
}

// fetcher makes the check's requests with one client.
type fetcher struct {
	client  *http.Client
	proxy   netcheck.Proxy
	timeout time.Duration
	// proxyName and noProxy are Request's, defaults filled in.
	proxyName, noProxy string
}

func newFetcher(req Request, timeout time.Duration) *fetcher {
	f := &fetcher{proxy: netcheck.Proxy{Func: req.Proxy}, timeout: timeout, proxyName: req.ProxyName, noProxy: req.NoProxy}
	if f.proxyName == "" {
		f.proxyName = "the model's proxy"
	}
	if f.noProxy == "" {
		f.noProxy = "no model proxy is set"
	}
	dialer := &net.Dialer{Timeout: timeout}
	f.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 f.proxy.For,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: req.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   1,
		},
	}
	return f
}

// get fetches u and reads at most limit bytes of the answer.
func (f *fetcher) get(ctx context.Context, u string, header http.Header, limit int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp, nil, err
	}
	if int64(len(data)) > limit {
		return resp, nil, errTooLarge
	}
	return resp, data, nil
}

var errTooLarge = errors.New("answer too large")

// index reads <repo>/index.yaml: the versions of every chart it lists.
func (f *fetcher) index(ctx context.Context, repo string) (map[string][]string, string) {
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "chart: helm-chart-repo is not an http(s) URL"
	}
	// helm's repo.ResolveReferenceURL: the index is at <repo>/index.yaml.
	u.Path = strings.TrimSuffix(u.Path, "/")
	where := redact.URL(u)
	u.Path += "/index.yaml"
	resp, data, err := f.get(ctx, u.String(), nil, MaxIndexSize)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, fmt.Sprintf("chart: %s/index.yaml is larger than %d MiB", where, MaxIndexSize>>20)
	case err != nil:
		return nil, f.describe(ctx, where, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Sprintf("chart: %s/index.yaml answered HTTP %d", where, resp.StatusCode)
	}
	var idx struct {
		Entries map[string][]struct {
			Version string `yaml:"version"`
		} `yaml:"entries"`
	}
	if err := yaml.Unmarshal(data, &idx); err != nil || idx.Entries == nil {
		return nil, fmt.Sprintf("chart: %s/index.yaml is not a chart repository index", where)
	}
	out := map[string][]string{}
	for name, entries := range idx.Entries {
		for _, e := range entries {
			out[name] = append(out[name], e.Version)
		}
	}
	return out, ""
}

// ociTags lists an OCI chart's tags, as versions.
func (f *fetcher) ociTags(ctx context.Context, ref string) ([]string, string) {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.User != nil {
		return nil, "chart: helm-chart-name is not an oci://HOST/PATH reference"
	}
	where := redact.URL(u)
	repository := strings.Trim(u.Path, "/")
	next := "https://" + u.Host + "/v2/" + repository + "/tags/list"
	var header http.Header
	var tags []string
	for page := 0; next != "" && page < maxTagPages; page++ {
		resp, data, err := f.get(ctx, next, header, maxSmall)
		if err == nil && resp.StatusCode == http.StatusUnauthorized && header == nil {
			token, problem := f.anonymousToken(ctx, where, resp.Header.Get("WWW-Authenticate"))
			if problem != "" {
				return nil, problem
			}
			header = http.Header{"Authorization": {"Bearer " + token}}
			resp, data, err = f.get(ctx, next, header, maxSmall)
		}
		switch {
		case errors.Is(err, errTooLarge):
			return nil, fmt.Sprintf("chart: %s's tag list is larger than %d MiB", where, maxSmall>>20)
		case err != nil:
			return nil, f.describe(ctx, where, err)
		case resp.StatusCode == http.StatusNotFound:
			return nil, ""
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Sprintf("chart: %s's tags answered HTTP %d (anonymous access only)", where, resp.StatusCode)
		}
		var list struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Sprintf("chart: %s's tag list is unreadable", where)
		}
		for _, t := range list.Tags {
			// helm writes a version's "+" as "_" in a tag.
			tags = append(tags, strings.ReplaceAll(t, "_", "+"))
		}
		next = nextPage(resp, u.Host)
	}
	return tags, ""
}

// linkNext reads the Distribution API's pagination: Link: <URL>; rel="next".
var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

func nextPage(resp *http.Response, host string) string {
	m := linkNext.FindStringSubmatch(resp.Header.Get("Link"))
	if m == nil {
		return ""
	}
	u, err := url.Parse(m[1])
	if err != nil {
		return ""
	}
	if !u.IsAbs() {
		u.Scheme, u.Host = "https", host
	}
	return u.String()
}

// bearerParam reads one parameter of a Bearer challenge.
var bearerParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// anonymousToken asks the realm a registry's challenge names for a token,
// without credentials.
func (f *fetcher) anonymousToken(ctx context.Context, where, challenge string) (string, string) {
	scheme, params, _ := strings.Cut(challenge, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Sprintf("chart: %s wants credentials (anonymous access only)", where)
	}
	values := url.Values{}
	realm := ""
	for _, m := range bearerParam.FindAllStringSubmatch(params, -1) {
		switch m[1] {
		case "realm":
			realm = m[2]
		case "service", "scope":
			values.Set(m[1], m[2])
		}
	}
	ru, err := url.Parse(realm)
	if err != nil || ru.Scheme != "https" || ru.Host == "" {
		return "", fmt.Sprintf("chart: %s names no usable token realm", where)
	}
	ru.RawQuery = values.Encode()
	resp, data, err := f.get(ctx, ru.String(), nil, maxSmall)
	if err != nil {
		return "", f.describe(ctx, where+"'s token service", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Sprintf("chart: %s refused an anonymous token (HTTP %d)", where, resp.StatusCode)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || (tok.Token == "" && tok.AccessToken == "") {
		return "", fmt.Sprintf("chart: %s's token service gave no token", where)
	}
	if tok.Token != "" {
		return tok.Token, ""
	}
	return tok.AccessToken, ""
}

// describe names why a request failed, from the error's type: transport
// errors quote URLs, and a proxy URL can carry credentials.
func (f *fetcher) describe(ctx context.Context, where string, err error) string {
	via := ""
	if f.proxy.Used {
		via = " through " + f.proxyName
	}
	failure := netcheck.Classify(err)
	if ctx.Err() != nil || failure == netcheck.Timeout {
		return fmt.Sprintf("chart: %s did not answer within %s%s", where, f.timeout, via)
	}
	target := where
	if netcheck.AtProxy(err) {
		target = f.proxyName
	}
	switch failure {
	case netcheck.UnknownAuthority:
		return fmt.Sprintf("chart: %s's certificate is not signed by a CA the unit trusts", where)
	case netcheck.WrongName:
		return fmt.Sprintf("chart: %s's certificate is not valid for its name", where)
	case netcheck.Expired, netcheck.InvalidCertificate:
		return fmt.Sprintf("chart: %s's certificate is not valid (expired or not yet valid)", where)
	case netcheck.VerificationFailed:
		return fmt.Sprintf("chart: %s's certificate failed verification", where)
	case netcheck.Refused, netcheck.Unreachable, netcheck.Reset:
		return "chart: " + netcheck.Unreached(failure, target)
	case netcheck.NotFound:
		if f.proxy.Used {
			return fmt.Sprintf("chart: cannot reach %s (the name of %s does not resolve)", where, f.proxyName)
		}
		return fmt.Sprintf("chart: cannot reach %s (host not found; %s)", where, f.noProxy)
	}
	// A proxy that cannot connect answers CONNECT with an error status;
	// net/http reports it with the status text.
	if f.proxy.Used {
		return fmt.Sprintf("chart: cannot reach %s through %s", where, f.proxyName)
	}
	return fmt.Sprintf("chart: cannot reach %s", where)
}
