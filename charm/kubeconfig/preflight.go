package kubeconfig

import (
	"bytes"
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
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/netcheck"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
)

const (
	// DefaultRequestTimeout bounds each request when Options sets none. A
	// healthy API server answers these in milliseconds; hooks hold the
	// machine lock, so a black-holed address must not hold it for long.
	DefaultRequestTimeout = 5 * time.Second
	// MaxPreflightTime bounds the whole preflight, whatever Options say.
	MaxPreflightTime = 15 * time.Second
	// maxResponse bounds what is read from any response: discovery
	// documents are a few kilobytes.
	maxResponse = 4 << 20
)

// Options adjusts Preflight to the unit.
type Options struct {
	// Proxy is the model's proxy settings (package proxy); without an
	// https proxy the preflight connects directly.
	Proxy proxy.Settings
	// RequestTimeout bounds each request; zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Timeout bounds the whole preflight; zero, or anything over
	// MaxPreflightTime, means MaxPreflightTime.
	Timeout time.Duration
	// APIVersions overrides the group/version of driver resources, keyed as
	// the driver's [capi_helm] api_resources option is (see RequiredAPIs).
	APIVersions map[string]string
	// Advise, when set, is asked what to set when the cluster answers but
	// does not serve an API the driver reads (package compat knows: the
	// exact api-resources value or another driver version; it imports
	// this package, so it comes in as a function). Its answer ends the
	// first such problem, so the status and verify say it.
	Advise func(ctx context.Context, kc *Kubeconfig) string
}

// Check names Preflight reports, besides one "api-<group>" per API group.
const (
	checkConnection = "connection"
	checkAPIs       = "api-discovery"
	checkRBAC       = "rbac-"
)

// Preflight checks from the unit that the management cluster answers with the
// kubeconfig's CA and credentials, serves every API the driver release uses,
// and lets the identity do what the driver does. kc must come from Validate.
//
// Each problem names what is missing or what failed; no text carries
// credentials or response bodies.
func Preflight(ctx context.Context, kc *Kubeconfig, driverVersion string, opts Options) Report {
	var r Report
	if kc == nil || kc.Server == nil {
		r.fail(checkConnection, "kubeconfig: not validated, nothing to preflight")
		return r
	}

	total, perRequest := opts.deadlines()
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()

	// A driver version or override that cannot be read leaves nothing to
	// discover, but the connection and permissions are still worth checking.
	apiProblem := ""
	apis, err := RequiredAPIs(driverVersion, opts.APIVersions)
	if err != nil {
		apiProblem = "management cluster: an api version override is not group/version"
		if _, err := parseVersion(driverVersion); err != nil {
			apiProblem = badDriverVersion
		}
	}

	p, problem := newPreflighter(kc, opts, perRequest, total)
	if problem != "" {
		r.fail(checkConnection, problem)
		p.skipRest(&r, apis, "skipped: no client")
		return r
	}
	defer p.client.CloseIdleConnections()

	evidence, problem := p.connect(ctx)
	if problem != "" {
		r.fail(checkConnection, problem)
		p.skipRest(&r, apis, "skipped: no connection")
		return r
	}
	r.pass(checkConnection, evidence)

	if apiProblem != "" {
		r.fail(checkAPIs, apiProblem)
	}
	firstUnserved := -1 // the check of the first API the cluster does not serve
	for _, api := range apis {
		missing := false
		p.check(ctx, &r, apiCheckName(api.Group), func() (evidence, problem string) {
			evidence, problem, missing = p.discover(ctx, api)
			return evidence, problem
		})
		if missing && firstUnserved < 0 {
			firstUnserved = len(r.Checks) - 1
		}
	}
	if firstUnserved >= 0 && opts.Advise != nil && ctx.Err() == nil {
		r.advise(firstUnserved, opts.Advise(ctx, kc))
	}
	for _, perm := range requiredPermissions {
		p.check(ctx, &r, checkRBAC+perm.verb+"-"+perm.resource, func() (string, string) { return p.review(ctx, perm) })
	}
	return r
}

