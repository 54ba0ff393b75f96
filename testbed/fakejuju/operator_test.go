package fakejuju_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// TestModelCommands drives the operator-side subcommands the way the test
// bed's scripts do, in process.
func TestModelCommands(t *testing.T) {
	agentDir := t.TempDir()
	charmDir := filepath.Join(agentDir, "charm")
	require.NoError(t, os.MkdirAll(charmDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(charmDir, "config.yaml"), []byte(`options:
  kubeconfig: {type: secret}
  replicas: {type: int, default: 3}
  debug: {type: boolean, default: false}
  service-wiring: {type: string, default: auto}
`), 0o644))
	env := map[string]string{"FAKEJUJU_AGENT_DIR": agentDir}
	state := filepath.Join(agentDir, "fakejuju-state.json")
	ok := func(argv ...string) string {
		t.Helper()
		stdout, stderr, code := run(env, append([]string{"fakejuju"}, argv...)...)
		require.Equal(t, 0, code, "%v: %s", argv, stderr)
		return stdout
	}

	ok("init", "--leader=false", "--principal", "magnum/3")
	st, err := fakejuju.Load(state)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"kubeconfig": nil, "replicas": 3.0, "debug": false, "service-wiring": "auto"}, st.Config)
	assert.False(t, st.Leader)
	assert.Equal(t, "magnum/3", st.Principal)
	_, stderr, code := run(env, "fakejuju", "init")
	assert.Equal(t, 1, code, "init refuses to clobber a state without --force")
	assert.Contains(t, stderr, "already exists")

	secretFile := filepath.Join(t.TempDir(), "capi.kubeconfig")
	require.NoError(t, os.WriteFile(secretFile, []byte("apiVersion: v1\n"), 0o600))
	uri := strings.TrimSpace(ok("add-secret", "kubeconfig#file="+secretFile))
	_, valid := fakejuju.ParseSecretURI(uri)
	require.True(t, valid, uri)
	ok("config", "kubeconfig="+uri, "replicas=5", "debug=true")
	assert.Equal(t, "2\n", ok("update-secret", uri, "kubeconfig=v2"))
	ok("grant-secret", uri)
	ok("model-config", "juju-https-proxy=http://squid.internal:3128", "no-proxy=")
	ok("attach-resource", "helm=")
	ok("attach-resource", "driver="+secretFile)
	ok("detach-resource", "driver")

	_, stderr, code = run(env, "fakejuju", "config", "nosuch=1")
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR unknown option \"nosuch\"\n", stderr)

	var shown fakejuju.State
	require.NoError(t, json.Unmarshal([]byte(ok("show-state")), &shown))
	st, err = fakejuju.Load(state)
	require.NoError(t, err)
	assert.Equal(t, *st, shown)
	assert.Equal(t, map[string]any{"kubeconfig": uri, "replicas": 5.0, "debug": true, "service-wiring": "auto"}, st.Config)
	id, _ := fakejuju.ParseSecretURI(uri)
	assert.True(t, st.Secrets[id].Granted)
	assert.Equal(t, []fakejuju.Revision{
		{Revision: 1, Content: map[string]string{"kubeconfig": "apiVersion: v1\n"}},
		{Revision: 2, Content: map[string]string{"kubeconfig": "v2"}},
	}, st.Secrets[id].Revisions)
	assert.Equal(t, map[string]string{"helm": ""}, st.Resources)
	assert.Equal(t, map[string]string{"juju-https-proxy": "http://squid.internal:3128", "juju-no-proxy": "127.0.0.1,localhost,::1"}, st.ModelConfig,
		"set, and an empty value unsets")

	ok("revoke-secret", uri)
	_, stderr, code = run(env, "secret-get", uri)
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR permission denied\n", stderr)

	_, stderr, code = run(env, "fakejuju", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unrecognized command")
}
