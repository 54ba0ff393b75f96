package reconcile

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// debianUnit is Debian's shape: magnum-api under uwsgi (default-dirs) and
// magnum-conductor from an init script (default-file), both sourcing
// their /etc/default file.
func debianUnit() *unitshape.Unit {
	u := &unitshape.Unit{}
	for _, name := range unitshape.Services {
		svc := unitshape.Service{Name: name, Shape: unitshape.InitScript, InitScript: "/etc/init.d/" + name,
			DefaultFile: "/etc/default/" + name, PyArgv: true, Daemon: "/usr/bin/" + name,
			Unit: systemd.Unit{Name: name + ".service", LoadState: "loaded", ActiveState: "active", MainPID: 42}}
		if name == "magnum-api" {
			svc.Shape, svc.Daemon = unitshape.InitScriptUWSGI, "uwsgi"
		}
		u.Services = append(u.Services, svc)
	}
	return u
}

func fileAt(d *Desired, path string) *files.File {
	for i := range d.Files {
		if d.Files[i].Path == path {
			return &d.Files[i]
		}
	}
	return nil
}

// The model's proxy rides in the wiring of both services; the management
// cluster kept direct by a CIDR is written into NO_PROXY by name; with
// service-proxy off, or no proxy, the wiring is what it was without it; a
// proxy with credentials goes to the root-only file, never into the
// default files.
func TestServicesCarryTheModelProxyInTheWiring(t *testing.T) {
	if _, err := files.ReadFile("/etc/default/magnum-conductor", files.MaxTextFile); err == nil {
		t.Skip("this machine has Magnum's default files: the test reads the real paths")
	}
	server, err := url.Parse("https://10.1.2.3:6443")
	require.NoError(t, err)
	model := proxy.Settings{HTTP: "http://squid.internal:3128", HTTPS: "http://squid.internal:3128", NoProxy: "10.0.0.0/8,*.internal"}
	desire := func(serviceProxy bool, m proxy.Settings) *Desired {
		d := &Desired{Config: Config{Wiring: wiring.Auto, ServiceProxy: serviceProxy},
			Kubeconfig: &kubeconfig.Kubeconfig{Server: server}}
		require.NoError(t, d.wire(debianUnit(), &files.Footprint{}, nil, m))
		return d
	}

	d := desire(true, model)
	cond := fileAt(d, wiring.DefaultFilePath("magnum-conductor"))
	require.NotNil(t, cond)
	assert.Contains(t, string(cond.Content), `DAEMON_ARGS="${DAEMON_ARGS} --config-dir=/etc/magnum/magnum.conf.d"`+"\nexport HTTP_PROXY='http://squid.internal:3128'\n")
	assert.Contains(t, string(cond.Content), "export NO_PROXY='10.0.0.0/8,.internal,localhost,127.0.0.1,::1,10.1.2.3'\n")
	api := fileAt(d, wiring.DefaultFilePath("magnum-api"))
	require.NotNil(t, api, "default-dirs gets a block for the environment")
	assert.Contains(t, string(api.Content), "export https_proxy='http://squid.internal:3128'\n")
	assert.Equal(t, []string{"magnum-api"}, api.Restarts)
	assert.Nil(t, fileAt(d, proxyenv.EnvFile))
	assert.Equal(t, "; the model's proxy in the environment of api + conductor", proxyenv.Summary(d.ServiceEnvs, d.Wirings))
	require.Len(t, d.ServiceEnvs, 2)
	assert.Equal(t, []proxyenv.Route{{Endpoint: "https://10.1.2.3:6443", Host: "10.1.2.3", Direct: true, Added: true}}, d.ServiceEnvs[1].Routes)

	for name, d := range map[string]*Desired{"service-proxy off": desire(false, model), "no model proxy": desire(true, proxy.Settings{NoProxy: "10.0.0.0/8"})} {
		cond := fileAt(d, wiring.DefaultFilePath("magnum-conductor"))
		require.NotNil(t, cond, name)
		assert.NotContains(t, string(cond.Content), "PROXY", name)
		assert.Nil(t, fileAt(d, wiring.DefaultFilePath("magnum-api")), name)
		assert.Empty(t, proxyenv.Summary(d.ServiceEnvs, d.Wirings), name)
	}

	secret := model
	secret.HTTPS = "http://capi:s3cret@squid.internal:3128"
	d = desire(true, secret)
	env := fileAt(d, proxyenv.EnvFile)
	require.NotNil(t, env)
	// The init script that sources it runs as magnum (User=magnum in
	// Debian's units): group magnum reads it, nobody else.
	assert.Equal(t, "root:magnum", env.Owner+":"+env.Group)
	assert.Equal(t, 0o640, int(env.Mode.Perm()))
	assert.True(t, env.Secret)
	assert.ElementsMatch(t, []string{"magnum-api", "magnum-conductor"}, env.Restarts)
	assert.Contains(t, string(env.Content), "HTTPS_PROXY='http://capi:s3cret@squid.internal:3128'")
	for _, svc := range unitshape.Services {
		f := fileAt(d, wiring.DefaultFilePath(svc))
		require.NotNil(t, f)
		assert.NotContains(t, string(f.Content), "s3cret", "%s's default file is world-readable", svc)
		assert.Contains(t, string(f.Content), "set -a; . "+proxyenv.EnvFile)
	}

	// A proxy value no environment can carry is bad input: blocked.
	bad := model
	bad.HTTPS = "http://squid'.internal:3128"
	d = &Desired{Config: Config{Wiring: wiring.Auto, ServiceProxy: true}}
	err = d.wire(debianUnit(), &files.Footprint{}, nil, bad)
	require.Error(t, err)
	assert.True(t, artifact.IsBlocked(err))
	assert.NotContains(t, err.Error(), "squid'")
}

