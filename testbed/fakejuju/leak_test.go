package fakejuju

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const leakKubeconfig = `apiVersion: v1
kind: Config
users:
- name: admin
  user:
    token: tok-abcdefghijklmnop
`

func TestLeaksAreRefusedAndRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st := NewState("")
	uri := st.AddSecret(map[string]string{"kubeconfig": leakKubeconfig})
	st.AddSecret(map[string]string{"password": "hunter2-pass", "username": "admin"})
	st.Config["pip-index-url"] = "https://ci:idx-token-1@index.example/simple"
	st.Config["kubeconfig"] = uri
	st.Sensitive = []string{"declared-secret"}
	require.NoError(t, Create(path, st))
	r := NewRunner(path)

	_, err := r.Run(context.Background(), []string{"juju-log", "fetch https://ci:xxxxx@index.example/simple"})
	require.NoError(t, err, "a redacted URL is no leak")
	for _, msg := range []string{"bearer tok-abcdefghijklmnop", "pw hunter2-pass", "from https://ci:idx-token-1@index.example", "a declared-secret"} {
		assert.Panics(t, func() { _, _ = r.Run(context.Background(), []string{"status-set", "blocked", msg}) }, msg)
	}
	got, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, "unknown", got.Status.Status, "nothing that leaked was recorded")
	require.Len(t, got.Leaks, 8, "%v", got.Leaks) // status and status history, four times
	for _, l := range got.Leaks {
		for _, secret := range []string{"tok-abcdefghijklmnop", "hunter2-pass", "idx-token-1", "declared-secret"} {
			assert.NotContains(t, l, secret)
		}
	}
	assert.Contains(t, got.Leaks, "status holds config pip-index-url (URL credentials)")
	assert.Contains(t, got.Leaks, "status holds sensitive[0]")
}

func TestURLCredentials(t *testing.T) {
	assert.Equal(t, []string{"p4ss", "tok3n", "p%zz"}, urlCredentials(`deb https://u:p4ss@h/ x; "https://tok3n@h/"; https://u:p%zz@h/`))
	assert.Empty(t, urlCredentials("https://h/path@v1 ppa:x/y user@host"))
}
