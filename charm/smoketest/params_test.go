package smoketest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func secret() map[string]string {
	return map[string]string{
		"auth-url":            "https://keystone.example:5000/v3",
		"username":            "admin",
		"password":            " pass word ",
		"project-name":        "admin",
		"user-domain-name":    "admin_domain",
		"project-domain-name": "admin_domain",
		"region-name":         "RegionOne",
		"interface":           "internalURL",
		"cacert":              "-----BEGIN CERTIFICATE-----\n...",
	}
}

func TestCredentialsFromSecret(t *testing.T) {
	c, err := CredentialsFromSecret(secret())

	require.NoError(t, err)
	assert.Equal(t, Credentials{
		AuthURL:           "https://keystone.example:5000/v3",
		Username:          "admin",
		Password:          " pass word ",
		ProjectName:       "admin",
		UserDomainName:    "admin_domain",
		ProjectDomainName: "admin_domain",
		RegionName:        "RegionOne",
		Interface:         "internalURL",
		CACert:            "-----BEGIN CERTIFICATE-----\n...",
	}, c)
	a, err := c.availability()
	require.NoError(t, err)
	assert.Equal(t, gophercloud.AvailabilityInternal, a)
}

func TestCredentialsFromSecretNamesWhatIsWrong(t *testing.T) {
	s := secret()
	delete(s, "password")
	s["project-name"] = "  "
	_, err := CredentialsFromSecret(s)
	assert.EqualError(t, err, "credentials secret: missing password, project-name")

	s = secret()
	s["regionname"] = "RegionTwo"
	_, err = CredentialsFromSecret(s)
	assert.EqualError(t, err, "credentials secret: unknown key regionname")

	s = secret()
	s["interface"] = "private"
	_, err = CredentialsFromSecret(s)
	assert.EqualError(t, err, `credentials secret: interface "private" is not one of public, internal, admin`)

	s = secret()
	s["auth-url"] = "keystone:5000"
	_, err = CredentialsFromSecret(s)
	assert.ErrorContains(t, err, `auth-url "keystone:5000" is not an http(s) URL`)

	// Optional keys may be left out.
	s = secret()
	delete(s, "region-name")
	delete(s, "interface")
	delete(s, "cacert")
	_, err = CredentialsFromSecret(s)
	assert.NoError(t, err)
}

func TestCredentialsNeverPrintThePassword(t *testing.T) {
	c, err := CredentialsFromSecret(secret())
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, c)
		assert.NotContains(t, out, "pass word", verb)
		assert.Contains(t, out, "admin@admin_domain", verb)
	}
}

func TestParamsDefaults(t *testing.T) {
	p := Params{}.withDefaults()

	assert.Equal(t, "calico", p.NetworkDriver)
	assert.Equal(t, 1, p.MasterCount)
	assert.Equal(t, 1, p.NodeCount)
	assert.Equal(t, 30*time.Minute, p.Timeout)
	assert.Equal(t, DefaultPrefix, p.Prefix)
	assert.Equal(t, 2048, p.MinFlavorRAMMB)
	assert.Equal(t, 2, p.MinFlavorVCPUs)
	assert.Equal(t, Pacing{
		PollInitial: 10 * time.Second, PollMax: time.Minute,
		RetryInitial: 2 * time.Second, RetryAttempts: 5, DeleteTimeout: 20 * time.Minute,
	}, p.Pacing)
	assert.Equal(t, 30, p.createTimeoutMinutes())
}

func TestParamsValidate(t *testing.T) {
	assert.NoError(t, testParams().Validate())

	for _, tt := range []struct {
		name   string
		change func(*Params)
		expect string
	}{
		{"missing image", func(p *Params) { p.Image = " " }, "image is not set"},
		{"missing flavor", func(p *Params) { p.Flavor = "" }, "flavor is not set"},
		{"prefix with a space", func(p *Params) { p.Prefix = "smoke test" }, `prefix "smoke test" must start with a letter`},
		{"prefix with a digit first", func(p *Params) { p.Prefix = "1smoke" }, `prefix "1smoke"`},
		{"negative nodes", func(p *Params) { p.NodeCount = -1 }, "counts must be at least 1"},
		{"kube_tag twice", func(p *Params) { p.Labels = map[string]string{"kube_tag": "v1.31.0"} }, `kube_tag is given twice: "v1.31.0" in labels and "v1.32.2"`},
		{"poll max below initial", func(p *Params) { p.Pacing.PollMax = time.Microsecond }, "PollMax at least PollInitial"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams()
			tt.change(&p)
			assert.ErrorContains(t, p.Validate(), tt.expect)
		})
	}
}

func TestParamsLabels(t *testing.T) {
	p := Params{Labels: map[string]string{"a": "1"}, KubeTag: "v1.32.2"}
	assert.Equal(t, map[string]string{"a": "1", "kube_tag": "v1.32.2"}, p.labels())
	assert.Equal(t, map[string]string{"a": "1"}, p.Labels, "the caller's map is left alone")

	assert.Equal(t, map[string]string{}, Params{}.labels())
}

func TestCreateTimeoutRoundsUp(t *testing.T) {
	assert.Equal(t, 1, Params{Timeout: time.Second}.createTimeoutMinutes())
	assert.Equal(t, 2, Params{Timeout: 61 * time.Second}.createTimeoutMinutes())
	assert.Equal(t, 20, Params{Timeout: 20 * time.Minute}.createTimeoutMinutes())
}

func TestBodyMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"errors":[{"status":400,"title":"ClusterTemplate x is referenced by one or multiple clusters.","detail":"..."}]}`: "ClusterTemplate x is referenced by one or multiple clusters.",
		`{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}`:      "The request you have made requires authentication.",
		`{"itemNotFound":{"code":404,"message":"Flavor m9 could not be found."}}`:                                           "Flavor m9 could not be found.",
		"404 Not Found\n\nThe resource could not be found.\n\n   ":                                                          "404 Not Found The resource could not be found.",
		"": "(empty body)",
	} {
		assert.Equal(t, want, bodyMessage([]byte(body)))
	}
}

func TestSelectsDriver(t *testing.T) {
	for v, want := range map[string]bool{"15.0.1": false, "17.0.0": false, "18.0.0": true, "20.0.0": true, "": true, "x": true} {
		assert.Equal(t, want, SelectsDriver(v), v)
	}
}
