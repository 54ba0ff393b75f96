package driver

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// TestIndexCredentialsNeverReachJuju: a pip-index-url with user:token@
// (item 5 of the hardening issue) and a driver-apt-source naming a private
// archive with credentials are logged, and end in a status, with the
// credentials redacted.
func TestIndexCredentialsNeverReachJuju(t *testing.T) {
	const token = "s3cr3t-index-token"
	jujuState := filepath.Join(t.TempDir(), "state.json")
	st := fakejuju.NewState("")
	// In the fake's config, as a hook would have it: the fake then refuses
	// (and fails the test on) any output holding the token.
	st.Config["pip-index-url"] = "https://ci:" + token + "@127.0.0.1:1/simple"
	st.Sensitive = []string{token}
	require.NoError(t, fakejuju.Create(jujuState, st))
	ctx := context.Background()
	juju := hooktool.New(fakejuju.NewRunner(jujuState))
	c := &artifact.Context{Juju: juju, State: state.Dir(t.TempDir()), Unit: &unitshape.Unit{}, DryRun: true,
		Log: func(s string) { _ = juju.Log(ctx, hooktool.Info, s) }}

	for _, index := range []string{"https://ci:" + token + "@127.0.0.1:1/simple", "https://" + token + "@127.0.0.1:1/simple"} {
		_, err := New(Config{Source: SourceIndex, Version: "1.4.0", IndexURL: index}).Resolve(ctx, c)
		require.Error(t, err)
		require.NoError(t, juju.StatusSet(ctx, hooktool.Blocked, err.Error()))
	}
	st, err := fakejuju.Load(jujuState)
	require.NoError(t, err)
	assert.Empty(t, st.Leaks)
	require.NotEmpty(t, st.Logs)
	for _, l := range st.Logs {
		assert.NotContains(t, l.Message, token)
	}
	for _, s := range st.StatusHistory {
		assert.NotContains(t, s.Message, token)
	}
	assert.Contains(t, st.Logs[0].Message, "https://ci:xxxxx@127.0.0.1:1/simple")
}
