package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// bins holds the binaries TestMain builds: the fake agent (this module's
// cmd/fakejuju) and Juju's own hook-tool client (juju/juju cmd/jujuc).
var bins struct{ fakejuju, jujuc string }

// TestMain builds the binaries once. The test binary doubles as two helper
// programs, chosen by how it is invoked: as "<charm>/dispatch" (or
// "<charm>/hooks/update-status") it is a small charm that drives the hook
// tools through the charm's own hooktool.Juju and ExecRunner, and with the
// argument "fakejuju-test-printenv" it reports what it was given.
func TestMain(m *testing.M) {
	switch {
	case filepath.Base(os.Args[0]) == "dispatch" || filepath.Base(os.Args[0]) == "update-status":
		os.Exit(testCharm())
	case len(os.Args) > 1 && os.Args[1] == "fakejuju-test-printenv":
		os.Exit(printEnv())
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fakejuju-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bins.fakejuju = filepath.Join(dir, "fakejuju")
	bins.jujuc = filepath.Join(dir, "jujuc")
	for out, pkg := range map[string]string{
		bins.fakejuju: "github.com/juju/juju/magnum-capi-graft-testbed/cmd/fakejuju",
		bins.jujuc:    "github.com/juju/juju/cmd/jujuc",
	} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, b)
			return 1
		}
	}
	return m.Run()
}

type report struct {
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
	Args []string `json:"args"`
}

func printEnv() int {
	cwd, _ := os.Getwd()
	_ = json.NewEncoder(os.Stdout).Encode(report{Env: os.Environ(), Cwd: cwd, Args: os.Args})
	return 0
}

// testCharm is the helper charm. Its hook tool calls go through the real
// hooktool.Juju and ExecRunner, Juju's jujuc client on PATH and the agent's
// jujuc server, so the whole path of a real hook is exercised.
func testCharm() int {
	ctx := context.Background()
	juju := hooktool.New(hooktool.ExecRunner{})
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "dispatch:", err)
		return 1
	}
	path := os.Getenv("JUJU_DISPATCH_PATH")
	if path == "" {
		// juju-exec sets none: the charm's hooks/update-status is run by name.
		path = "hooks/" + filepath.Base(os.Args[0])
	}
	switch path {
	case "hooks/env-dump", "hooks/update-status":
		printEnv()
		fmt.Fprintln(os.Stderr, "env-dump on stderr")
		code, _ := strconv.Atoi(os.Getenv("HOOK_EXIT"))
		return code
	case "hooks/config-changed":
		cfg, err := juju.ConfigGet(ctx)
		if err != nil {
			return fail(err)
		}
		uri, _ := cfg["kubeconfig"].(string)
		content, err := juju.SecretGet(ctx, uri, hooktool.SecretRefresh)
		if err != nil {
			return fail(err)
		}
		if err := juju.Log(ctx, hooktool.Info, fmt.Sprintf("kubeconfig has %d keys", len(content))); err != nil {
			return fail(err)
		}
		if err := juju.StatusSet(ctx, hooktool.Active, "ready"); err != nil {
			return fail(err)
		}
		return 0
	case "actions/investigate":
		params, err := juju.ActionGet(ctx)
		if err != nil {
			return fail(err)
		}
		if err := juju.ActionLog(ctx, "inspecting magnum-api"); err != nil {
			return fail(err)
		}
		results := map[string]any{"api": map[string]any{"wiring": "default-file"}, "depth": params["depth"],
			"env": map[string]any{"uuid": os.Getenv("JUJU_ACTION_UUID"), "tag": os.Getenv("JUJU_ACTION_TAG")}}
		if err := juju.ActionSet(ctx, results); err != nil {
			return fail(err)
		}
		if params["fail"] == true {
			if err := juju.ActionFail(ctx, "asked to fail"); err != nil {
				return fail(err)
			}
		}
		fmt.Println("investigate stdout")
		return 0
	case "actions/wait":
		// Holds its operation until the file named by the "until"
		// parameter exists.
		params, err := juju.ActionGet(ctx)
		if err != nil {
			return fail(err)
		}
		until, _ := params["until"].(string)
		for {
			if _, err := os.Stat(until); err == nil {
				return 0
			}
			time.Sleep(20 * time.Millisecond)
		}
	case "actions/crash":
		return 3
	case "hooks/graft-relation-changed":
		// Reads the remote unit's settings and answers them through the
		// charm's own relation tools; the leader also hands it the turn.
		printEnv()
		id := os.Getenv("JUJU_RELATION_ID")
		remote := os.Getenv("JUJU_REMOTE_UNIT")
		theirs, err := juju.RelationGet(ctx, id, remote)
		if err != nil {
			return fail(err)
		}
		if err := juju.RelationSet(ctx, id, false, map[string]string{"saw": remote + " " + theirs["turn"]}); err != nil {
			return fail(err)
		}
		if leader, err := juju.IsLeader(ctx); err != nil {
			return fail(err)
		} else if leader {
			if err := juju.RelationSet(ctx, id, true, map[string]string{"turn": remote}); err != nil {
				return fail(err)
			}
		}
		code, _ := strconv.Atoi(os.Getenv("HOOK_EXIT"))
		return code
	}
	return fail(fmt.Errorf("unexpected JUJU_DISPATCH_PATH %q", path))
}

