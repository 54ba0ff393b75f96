// Package proxyenv says what environment a Magnum service needs to carry
// the model's proxy, and exactly what the wiring writes for it.
//
// Why the services need it: the driver runs helm inside magnum-conductor
// (magnum_capi_helm/helm.py calls magnum.common.utils.execute, which calls
// oslo_concurrency.processutils.execute with no env_variables, so the
// child inherits the conductor's environment), and helm fetches the chart
// over HTTPS. A charm gets the model's proxy in JUJU_CHARM_HTTP_PROXY,
// JUJU_CHARM_HTTPS_PROXY and JUJU_CHARM_NO_PROXY; the services get nothing
// unless the wiring gives it to them.
//
// Where it goes follows the service's wiring (charm/wiring):
//   - default-file (and default-dirs, whose init script also sources
//     /etc/default/NAME): export lines in the charm's managed block. The
//     openstack-pkg-tools init script sources the file (". /etc/default/$NAME")
//     and then execs the daemon, so exported variables reach it.
//   - systemd-override: Environment= lines in the charm's drop-in.
//   - none, paused: nothing (the operator wires the service, or it is
//     paused).
//
// Both upper- and lower-case names are set: Go programs such as helm read
// either (golang.org/x/net/http/httpproxy: FromEnvironment), Python's
// urllib and requests prefer the lower-case ones.
//
// NO_PROXY is the model's list, with "*.example.com" written
// ".example.com" (the same to Go; requests reads "*." literally and would
// never match), loopback (Go never proxies it, Python would), and every
// endpoint the caller names (the management cluster, Keystone from
// magnum.conf, catalog hosts it knows) that the model's own no-proxy
// already sends direct, by the rules the charm's preflight used, but
// perhaps only through a CIDR range or a wildcard Python does not read:
// written by name, every client agrees it is direct. An endpoint the
// model sends through the proxy stays so, as the preflight found it, and
// Result.Routes says so.
//
// A proxy URL with credentials is not written into a world-readable file:
// the values go to an environment file only root and group magnum read
// (EnvFile), which the block sources or the drop-in names with
// EnvironmentFile=.
package proxyenv

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/ini.v1"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// EnvFile is where the values go when a proxy URL carries credentials,
// root:magnum 0640 beside /etc/magnum/kubeconfig. Group magnum must read
// it: Debian's units run the init script itself as the service's user
// (magnum-conductor.service, made by openstack-pkg-tools: User=magnum,
// ExecStart=/etc/init.d/magnum-conductor systemd-start), so the shell that
// sources /etc/default/NAME, and this file from it, is magnum's; a
// root-only file is skipped by the block's [ -r ] test and the service
// starts without the proxy (seen in the box). That gives nothing away: the
// service's processes run as magnum and carry the values in their
// environment, which /proc/PID/environ shows magnum. systemd reads an
// EnvironmentFile= as root, before the service drops to its user.
const EnvFile = "/etc/magnum/capi-proxy.env"

// LegacyEnvFile is where releases before EnvFile kept it (root-only in
// the state directory, which the init script as magnum cannot read): the
// wiring takes it away.
const LegacyEnvFile = state.DefaultDir + "/" + state.ModelProxyEnv

// Model is the model's proxy settings as Juju hands them to a charm
// (proxy.FromJuju reads them): one reading of them for the whole charm.
type Model = proxy.Settings

// Placement is where a service's environment is written.
type Placement string

const (
	// InDefaultFile: lines of the managed block of /etc/default/NAME.
	InDefaultFile Placement = "default-file"
	// InDropIn: lines of the [Service] section of the charm's drop-in.
	InDropIn Placement = "drop-in"
	// Nowhere: nothing is written for this service.
	Nowhere Placement = "none"
)

// Var is one environment variable.
type Var struct{ Name, Value string }

// Route is how a named endpoint is reached with the environment.
type Route struct {
	// Endpoint is the URL as given, credentials hidden.
	Endpoint string
	Host     string
	// Direct: NO_PROXY covers it; otherwise it goes through the proxy.
	Direct bool
	// Added: the host was written into NO_PROXY by name.
	Added bool
}

// Input is what the environment is computed from.
type Input struct {
	Model Model
	// Service is the service as observed and Method how the wiring wires
	// it (wiring.Desire's Method).
	Service *unitshape.Service
	Method  wiring.Method
	// Endpoints are URLs the service reaches that the model may keep
	// direct: the management cluster's server, Keystone's
	// www_authenticate_uri and auth_url, catalog endpoints.
	Endpoints []string
}

