package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// secretTools answers secret-get with content or err, and nothing else.
type secretTools struct {
	hooktool.Tools
	content map[string]string
	err     error
	mode    hooktool.SecretGetMode
}

func (s *secretTools) SecretGet(_ context.Context, _ string, mode hooktool.SecretGetMode) (map[string]string, error) {
	s.mode = mode
	return s.content, s.err
}

// What the operator must fix is blocked, with the command that fixes it
// and never the secret's content; secret-get failing otherwise is retried.
func TestLoadSaysWhatToFix(t *testing.T) {
	cases := []struct {
		name, id string
		tools    *secretTools
		want     string
		blocked  bool
	}{
		{"unset", "", &secretTools{}, "kubeconfig is not set: juju add-secret capi-kubeconfig", true},
		{"not a URI", "secret:x", &secretTools{err: fmt.Errorf("secret-get: %w", hooktool.ErrSecretURIInvalid)},
			`kubeconfig "secret:x" is not a secret URI Juju knows: juju config graft kubeconfig=`, true},
		{"not granted", "secret:y", &secretTools{err: fmt.Errorf("secret-get: %w", hooktool.ErrSecretAccess)},
			"kubeconfig secret secret:y is not readable: juju grant-secret secret:y graft", true},
		{"no kubeconfig key", "secret:y", &secretTools{content: map[string]string{"other": "hunter2"}}, "kubeconfig secret secret:y: ", true},
		{"secret-get fails", "secret:y", &secretTools{err: errors.New("connection refused")}, "connection refused", false},
	}
	for _, c := range cases {
		got, err := Load(context.Background(), c.tools, c.id, "graft", "1.4.0")
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
			assert.NotContains(t, err.Error(), "hunter2", c.name)
			assert.Equal(t, c.blocked, artifact.IsBlocked(err), c.name)
		}
		assert.Nil(t, got.Data, c.name)
		if c.id != "" {
			assert.Equal(t, hooktool.SecretRefresh, c.tools.mode, "%s: the newest revision is followed", c.name)
		}
	}
}
