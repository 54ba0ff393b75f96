package kubeconfig

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
)

// validateCase is a kubeconfig document and what Validate says of it.
type validateCase struct {
	name     string
	data     []byte
	driver   string
	problems []string
	warnings []string
}

// variants make documents from a good one: with changes its spec, replace
// one of its lines.
type variants struct {
	t      *testing.T
	client issued
	good   kcSpec
}

func newVariants(t *testing.T, fx *fixture) variants {
	v := variants{t: t, client: fx.validClient()}
	v.good = kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &v.client}
	return v
}

func (v variants) with(change func(s *kcSpec)) []byte {
	s := v.good
	change(&s)
	return s.yaml()
}

func (v variants) replace(old, new string) []byte {
	doc := string(v.good.yaml())
	require.Contains(v.t, doc, old)
	return []byte(strings.Replace(doc, old, new, 1))
}

// documentCases are documents whose context, server or CA Validate
// refuses or warns about.
func documentCases(v variants) []validateCase {
	return []validateCase{{
		name:     "no current-context",
		data:     v.replace("current-context: magnum@capi-mgmt", "current-context: \"\""),
		problems: []string{"kubeconfig: current-context is not set"},
	}, {
		name:     "current-context names nothing",
		data:     v.replace("current-context: magnum@capi-mgmt", "current-context: elsewhere"),
		problems: []string{"kubeconfig: current-context names no context in contexts"},
	}, {
		name:     "context cluster missing",
		data:     v.replace("cluster: capi-mgmt\n", "cluster: gone\n"),
		problems: []string{"kubeconfig: current context's cluster is not in clusters"},
	}, {
		name:     "context user missing",
		data:     v.replace("user: magnum\n", "user: gone\n"),
		problems: []string{"kubeconfig: current context's user is not in users"},
	}, {
		name:     "plain http",
		data:     v.with(func(s *kcSpec) { s.server = "http://10.0.0.1:6443" }),
		problems: []string{"kubeconfig: cluster server URL must use https"},
	}, {
		name:     "credentials in the URL",
		data:     v.with(func(s *kcSpec) { s.server = "https://admin:hunter2@10.0.0.1:6443" }),
		problems: []string{"kubeconfig: cluster server URL must not carry credentials"},
	}, {
		name:     "no server",
		data:     v.with(func(s *kcSpec) { s.server = `""` }),
		problems: []string{"kubeconfig: cluster has no server URL"},
	}, {
		name:     "no CA",
		data:     v.with(func(s *kcSpec) { s.caPEM = nil }),
		problems: []string{"kubeconfig: cluster has no certificate-authority-data or certificate-authority"},
	}, {
		name:     "CA data not base64",
		data:     v.replace("certificate-authority-data: ", "certificate-authority-data: '%%%'\n    x-: "),
		problems: []string{"kubeconfig: certificate-authority-data is not valid base64"},
	}, {
		name:     "insecure-skip-tls-verify",
		data:     v.replace("    server: https://10.0.0.1:6443\n", "    server: https://10.0.0.1:6443\n    insecure-skip-tls-verify: true\n"),
		warnings: []string{"kubeconfig: insecure-skip-tls-verify is ignored by the driver"},
	}}
}

// credentialCases are documents whose credentials Validate refuses or
// warns about.
func credentialCases(v variants) []validateCase {
	return []validateCase{{
		name:     "no credentials",
		data:     v.with(func(s *kcSpec) { s.client = nil }),
		problems: []string{"kubeconfig: user has no client certificate or token"},
	}, {
		name: "certificate without key",
		data: v.with(func(s *kcSpec) {
			s.client = nil
			s.extraUser = "    client-certificate-data: " + b64(v.client.certPEM) + "\n"
		}),
		problems: []string{"kubeconfig: client-certificate-data has no client-key-data"},
	}, {
		name:     "key not a key",
		data:     v.with(func(s *kcSpec) { s.keyPEM = v.client.certPEM }),
		problems: []string{"kubeconfig: client-key-data holds no usable PEM private key"},
	}, {
		name:     "certificate not a certificate",
		data:     v.replace("client-certificate-data: "+b64(v.client.certPEM), "client-certificate-data: "+b64(v.client.keyPEM)),
		problems: []string{"kubeconfig: client-certificate-data holds no PEM certificate"},
	}, {
		name: "certificate files",
		data: v.with(func(s *kcSpec) {
			s.client = nil
			s.extraUser = "    client-certificate: v.client.crt\n    client-key: v.client.key\n"
		}),
		problems: []string{"kubeconfig: client-certificate and client-key files are not supported, embed client-certificate-data and client-key-data"},
	}, {
		name: "every unsupported method at once",
		data: v.with(func(s *kcSpec) {
			s.extraUser = "    auth-provider:\n      name: oidc\n    tokenFile: token\n    username: admin\n    password: hunter2\n"
		}),
		problems: []string{
			"kubeconfig: auth-provider plugins are not supported by the driver",
			"kubeconfig: tokenFile is not supported by the driver",
			"kubeconfig: username/password auth is not supported by the driver",
		},
	}, {
		name:     "exec: null is no exec",
		data:     v.with(func(s *kcSpec) { s.extraUser = "    exec: null\n" }),
		problems: nil,
	}, {
		name:     "token with an unreadable driver version",
		data:     v.with(func(s *kcSpec) { s.client = nil; s.token = "abcdefghijklmnop" }),
		driver:   "latest",
		problems: []string{badDriverVersion},
	}, {
		name:     "token for 1.3 without patch number",
		data:     v.with(func(s *kcSpec) { s.client = nil; s.token = "abcdefghijklmnop" }),
		driver:   "1.3",
		problems: nil,
	}, {
		name:     "token with a newline",
		data:     v.with(func(s *kcSpec) { s.client = nil; s.token = `"abc\ndef"` }),
		problems: []string{"kubeconfig: token has characters not allowed in an HTTP header"},
	}, {
		name:     "scalar document",
		data:     []byte("just a string\n"),
		problems: []string{"kubeconfig: not a kubeconfig document (line 1)"},
	}}
}

