//go:build integration

package integration

import (
	"fmt"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// The driver on a real cloud, through the charm (issue 14): the model's
// proxy reaches the conductor's live environment through the graft and
// helm as magnum fetches the chart through it; a changed or removed model
// proxy costs one restart of each service; removal restores the unit
// exactly; another driver that wins k8s_capi_helm_v1's cluster types
// blocks the graft until disabled-drivers is set.

// modelProxy sets the model's juju-*-proxy keys (Juju hands them to every
// hook as JUJU_CHARM_*_PROXY); "" unsets one.
func (u *unit) modelProxy(http, https, noProxy string) {
	u.t.Helper()
	require.NoError(u.t, fakejuju.Update(u.box.Path(testbed.StateFile), func(st *fakejuju.State) error {
		for k, v := range map[string]string{"juju-http-proxy": http, "juju-https-proxy": https, "juju-no-proxy": noProxy} {
			if v == "" {
				delete(st.ModelConfig, k)
			} else {
				st.ModelConfig[k] = v
			}
		}
		return nil
	}))
}

// liveProxy is the proxy variables of a service's main process.
func (u *unit) liveProxy(name string) map[string]string {
	u.t.Helper()
	out := map[string]string{}
	for _, v := range proxyenv.FromEnviron([]byte(strings.ReplaceAll(u.environ(name), "\n", "\x00"))) {
		out[v.Name] = v.Value
	}
	return out
}

// verifyResult is one of verify's results, by its dotted name.
func verifyResult(t *testing.T, results map[string]any, name string) (bool, string) {
	t.Helper()
	at := results
	parts := strings.Split(name, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := at[p].(map[string]any)
		require.True(t, ok, "verify has no %s: %v", name, results)
		at = next
	}
	c, ok := at[parts[len(parts)-1]].(map[string]any)
	require.True(t, ok, "verify has no %s: %v", name, results)
	return str(c["pass"]) == "true", str(c["evidence"])
}

func TestModelProxyReachesHelmThroughTheGraft(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	conn, err := u.box.StartOutside(u.ctx, artifacts.Outside)
	require.NoError(t, err)
	// The repository's CA in the unit's system store, as a private
	// repository's would be: the charm's chart check and helm use it.
	ca, err := os.ReadFile(u.box.Path(conn.CAFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(u.box.Path("/usr/local/share/ca-certificates/outside.crt"), ca, 0o644))
	u.run("update-ca-certificates")
	pristine := u.manifest()

	u.modelProxy(conn.ProxyURL, conn.ProxyURL, "127.0.0.1,localhost,::1")
	u.graft("helm-chart-repo", conn.RepoURL, "default-helm-chart-version", "0.16.0")
	u.requireStatus("active", "the model's proxy in the environment of api + conductor")
	_, msg := u.status()
	assert.NotContains(t, msg, "chart:", "the chart is served: no warning")

	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		live := u.liveProxy(svc)
		assert.Equal(t, conn.ProxyURL, live["HTTPS_PROXY"], svc)
		assert.Equal(t, conn.ProxyURL, live["https_proxy"], svc)
		assert.Equal(t, conn.ProxyURL, live["HTTP_PROXY"], svc)
		assert.Contains(t, live["NO_PROXY"], "127.0.0.1", svc)
	}
	// helm, as magnum with the conductor's own proxy variables, fetches the
	// index and the chart through the proxy.
	env := append([]string{}, servicesEnv...)
	for k, v := range u.liveProxy("magnum-conductor") {
		env = append(env, k+"="+v)
	}
	u.run("install", "-d", "-o", "magnum", "-g", "magnum", "/tmp/charts")
	res, err := helmPull(u.ctx, u.box, conn, env, "0.16.0", "/tmp/charts")
	require.NoError(t, err)
	require.Zero(t, res.Code, "helm pull through the conductor's proxy: %s%s", res.Stdout, res.Stderr)
	res, err = helmPull(u.ctx, u.box, conn, servicesEnv, "0.16.0", "/tmp/charts")
	require.NoError(t, err)
	assert.NotZero(t, res.Code, "without the proxy the repository is out of reach")
	reqs, err := u.box.OutsideRequests()
	require.NoError(t, err)
	require.NotEmpty(t, reqs)
	assert.Equal(t, "CONNECT charts.example:443", reqs[len(reqs)-1].Line())

	out := u.action("verify", nil)
	t.Logf("verify: %s\ncluster-create: %v", out.Message, out.Results["cluster-create"])
	pass, ev := verifyResult(t, out.Results, "magnum-conductor.proxy-env")
	assert.True(t, pass, ev)
	pass, ev = verifyResult(t, out.Results, "chart")
	assert.True(t, pass, ev)
	assert.Contains(t, ev, "serves openstack-cluster 0.16.0")
	assert.Contains(t, ev, "through the model's proxy")
	assert.Contains(t, str(out.Results["cluster-create"]), "helm fetches the chart: "+ev)

	// Converged: nothing restarts.
	apiStarts, condStarts := u.starts("magnum-api"), u.starts("magnum-conductor")
	u.hook("update-status")
	assert.Equal(t, apiStarts, u.starts("magnum-api"))
	assert.Equal(t, condStarts, u.starts("magnum-conductor"))

	// The model's proxy changes: Juju runs no hook for it; the next
	// update-status carries it, one restart of each service.
	u.modelProxy(conn.ProxyURL, conn.ProxyURL, "127.0.0.1,localhost,::1,.internal")
	u.hook("update-status")
	u.requireStatus("active", "the model's proxy in the environment of api + conductor")
	assert.Equal(t, apiStarts+1, u.starts("magnum-api"))
	assert.Equal(t, condStarts+1, u.starts("magnum-conductor"))
	assert.Contains(t, u.liveProxy("magnum-conductor")["NO_PROXY"], ".internal")

	// Removed from the model: one more restart each, and no proxy left.
	u.modelProxy("", "", "127.0.0.1,localhost,::1")
	u.hook("update-status")
	u.requireStatus("active", "conf.d read by")
	assert.Equal(t, apiStarts+2, u.starts("magnum-api"))
	assert.Equal(t, condStarts+2, u.starts("magnum-conductor"))
	assert.Empty(t, u.liveProxy("magnum-api"))
	assert.Empty(t, u.liveProxy("magnum-conductor"))
	_, err = os.Stat(u.box.Path("/etc/default/magnum-api"))
	assert.True(t, os.IsNotExist(err), "the default file the charm created for the proxy alone is gone")
	_, msg = u.status()
	assert.Contains(t, msg, "chart: cannot reach https://charts.example", "without the proxy the chart check warns")

	// A proxy that wants credentials, in the model's proxy URL: they reach
	// the conductor's live process through the file only root and magnum
	// read (the init script sources it as magnum), never a world-readable
	// file, the status, verify or the charm's log; helm and the chart
	// check present them. Then the charm goes: the unit is exactly as
	// before.
	require.NoError(t, u.box.StopOutside(u.ctx))
	const password = "pw-only-in-the-env-file"
	conn, err = u.box.StartOutside(u.ctx, artifacts.Outside, "--proxy-auth", "graft:"+password)
	require.NoError(t, err)
	withCreds := strings.Replace(conn.ProxyURL, "http://", "http://graft:"+password+"@", 1)
	u.modelProxy(withCreds, withCreds, "127.0.0.1,localhost,::1")
	u.hook("update-status")
	u.requireStatus("active", "the model's proxy in the environment of api + conductor")
	assert.Equal(t, apiStarts+3, u.starts("magnum-api"))
	assert.Equal(t, condStarts+3, u.starts("magnum-conductor"))
	assert.Equal(t, withCreds, u.liveProxy("magnum-conductor")["HTTPS_PROXY"])
	// Readable by the init script, which Debian's unit runs as magnum.
	assert.Equal(t, fmt.Sprintf("0:%d 0640", u.magnumGID()), u.owner(proxyenv.EnvFile))
	for _, f := range []string{"/etc/default/magnum-api", "/etc/default/magnum-conductor"} {
		if b, err := os.ReadFile(u.box.Path(f)); err == nil {
			assert.NotContains(t, string(b), password, f)
		}
	}
	assert.NotContains(t, u.run("systemctl", "show", "magnum-conductor", "magnum-api"), password)
	res, err = helmPull(u.ctx, u.box, conn, append(append([]string{}, servicesEnv...), "HTTPS_PROXY="+u.liveProxy("magnum-conductor")["HTTPS_PROXY"]), "0.16.0", "/tmp/charts")
	require.NoError(t, err)
	require.Zero(t, res.Code, "helm pull through the credentialed proxy: %s%s", res.Stdout, res.Stderr)
	reqs, err = u.box.OutsideRequests()
	require.NoError(t, err)
	require.NotEmpty(t, reqs)
	last := reqs[len(reqs)-1]
	assert.True(t, last.Authenticated && last.Status == 200, "the tunnel was opened with the credentials: %+v", last)
	_, msg = u.status()
	assert.NotContains(t, msg, password)
	assert.NotContains(t, msg, "chart:", "the chart check went through the credentialed proxy")
	out = u.action("verify", nil)
	pass, ev = verifyResult(t, out.Results, "chart")
	assert.True(t, pass, ev)
	pass, ev = verifyResult(t, out.Results, "magnum-conductor.proxy-env")
	assert.True(t, pass, ev)
	assert.NotContains(t, fmt.Sprint(out.Results), password)
	assert.NotContains(t, out.Message, password)
	assert.Zero(t, u.logsContaining(password), "the charm's log")
	u.removeCharm()
	requireSame(t, pristine, u.manifest(), "removal")
	assert.Empty(t, u.liveProxy("magnum-conductor"))
	assert.Empty(t, u.liveProxy("magnum-api"))
}

// A rival driver loaded after ours (another .pth in Magnum's site
// directory, as a second hand-graft would add) wins k8s_capi_helm_v1's
// cluster types: blocked, naming both and the value; with disabled-drivers
// set, active, and Magnum's loader as magnum picks ours.
func TestDriverCollisionBlocksUntilDisabled(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	rival, err := testbed.RivalWheel(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, u.box.UnpackWheel(u.ctx, rival, "/opt/rival-driver"))
	// .pth files are read in name order: this one after the charm's.
	site := "/usr/local/lib/python3.11/dist-packages"
	require.NoError(t, os.MkdirAll(u.box.Path(site), 0o755))
	require.NoError(t, os.WriteFile(u.box.Path(path.Join(site, "zz-rival-driver.pth")), []byte("/opt/rival-driver\n"), 0o644))

	u.graft()
	s, msg := u.status()
	require.Equal(t, "blocked", s, msg)
	assert.Contains(t, msg, "driver collision (k8s_capi_helm_v1): another Magnum driver wins: ")
	assert.Contains(t, msg, "vm/ubuntu/kubernetes goes to k8s_cluster_api_ubuntu (testbed-rival-driver 1.0.0)")
	assert.Contains(t, msg, "set disabled-drivers=k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar")
	out := u.action("verify", nil)
	pass, ev := verifyResult(t, out.Results, "driver.collision")
	assert.False(t, pass)
	assert.Equal(t, msg[strings.Index(msg, "driver collision"):], ev[strings.Index(ev, "driver collision"):])

	u.config("disabled-drivers", "k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar")
	u.hook("config-changed")
	u.requireStatus("active", "conf.d read by")
	out = u.action("verify", nil)
	pass, ev = verifyResult(t, out.Results, "driver.collision")
	assert.True(t, pass, ev)
	assert.Contains(t, ev, "vm/ubuntu/kubernetes: k8s_capi_helm_v1 (also claimed by k8s_cluster_api_ubuntu (disabled))")
	got, err := u.box.AsMagnum(u.ctx, "python3", "-c",
		"import magnum.conf, sys; magnum.conf.CONF(args=['--config-file=/etc/magnum/magnum.conf', '--config-dir=/etc/magnum/magnum.conf.d'], project='magnum'); "+
			"from magnum.drivers.common import driver; d = driver.Driver.get_driver('vm', 'ubuntu', 'kubernetes'); "+
			"print((d if isinstance(d, type) else type(d)).__module__)")
	require.NoError(t, err)
	assert.Equal(t, "magnum_capi_helm.driver", strings.TrimSpace(got))
}
