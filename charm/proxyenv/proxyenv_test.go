package proxyenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// The shapes the wiring meets: Debian's init-script conductor, its uwsgi
// api, and Ubuntu's units that run the binary.
var (
	conductor = &unitshape.Service{Name: "magnum-conductor", Shape: unitshape.InitScript,
		InitScript: "/etc/init.d/magnum-conductor", DefaultFile: "/etc/default/magnum-conductor"}
	uwsgiAPI = &unitshape.Service{Name: "magnum-api", Shape: unitshape.InitScriptUWSGI,
		InitScript: "/etc/init.d/magnum-api", DefaultFile: "/etc/default/magnum-api", PyArgv: true}
	direct = &unitshape.Service{Name: "magnum-conductor", Shape: unitshape.Direct}
)

var model = proxyenv.Model{
	HTTP:    "http://proxy.example:3128",
	HTTPS:   "http://proxy.example:3128",
	NoProxy: "10.0.0.0/8, *.internal,mgmt.example",
}

var endpoints = []string{
	"https://keystone.internal:5000/v3", // direct by the model's *.internal
	"https://10.1.2.3:6443",             // direct by the model's 10.0.0.0/8, which Python does not read for names
	"https://mgmt.example:6443",         // direct, already written by name
	"https://public.example.com:5000/v3",
}

const wantNoProxy = "10.0.0.0/8,.internal,mgmt.example,localhost,127.0.0.1,::1,keystone.internal,10.1.2.3"

func TestDefaultFileLines(t *testing.T) {
	env, err := proxyenv.For(proxyenv.Input{Model: model, Service: conductor, Method: wiring.ByDefaultFile, Endpoints: endpoints})
	require.NoError(t, err)
	assert.Equal(t, proxyenv.InDefaultFile, env.Placement)
	assert.Equal(t, []string{
		"export HTTP_PROXY='http://proxy.example:3128'",
		"export http_proxy='http://proxy.example:3128'",
		"export HTTPS_PROXY='http://proxy.example:3128'",
		"export https_proxy='http://proxy.example:3128'",
		"export NO_PROXY='" + wantNoProxy + "'",
		"export no_proxy='" + wantNoProxy + "'",
	}, env.Lines)
	assert.False(t, env.Credentials)
	assert.Nil(t, env.EnvFileContent)
	assert.Equal(t, []proxyenv.Route{
		{Endpoint: "https://keystone.internal:5000/v3", Host: "keystone.internal", Direct: true, Added: true},
		{Endpoint: "https://10.1.2.3:6443", Host: "10.1.2.3", Direct: true, Added: true},
		{Endpoint: "https://mgmt.example:6443", Host: "mgmt.example", Direct: true},
		{Endpoint: "https://public.example.com:5000/v3", Host: "public.example.com"},
	}, env.Routes)

	// Debian's uwsgi api sources its default file too.
	api, err := proxyenv.For(proxyenv.Input{Model: model, Service: uwsgiAPI, Method: wiring.ByDefaultDirs, Endpoints: endpoints})
	require.NoError(t, err)
	assert.Equal(t, env.Lines, api.Lines)
}

// The lines do what they say in the shell the init script runs in: a
// script that sources them and execs a program hands it the variables.
func TestDefaultFileLinesInTheShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	m := model
	m.NoProxy = "a.example,b.example"
	env, err := proxyenv.For(proxyenv.Input{Model: m, Service: conductor, Method: wiring.ByDefaultFile})
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "magnum-conductor")
	require.NoError(t, os.WriteFile(file, []byte("DAEMON_ARGS=\"\"\n"+strings.Join(env.Lines, "\n")+"\n"), 0o644))
	out, err := exec.Command(sh, "-c", `. "$1"; exec env`, "sh", file).Output()
	require.NoError(t, err)
	live := proxyenv.FromEnviron([]byte(strings.ReplaceAll(string(out), "\n", "\x00")))
	assert.Empty(t, proxyenv.Compare(env.Vars, live))
	assert.Contains(t, live, proxyenv.Var{Name: "no_proxy", Value: "a.example,b.example,localhost,127.0.0.1,::1"})
}

