package kubeconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
)

// A remembered preflight is one of the same kubeconfig, driver version,
// proxy and api-resources overrides: a changed override (an operator
// following the compatibility report's advice) is checked afresh.
func TestMemoKeyCoversWhatThePreflightReads(t *testing.T) {
	base := memoKey([]byte("kc"), "1.4.0", Options{})
	assert.Equal(t, base, memoKey([]byte("kc"), "1.4.0", Options{APIVersions: map[string]string{}}))
	override := Options{APIVersions: map[string]string{"OpenstackCluster": "infrastructure.cluster.x-k8s.io/v1beta2", "Cluster": "cluster.x-k8s.io/v1beta2"}}
	k := memoKey([]byte("kc"), "1.4.0", override)
	assert.NotEqual(t, base, k)
	for range 20 { // a map's order is random; the key is not
		assert.Equal(t, k, memoKey([]byte("kc"), "1.4.0", override))
	}
	assert.NotEqual(t, k, memoKey([]byte("kc"), "1.4.0", Options{APIVersions: map[string]string{"OpenstackCluster": "infrastructure.cluster.x-k8s.io/v1beta1"}}))
	assert.NotEqual(t, base, memoKey([]byte("kc2"), "1.4.0", Options{}))
	assert.NotEqual(t, base, memoKey([]byte("kc"), "1.3.0", Options{}))
	assert.NotEqual(t, base, memoKey([]byte("kc"), "1.4.0", Options{Proxy: proxy.Settings{HTTPS: "http://p:3128"}}))
}
