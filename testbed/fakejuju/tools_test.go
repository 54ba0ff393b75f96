package fakejuju_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

func mainWith(argv []string, stdout, stderr io.Writer, env map[string]string) int {
	return fakejuju.Main(argv, bytes.NewReader(nil), stdout, stderr, func(k string) string { return env[k] })
}

// newState writes a state file in a fresh directory and returns its path
// and the environment that points the tools at it.
func newState(t *testing.T, setup ...func(*fakejuju.State)) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	st := fakejuju.NewState("")
	st.Config["service-wiring"] = "auto"
	st.Config["kubeconfig"] = nil
	for _, fn := range setup {
		fn(st)
	}
	require.NoError(t, fakejuju.Create(path, st))
	return path, map[string]string{"FAKEJUJU_STATE": path}
}

func TestToolOutputFormats(t *testing.T) {
	var secret string
	dir := t.TempDir()
	path, env := newState(t, func(st *fakejuju.State) {
		secret = st.AddSecret(map[string]string{"kubeconfig": "a: b"})
		st.Secrets[secret[len("secret:"):]].Granted = true
		st.Action = &fakejuju.Action{Name: "investigate", Params: map[string]any{"deep": map[string]any{"er": "x"}}}
		st.Resources["helm"] = filepath.Join(dir, "missing-file")
	})
	for _, tc := range []struct {
		argv   []string
		stdout string
	}{
		{[]string{"is-leader"}, "True\n"},
		{[]string{"is-leader", "--format=json"}, "true\n"},
		{[]string{"config-get", "service-wiring"}, "auto\n"},
		{[]string{"config-get", "--format", "json"}, "{\"service-wiring\":\"auto\"}\n"},
		{[]string{"config-get", "--format=json", "-a"}, "{\"kubeconfig\":null,\"service-wiring\":\"auto\"}\n"},
		{[]string{"config-get", "--format=json", "unknown"}, "null\n"},
		{[]string{"secret-get", secret}, "kubeconfig: 'a: b'\n"},
		{[]string{"secret-get", "--format=json", secret}, "{\"kubeconfig\":\"a: b\"}\n"},
		{[]string{"secret-get", secret, "kubeconfig", "--format", "json"}, "\"a: b\"\n"},
		{[]string{"action-get", "deep.er"}, "x\n"},
		{[]string{"action-get", "--format=json"}, "{\"deep\":{\"er\":\"x\"}}\n"},
		{[]string{"status-get", "--include-data", "--format=json"}, "{\"message\":\"\",\"status\":\"unknown\",\"status-data\":{}}\n"},
	} {
		stdout, stderr, code := run(env, tc.argv...)
		assert.Equal(t, 0, code, "%v: %s", tc.argv, stderr)
		assert.Equal(t, tc.stdout, stdout, "%v", tc.argv)
	}

	// resource-get prints the path with no newline, and refuses a path that
	// is gone.
	stdout, _, code := run(env, "resource-get", "helm")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)

	// An unknown level is logged at INFO after a warning, as Juju does.
	_, _, code = run(env, "juju-log", "-l", "LOUD", "--", "-dash", "words")
	require.Equal(t, 0, code)
	st, err := fakejuju.Load(path)
	require.NoError(t, err)
	assert.Equal(t, []fakejuju.LogEntry{
		{Level: "WARNING", Message: "Specified log level of \"LOUD\" is not valid"},
		{Level: "INFO", Message: "-dash words"},
	}, st.Logs)

	stdout, _, code = run(env, "action-set", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Usage: action-set")
}

// TestResourceGetPrintsBarePath: resource-get prints, with no newline, the
// path Juju's uniter downloads to: <agent dir>/resources/<filename the
// charm's metadata.yaml declares>, or the resource's name without one.
func TestResourceGetPrintsBarePath(t *testing.T) {
	charmDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(charmDir, "metadata.yaml"),
		[]byte("resources:\n  driver:\n    type: file\n    filename: magnum-capi-helm.whl\n"), 0o644))
	upload := filepath.Join(t.TempDir(), "magnum_capi_helm-1.2.0-py3-none-any.whl")
	require.NoError(t, os.WriteFile(upload, []byte("wheel"), 0o644))
	path, env := newState(t, func(st *fakejuju.State) {
		st.Resources["helm"] = ""
		st.Resources["driver"] = upload
	})
	env["JUJU_CHARM_DIR"] = charmDir
	resources := filepath.Join(filepath.Dir(path), "resources")

	stdout, _, code := run(env, "resource-get", "helm")
	require.Equal(t, 0, code)
	assert.Equal(t, filepath.Join(resources, "helm"), stdout)
	data, err := os.ReadFile(stdout)
	require.NoError(t, err)
	assert.Empty(t, data, "Charmhub's placeholder is a 0-byte file")

	stdout, _, code = run(env, "resource-get", "driver")
	require.Equal(t, 0, code)
	assert.Equal(t, filepath.Join(resources, "magnum-capi-helm.whl"), stdout, "the declared filename, not the uploaded one")
	data, err = os.ReadFile(stdout)
	require.NoError(t, err)
	assert.Equal(t, "wheel", string(data))
}

