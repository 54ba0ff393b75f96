package hooktool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// binDir holds links to this test binary under every tool name the fake
// provides: run by such a name, the binary is that tool (fakejuju.Main), so
// the tests that go through ExecRunner run real processes found on PATH.
var binDir string

func TestMain(m *testing.M) {
	if _, ok := fakejuju.ToolUsage(filepath.Base(os.Args[0])); ok {
		os.Exit(fakejuju.Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hooktool-fakejuju-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, name := range fakejuju.ToolNames() {
		if err := os.Symlink(self, filepath.Join(dir, name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// kubeconfig is secret content: no error may ever quote it.
const kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.9.9.9:6443\n  token: s3cr3t-t0ken-ZX81"

type fixture struct {
	state  string
	juju   *hooktool.Juju
	runner *fakejuju.Runner
	secret string // "secret:<id>", granted, revision 1 holds kubeconfig
}

func newFixture(t *testing.T, setup ...func(*fakejuju.State)) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{state: filepath.Join(dir, "state.json")}
	st := fakejuju.NewState("")
	f.secret = st.AddSecret(map[string]string{"kubeconfig": kubeconfig})
	require.NoError(t, st.GrantSecret(f.secret, true))
	st.Config["kubeconfig"] = f.secret
	st.Config["service-wiring"] = "auto"
	st.Config["unset-option"] = nil
	driver := filepath.Join(dir, "driver.whl")
	require.NoError(t, os.WriteFile(driver, []byte("wheel"), 0o644))
	st.Resources["driver"] = driver
	for _, fn := range setup {
		fn(st)
	}
	require.NoError(t, fakejuju.Create(f.state, st))
	f.runner = fakejuju.NewRunner(f.state)
	f.juju = hooktool.New(f.runner)
	return f
}

func (f *fixture) load(t *testing.T) *fakejuju.State {
	t.Helper()
	st, err := fakejuju.Load(f.state)
	require.NoError(t, err)
	return st
}

func inAction(params map[string]any) func(*fakejuju.State) {
	return func(st *fakejuju.State) {
		st.Action = &fakejuju.Action{Name: "investigate", Params: params}
	}
}

func TestConfigGet(t *testing.T) {
	f := newFixture(t)
	cfg, err := f.juju.ConfigGet(context.Background())
	require.NoError(t, err)
	assert.Equal(t, f.secret, cfg["kubeconfig"])
	assert.Equal(t, "auto", cfg["service-wiring"])
	// --all keeps options with no value, as nil.
	v, ok := cfg["unset-option"]
	assert.True(t, ok)
	assert.Nil(t, v)
}

func TestSecretGetRevisionTracking(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	content, err := f.juju.SecretGet(ctx, f.secret, hooktool.SecretCurrent)
	require.NoError(t, err)
	assert.Equal(t, kubeconfig, content["kubeconfig"])
	id, _ := fakejuju.ParseSecretURI(f.secret)
	assert.Equal(t, 1, f.load(t).Secrets[id].Tracked, "a first read starts tracking the latest revision")

	rev, err := fakejuju.AddSecretRevision(f.state, f.secret, map[string]string{"kubeconfig": "v2"})
	require.NoError(t, err)
	require.Equal(t, 2, rev)

	content, err = f.juju.SecretGet(ctx, f.secret, hooktool.SecretCurrent)
	require.NoError(t, err)
	assert.Equal(t, kubeconfig, content["kubeconfig"], "without --refresh the tracked revision is read")

	content, err = f.juju.SecretGet(ctx, f.secret, hooktool.SecretPeek)
	require.NoError(t, err)
	assert.Equal(t, "v2", content["kubeconfig"], "--peek reads the latest")
	assert.Equal(t, 1, f.load(t).Secrets[id].Tracked, "--peek does not move tracking")

	content, err = f.juju.SecretGet(ctx, f.secret, hooktool.SecretRefresh)
	require.NoError(t, err)
	assert.Equal(t, "v2", content["kubeconfig"])
	assert.Equal(t, 2, f.load(t).Secrets[id].Tracked, "--refresh moves tracking")

	content, err = f.juju.SecretGet(ctx, f.secret, hooktool.SecretCurrent)
	require.NoError(t, err)
	assert.Equal(t, "v2", content["kubeconfig"])
}

func TestSecretGetErrors(t *testing.T) {
	ctx := context.Background()
	var ungranted string
	f := newFixture(t, func(st *fakejuju.State) {
		ungranted = st.AddSecret(map[string]string{"kubeconfig": kubeconfig})
	})

	_, err := f.juju.SecretGet(ctx, ungranted, hooktool.SecretCurrent)
	require.Error(t, err)
	assert.ErrorIs(t, err, hooktool.ErrSecretAccess)
	assert.NotErrorIs(t, err, hooktool.ErrSecretNotFound)
	var ee *hooktool.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.Code)
	assert.Equal(t, "permission denied", ee.Message())

	missing := "secret:" + fakejuju.NewSecretID()
	_, err = f.juju.SecretGet(ctx, missing, hooktool.SecretRefresh)
	assert.ErrorIs(t, err, hooktool.ErrSecretNotFound)
	assert.Contains(t, err.Error(), fmt.Sprintf("secret %q not found", missing))

	// Juju's config takes any secret:... (juju/charm checks the scheme
	// only); secret-get is where a wrong one is found out.
	_, err = f.juju.SecretGet(ctx, "secret:capi-kubeconfig", hooktool.SecretCurrent)
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Code)
	assert.ErrorIs(t, err, hooktool.ErrSecretURIInvalid)
	assert.NotErrorIs(t, err, hooktool.ErrSecretNotFound)
}

// stubRunner returns canned output and records what it was asked to run.
type stubRunner struct {
	out   []byte
	err   error
	calls [][]string
}

func (s *stubRunner) Run(_ context.Context, argv []string) ([]byte, error) {
	s.calls = append(s.calls, argv)
	return s.out, s.err
}

func TestSecretContentNeverInErrors(t *testing.T) {
	ctx := context.Background()
	var ungranted string
	f := newFixture(t, func(st *fakejuju.State) {
		ungranted = st.AddSecret(map[string]string{"kubeconfig": kubeconfig})
	})
	var errs []error
	collect := func(_ map[string]string, err error) {
		require.Error(t, err)
		errs = append(errs, err)
	}
	collect(f.juju.SecretGet(ctx, ungranted, hooktool.SecretCurrent))
	collect(f.juju.SecretGet(ctx, "secret:"+fakejuju.NewSecretID(), hooktool.SecretPeek))
	collect(f.juju.SecretGet(ctx, f.secret, hooktool.SecretGetMode(42)))
	// Output that is almost, but not quite, what secret-get prints: JSON
	// decoders quote their input in errors, so these catch a leak there.
	for _, out := range []string{
		`{"kubeconfig": "` + strings.ReplaceAll(kubeconfig, "\n", `\n`),
		`{"kubeconfig": {"nested": "` + strings.ReplaceAll(kubeconfig, "\n", `\n`) + `"}}`,
		kubeconfig,
		`["` + strings.ReplaceAll(kubeconfig, "\n", `\n`) + `"]`,
	} {
		collect(hooktool.New(&stubRunner{out: []byte(out)}).SecretGet(ctx, f.secret, hooktool.SecretCurrent))
	}
	stub := &stubRunner{out: []byte(kubeconfig), err: &hooktool.ExitError{Tool: "secret-get", Code: 1, Stderr: "ERROR permission denied\n"}}
	collect(hooktool.New(stub).SecretGet(ctx, f.secret, hooktool.SecretCurrent))

	for _, err := range errs {
		for _, line := range strings.Split(kubeconfig, "\n") {
			assert.NotContains(t, err.Error(), strings.TrimSpace(line))
		}
		assert.NotContains(t, err.Error(), "s3cr3t")
	}
}

func TestStatusSet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	require.NoError(t, f.juju.StatusSet(ctx, hooktool.Maintenance, "installing the driver"))
	require.NoError(t, f.juju.StatusSet(ctx, hooktool.Active, ""))
	st := f.load(t)
	assert.Equal(t, fakejuju.StatusEntry{Status: "active"}, st.Status)
	assert.Equal(t, []fakejuju.StatusEntry{
		{Status: "maintenance", Message: "installing the driver"},
		{Status: "active"},
	}, st.StatusHistory)

	// An empty message is still exactly one argument.
	stub := &stubRunner{}
	require.NoError(t, hooktool.New(stub).StatusSet(ctx, hooktool.Blocked, ""))
	assert.Equal(t, [][]string{{"status-set", "blocked", ""}}, stub.calls)

	err := f.juju.StatusSet(ctx, hooktool.Status("error"), "nope")
	var ee *hooktool.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Code)
	assert.Equal(t, `invalid status "error", expected one of [maintenance blocked waiting active]`, ee.Message())
	assert.Equal(t, "active", f.load(t).Status.Status, "a rejected status-set changes nothing")
}

func TestApplicationVersionSetAndLog(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	require.NoError(t, f.juju.ApplicationVersionSet(ctx, "0.7.1"))
	require.NoError(t, f.juju.Log(ctx, hooktool.Warning, "--looks like a flag"))
	require.NoError(t, f.juju.Log(ctx, hooktool.Debug, ""))
	st := f.load(t)
	assert.Equal(t, "0.7.1", st.ApplicationVersion)
	assert.Equal(t, []fakejuju.LogEntry{
		{Level: "WARNING", Message: "--looks like a flag"},
		{Level: "DEBUG", Message: ""},
	}, st.Logs)
}

func TestIsLeader(t *testing.T) {
	ctx := context.Background()
	leader, err := newFixture(t).juju.IsLeader(ctx)
	require.NoError(t, err)
	assert.True(t, leader)
	leader, err = newFixture(t, func(st *fakejuju.State) { st.Leader = false }).juju.IsLeader(ctx)
	require.NoError(t, err)
	assert.False(t, leader)
}

func TestActionTools(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, inAction(map[string]any{"verbose": true, "depth": 2.0}))
	params, err := f.juju.ActionGet(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"verbose": true, "depth": 2.0}, params)

	require.NoError(t, f.juju.ActionLog(ctx, "looking at magnum-api"))
	require.NoError(t, f.juju.ActionSet(ctx, map[string]any{
		"services": map[string]any{"magnum-api": map[string]any{"wiring": "systemd-override", "pid": 4242}},
		"pep668":   true,
		"helm":     nil,
		"dropins":  []string{"a.conf", "b.conf"},
	}))
	require.NoError(t, f.juju.ActionFail(ctx, "magnum-conductor is not running"))
	st := f.load(t)
	assert.Equal(t, map[string]string{
		"services.magnum-api.wiring": "systemd-override",
		"services.magnum-api.pid":    "4242",
		"pep668":                     "true",
		"helm":                       "",
		"dropins":                    `["a.conf","b.conf"]`,
	}, st.ActionResults)
	assert.Equal(t, []string{"looking at magnum-api"}, st.ActionLogs)
	assert.True(t, st.ActionFailed)
	assert.Equal(t, "magnum-conductor is not running", st.ActionMessage)
}

