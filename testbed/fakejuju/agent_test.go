package fakejuju_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// bed is a unit laid out as on a machine, in temporary directories: an agent
// directory holding the charm (whose dispatch is this test binary) and the
// state, and a tools directory of symlinks to the fakejuju binary.
type bed struct {
	agentDir, toolsDir, charmDir, state string
	secret                              string
}

func newBed(t *testing.T) *bed {
	t.Helper()
	b := &bed{agentDir: t.TempDir(), toolsDir: filepath.Join(t.TempDir(), "tools")}
	b.charmDir = filepath.Join(b.agentDir, "charm")
	b.state = filepath.Join(b.agentDir, "fakejuju-state.json")
	require.NoError(t, os.MkdirAll(b.charmDir, 0o755))
	self, err := os.Executable()
	require.NoError(t, err)
	require.NoError(t, os.Symlink(self, filepath.Join(b.charmDir, "dispatch")))

	_, stderr, code := b.run(t, "install-tools", b.toolsDir)
	require.Equal(t, 0, code, stderr)

	st := fakejuju.NewState("")
	b.secret = st.AddSecret(map[string]string{"kubeconfig": "apiVersion: v1", "ca": "pem"})
	require.NoError(t, st.GrantSecret(b.secret, true))
	st.Config["kubeconfig"] = b.secret
	require.NoError(t, fakejuju.Create(b.state, st))
	return b
}

// cmd prepares the fakejuju binary (or one of its tool links) with the bed's
// paths in the environment, leaving the rest to the defaults.
func (b *bed) cmd(prog string, args ...string) *exec.Cmd {
	c := exec.Command(prog, args...)
	c.Env = append(os.Environ(), "FAKEJUJU_AGENT_DIR="+b.agentDir, "FAKEJUJU_TOOLS_DIR="+b.toolsDir)
	return c
}

func (b *bed) runProg(t *testing.T, prog string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	c := b.cmd(prog, args...)
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errb.String(), 0
}

func (b *bed) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return b.runProg(t, fakejujuBin, args...)
}