// Env is what the wiring writes for one service.
type Env struct {
	Placement Placement
	// Why says why the placement is Nowhere.
	Why string
	// Vars are the variables the service's process gets, in order.
	Vars []Var
	// Lines are exactly what the wiring writes: for InDefaultFile the lines
	// inside the managed block, for InDropIn the [Service] lines of the
	// drop-in. None when the model sets no proxy: the wiring then writes
	// nothing for it, and removes what it wrote before.
	Lines []string
	// Credentials: a proxy URL carries a user name or password, so the
	// values are in EnvFileContent, for EnvFile (root:magnum 0640), and
	// Lines only refer to it.
	Credentials    bool
	EnvFileContent []byte
	// Routes say how each endpoint is reached.
	Routes []Route
}

// For computes a service's environment. Its errors name the setting,
// never a value (a proxy URL can carry a password).
func For(in Input) (Env, error) {
	var env Env
	switch in.Method {
	case wiring.ByDefaultFile:
		env.Placement = InDefaultFile
	case wiring.ByDefaultDirs:
		if in.Service == nil || in.Service.DefaultFile == "" {
			env.Placement, env.Why = Nowhere, "its init script sources no /etc/default file"
		} else {
			env.Placement = InDefaultFile
		}
	case wiring.BySystemdOverride:
		env.Placement = InDropIn
	case wiring.ByNone:
		env.Placement, env.Why = Nowhere, "service-wiring=none: the operator wires the services"
	case wiring.ByPaused:
		env.Placement, env.Why = Nowhere, "the service is paused; its wiring is left as it is"
	default:
		return env, fmt.Errorf("cannot place the proxy environment for wiring %q", in.Method)
	}
	if !in.Model.Set() {
		return env, nil
	}
	vars, routes, err := variables(in.Model, in.Endpoints)
	if err != nil {
		return env, err
	}
	env.Vars, env.Routes = vars, routes
	for _, p := range []string{in.Model.HTTP, in.Model.HTTPS} {
		if u, err := url.Parse(withScheme(p)); err == nil && u.User != nil {
			env.Credentials = true
		}
	}
	if env.Placement == Nowhere {
		return env, nil
	}
	if env.Credentials {
		env.EnvFileContent = envFile(vars)
		if env.Placement == InDefaultFile {
			// The init script is run by /bin/sh (dash): set -a exports
			// what the file assigns. A missing file must not stop the
			// script, so it is tested first.
			env.Lines = []string{fmt.Sprintf("if [ -r %s ]; then set -a; . %s; set +a; fi", EnvFile, EnvFile)}
		} else {
			env.Lines = []string{"EnvironmentFile=" + EnvFile}
		}
		return env, nil
	}
	for _, v := range vars {
		if env.Placement == InDefaultFile {
			env.Lines = append(env.Lines, "export "+v.Name+"="+shellQuote(v.Value))
		} else {
			env.Lines = append(env.Lines, "Environment="+unitQuote(v.Name+"="+v.Value))
		}
	}
	return env, nil
}

// withScheme is a proxy setting as a URL: like Go's httpproxy, a bare
// host:port is an http proxy.
func withScheme(p string) string {
	p = strings.TrimSpace(p)
	if p != "" && !strings.Contains(p, "://") {
		return "http://" + p
	}
	return p
}

// variables are the environment, in a fixed order, and the routes.
func variables(m Model, endpoints []string) ([]Var, []Route, error) {
	for name, v := range map[string]string{"JUJU_CHARM_HTTP_PROXY": m.HTTP, "JUJU_CHARM_HTTPS_PROXY": m.HTTPS, "JUJU_CHARM_NO_PROXY": m.NoProxy} {
		if strings.ContainsAny(v, "\x00\n\r'") {
			return nil, nil, fmt.Errorf("%s holds a line break, NUL or single quote, which no service environment can carry", name)
		}
	}
	parsed, err := proxy.New(m)
	if err != nil {
		return nil, nil, err
	}
	proxyFor := parsed.Func
	var noProxy []string
	add := func(entry string) bool {
		entry = strings.TrimSpace(entry)
		if entry == "" || slices.ContainsFunc(noProxy, func(e string) bool { return strings.EqualFold(e, entry) }) {
			return false
		}
		noProxy = append(noProxy, entry)
		return true
	}
	for _, e := range strings.Split(m.NoProxy, ",") {
		e = strings.TrimSpace(e)
		if strings.HasPrefix(e, "*.") {
			e = e[1:]
		}
		add(e)
	}
	for _, e := range []string{"localhost", "127.0.0.1", "::1"} {
		add(e)
	}
	var routes []Route
	for _, ep := range endpoints {
		u, err := url.Parse(strings.TrimSpace(ep))
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, nil, errors.New("an endpoint to keep direct is not an http(s) URL")
		}
		req := &http.Request{URL: u}
		via, err := proxyFor(req)
		if err != nil {
			return nil, nil, err
		}
		r := Route{Endpoint: redact.URL(u), Host: u.Hostname(), Direct: via == nil}
		if r.Direct {
			r.Added = add(u.Hostname())
		}
		routes = append(routes, r)
	}
	var vars []Var
	if v := strings.TrimSpace(m.HTTP); v != "" {
		vars = append(vars, Var{"HTTP_PROXY", v}, Var{"http_proxy", v})
	}
	if v := strings.TrimSpace(m.HTTPS); v != "" {
		vars = append(vars, Var{"HTTPS_PROXY", v}, Var{"https_proxy", v})
	}
	list := strings.Join(noProxy, ",")
	vars = append(vars, Var{"NO_PROXY", list}, Var{"no_proxy", list})
	return vars, routes, nil
}