func TestActionToolsOutsideAction(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, err := f.juju.ActionGet(ctx)
	assert.ErrorContains(t, err, "not running an action")
	for name, err := range map[string]error{
		"action-set":  f.juju.ActionSet(ctx, map[string]any{"a": "b"}),
		"action-fail": f.juju.ActionFail(ctx, "x"),
		"action-log":  f.juju.ActionLog(ctx, "x"),
	} {
		var ee *hooktool.ExitError
		require.ErrorAs(t, err, &ee, name)
		assert.Equal(t, 1, ee.Code, name)
		assert.Equal(t, "not running an action", ee.Message(), name)
	}
	// A hook running beside a parallel action cannot touch it.
	g := newFixture(t, func(st *fakejuju.State) {
		st.Action = &fakejuju.Action{Name: "investigate", UUID: "1b4e28ba-2fa1-41d2-a3e4-bc9f0e4d7a11"}
	})
	_, err = g.juju.ActionGet(ctx)
	assert.ErrorContains(t, err, "not running an action")
	g.runner.Env["JUJU_ACTION_UUID"] = "1b4e28ba-2fa1-41d2-a3e4-bc9f0e4d7a11"
	_, err = g.juju.ActionGet(ctx)
	assert.NoError(t, err)
}

func TestActionSetBadKeyRejectedBeforeRunning(t *testing.T) {
	for _, results := range []map[string]any{
		{"Shape": "x"},
		{"ok": map[string]any{"under_score": 1}},
		{"trailing-": "x"},
		{"stdout": "reserved by Juju"},
		{"": "empty"},
	} {
		stub := &stubRunner{}
		err := hooktool.New(stub).ActionSet(context.Background(), results)
		assert.ErrorIs(t, err, hooktool.ErrBadActionKey, "%v", results)
		assert.Empty(t, stub.calls, "nothing may run for %v", results)
	}
	// The fake itself refuses a bad key the way action-set does (exit 2),
	// and hooktool still reports it as a bad key.
	f := newFixture(t, inAction(nil))
	_, err := f.runner.Run(context.Background(), []string{"action-set", "Bad_Key=1"})
	var ee *hooktool.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Code)
	assert.Equal(t, `key "Bad_Key" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens`, ee.Message())
	assert.Empty(t, f.load(t).ActionResults)
}