func TestDropInLines(t *testing.T) {
	m := proxyenv.Model{HTTPS: "proxy.example:3128", NoProxy: "%weird.example"}
	env, err := proxyenv.For(proxyenv.Input{Model: m, Service: direct, Method: wiring.BySystemdOverride})
	require.NoError(t, err)
	assert.Equal(t, proxyenv.InDropIn, env.Placement)
	assert.Equal(t, []string{
		`Environment="HTTPS_PROXY=proxy.example:3128"`,
		`Environment="https_proxy=proxy.example:3128"`,
		`Environment="NO_PROXY=%%weird.example,localhost,127.0.0.1,::1"`,
		`Environment="no_proxy=%%weird.example,localhost,127.0.0.1,::1"`,
	}, env.Lines, "a bare host:port is passed as the model gave it; %% is systemd's literal %")
}

// A proxy with credentials is never written where anyone may read it: the
// lines refer to a file only root and magnum read that holds the values.
func TestCredentialsGoToAFileOnlyMagnumReads(t *testing.T) {
	m := proxyenv.Model{HTTPS: "http://capi:s3cret@proxy.example:3128", NoProxy: "mgmt.example"}
	for _, tc := range []struct {
		method wiring.Method
		lines  []string
	}{
		{wiring.ByDefaultFile, []string{"if [ -r /etc/magnum/capi-proxy.env ]; then set -a; . /etc/magnum/capi-proxy.env; set +a; fi"}},
		{wiring.BySystemdOverride, []string{"EnvironmentFile=/etc/magnum/capi-proxy.env"}},
	} {
		env, err := proxyenv.For(proxyenv.Input{Model: m, Service: conductor, Method: tc.method})
		require.NoError(t, err)
		assert.True(t, env.Credentials)
		assert.Equal(t, tc.lines, env.Lines)
		assert.NotContains(t, strings.Join(env.Lines, "\n"), "s3cret")
		assert.Equal(t, "# Managed by the magnum-capi-graft charm: the model's proxy for Magnum's services.\n"+
			"HTTPS_PROXY='http://capi:s3cret@proxy.example:3128'\n"+
			"https_proxy='http://capi:s3cret@proxy.example:3128'\n"+
			"NO_PROXY='mgmt.example,localhost,127.0.0.1,::1'\n"+
			"no_proxy='mgmt.example,localhost,127.0.0.1,::1'\n", string(env.EnvFileContent))
	}

	// The block's line, sourced by sh, exports the file's values.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	env, err := proxyenv.For(proxyenv.Input{Model: m, Service: conductor, Method: wiring.ByDefaultFile})
	require.NoError(t, err)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "model-proxy.env")
	require.NoError(t, os.WriteFile(envFile, env.EnvFileContent, 0o600))
	block := strings.ReplaceAll(env.Lines[0], proxyenv.EnvFile, envFile)
	out, err := exec.Command(sh, "-c", block+"\nexec env").Output()
	require.NoError(t, err)
	live := proxyenv.FromEnviron([]byte(strings.ReplaceAll(string(out), "\n", "\x00")))
	assert.Empty(t, proxyenv.Compare(env.Vars, live))
	// Without the file the script goes on (dash exits on a failed ".").
	out, err = exec.Command(sh, "-c", env.Lines[0]+"\necho went-on").Output()
	require.NoError(t, err)
	assert.Equal(t, "went-on\n", string(out))
}