// shellQuote quotes s for POSIX sh: single quotes (values never hold one).
func shellQuote(s string) string { return "'" + s + "'" }

// unitQuote quotes an Environment= assignment for a unit file
// (systemd.syntax(7): C-style escapes inside double quotes; systemd.unit(5):
// "%" starts a specifier, written "%%").
func unitQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`).Replace(s)
	return `"` + s + `"`
}

// envFile renders vars for EnvFile: NAME='value' lines, which systemd's
// EnvironmentFile= reads (a single-quoted value is taken verbatim,
// systemd.exec(5)) and sh with set -a exports.
func envFile(vars []Var) []byte {
	var b strings.Builder
	b.WriteString("# Managed by the magnum-capi-graft charm: the model's proxy for Magnum's services.\n")
	for _, v := range vars {
		b.WriteString(v.Name + "=" + shellQuote(v.Value) + "\n")
	}
	return []byte(b.String())
}

// Settings are the proxy the variables give a Go program such as helm
// (the upper-case names; the wiring sets both cases alike), to compare
// with what a live process carries (unitshape.Service.Proxy).
func (e Env) Settings() proxy.Settings {
	var s proxy.Settings
	for _, v := range e.Vars {
		switch v.Name {
		case "HTTP_PROXY":
			s.HTTP = v.Value
		case "HTTPS_PROXY":
			s.HTTPS = v.Value
		case "NO_PROXY":
			s.NoProxy = v.Value
		}
	}
	return s
}

// FromEnviron reads the proxy variables out of a process's environment
// (/proc/PID/environ: NUL-separated NAME=value), for a check that the live
// service carries what Vars says.
func FromEnviron(environ []byte) []Var {
	var out []Var
	for _, kv := range strings.Split(string(environ), "\x00") {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch name {
		case "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy":
			out = append(out, Var{name, value})
		}
	}
	return out
}

// Compare checks a live environment against the Vars it should carry and
// names each proxy variable that is absent, different, or present though
// not wanted (a proxy the model no longer sets), never its value.
func Compare(want, live []Var) []string {
	have := map[string]string{}
	for _, v := range live {
		have[v.Name] = v.Value
	}
	wanted := map[string]bool{}
	var out []string
	for _, v := range want {
		wanted[v.Name] = true
		got, ok := have[v.Name]
		switch {
		case !ok:
			out = append(out, v.Name+" unset")
		case got != v.Value:
			out = append(out, v.Name+" differs")
		}
	}
	for _, v := range live {
		if !wanted[v.Name] {
			out = append(out, v.Name+" set, but not by the model's proxy")
		}
	}
	return out
}

// KeystoneEndpoints are the Identity URLs a magnum.conf names
// ([keystone_authtoken] www_authenticate_uri and auth_url, the ones
// keystonemiddleware and the driver's clusters use), for Input.Endpoints.
// Values that are not http(s) URLs are left out; a file that does not
// parse names none.
func KeystoneEndpoints(magnumConf []byte) []string {
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true, Insensitive: false, AllowShadows: false}, magnumConf)
	if err != nil {
		return nil
	}
	var out []string
	sec := f.Section("keystone_authtoken")
	for _, key := range []string{"www_authenticate_uri", "auth_url"} {
		v := strings.TrimSpace(sec.Key(key).String())
		u, err := url.Parse(v)
		if v == "" || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || slices.Contains(out, v) {
			continue
		}
		out = append(out, v)
	}
	return out
}