func TestFlattenActionResults(t *testing.T) {
	pairs, err := hooktool.FlattenActionResults(map[string]any{
		"b":     map[string]string{"c": "d"},
		"a":     1.5,
		"count": 3,
		"yes":   false,
		"text":  "x=y z",
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a=1.5", "b.c=d", "count=3", "text=x=y z", "yes=false"}, pairs)
}

func TestResourceGet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(st *fakejuju.State) { st.Resources["helm"] = "" })

	path, err := f.juju.ResourceGet(ctx, "driver")
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "wheel", string(data))

	// Charmhub's placeholder: a path to a 0-byte file, not an error.
	path, err = f.juju.ResourceGet(ctx, "helm")
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Zero(t, fi.Size())

	_, err = f.juju.ResourceGet(ctx, "missing")
	assert.ErrorIs(t, err, hooktool.ErrResourceNotFound)
	assert.Contains(t, err.Error(), "could not download resource")
	assert.Contains(t, err.Error(), "resource#magnum-capi-graft/missing not found")
}

// TestExecRunner runs the real ExecRunner against the fake's tools as
// processes: the path a deployed charm takes, down to PATH lookup and exit
// codes. (testbed/juju runs the same ExecRunner against Juju's own jujuc.)
func TestExecRunner(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(st *fakejuju.State) { st.Resources["helm"] = "" }, withPeers)
	t.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKEJUJU_STATE", f.state)
	juju := hooktool.New(hooktool.ExecRunner{})

	cfg, err := juju.ConfigGet(ctx)
	require.NoError(t, err)
	assert.Equal(t, f.secret, cfg["kubeconfig"])

	content, err := juju.SecretGet(ctx, f.secret, hooktool.SecretRefresh)
	require.NoError(t, err)
	assert.Equal(t, kubeconfig, content["kubeconfig"])

	leader, err := juju.IsLeader(ctx)
	require.NoError(t, err)
	assert.True(t, leader)

	require.NoError(t, juju.StatusSet(ctx, hooktool.Blocked, "attach the driver resource"))
	require.NoError(t, juju.ApplicationVersionSet(ctx, "1.2.3"))
	require.NoError(t, juju.Log(ctx, hooktool.Info, "hello"))
	st := f.load(t)
	assert.Equal(t, fakejuju.StatusEntry{Status: "blocked", Message: "attach the driver resource"}, st.Status)
	assert.Equal(t, "1.2.3", st.ApplicationVersion)
	assert.Equal(t, []fakejuju.LogEntry{{Level: "INFO", Message: "hello"}}, st.Logs)

	path, err := juju.ResourceGet(ctx, "helm")
	require.NoError(t, err)
	assert.FileExists(t, path)
	_, err = juju.ResourceGet(ctx, "driver-missing")
	assert.ErrorIs(t, err, hooktool.ErrResourceNotFound)

	_, err = juju.SecretGet(ctx, "secret:"+fakejuju.NewSecretID(), hooktool.SecretCurrent)
	assert.ErrorIs(t, err, hooktool.ErrSecretNotFound)

	ids, err := juju.RelationIDs(ctx, "graft")
	require.NoError(t, err)
	assert.Equal(t, []string{"graft:3"}, ids)
	require.NoError(t, juju.RelationSet(ctx, "graft:3", false, map[string]string{"turn": "requested"}))
	mine, err := juju.RelationGet(ctx, "graft:3", "magnum-capi-graft/0")
	require.NoError(t, err)
	assert.Equal(t, "requested", mine["turn"])
	_, err = juju.RelationList(ctx, "graft:7")
	assert.ErrorIs(t, err, hooktool.ErrRelationNotFound)

	_, err = juju.ActionGet(ctx)
	var ee *hooktool.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "action-get", ee.Tool)
	assert.Equal(t, 1, ee.Code)
	assert.Equal(t, "ERROR not running an action\n", ee.Stderr)

	err = juju.StatusSet(ctx, hooktool.Status("broken"), "x")
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Code)

	_, err = hooktool.ExecRunner{}.Run(ctx, []string{"no-such-hook-tool"})
	assert.ErrorIs(t, err, exec.ErrNotFound)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = hooktool.ExecRunner{}.Run(cancelled, []string{"is-leader"})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestExitErrorText(t *testing.T) {
	e := &hooktool.ExitError{Tool: "resource-get", Code: 1, Stderr: "WARNING something odd\nERROR could not download resource: boom\n"}
	assert.Equal(t, "could not download resource: boom", e.Message())
	assert.Equal(t, "resource-get: exit status 1: could not download resource: boom", e.Error())
	assert.Equal(t, "is-leader: exit status 2", (&hooktool.ExitError{Tool: "is-leader", Code: 2}).Error())
	assert.Equal(t, "a b", (&hooktool.ExitError{Tool: "x", Code: 1, Stderr: " a\n b\n"}).Message())
	var target *hooktool.ExitError
	assert.True(t, errors.As(fmt.Errorf("wrapped: %w", e), &target))
}

