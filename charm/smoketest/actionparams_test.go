package smoketest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// The action's parameters as action-get gives them (JSON numbers are
// float64), decoded once into the typed struct.
func TestActionParams(t *testing.T) {
	raw := map[string]any{"credentials": "secret:abc", "image": "ubuntu", "keypair": "k", "external-network": "ext",
		"master-flavor": "m1", "flavor": "m2", "kube-tag": "v1.32.2", "labels": "a=1, b = 2",
		"master-count": float64(3), "node-count": float64(2), "timeout": "45m", "keep": true, "force": true}
	var a ActionParams
	require.NoError(t, hooktool.Decode(raw, &a))
	assert.True(t, a.Force)
	assert.Equal(t, "secret:abc", a.Credentials)
	p, err := a.Params()
	require.NoError(t, err)
	assert.Equal(t, Params{Image: "ubuntu", Keypair: "k", ExternalNetwork: "ext", MasterFlavor: "m1", Flavor: "m2",
		KubeTag: "v1.32.2", Labels: map[string]string{"a": "1", "b": "2"}, MasterCount: 3, NodeCount: 2,
		Timeout: 45 * time.Minute, Keep: true}, p)

	_, err = ActionParams{Timeout: "soon"}.Params()
	assert.EqualError(t, err, `timeout "soon": use a duration like 30m`)
	_, err = ActionParams{Labels: "a=1,b"}.Params()
	assert.EqualError(t, err, `labels: "b" is not key=value`)
	assert.EqualError(t, hooktool.Decode(map[string]any{"master-count": "three"}, &a), "master-count must be an integer")
}
