package smoketest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// requestTimeout bounds one HTTP request. gophercloud's endpoint discovery
// runs with context.TODO(), so without it a silent endpoint could hang the
// action however the caller's context is set.
const requestTimeout = 60 * time.Second

// magnumMicroversion is sent as "OpenStack-API-Version: container-infra
// latest". Without the header Magnum serves its oldest microversion (1.1);
// python-magnumclient, and so the runbook's `openstack coe` commands, send
// "latest", and the smoke test should see the API the operator sees.
const magnumMicroversion = "latest"

// cloud is an authenticated session and the catalog it came with.
type cloud struct {
	provider *gophercloud.ProviderClient
	catalog  *tokens.ServiceCatalog
	eo       gophercloud.EndpointOpts
	creds    Credentials
}

// connect authenticates against Keystone v3. Requests that fail with a 5xx or
// 409 are sent again up to pacing.RetryAttempts times, with a doubling wait;
// this is done once for the provider so every call, including those hidden in
// pagination and endpoint discovery, gets the same treatment.
func connect(ctx context.Context, creds Credentials, pacing Pacing, say func(string, ...any)) (*cloud, error) {
	if err := creds.Validate(); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	availability, _ := creds.availability()

	provider, err := openstack.NewClient(creds.AuthURL)
	if err != nil {
		return nil, errors.New(redact.Text(fmt.Sprintf("identity endpoint %q: %v", creds.AuthURL, err)))
	}
	transport, err := newTransport(creds)
	if err != nil {
		return nil, err
	}
	provider.HTTPClient = http.Client{Transport: transport, Timeout: requestTimeout}
	provider.UserAgent.Prepend("magnum-capi-graft-smoketest")
	provider.RetryFunc = retryTransient(pacing, say)

	opts := gophercloud.AuthOptions{
		IdentityEndpoint: creds.AuthURL,
		Username:         creds.Username,
		Password:         creds.Password,
		DomainName:       creds.UserDomainName,
		Scope: &gophercloud.AuthScope{
			ProjectName: creds.ProjectName,
			DomainName:  creds.ProjectDomainName,
		},
		// A run can outlast a token (30 minutes of waiting, then deletes),
		// so gophercloud may log in again on a 401.
		AllowReauth: true,
	}
	who := fmt.Sprintf("user %q (domain %q) in project %q (domain %q) at %s",
		creds.Username, creds.UserDomainName, creds.ProjectName, creds.ProjectDomainName, redact.String(creds.AuthURL))
	// AuthenticateV3 goes straight to <auth-url base>/v3, without the version
	// discovery Authenticate does, which could also settle on v2.0.
	if err := openstack.AuthenticateV3(ctx, provider, &opts, gophercloud.EndpointOpts{}); err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
			return nil, fmt.Errorf("authenticate as %s: Keystone rejected the credentials (HTTP 401): check username, password, project and domains", who)
		}
		return nil, fmt.Errorf("authenticate as %s: %w", who, apiErr(err))
	}
	result, ok := provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return nil, fmt.Errorf("authenticate as %s: unexpected auth result %T", who, provider.GetAuthResult())
	}
	catalog, err := result.ExtractServiceCatalog()
	if err != nil {
		return nil, fmt.Errorf("read the service catalog: %w", err)
	}
	return &cloud{
		provider: provider,
		catalog:  catalog,
		eo:       gophercloud.EndpointOpts{Region: creds.RegionName, Availability: availability},
		creds:    creds,
	}, nil
}

// newTransport is the smoke test's HTTP transport: the cloud's CA when the
// credentials bring one, and the model's proxy. Juju hands a charm the
// model's juju-http(s)-proxy and juju-no-proxy as JUJU_CHARM_HTTP_PROXY,
// JUJU_CHARM_HTTPS_PROXY and JUJU_CHARM_NO_PROXY; the standard variables a
// process may carry are not the model's word (http.DefaultTransport's
// ProxyFromEnvironment would read them). The rules are package proxy's.
func newTransport(creds Credentials) (*http.Transport, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	px, err := proxy.New(proxy.FromJuju(os.Getenv))
	if err != nil {
		return nil, err
	}
	transport.Proxy = px.Func
	if creds.CACert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(creds.CACert)) {
			return nil, errors.New("cacert: no PEM certificate found in it")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return transport, nil
}