const unit = "magnum-capi-graft/0"

// bed is a unit laid out as on a machine, in temporary directories.
type bed struct {
	dataDir, agentDir, toolsDir, charmDir, state, tmp string
	secret                                            string
}

const metadataYAML = `name: magnum-capi-graft
summary: test charm
description: test charm
subordinate: true
requires:
  juju-info:
    interface: juju-info
    scope: container
peers:
  graft:
    interface: magnum-capi-graft-peers
`

const actionsYAML = `investigate:
  description: Look around.
  params:
    depth: {type: integer, description: how deep}
    fail: {type: boolean, default: false}
    verbose: {type: boolean, default: false}
  additionalProperties: false
wait:
  description: Wait for a file.
  params:
    until: {type: string}
  required: [until]
  parallel: true
crash:
  description: Exits 3.
`

func newBed(t *testing.T) *bed {
	t.Helper()
	root := t.TempDir()
	b := &bed{dataDir: filepath.Join(root, "var-lib-juju"), tmp: filepath.Join(root, "tmp")}
	b.agentDir = filepath.Join(b.dataDir, "agents", "unit-magnum-capi-graft-0")
	b.toolsDir = filepath.Join(b.dataDir, "tools", "unit-magnum-capi-graft-0")
	b.charmDir = filepath.Join(b.agentDir, "charm")
	b.state = filepath.Join(b.agentDir, "fakejuju-state.json")
	for _, d := range []string{filepath.Join(b.charmDir, "hooks"), b.toolsDir, b.tmp} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	self, err := os.Executable()
	require.NoError(t, err)
	require.NoError(t, os.Symlink(self, filepath.Join(b.charmDir, "dispatch")))
	require.NoError(t, os.Symlink(self, filepath.Join(b.charmDir, "hooks", "update-status")))
	require.NoError(t, os.WriteFile(filepath.Join(b.charmDir, "metadata.yaml"), []byte(metadataYAML), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(b.charmDir, "actions.yaml"), []byte(actionsYAML), 0o644))
	data, err := os.ReadFile(bins.jujuc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(b.toolsDir, "jujuc"), data, 0o755))
	_, stderr, code := b.run(t, "install-tools", b.toolsDir)
	require.Equal(t, 0, code, stderr)

	st := fakejuju.NewState("")
	b.secret = st.AddSecret(map[string]string{"kubeconfig": "apiVersion: v1", "ca": "pem"})
	require.NoError(t, st.GrantSecret(b.secret, true))
	st.Config["kubeconfig"] = b.secret
	require.NoError(t, fakejuju.Create(b.state, st))
	return b
}

// env is the environment of the test's own commands: the bed's paths, and
// a TMPDIR of its own, which is where Juju's machine lock lives.
func (b *bed) env() []string {
	return append(os.Environ(), "FAKEJUJU_AGENT_DIR="+b.agentDir, "FAKEJUJU_TOOLS_DIR="+b.toolsDir,
		"FAKEJUJU_DATA_DIR="+b.dataDir, "FAKEJUJU_MACHINE_LOCK_LOG="+filepath.Join(b.dataDir, "machine-lock.log"),
		"TMPDIR="+b.tmp)
}

func (b *bed) cmd(prog string, args ...string) *exec.Cmd {
	c := exec.Command(prog, args...)
	c.Env = b.env()
	return c
}

func (b *bed) runCmd(t *testing.T, c *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
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
	return b.runCmd(t, b.cmd(bins.fakejuju, args...))
}

// jujuExec runs Juju's juju-exec (the fake agent binary under that name).
func (b *bed) jujuExec(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	link := filepath.Join(b.dataDir, "juju-exec")
	if _, err := os.Lstat(link); err != nil {
		require.NoError(t, os.Symlink(bins.fakejuju, link))
	}
	c := b.cmd(link, args...)
	c.Env = append(c.Env, env...)
	return b.runCmd(t, c)
}