func TestValidateProblems(t *testing.T) {
	v := newVariants(t, newFixture(t))
	for _, tc := range append(documentCases(v), credentialCases(v)...) {
		t.Run(tc.name, func(t *testing.T) {
			driver := tc.driver
			if driver == "" {
				driver = "1.4.0"
			}
			kc, r := Validate(tc.data, driver, time.Now(), ValidateOptions{})
			assert.Equal(t, tc.problems, r.Problems)
			assert.Equal(t, tc.warnings, r.Warnings)
			assert.Equal(t, len(tc.problems) == 0, kc != nil, "Kubeconfig is returned exactly when there are no problems")
		})
	}
}

func TestValidateCANotACertificate(t *testing.T) {
	fx := newFixture(t)
	client := fx.validClient()
	_, r := Validate(kcSpec{server: "https://10.0.0.1:6443", caPEM: client.keyPEM, client: &client}.yaml(), "1.4.0", time.Now(), ValidateOptions{})
	assert.Equal(t, []string{"kubeconfig: certificate-authority-data holds no PEM certificate"}, r.Problems)
}

func TestValidateOrderOfChecks(t *testing.T) {
	fx := newFixture(t)
	client := fx.validClient()
	kc, r := Validate(kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0", time.Now(), ValidateOptions{})
	require.NotNil(t, kc)
	var names []string
	for _, c := range r.Checks {
		assert.Equal(t, Pass, c.Result, c.Name)
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"kubeconfig-parse", "kubeconfig-context", "kubeconfig-server", "kubeconfig-ca", "kubeconfig-auth", "kubeconfig-client-certificate"}, names)
}

func TestKubeconfigFormatsWithoutCredentials(t *testing.T) {
	fx := newFixture(t)
	token := fx.token()
	kc, r := Validate(kcSpec{server: "https://api.example.com", caPEM: fx.ca.pem, token: token}.yaml(), "1.3.0", time.Now(), ValidateOptions{})
	require.True(t, r.OK(), r.Problems)
	want := "kubeconfig for https://api.example.com:443 (bearer-token auth)"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		assert.Equal(t, want, fmt.Sprintf(verb, kc), verb)
		assert.Equal(t, want, fmt.Sprintf(verb, *kc), verb)
	}
	assert.Equal(t, token, kc.token, "the token is kept for Preflight")
}

func TestReportStatusTexts(t *testing.T) {
	var r Report
	assert.True(t, r.OK())
	assert.Equal(t, "", r.BlockedStatus())
	assert.Equal(t, "", r.WarningSuffix())

	r.fail("a", "kubeconfig: first")
	assert.Equal(t, "kubeconfig: first", r.BlockedStatus())
	r.failAll("b", []string{"kubeconfig: second", "kubeconfig: third"})
	r.warn("kubeconfig: soon")
	r.warn("kubeconfig: later")
	r.skip("c", "skipped: no connection")
	r.pass("d", "fine")
	assert.False(t, r.OK())
	assert.Equal(t, "kubeconfig: first (+2 more)", r.BlockedStatus())
	assert.Equal(t, "; kubeconfig: soon; kubeconfig: later", r.WarningSuffix())
	assert.Equal(t, map[string]string{
		"a": "fail: kubeconfig: first",
		"b": "fail: kubeconfig: second; kubeconfig: third",
		"c": "skip: skipped: no connection",
		"d": "pass: fine",
	}, r.ActionResults())

	var other Report
	other.fail("e", "management cluster: fourth")
	merged := r.Merge(other)
	assert.Equal(t, "kubeconfig: first (+3 more)", merged.BlockedStatus())
	assert.Len(t, merged.Checks, 5)
	assert.Len(t, r.Checks, 4, "Merge leaves its receiver alone")
}

