package confprobe

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMismatches(t *testing.T) {
	conf := []byte("[capi_helm]\nkubeconfig_file = /etc/magnum/kubeconfig\nnamespace_prefix = graft\n")
	keys, err := Keys(conf)
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"capi_helm", "kubeconfig_file"}, {"capi_helm", "namespace_prefix"}}, keys)

	ours, theirs := "graft", "magnumconf"
	kc := "/etc/magnum/kubeconfig"
	bad, err := Mismatches(conf, &Result{Values: map[string]*string{"capi_helm.kubeconfig_file": &kc, "capi_helm.namespace_prefix": &ours}})
	require.NoError(t, err)
	assert.Empty(t, bad)

	bad, err = Mismatches(conf, &Result{Values: map[string]*string{"capi_helm.kubeconfig_file": nil, "capi_helm.namespace_prefix": &theirs}})
	require.NoError(t, err)
	assert.Equal(t, []string{"capi_helm.kubeconfig_file unset", "capi_helm.namespace_prefix resolves to another value"}, bad)
}