// startAgent runs `fakejuju agent` (the juju-exec listener) for the test.
func (b *bed) startAgent(t *testing.T) {
	t.Helper()
	c := b.cmd(bins.fakejuju, "agent")
	c.Stderr = os.Stderr
	require.NoError(t, c.Start())
	t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		_ = c.Wait()
	})
	sock := filepath.Join(b.agentDir, "run.socket")
	require.Eventually(t, func() bool { _, err := os.Stat(sock); return err == nil }, 10*time.Second, 10*time.Millisecond)
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

func TestInstallToolsLinksEveryJujuTool(t *testing.T) {
	b := newBed(t)
	for _, name := range []string{"config-get", "secret-get", "status-set", "juju-log", "is-leader",
		"action-get", "action-set", "action-fail", "action-log", "resource-get", "application-version-set",
		"relation-get", "relation-set", "relation-ids", "relation-list"} {
		target, err := os.Readlink(filepath.Join(b.toolsDir, name))
		require.NoError(t, err, name)
		assert.Equal(t, "jujuc", target, name)
	}
	// Reinstalling replaces the links rather than failing on them.
	_, stderr, code := b.run(t, "install-tools", b.toolsDir)
	assert.Equal(t, 0, code, stderr)
}

// TestHookEnvironment: a hook gets HookVars and nothing else, as on a
// machine (juju/juju runner/context/context.go HookVars, env.go ubuntuEnv).
func TestHookEnvironment(t *testing.T) {
	b := newBed(t)
	require.NoError(t, fakejuju.Update(b.state, func(st *fakejuju.State) error {
		st.ModelConfig["juju-https-proxy"] = "http://squid.internal:3128"
		st.ModelConfig["https-proxy"] = "http://legacy.internal:3128"
		return nil
	}))
	stdout, stderr, code := b.run(t, "hook", "env-dump", "--env", "JUJU_SECRET_ID="+b.secret, "--env", "HOOK_EXIT=7")
	assert.Equal(t, 7, code, "the hook's exit code is fakejuju's")
	assert.Equal(t, "env-dump on stderr\n", stderr)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	env := envMap(rep.Env)
	assert.Equal(t, b.charmDir, rep.Cwd)
	assert.Equal(t, b.toolsDir+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", env["PATH"])
	assert.Equal(t, "hooks/env-dump", env["JUJU_DISPATCH_PATH"])
	assert.Equal(t, "env-dump", env["JUJU_HOOK_NAME"])
	assert.Regexp(t, `^magnum-capi-graft/0-env-dump-[0-9a-f]{32}$`, env["JUJU_CONTEXT_ID"])
	assert.Equal(t, filepath.Join(b.agentDir, "agent.socket"), env["JUJU_AGENT_SOCKET_ADDRESS"])
	assert.Equal(t, "unix", env["JUJU_AGENT_SOCKET_NETWORK"])
	assert.Equal(t, unit, env["JUJU_UNIT_NAME"])
	assert.Equal(t, "magnum/0", env["JUJU_PRINCIPAL_UNIT"])
	assert.Equal(t, b.charmDir, env["JUJU_CHARM_DIR"])
	assert.Equal(t, "openstack", env["JUJU_MODEL_NAME"])
	assert.Equal(t, "3.6.11", env["JUJU_VERSION"])
	assert.Equal(t, b.secret, env["JUJU_SECRET_ID"])
	assert.Equal(t, "http://squid.internal:3128", env["JUJU_CHARM_HTTPS_PROXY"])
	assert.Equal(t, "127.0.0.1,localhost,::1", env["JUJU_CHARM_NO_PROXY"])
	assert.Contains(t, env, "JUJU_CHARM_HTTP_PROXY", "set even when empty")
	assert.Equal(t, "http://legacy.internal:3128", env["https_proxy"])
	assert.Equal(t, "http://legacy.internal:3128", env["HTTPS_PROXY"])
	assert.Equal(t, "127.0.0.1,::1,localhost", env["no_proxy"], "juju/proxy sorts the no-proxy list")
	assert.NotContains(t, env, "http_proxy", "legacy variables only when set")
	assert.NotContains(t, env, "JUJU_ACTION_NAME")
	assert.NotContains(t, env, "JUJU_RELATION", "not a relation hook")
	assert.NotContains(t, env, "JUJU_REMOTE_UNIT")
	assert.NotContains(t, env, "HOME", "the hook environment is clean, not inherited")
	assert.NotContains(t, env, "FAKEJUJU_STATE", "the tools find the agent by its socket, not a file")
}

// TestHookRunsJujusTools: the charm's hooktool calls reach Juju's own
// commands through Juju's jujuc client and server.
func TestHookRunsJujusTools(t *testing.T) {
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

	// Outside a hook, a tool has no context and says so (Juju's jujuc).
	_, stderr, code = b.runCmd(t, b.cmd(filepath.Join(b.toolsDir, "is-leader")))
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR JUJU_CONTEXT_ID not set\n", stderr)
}

func TestAction(t *testing.T) {
	b := newBed(t)
	type outcome struct {
		ID         string         `json:"id"`
		Status     string         `json:"status"`
		Message    string         `json:"message"`
		Results    map[string]any `json:"results"`
		Logs       []string       `json:"logs"`
		ReturnCode int            `json:"return-code"`
	}
	stdout, stderr, code := b.run(t, "action", "investigate", "--params", `{"depth": 2}`)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "investigate stdout", "the action's stdout must not pollute the outcome")
	var out outcome
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.Equal(t, outcome{
		ID:     "1",
		Status: "completed",
		Results: map[string]any{"api": map[string]any{"wiring": "default-file"}, "depth": "2",
			"env": map[string]any{"uuid": "1", "tag": "action-1"}},
		Logs: []string{"inspecting magnum-api"},
	}, out)
	assert.Equal(t, map[string]any{"depth": 2.0, "fail": false, "verbose": false}, b.load(t).Action.Params,
		"the schema's defaults are inserted before the charm runs")

	// action-fail fails it, and the next action has the next id.
	stdout, _, code = b.run(t, "action", "investigate", "--params", `{"fail": true}`)
	assert.Equal(t, 1, code)
	out = outcome{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, "2", out.ID)
	assert.Equal(t, "failed", out.Status)
	assert.Equal(t, "asked to fail", out.Message)

	// A non-zero exit fails it too.
	stdout, _, code = b.run(t, "action", "crash")
	assert.Equal(t, 1, code)
	out = outcome{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, outcome{ID: "3", Status: "failed", Message: "exit status 3", Results: map[string]any{}, Logs: []string{}, ReturnCode: 3}, out)

	// Juju refuses what the schema refuses, before anything runs.
	for params, want := range map[string]string{
		`{"depth": "deep"}`: `validation failed: (root).depth : must be of type integer, given "deep"`,
		`{"colour": "red"}`: `validation failed: (root) : additional property "colour" is not allowed, given {"colour":"red"}`,
	} {
		stdout, stderr, code = b.run(t, "action", "investigate", "--params", params)
		assert.Equal(t, 1, code, params)
		assert.Empty(t, stdout, params)
		assert.Equal(t, "ERROR "+want+"\n", stderr, params)
	}
	_, stderr, code = b.run(t, "action", "wait")
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR validation failed: (root) : \"until\" property is missing and required, given {}\n", stderr)
	_, stderr, code = b.run(t, "action", "nosuch")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `action "nosuch" not defined`)
	assert.Equal(t, "3", b.load(t).Action.UUID, "refused actions never ran")
}