// TestConcurrentToolsLoseNoWrites runs many tools at once against one
// state file: every write must survive.
func TestConcurrentToolsLoseNoWrites(t *testing.T) {
	path, _ := newState(t)
	r := fakejuju.NewRunner(path)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := r.Run(context.Background(), []string{"juju-log", "--", fmt.Sprintf("line %d", i)})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := r.Run(context.Background(), []string{"status-set", "maintenance", fmt.Sprintf("step %d", i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st, err := fakejuju.Load(path)
	require.NoError(t, err)
	assert.Len(t, st.Logs, n)
	assert.Len(t, st.StatusHistory, n)
	seen := map[string]bool{}
	for _, l := range st.Logs {
		seen[l.Message] = true
	}
	assert.Len(t, seen, n)
}

func TestRunnerRefusesUnknownTools(t *testing.T) {
	path, _ := newState(t)
	_, err := fakejuju.NewRunner(path).Run(context.Background(), []string{"hook", "install"})
	assert.ErrorContains(t, err, "executable file not found")
}

func TestParseSecretURI(t *testing.T) {
	id := fakejuju.NewSecretID()
	for _, s := range []string{id, "secret:" + id, "secret://5f2a6b1c-8d3e-4f70-9a1b-2c3d4e5f6a7b/" + id} {
		got, ok := fakejuju.ParseSecretURI(s)
		assert.True(t, ok, s)
		assert.Equal(t, id, got, s)
	}
	for _, s := range []string{"", "secret:", "secret:UPPERCASEUPPERCASEUP", "secret:short", "kubeconfig"} {
		_, ok := fakejuju.ParseSecretURI(s)
		assert.False(t, ok, s)
	}
}

func TestResultsTree(t *testing.T) {
	st := &fakejuju.State{ActionResults: map[string]string{"a.b": "1", "a.c.d": "2", "e": "3"}}
	assert.Equal(t, map[string]any{
		"a": map[string]any{"b": "1", "c": map[string]any{"d": "2"}},
		"e": "3",
	}, st.ResultsTree())
}

// TestRelationSettingsWaitForTheHookToSucceed: the fake's relation-set is
// pending until EndHook, as the uniter commits a hook's settings only when
// it succeeds; the hook reads its own pending settings back meanwhile.
func TestRelationSettingsWaitForTheHookToSucceed(t *testing.T) {
	ctx := context.Background()
	path, _ := newState(t, func(st *fakejuju.State) {
		r := st.AddRelation(3, "graft", "magnum-capi-graft")
		r.Join(st.Unit, st.Unit, map[string]string{"note": "mine"})
		r.Join(st.Unit, "magnum-capi-graft/1", nil)
	})
	r := fakejuju.NewRunner(path)
	committed := func() *fakejuju.Relation {
		t.Helper()
		st, err := fakejuju.Load(path)
		require.NoError(t, err)
		rel, err := st.Relation(3)
		require.NoError(t, err)
		return rel
	}
	for _, argv := range [][]string{
		{"relation-set", "-r", "graft:3", "turn=wanted", "note="},
		{"relation-set", "-r", "graft:3", "--app", "turn=magnum-capi-graft/0"},
	} {
		_, err := r.Run(ctx, argv)
		require.NoError(t, err)
	}
	out, err := r.Run(ctx, []string{"relation-get", "-r", "3", "--format=json", "-", "magnum-capi-graft/0"})
	require.NoError(t, err)
	assert.Equal(t, `{"turn":"wanted"}`+"\n", string(out), "the hook sees what it set")
	assert.Equal(t, map[string]string{"note": "mine"}, committed().Units["magnum-capi-graft/0"], "nothing committed yet")

	require.NoError(t, fakejuju.EndHook(path, false))
	rel := committed()
	assert.Equal(t, map[string]string{"note": "mine"}, rel.Units["magnum-capi-graft/0"], "a failed hook commits nothing")
	assert.Empty(t, rel.Applications["magnum-capi-graft"])
	assert.Empty(t, rel.PendingUnit)

	_, err = r.Run(ctx, []string{"relation-set", "-r", "graft:3", "turn=wanted", "note="})
	require.NoError(t, err)
	_, err = r.Run(ctx, []string{"relation-set", "-r", "graft:3", "--app", "turn=magnum-capi-graft/0"})
	require.NoError(t, err)
	require.NoError(t, fakejuju.EndHook(path, true))
	rel = committed()
	assert.Equal(t, map[string]string{"turn": "wanted"}, rel.Units["magnum-capi-graft/0"])
	assert.Equal(t, map[string]string{"turn": "magnum-capi-graft/0"}, rel.Applications["magnum-capi-graft"])
	assert.Empty(t, rel.PendingApp)

	// Leadership moved while the hook ran: its application settings
	// cannot be committed, and nothing of the hook is.
	_, err = r.Run(ctx, []string{"relation-set", "-r", "graft:3", "--app", "turn=magnum-capi-graft/1"})
	require.NoError(t, err)
	require.NoError(t, fakejuju.Update(path, func(st *fakejuju.State) error { st.Leader = false; return nil }))
	assert.ErrorContains(t, fakejuju.EndHook(path, true), `"magnum-capi-graft/0" is not leader of "magnum-capi-graft"`)
	rel = committed()
	assert.Equal(t, "magnum-capi-graft/0", rel.Applications["magnum-capi-graft"]["turn"])
	assert.Empty(t, rel.PendingApp, "the failed hook's settings are gone")
}

// TestRelationSettingsAreOutputs: relation data is read by every unit at
// the other end and shown by juju show-unit, so no secret may go there.
func TestRelationSettingsAreOutputs(t *testing.T) {
	path, _ := newState(t, func(st *fakejuju.State) {
		st.AddRelation(3, "graft", "magnum-capi-graft")
		st.Sensitive = []string{"s3cr3t-token"}
	})
	r := fakejuju.NewRunner(path)
	assert.Panics(t, func() {
		_, _ = r.Run(context.Background(), []string{"relation-set", "-r", "3", "why=s3cr3t-token"})
	})
	st, err := fakejuju.Load(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"relation graft:3 pending unit settings why holds sensitive[0]"}, st.Leaks)
}