func (b *bed) load(t *testing.T) *fakejuju.State {
	t.Helper()
	st, err := fakejuju.Load(b.state)
	require.NoError(t, err)
	return st
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestInstallTools(t *testing.T) {
	b := newBed(t)
	want := []string{"action-fail", "action-get", "action-log", "action-set", "application-version-set",
		"config-get", "is-leader", "juju-exec", "juju-log", "resource-get", "secret-get", "status-get", "status-set"}
	assert.Equal(t, want, fakejuju.ToolNames())
	for _, name := range want {
		target, err := os.Readlink(filepath.Join(b.toolsDir, name))
		require.NoError(t, err, name)
		assert.Equal(t, fakejujuBin, target, name)
	}
	// Reinstalling replaces the links rather than failing on them.
	_, stderr, code := b.run(t, "install-tools", b.toolsDir)
	assert.Equal(t, 0, code, stderr)
}

func TestHookEnvironment(t *testing.T) {
	b := newBed(t)
	stdout, stderr, code := b.run(t, "hook", "env-dump", "--env", "JUJU_SECRET_ID="+b.secret, "--env", "HOOK_EXIT=7")
	assert.Equal(t, 7, code, "the hook's exit code is fakejuju's")
	assert.Equal(t, "env-dump on stderr\n", stderr)
	var rep struct {
		Env []string `json:"env"`
		Cwd string   `json:"cwd"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	env := envMap(rep.Env)
	assert.Equal(t, b.charmDir, rep.Cwd)
	assert.Equal(t, b.toolsDir+":/usr/sbin:/usr/bin:/sbin:/bin", env["PATH"])
	assert.Equal(t, "hooks/env-dump", env["JUJU_DISPATCH_PATH"])
	assert.Equal(t, "env-dump", env["JUJU_HOOK_NAME"])
	assert.Equal(t, "magnum-capi-graft/0", env["JUJU_UNIT_NAME"])
	assert.Equal(t, "magnum/0", env["JUJU_PRINCIPAL_UNIT"])
	assert.Equal(t, b.charmDir, env["JUJU_CHARM_DIR"])
	assert.Equal(t, "openstack", env["JUJU_MODEL_NAME"])
	assert.Equal(t, b.state, env["FAKEJUJU_STATE"])
	assert.Equal(t, b.secret, env["JUJU_SECRET_ID"])
	assert.NotContains(t, env, "JUJU_ACTION_NAME")
	assert.NotContains(t, env, "HOME", "the hook environment is clean, not inherited")
}

func TestHookRunsToolsFromPath(t *testing.T) {
	b := newBed(t)
	_, err := fakejuju.AddSecretRevision(b.state, b.secret, map[string]string{"kubeconfig": "v2"})
	require.NoError(t, err)
	_, stderr, code := b.run(t, "hook", "config-changed")
	require.Equal(t, 0, code, stderr)
	st := b.load(t)
	assert.Equal(t, fakejuju.StatusEntry{Status: "active", Message: "ready"}, st.Status)
	assert.Equal(t, []fakejuju.LogEntry{{Level: "INFO", Message: "kubeconfig has 1 keys"}}, st.Logs)
	id, _ := fakejuju.ParseSecretURI(b.secret)
	assert.Equal(t, 2, st.Secrets[id].Tracked)
}

func TestAction(t *testing.T) {
	b := newBed(t)
	stdout, stderr, code := b.run(t, "action", "investigate", "--params", `{"depth": 2}`)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "investigate stdout", "the action's stdout must not pollute the outcome")
	var out fakejuju.Outcome
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.Equal(t, fakejuju.Outcome{
		Status:  "completed",
		Results: map[string]any{"api": map[string]any{"wiring": "default-file"}, "depth": "2"},
		Logs:    []string{"inspecting magnum-api"},
	}, out)

	// Outputs of the previous run are cleared; action-fail fails it.
	stdout, _, code = b.run(t, "action", "investigate", "--params", `{"fail": true}`)
	assert.Equal(t, 1, code)
	out = fakejuju.Outcome{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, "failed", out.Status)
	assert.Equal(t, "asked to fail", out.Message)
	assert.Equal(t, map[string]any{"api": map[string]any{"wiring": "default-file"}, "depth": ""}, out.Results)

	// A non-zero exit fails it too.
	stdout, _, code = b.run(t, "action", "crash")
	assert.Equal(t, 1, code)
	out = fakejuju.Outcome{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, fakejuju.Outcome{Status: "failed", Message: "exit status 3", Results: map[string]any{}, Logs: []string{}, ReturnCode: 3}, out)

	// Once the action is over, a plain tool call is not in its context.
	_, stderr, code = b.runProg(t, filepath.Join(b.toolsDir, "action-get"))
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR not running an action\n", stderr)

	_, stderr, code = b.run(t, "action", "investigate", "--params", "[1]")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--params must be a JSON object")
}

func TestJujuExec(t *testing.T) {
	b := newBed(t)
	self, err := os.Executable()
	require.NoError(t, err)
	stdout, stderr, code := b.runProg(t, filepath.Join(b.toolsDir, "juju-exec"), "magnum-capi-graft/0", self, "fakejuju-test-printenv")
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Env []string `json:"env"`
		Cwd string   `json:"cwd"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	env := envMap(rep.Env)
	assert.Equal(t, b.charmDir, rep.Cwd)
	assert.Equal(t, "magnum-capi-graft/0", env["JUJU_UNIT_NAME"])
	assert.NotContains(t, env, "JUJU_DISPATCH_PATH", "juju-exec sets no dispatch path")
	assert.NotContains(t, env, "JUJU_HOOK_NAME")

	// Commands are found on the hook's PATH, tools first.
	stdout, stderr, code = b.runProg(t, filepath.Join(b.toolsDir, "juju-exec"), "magnum-capi-graft/0", "is-leader", "--format=json")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "true\n", stdout)

	// The command's exit code comes back; a wrong unit is an error.
	_, _, code = b.run(t, "juju-exec", "magnum-capi-graft/0", "status-set", "bogus")
	assert.Equal(t, 2, code)
	_, stderr, code = b.run(t, "juju-exec", "magnum/0", "is-leader")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "ERROR ")
}

// TestMachineLock holds the machine lock as another hook would and checks
// that hooks and juju-exec wait for it while a parallel action does not.
func TestMachineLock(t *testing.T) {
	b := newBed(t)
	f, err := os.OpenFile(filepath.Join(b.agentDir, "machine-lock"), os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))

	start := func(args ...string) chan error {
		c := b.cmd(fakejujuBin, args...)
		require.NoError(t, c.Start())
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		return done
	}
	hook := start("hook", "config-changed")
	jexec := start("juju-exec", "magnum-capi-graft/0", "is-leader")

	_, stderr, code := b.run(t, "action", "investigate", "--parallel")
	assert.Equal(t, 0, code, "a parallel action runs under a held machine lock: %s", stderr)

	select {
	case <-hook:
		t.Fatal("the hook ran while the machine lock was held")
	case <-jexec:
		t.Fatal("juju-exec ran while the machine lock was held")
	case <-time.After(300 * time.Millisecond):
	}
	assert.Equal(t, "unknown", b.load(t).Status.Status)

	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
	for _, done := range []chan error{hook, jexec} {
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("still waiting after the machine lock was released")
		}
	}
	assert.Equal(t, "active", b.load(t).Status.Status)
}

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

	ok("revoke-secret", uri)
	_, stderr, code = run(env, "secret-get", uri)
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR permission denied\n", stderr)

	_, stderr, code = run(env, "fakejuju", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unrecognized command")
}