// check records in r what run (evidence or problem) says of the check
// name, or skips it once the preflight's time is up.
func (p *preflighter) check(ctx context.Context, r *Report, name string, run func() (evidence, problem string)) {
	if ctx.Err() != nil {
		r.skip(name, "skipped: "+p.describeError(ctx, ctx.Err()))
		return
	}
	if evidence, problem := run(); problem != "" {
		r.fail(name, problem)
	} else {
		r.pass(name, evidence)
	}
}

// apiCheckName turns a group into an action result key.
func apiCheckName(group string) string {
	return "api-" + strings.ReplaceAll(group, ".", "-")
}

// preflighter holds one HTTP client for the whole preflight, so the TLS
// handshake happens once and every request goes through the same checks.
type preflighter struct {
	kc         *Kubeconfig
	client     *http.Client
	addr       string
	viaProxy   bool
	perRequest time.Duration
	total      time.Duration
}

func newPreflighter(kc *Kubeconfig, opts Options, perRequest, total time.Duration) (*preflighter, string) {
	p := &preflighter{kc: kc, addr: kc.Address(), perRequest: perRequest, total: total}

	caPEM := kc.caPEM
	if caPEM == nil && kc.CAFile != "" {
		data, problem := readCAFile(kc.CAFile)
		if problem != "" {
			return nil, problem
		}
		caPEM = data
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, "kubeconfig: certificate-authority file holds no PEM certificate"
	}
	tlsConfig := &tls.Config{
		RootCAs:    roots,
		ServerName: kc.TLSServerName,
		MinVersion: tls.VersionTLS12,
	}
	if kc.clientCert != nil {
		tlsConfig.Certificates = []tls.Certificate{*kc.clientCert}
	}

	px, err := proxy.New(opts.Proxy)
	if err != nil {
		// The proxy URL may carry credentials, so only the setting is named.
		return nil, "management cluster: the https proxy setting is not a valid URL"
	}
	p.viaProxy = px.URLFor(&url.URL{Scheme: "https", Host: kc.Server.Host}) != nil

	dialer := &net.Dialer{Timeout: perRequest}
	p.client = &http.Client{
		Timeout: perRequest,
		Transport: &http.Transport{
			Proxy:                 px.Func,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       tlsConfig,
			TLSHandshakeTimeout:   perRequest,
			ResponseHeaderTimeout: perRequest,
			MaxIdleConnsPerHost:   1,
		},
		// The API server does not redirect these paths; following a
		// redirect could send the bearer token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return p, ""
}

// skipRest marks every check after the connection as skipped.
func (p *preflighter) skipRest(r *Report, apis []API, why string) {
	for _, api := range apis {
		r.skip(apiCheckName(api.Group), why)
	}
	for _, perm := range requiredPermissions {
		r.skip(checkRBAC+perm.verb+"-"+perm.resource, why)
	}
}

// do sends one request to the API server and reads at most maxResponse of
// the answer.
func (p *preflighter) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	u := *p.kc.Server
	u.Path = p.kc.Server.Path + path
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.kc.Auth == AuthBearerToken {
		req.Header.Set("Authorization", "Bearer "+p.kc.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, data, nil
}

// connect proves TLS both ways, the credentials and the server's health in
// one request: /readyz, or /healthz on API servers that predate it.
func (p *preflighter) connect(ctx context.Context) (evidence, problem string) {
	path := "/readyz"
	code, _, err := p.do(ctx, http.MethodGet, path, nil)
	if err == nil && code == http.StatusNotFound {
		path = "/healthz"
		code, _, err = p.do(ctx, http.MethodGet, path, nil)
	}
	if err != nil {
		return "", p.describeError(ctx, err)
	}
	if code != http.StatusOK {
		if problem := p.authProblem(code, path); problem != "" {
			return "", problem
		}
		return "", fmt.Sprintf("management cluster: %s reports not ready (HTTP %d)", path, code)
	}
	evidence = fmt.Sprintf("https://%s%s ok, TLS verified with the kubeconfig CA, %s auth", p.addr, path, p.kc.Auth)
	if p.viaProxy {
		evidence += ", via the https proxy"
	}
	return evidence, ""
}

// authProblem names a 401 or 403 answer; "" for any other status.
func (p *preflighter) authProblem(code int, what string) string {
	switch code {
	case http.StatusUnauthorized:
		return fmt.Sprintf("management cluster: %s rejected the kubeconfig credentials (401 Unauthorized)", p.addr)
	case http.StatusForbidden:
		return fmt.Sprintf("management cluster: identity may not read %s (403 Forbidden)", what)
	}
	return ""
}

// apiResourceList is the part of a discovery document this package reads.
type apiResourceList struct {
	GroupVersion string `json:"groupVersion"`
	Resources    []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"resources"`
}

// discover checks that the API server serves api with every resource the
// driver uses. It asks for the group version directly: a missing group and a
// missing version are the same problem to the driver. missing says the
// server answered and does not serve them (not a failure to ask).
func (p *preflighter) discover(ctx context.Context, api API) (evidence, problem string, missing bool) {
	gv := api.GroupVersion()
	code, body, err := p.do(ctx, http.MethodGet, "/apis/"+gv, nil)
	if err != nil {
		return "", p.describeError(ctx, err), false
	}
	var kinds []string
	switch code {
	case http.StatusOK:
		var list apiResourceList
		if err := json.Unmarshal(body, &list); err != nil {
			return "", fmt.Sprintf("management cluster: API discovery for %s returned an unreadable document", gv), false
		}
		served := map[string]bool{}
		for _, res := range list.Resources {
			served[res.Name] = true
		}
		for _, res := range api.Resources {
			if !served[res.Name] {
				kinds = append(kinds, res.Kind)
			}
		}
	case http.StatusNotFound:
		for _, res := range api.Resources {
			kinds = append(kinds, res.Kind)
		}
	default:
		if problem := p.authProblem(code, "/apis/"+gv); problem != "" {
			return "", problem, false
		}
		return "", fmt.Sprintf("management cluster: API discovery for %s failed (HTTP %d)", gv, code), false
	}
	if len(kinds) > 0 {
		return "", fmt.Sprintf("management cluster: missing API %s %s", gv, strings.Join(kinds, ", ")), true
	}
	for _, res := range api.Resources {
		kinds = append(kinds, res.Kind)
	}
	return fmt.Sprintf("%s serves %s", gv, strings.Join(kinds, ", ")), "", false
}

// selfSubjectAccessReview is the request and the part of the answer this
// package uses.
type selfSubjectAccessReview struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		ResourceAttributes struct {
			Verb     string `json:"verb"`
			Resource string `json:"resource"`
		} `json:"resourceAttributes"`
	} `json:"spec"`
	Status struct {
		Allowed bool `json:"allowed"`
	} `json:"status"`
}

// review asks the API server whether the kubeconfig's identity may do perm in
// every namespace.
func (p *preflighter) review(ctx context.Context, perm permission) (evidence, problem string) {
	var req selfSubjectAccessReview
	req.APIVersion = "authorization.k8s.io/v1"
	req.Kind = "SelfSubjectAccessReview"
	req.Spec.ResourceAttributes.Verb = perm.verb
	req.Spec.ResourceAttributes.Resource = perm.resource
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Sprintf("management cluster: cannot build an access review: %v", err)
	}
	const path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
	code, answer, err := p.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return "", p.describeError(ctx, err)
	}
	if code != http.StatusCreated && code != http.StatusOK {
		if code == http.StatusForbidden {
			return "", "management cluster: identity may not create selfsubjectaccessreviews (403 Forbidden)"
		}
		if problem := p.authProblem(code, path); problem != "" {
			return "", problem
		}
		return "", fmt.Sprintf("management cluster: access review failed (HTTP %d)", code)
	}
	var review selfSubjectAccessReview
	if err := json.Unmarshal(answer, &review); err != nil {
		return "", "management cluster: access review returned an unreadable document"
	}
	if !review.Status.Allowed {
		return "", fmt.Sprintf("management cluster: identity may not %s %s", perm.verb, perm.resource)
	}
	return fmt.Sprintf("identity may %s %s in all namespaces", perm.verb, perm.resource), ""
}

// describeError names why a request failed, from the error's type rather
// than its text: transport errors can quote URLs, and a proxy URL can carry
// credentials.
func (p *preflighter) describeError(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Sprintf("management cluster: preflight timed out after %s", p.total)
		}
		return "management cluster: preflight cancelled"
	}
	failure := netcheck.Classify(err)
	switch failure {
	case netcheck.UnknownAuthority:
		return fmt.Sprintf("management cluster: server certificate of %s is not signed by the kubeconfig CA", p.addr)
	case netcheck.WrongName:
		if p.kc.TLSServerName != "" {
			return fmt.Sprintf("management cluster: server certificate of %s is not valid for the kubeconfig's tls-server-name", p.addr)
		}
		return fmt.Sprintf("management cluster: server certificate is not valid for %s", p.addr)
	case netcheck.Expired:
		return fmt.Sprintf("management cluster: server certificate of %s has expired or is not yet valid", p.addr)
	case netcheck.InvalidCertificate:
		return fmt.Sprintf("management cluster: server certificate of %s is not valid", p.addr)
	case netcheck.VerificationFailed:
		return fmt.Sprintf("management cluster: server certificate of %s failed verification", p.addr)
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok || errors.Is(err, http.ErrSchemeMismatch) {
		return fmt.Sprintf("management cluster: %s does not speak TLS", p.addr)
	}
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "remote error" {
		// The alert's text is the TLS protocol's fixed name for it.
		alert := opErr.Err.Error()
		switch {
		case strings.Contains(alert, "certificate"), strings.Contains(alert, "unknown ca"):
			return fmt.Sprintf("management cluster: %s rejected the client certificate (%s)", p.addr, alert)
		default:
			return fmt.Sprintf("management cluster: TLS handshake with %s failed (%s)", p.addr, alert)
		}
	}
	target := p.addr
	if netcheck.AtProxy(err) {
		target = "the https proxy"
	}
	switch failure {
	case netcheck.Timeout:
		if p.perRequest >= p.total {
			// The request's bound was the whole preflight's: the client's
			// timer and the context's fire together and either may win.
			return fmt.Sprintf("management cluster: preflight timed out after %s", p.total)
		}
		return fmt.Sprintf("management cluster: %s did not answer within %s", p.addr, p.perRequest)
	case netcheck.Refused, netcheck.Unreachable, netcheck.Reset:
		return "management cluster: " + netcheck.Unreached(failure, target)
	case netcheck.NotFound:
		return fmt.Sprintf("management cluster: cannot reach %s (host not found)", target)
	}
	if p.viaProxy {
		return fmt.Sprintf("management cluster: cannot reach %s through the https proxy", p.addr)
	}
	return fmt.Sprintf("management cluster: cannot reach %s", p.addr)
}

// deadlines are the whole run's bound (at most MaxPreflightTime) and each
// request's (DefaultRequestTimeout when unset, never past the whole), for
// the preflight and discovery alike.
func (opts Options) deadlines() (total, perRequest time.Duration) {
	total = netcheck.Bound(opts.Timeout, MaxPreflightTime, MaxPreflightTime)
	return total, netcheck.Bound(opts.RequestTimeout, DefaultRequestTimeout, total)
}