// TestJujuExecIsJujus: juju-exec's command line is parsed by Juju's own
// RunCommand, and the commands run through the agent as Juju runs them.
func TestJujuExecIsJujus(t *testing.T) {
	b := newBed(t)
	b.startAgent(t)
	self, err := os.Executable()
	require.NoError(t, err)

	stdout, stderr, code := b.jujuExec(t, nil, "-u", unit, "--", self, "fakejuju-test-printenv", "--flag")
	require.Equal(t, 0, code, stderr)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	env := envMap(rep.Env)
	assert.Equal(t, b.charmDir, rep.Cwd)
	assert.Equal(t, []string{self, "fakejuju-test-printenv", "--flag"}, rep.Args)
	assert.Equal(t, unit, env["JUJU_UNIT_NAME"])
	assert.Regexp(t, `^magnum-capi-graft/0-run-commands-[0-9a-f]{32}$`, env["JUJU_CONTEXT_ID"])
	assert.NotContains(t, env, "JUJU_DISPATCH_PATH", "juju-exec sets no dispatch path")
	assert.Equal(t, "", env["JUJU_HOOK_NAME"])

	// The tools answer inside juju-exec too, and exit codes come back.
	stdout, stderr, code = b.jujuExec(t, nil, unit, "is-leader --format=json")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "true\n", stdout)
	_, stderr, code = b.jujuExec(t, nil, unit, "status-set bogus")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `ERROR invalid status "bogus"`)

	// What the watcher used to run: juju-exec takes --from-watcher as its
	// own flag and refuses it before reaching the agent.
	_, stderr, code = b.jujuExec(t, nil, unit, "hooks/update-status", watcher.FromWatcherFlag)
	assert.Equal(t, 2, code)
	assert.Equal(t, "ERROR option provided but not defined: --from-watcher\n", stderr)
	// What it runs now is accepted, and the hook gets its argument.
	argv := watcher.JujuExecArgv("juju-exec", unit)
	stdout, stderr, code = b.jujuExec(t, nil, argv[1:]...)
	require.Equal(t, 0, code, stderr)
	rep = report{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	assert.Equal(t, []string{"hooks/update-status", watcher.FromWatcherFlag}, rep.Args)

	// --unit is not juju-exec's; a hook context refuses juju-exec; an
	// unknown unit is refused.
	_, stderr, code = b.jujuExec(t, nil, "--unit", unit, "true")
	assert.Equal(t, 2, code)
	assert.Equal(t, "ERROR option provided but not defined: --unit\n", stderr)
	_, stderr, code = b.jujuExec(t, []string{"JUJU_CONTEXT_ID=magnum-capi-graft/0-install-1"}, unit, "true")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "juju-exec cannot be called from within a hook")
	_, stderr, code = b.jujuExec(t, nil, "magnum/0", "true")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unit "magnum/0" not found on this machine`)
}

// started starts a fakejuju command and returns a channel that receives
// its end.
func (b *bed) started(t *testing.T, c *exec.Cmd) <-chan error {
	t.Helper()
	require.NoError(t, c.Start())
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	t.Cleanup(func() { _ = c.Process.Kill() })
	return done
}

func ended(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		assert.NoError(t, err, what)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: still waiting", what)
	}
}

func notEnded(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s ran while it should wait (%v)", what, err)
	case <-time.After(500 * time.Millisecond):
	}
}

// TestOneOperationAtATime: a parallel action does not take the machine lock
// but still holds the unit: a hook and a juju-exec wait until it ends.
func TestOneOperationAtATime(t *testing.T) {
	b := newBed(t)
	b.startAgent(t)
	release := filepath.Join(b.tmp, "release")
	action := b.started(t, b.cmd(bins.fakejuju, "action", "wait", "--params", fmt.Sprintf(`{"until": %q}`, release)))
	require.Eventually(t, func() bool { return b.load(t).Action != nil }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)

	hook := b.started(t, b.cmd(bins.fakejuju, "hook", "config-changed"))
	link := filepath.Join(b.dataDir, "juju-exec")
	require.NoError(t, os.Symlink(bins.fakejuju, link))
	jexec := b.started(t, b.cmd(link, unit, "status-set maintenance from-exec"))
	notEnded(t, hook, "the hook")
	notEnded(t, jexec, "juju-exec")
	assert.Equal(t, "unknown", b.load(t).Status.Status)

	require.NoError(t, os.WriteFile(release, nil, 0o644))
	ended(t, action, "the action")
	ended(t, hook, "the hook")
	ended(t, jexec, "juju-exec")
	assert.Contains(t, []string{"active", "maintenance"}, b.load(t).Status.Status)
}

// TestMachineLock holds Juju's machine lock as another unit's hook would:
// hooks and juju-exec wait for it, an action declared parallel does not.
func TestMachineLock(t *testing.T) {
	b := newBed(t)
	b.startAgent(t)
	f, err := os.OpenFile(filepath.Join(b.tmp, "juju-machine-lock"), os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))

	release := filepath.Join(b.tmp, "release")
	require.NoError(t, os.WriteFile(release, nil, 0o644))
	_, stderr, code := b.run(t, "action", "wait", "--params", fmt.Sprintf(`{"until": %q}`, release))
	require.Equal(t, 0, code, "a parallel action runs under a held machine lock: %s", stderr)

	hook := b.started(t, b.cmd(bins.fakejuju, "hook", "config-changed"))
	notEnded(t, hook, "the hook")
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
	ended(t, hook, "the hook")
	assert.Equal(t, "active", b.load(t).Status.Status)
	log, err := os.ReadFile(filepath.Join(b.dataDir, "machine-lock.log"))
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`unit-magnum-capi-graft-0: uniter \(magnum-capi-graft/0: config-changed\)`), string(log))
}