func TestRequiredAPIs(t *testing.T) {
	infra := func(driver string) string {
		apis, err := RequiredAPIs(driver, nil)
		require.NoError(t, err)
		for _, api := range apis {
			if api.Group == "infrastructure.cluster.x-k8s.io" {
				return api.Version
			}
		}
		return ""
	}
	assert.Equal(t, "v1alpha6", infra("1.2.0"))
	assert.Equal(t, "v1alpha6", infra("1.2.1"))
	assert.Equal(t, "v1alpha6", infra("1.3.0"))
	assert.Equal(t, "v1beta1", infra("1.4.0"))
	assert.Equal(t, "v1beta1", infra("v1.10.0"))

	apis, err := RequiredAPIs("1.4.0", map[string]string{"K8sControlPlane": "controlplane.cluster.x-k8s.io/v1beta2"})
	require.NoError(t, err)
	var gvs []string
	for _, api := range apis {
		gvs = append(gvs, api.GroupVersion())
	}
	assert.Equal(t, []string{
		"cluster.x-k8s.io/v1beta1",
		"infrastructure.cluster.x-k8s.io/v1beta1",
		"controlplane.cluster.x-k8s.io/v1beta2",
		"addons.stackhpc.com/v1alpha1",
	}, gvs)

	_, err = RequiredAPIs("one.two", nil)
	assert.EqualError(t, err, "cannot read driver version: version component 1 is not a number")
	_, err = RequiredAPIs("1.4.0", map[string]string{"Cluster": "v1beta1"})
	assert.EqualError(t, err, "api version override for Cluster is not group/version")
}

func TestVersionOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"1.2.1", "1.3.0", true},
		{"1.3.0", "1.3.0", false},
		{"1.3", "1.3.0", false},
		{"1.10.0", "1.9.0", false},
		{"1.9.0", "1.10.0", true},
		{"v1.2.0", "1.3.0", true},
	} {
		a, err := parseVersion(tc.a)
		require.NoError(t, err)
		b, err := parseVersion(tc.b)
		require.NoError(t, err)
		assert.Equal(t, tc.less, a.less(b), "%s < %s", tc.a, tc.b)
	}
	for _, bad := range []string{"", "latest", "1.3.0rc1", "1..3", "1.-3", "1.+3", "1.2.3.4.5"} {
		_, err := parseVersion(bad)
		assert.Error(t, err, bad)
	}
}

func TestPreflightWithoutKubeconfig(t *testing.T) {
	r := Preflight(t.Context(), nil, "1.4.0", Options{})
	assert.Equal(t, []string{"kubeconfig: not validated, nothing to preflight"}, r.Problems)
}

func TestPreflightBadProxySetting(t *testing.T) {
	fx := newFixture(t)
	client := fx.validClient()
	kc, r := Validate(kcSpec{server: "https://10.0.0.1:6443", caPEM: fx.ca.pem, client: &client}.yaml(), "1.4.0", time.Now(), ValidateOptions{})
	require.True(t, r.OK(), r.Problems)
	r = Preflight(t.Context(), kc, "1.4.0", Options{Proxy: proxy.Settings{HTTPS: "http://user:pa ss@%zz"}})
	assert.Equal(t, []string{"management cluster: the https proxy setting is not a valid URL"}, r.Problems)
	assert.NotContains(t, fmt.Sprint(r), "pa ss")
}

func TestExpiryWording(t *testing.T) {
	assert.Equal(t, "in less than a day", inDays(23*time.Hour))
	assert.Equal(t, "in 1 day", inDays(47*time.Hour))
	assert.Equal(t, "in 29 days", inDays(ExpiryWarning-time.Minute))
}

// The text validation gives of a client certificate changes when the
// warning begins, each time its count of days drops, and at expiry; a
// glance at a converged unit may last only until then.
func TestCertTextChanges(t *testing.T) {
	end := time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)
	kc := &Kubeconfig{ClientCertNotAfter: end}
	day := 24 * time.Hour
	for _, tc := range []struct {
		now, want time.Time
	}{
		{end.Add(-90 * day), end.Add(-ExpiryWarning)},
		{end.Add(-29*day - time.Hour), end.Add(-29 * day)},
		{end.Add(-2*day - time.Minute), end.Add(-2 * day)},
		{end.Add(-time.Hour), end},
		{end.Add(time.Hour), time.Time{}},
	} {
		got := kc.CertTextChanges(tc.now)
		assert.Equal(t, tc.want, got, "at %s", tc.now)
		if !got.IsZero() {
			// The text really is the same until then, and differs after.
			before, after := inDays(end.Sub(tc.now)), inDays(end.Sub(got.Add(time.Second)))
			if got.Before(end) && tc.now.After(end.Add(-ExpiryWarning)) {
				assert.NotEqual(t, before, after)
				assert.Equal(t, before, inDays(end.Sub(got.Add(-time.Second))))
			}
		}
	}
	assert.True(t, (*Kubeconfig)(nil).CertTextChanges(end).IsZero())
	assert.True(t, (&Kubeconfig{}).CertTextChanges(end).IsZero())
}