// TestExecRunnerBoundsOutput: a hook tool (or something posing as one on
// PATH) that prints without end is stopped at MaxToolOutput.
func TestExecRunnerBoundsOutput(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret-get"), []byte("#!/bin/sh\nexec yes\n"), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	_, err := hooktool.ExecRunner{}.Run(context.Background(), []string{"secret-get", "x"})
	assert.EqualError(t, err, "secret-get: printed more than 16 MiB")
}

// withPeers puts the unit in the peer relation graft:3 with
// magnum-capi-graft/1 (which asked for a turn) and /2, and the
// application's settings as the leader wrote them.
func withPeers(st *fakejuju.State) {
	r := st.AddRelation(3, "graft", "magnum-capi-graft")
	r.Join(st.Unit, st.Unit, map[string]string{"private-address": "10.0.0.10"})
	r.Join(st.Unit, "magnum-capi-graft/1", map[string]string{"private-address": "10.0.0.11", "turn": "requested"})
	r.Join(st.Unit, "magnum-capi-graft/2", map[string]string{"private-address": "10.0.0.12"})
	r.Applications["magnum-capi-graft"] = map[string]string{"turn": "magnum-capi-graft/1"}
}

func TestRelationIDsAndList(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, withPeers)
	ids, err := f.juju.RelationIDs(ctx, "graft")
	require.NoError(t, err)
	assert.Equal(t, []string{"graft:3"}, ids)
	ids, err = f.juju.RelationIDs(ctx, "juju-info")
	require.NoError(t, err)
	assert.Equal(t, []string{}, ids, "no relation: empty, not nil")

	units, err := f.juju.RelationList(ctx, "graft:3")
	require.NoError(t, err)
	assert.Equal(t, []string{"magnum-capi-graft/1", "magnum-capi-graft/2"}, units)

	_, err = f.juju.RelationList(ctx, "graft:9")
	assert.ErrorIs(t, err, hooktool.ErrRelationNotFound)
	var ee *hooktool.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, `invalid value "graft:9" for option -r: relation not found`, ee.Message())
}