func TestNothingToWrite(t *testing.T) {
	env, err := proxyenv.For(proxyenv.Input{Service: conductor, Method: wiring.ByDefaultFile})
	require.NoError(t, err)
	assert.Equal(t, proxyenv.Env{Placement: proxyenv.InDefaultFile}, env, "no model proxy: no lines")

	env, err = proxyenv.For(proxyenv.Input{Model: model, Service: conductor, Method: wiring.ByNone})
	require.NoError(t, err)
	assert.Equal(t, proxyenv.Nowhere, env.Placement)
	assert.Equal(t, "service-wiring=none: the operator wires the services", env.Why)
	assert.Empty(t, env.Lines)
	assert.NotEmpty(t, env.Vars, "what the operator should give the service is still said")

	env, err = proxyenv.For(proxyenv.Input{Model: model, Service: conductor, Method: wiring.ByPaused})
	require.NoError(t, err)
	assert.Equal(t, proxyenv.Nowhere, env.Placement)
	assert.Empty(t, env.Lines)
}

// Bad settings are refused by name, and the value never appears.
func TestBadSettings(t *testing.T) {
	for _, m := range []proxyenv.Model{
		{HTTPS: "http://proxy.example:3128\nX=1"},
		{HTTPS: "http://pr'oxy.example:3128"},
		{HTTPS: "http://secret@%zz"},
	} {
		_, err := proxyenv.For(proxyenv.Input{Model: m, Service: conductor, Method: wiring.ByDefaultFile})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "JUJU_CHARM_HTTPS_PROXY")
		assert.NotContains(t, err.Error(), "proxy.example")
		assert.NotContains(t, err.Error(), "secret")
	}
	_, err := proxyenv.For(proxyenv.Input{Model: model, Service: conductor, Method: wiring.ByDefaultFile, Endpoints: []string{"keystone:5000"}})
	assert.EqualError(t, err, "an endpoint to keep direct is not an http(s) URL")
}

func TestCompare(t *testing.T) {
	want := []proxyenv.Var{{"HTTPS_PROXY", "http://p:3128"}, {"NO_PROXY", "a"}}
	live := proxyenv.FromEnviron([]byte("PATH=/bin\x00HTTPS_PROXY=http://p:3128\x00NO_PROXY=b\x00http_proxy=http://old:3128\x00"))
	assert.Equal(t, []string{"NO_PROXY differs", "http_proxy set, but not by the model's proxy"}, proxyenv.Compare(want, live))
	assert.Equal(t, []string{"HTTPS_PROXY unset", "NO_PROXY unset"}, proxyenv.Compare(want, nil))
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"JUJU_CHARM_HTTPS_PROXY": "http://p:3128", "JUJU_CHARM_NO_PROXY": "x"}
	m := proxy.FromJuju(func(k string) string { return env[k] })
	assert.Equal(t, proxyenv.Model{HTTPS: "http://p:3128", NoProxy: "x"}, m)
	assert.True(t, m.Set())
	assert.False(t, proxyenv.Model{NoProxy: "x"}.Set())
}

func TestKeystoneEndpoints(t *testing.T) {
	conf := []byte("[DEFAULT]\ndebug = false\n[keystone_authtoken]\nwww_authenticate_uri = https://keystone.internal:5000/v3\n" +
		"auth_url = https://keystone.internal:5000/v3\n[other]\nauth_url = https://elsewhere:1\n")
	assert.Equal(t, []string{"https://keystone.internal:5000/v3"}, proxyenv.KeystoneEndpoints(conf), "one URL named twice is one endpoint")
	conf = []byte("[keystone_authtoken]\nwww_authenticate_uri = https://ks.example:5000\nauth_url = http://10.0.0.5:35357\n")
	assert.Equal(t, []string{"https://ks.example:5000", "http://10.0.0.5:35357"}, proxyenv.KeystoneEndpoints(conf))
	assert.Empty(t, proxyenv.KeystoneEndpoints([]byte("[keystone_authtoken]\nauth_url = keystone:5000\n")), "not a URL")
	assert.Empty(t, proxyenv.KeystoneEndpoints(nil))
}