func TestServiceProxyOption(t *testing.T) {
	c, err := ParseConfig(map[string]any{})
	require.NoError(t, err)
	assert.True(t, c.ServiceProxy, "on by default")
	c, err = ParseConfig(map[string]any{"service-proxy": false})
	require.NoError(t, err)
	assert.False(t, c.ServiceProxy)
}

// The chart check goes the way helm will in the conductor: through the
// model's proxy the wiring gives it, or, with service-proxy off, through
// what the live conductor carries (never the model's proxy it does not
// have).
func TestChartCheckUsesTheConductorsProxy(t *testing.T) {
	model := proxy.Settings{HTTPS: "http://model-proxy:3128", NoProxy: "10.0.0.0/8"}
	own := proxy.Settings{HTTPS: "http://operator-proxy:8080"}
	u := debianUnit()
	require.Equal(t, "magnum-conductor", u.Services[1].Name)
	u.Services[1].Proxy = own
	conductor := u.Service("magnum-conductor")

	settings, name, none := proxyenv.HelmProxy(true, model, conductor)
	assert.Equal(t, model, settings)
	assert.Empty(t, name+none, "the chart package's own words: the model's proxy")

	settings, name, none = proxyenv.HelmProxy(false, model, conductor)
	assert.Equal(t, own, settings)
	assert.Equal(t, "magnum-conductor's own proxy (service-proxy is off)", name)
	assert.Contains(t, none, "service-proxy is off")

	// A conductor that is not running carries nothing.
	u.Services[1].ActiveState = "inactive"
	settings, _, _ = proxyenv.HelmProxy(false, model, conductor)
	assert.Equal(t, proxy.Settings{}, settings)
	settings, _, _ = proxyenv.HelmProxy(false, model, nil)
	assert.Equal(t, proxy.Settings{}, settings, "no conductor at all")
}

// After a real reconcile, a running service whose live process lacks the
// proxy its wiring gives it is named (never the values); a service that
// carries it, or is not running, or gets none, is not.
func TestLiveProxyProblems(t *testing.T) {
	if _, err := files.ReadFile("/etc/default/magnum-conductor", files.MaxTextFile); err == nil {
		t.Skip("this machine has Magnum's default files: the test reads the real paths")
	}
	model := proxy.Settings{HTTPS: "http://capi:s3cret@squid.internal:3128", NoProxy: "10.0.0.0/8"}
	d := &Desired{Config: Config{Wiring: wiring.Auto, ServiceProxy: true}}
	require.NoError(t, d.wire(debianUnit(), &files.Footprint{}, nil, model))
	u := debianUnit()
	for i := range u.Services {
		u.Services[i].Proxy = d.ServiceEnvs[i].Settings()
	}
	assert.Empty(t, proxyenv.LiveProblems(d.ServiceEnvs, u.Services))

	// The conductor started without it (its init script could not read
	// the file): named, with what differs.
	u.Services[1].Proxy = proxy.Settings{}
	problems := proxyenv.LiveProblems(d.ServiceEnvs, u.Services)
	assert.Equal(t, []string{"magnum-conductor (main PID 42) does not carry the model's proxy its wiring gives it (HTTPS_PROXY, NO_PROXY differ)"}, problems)
	assert.NotContains(t, strings.Join(problems, ""), "s3cret")

	// Not running: nothing to see yet.
	u.Services[1].ActiveState = "inactive"
	assert.Empty(t, proxyenv.LiveProblems(d.ServiceEnvs, u.Services))

	// No proxy in the model: nothing is promised.
	d = &Desired{Config: Config{Wiring: wiring.Auto, ServiceProxy: true}}
	require.NoError(t, d.wire(debianUnit(), &files.Footprint{}, nil, proxy.Settings{}))
	assert.Empty(t, proxyenv.LiveProblems(d.ServiceEnvs, debianUnit().Services))
}