func TestRelationGetAndSet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, withPeers)
	s, err := f.juju.RelationGet(ctx, "graft:3", "magnum-capi-graft/1")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"private-address": "10.0.0.11", "turn": "requested"}, s)
	s, err = f.juju.RelationGet(ctx, "graft:3", "magnum-capi-graft")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"turn": "magnum-capi-graft/1"}, s, "a name without / is the application's")

	require.NoError(t, f.juju.RelationSet(ctx, "graft:3", false, map[string]string{"turn": "requested", "private-address": ""}))
	require.NoError(t, f.juju.RelationSet(ctx, "graft:3", true, map[string]string{"turn": "magnum-capi-graft/0", "-x": "y=z"}))
	s, err = f.juju.RelationGet(ctx, "graft:3", "magnum-capi-graft/0")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"turn": "requested"}, s, "the hook reads back what it set")
	require.NoError(t, fakejuju.EndHook(f.state, true))
	r, err := f.load(t).Relation(3)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"turn": "requested"}, r.Units["magnum-capi-graft/0"])
	assert.Equal(t, map[string]string{"turn": "magnum-capi-graft/0", "-x": "y=z"}, r.Applications["magnum-capi-graft"])

	// Exactly Juju's argv: sorted keys after --.
	stub := &stubRunner{}
	require.NoError(t, hooktool.New(stub).RelationSet(ctx, "graft:3", true, map[string]string{"b": "2", "a": ""}))
	require.NoError(t, hooktool.New(stub).RelationSet(ctx, "graft:3", false, nil))
	assert.Equal(t, [][]string{{"relation-set", "-r", "graft:3", "--app", "--", "a=", "b=2"}}, stub.calls, "nothing to set runs nothing")
	stub.out = []byte(`{"a":"1"}`)
	_, err = hooktool.New(stub).RelationGet(ctx, "graft:3", "magnum-capi-graft/2")
	require.NoError(t, err)
	assert.Equal(t, []string{"relation-get", "-r", "graft:3", "--format=json", "-", "magnum-capi-graft/2"}, stub.calls[1])
}

func TestRelationSetErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, withPeers, func(st *fakejuju.State) { st.Leader = false })
	err := f.juju.RelationSet(ctx, "graft:3", true, map[string]string{"turn": "magnum-capi-graft/0"})
	assert.ErrorIs(t, err, hooktool.ErrNotLeader)
	assert.ErrorContains(t, err, "cannot write relation settings")
	err = f.juju.RelationSet(ctx, "graft:9", false, map[string]string{"a": "1"})
	assert.ErrorIs(t, err, hooktool.ErrRelationNotFound)
	_, err = f.juju.RelationGet(ctx, "graft:9", "magnum-capi-graft/1")
	assert.ErrorIs(t, err, hooktool.ErrRelationNotFound)

	for _, values := range []map[string]string{
		{"": "x"}, {"a=b": "x"}, {" a": "x"}, {"a": " x"}, {"a": "x\n"},
	} {
		stub := &stubRunner{}
		err := hooktool.New(stub).RelationSet(ctx, "graft:3", false, values)
		assert.ErrorIs(t, err, hooktool.ErrBadRelationSetting, "%q", values)
		assert.Empty(t, stub.calls, "nothing may run for %q", values)
	}
	require.NoError(t, fakejuju.EndHook(f.state, true))
	r, err := f.load(t).Relation(3)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"turn": "magnum-capi-graft/1"}, r.Applications["magnum-capi-graft"], "a refused call sets nothing")
}
