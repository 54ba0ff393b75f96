package confprobe

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigArgs(t *testing.T) {
	args, prog := ConfigArgs([]string{"/usr/bin/python3", "/usr/bin/magnum-conductor",
		"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d",
		"--log-file=/var/log/magnum/magnum-conductor.log"})
	assert.Equal(t, []string{"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d"}, args)
	assert.Equal(t, "magnum-conductor", prog)

	// uwsgi hands the app only what --pyargv carries.
	args, prog = ConfigArgs([]string{"/usr/bin/uwsgi_python311", "--http-socket", ":9511", "--ini",
		"/etc/magnum/magnum-api-uwsgi.ini", "--pyargv",
		"--config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d"})
	assert.Equal(t, []string{"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d"}, args)
	assert.Equal(t, "uwsgi_python311", prog)

	args, _ = ConfigArgs([]string{"/usr/bin/magnum-api", "--config-file", "/etc/magnum/magnum.conf"})
	assert.Equal(t, []string{"--config-file=/etc/magnum/magnum.conf"}, args)

	args, _ = ConfigArgs([]string{"/usr/bin/uwsgi_python311", "--ini", "/etc/magnum/magnum-api-uwsgi.ini"})
	assert.Empty(t, args, "default discovery: no explicit arguments")
}

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