// retryTransient is the provider's RetryFunc. Returning nil makes gophercloud
// send the request again; returning err gives up with it.
//
// POSTs are retried too: a 5xx from a proxy can hide a create that did
// happen, and the clean-up at the end removes by name, so a duplicate left by
// a retried POST is removed with the rest.
func retryTransient(pacing Pacing, say func(string, ...any)) gophercloud.RetryFunc {
	return func(ctx context.Context, method, url string, _ *gophercloud.RequestOpts, err error, failCount uint) error {
		var code gophercloud.ErrUnexpectedResponseCode
		if !errors.As(err, &code) || !(code.Actual >= 500 || code.Actual == http.StatusConflict) {
			return err
		}
		if failCount > uint(pacing.RetryAttempts) {
			return fmt.Errorf("gave up after %d attempts: %w", failCount, apiErr(err))
		}
		delay := min(pacing.RetryInitial<<(failCount-1), pacing.PollMax)
		say("%s %s answered HTTP %d; retrying in %s (attempt %d of %d)",
			method, url, code.Actual, delay, failCount+1, pacing.RetryAttempts+1)
		if sleep(ctx, delay) != nil {
			return err
		}
		return nil
	}
}

// serviceClient returns a client for one catalog service, naming the service
// when the catalog has no endpoint for it.
func (c *cloud) serviceClient(what string, build func(*gophercloud.ProviderClient, gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error)) (*gophercloud.ServiceClient, error) {
	sc, err := build(c.provider, c.eo)
	if err != nil {
		return nil, fmt.Errorf("%s: no usable %s endpoint in the service catalog: %w", what, c.where(), err)
	}
	return sc, nil
}

// magnum returns a container-infra client that asks for magnumMicroversion.
func (c *cloud) magnum() (*gophercloud.ServiceClient, error) {
	sc, err := c.serviceClient("container-infra (Magnum)", openstack.NewContainerInfraV1)
	if err != nil {
		return nil, err
	}
	sc.Microversion = magnumMicroversion
	return sc, nil
}

// hasEndpoint says whether the catalog lists serviceType for our interface
// and region. It only reads the catalog: the load-balancer check needs no
// Octavia client.
func (c *cloud) hasEndpoint(serviceType string) bool {
	for _, entry := range c.catalog.Entries {
		if entry.Type != serviceType {
			continue
		}
		for _, ep := range entry.Endpoints {
			if ep.Interface != string(c.eo.Availability) {
				continue
			}
			if c.eo.Region != "" && ep.Region != c.eo.Region && ep.RegionID != c.eo.Region {
				continue
			}
			return true
		}
	}
	return false
}

// where describes the interface and region endpoints are picked from.
func (c *cloud) where() string {
	if c.eo.Region == "" {
		return string(c.eo.Availability)
	}
	return fmt.Sprintf("%s (region %s)", c.eo.Availability, c.eo.Region)
}

// scrubber replaces the password and the current token in text that leaves
// the package. Neither should be there in the first place; this is the last
// line of defence against a server that echoes a request back.
type scrubber struct {
	password string
	cloud    func() *cloud
}

func (s scrubber) scrub(text string) string {
	secrets := []string{s.password}
	// A body echoed back holds the password as JSON spells it, with
	// quotes, backslashes and <, >, & escaped.
	if quoted, err := json.Marshal(s.password); err == nil {
		secrets = append(secrets, strings.Trim(string(quoted), `"`))
	}
	if c := s.cloud(); c != nil {
		secrets = append(secrets, c.provider.Token())
	}
	for _, secret := range secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "[redacted]")
		}
	}
	return text
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// apiError is a failed API call in a form an operator can read:
// gophercloud's own text carries the whole response body, which for Magnum
// is a JSON envelope around a one-line message.
type apiError struct {
	err gophercloud.ErrUnexpectedResponseCode
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.err.Method, e.err.URL, e.err.Actual, bodyMessage(e.err.Body))
}

func (e *apiError) Unwrap() error { return e.err }

// apiErr returns err with any unexpected-response error in it made readable.
// It is safe to apply twice.
func apiErr(err error) error {
	var already *apiError
	if errors.As(err, &already) {
		return err
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &code) {
		return err
	}
	return &apiError{err: code}
}

// bodyMessage finds the message in an OpenStack error body: Magnum's
// {"errors": [{"title": ...}]}, Keystone's {"error": {"message": ...}}, or
// Nova's and Neutron's {"<kind>": {"message": ...}}. Anything else (Glance
// answers plain text) is shown trimmed.
func bodyMessage(body []byte) string {
	var magnum struct {
		Errors []struct {
			Title string `json:"title"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &magnum) == nil && len(magnum.Errors) > 0 && magnum.Errors[0].Title != "" {
		return magnum.Errors[0].Title
	}
	var wrapped map[string]struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped) == 1 {
		for _, v := range wrapped {
			if v.Message != "" {
				return v.Message
			}
		}
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	const maxLen = 300
	if len(text) > maxLen {
		text = text[:maxLen] + "..."
	}
	if text == "" {
		return "(empty body)"
	}
	return text
}
