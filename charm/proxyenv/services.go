package proxyenv

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// The model's proxy as Magnum's services' environment (issue 14): it is
// part of the wiring: the same block of /etc/default/NAME or the same
// drop-in carries it, so it is planned, applied, verified and removed with
// the rest, and a converged unit writes nothing.
//
// The settings are the hook's JUJU_CHARM_*_PROXY (charm/proxy): Juju reads
// the model's config afresh for every hook, action and juju-exec command
// (juju/juju internal/worker/uniter/runner/context: HookContext.HookVars,
// filled by contextFactory.updateContext from ModelConfig), but runs no
// hook when it changes. A changed model proxy therefore reaches the
// services at the next update-status (at most 5 minutes later by Juju's
// default update-status-hook-interval), with one restart of each service
// whose environment changed.

// ForService is one service's environment and the wiring's extra lines
// that carry it. With no proxy in model (none in the model, or the
// service-proxy option off) there are none: the wiring then takes out what
// it wrote before. Every error is one the operator must fix.
func ForService(svc *unitshape.Service, mode wiring.Mode, model Model, endpoints []string) (wiring.Extra, Env, error) {
	method, err := wiring.Choose(svc, mode)
	if err != nil {
		return wiring.Extra{}, Env{}, err
	}
	env, err := For(Input{Model: model, Service: svc, Method: method, Endpoints: endpoints})
	if err != nil {
		return wiring.Extra{}, env, fmt.Errorf("the model's proxy cannot be given to %s: %w", svc.Name, err)
	}
	var extra wiring.Extra
	switch env.Placement {
	case InDefaultFile:
		extra.BlockLines = env.Lines
	case InDropIn:
		extra.ServiceLines = env.Lines
	}
	return extra, env, nil
}

// DirectEndpoints are the URLs the services reach that the model may keep
// direct: the management cluster's server (nil when unknown), and
// Keystone as magnum.conf names it.
func DirectEndpoints(server *url.URL) []string {
	var out []string
	if server != nil {
		out = append(out, server.String())
	}
	if conf, err := files.ReadFile(wiring.MagnumConf, files.MaxTextFile); err == nil {
		for _, e := range KeystoneEndpoints(conf) {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// Wanted is the EnvFile the services' environment is read from when a
// proxy URL carries credentials (nil when none does; root:magnum 0640,
// EnvFile says why), and the paths there that are no longer wanted: the
// EnvFile itself when no URL carries credentials, and the root-only
// LegacyEnvFile earlier releases wrote. envs are the environments of the
// services wirings wire, in their order.
func Wanted(envs []Env, wirings []wiring.Wiring) (file *files.File, absent []files.File, err error) {
	var content []byte
	var restarts []string
	for i, env := range envs {
		if env.EnvFileContent != nil {
			content = env.EnvFileContent
			restarts = append(restarts, wirings[i].Service)
		}
	}
	paths := []string{LegacyEnvFile}
	if content != nil {
		file = &files.File{Path: EnvFile, Content: content, Mode: 0o640,
			Owner: "root", Group: "magnum", Secret: true, Restarts: restarts}
	} else {
		paths = append(paths, EnvFile)
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			// The block or drop-in that read it goes in the same plan, and
			// restarts the service.
			absent = append(absent, files.File{Path: p})
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	return file, absent, nil
}

// LiveProblems names each running service whose live process does not
// carry the proxy its wiring gives it. After a real reconcile the wiring
// is in place and each service whose environment changed has been
// restarted, so a difference means the service did not get it (a file
// its init script cannot read, a script that drops the variables): seen
// on the live process, not assumed from the files. Names, never values.
// envs are in the order of services.
func LiveProblems(envs []Env, services []unitshape.Service) []string {
	var out []string
	for i, env := range envs {
		if len(env.Vars) == 0 || env.Placement == Nowhere || i >= len(services) {
			continue
		}
		svc := services[i]
		if !svc.Running() {
			continue
		}
		want, live := env.Settings(), svc.Proxy
		var differ []string
		for _, v := range []struct{ name, want, live string }{
			{"HTTP_PROXY", want.HTTP, live.HTTP}, {"HTTPS_PROXY", want.HTTPS, live.HTTPS}, {"NO_PROXY", want.NoProxy, live.NoProxy},
		} {
			if v.want != v.live {
				differ = append(differ, v.name)
			}
		}
		if len(differ) > 0 {
			out = append(out, fmt.Sprintf("%s (main PID %d) does not carry the model's proxy its wiring gives it (%s differ)",
				svc.Name, svc.MainPID, strings.Join(differ, ", ")))
		}
	}
	return out
}

// HelmProxy is the proxy helm will have: the driver runs it in the
// conductor, whose environment it inherits. That carries the model's
// proxy the wiring gives it when serviceProxy (the service-proxy option)
// is on; with it off, whatever the operator gave the conductor, read from
// its live process (a conductor not running, or not there, has none to
// give). name and none are how the chart check's texts call it (chart.Request).
func HelmProxy(serviceProxy bool, model Model, conductor *unitshape.Service) (settings Model, name, none string) {
	if serviceProxy {
		return model, "", ""
	}
	if conductor != nil && conductor.Running() {
		settings = conductor.Proxy
	}
	return settings, "magnum-conductor's own proxy (service-proxy is off)",
		"magnum-conductor's environment names no proxy for it (service-proxy is off)"
}

// Summary is the status's word on the services' environment: "" when no
// service carries the model's proxy. envs are in the order of wirings.
func Summary(envs []Env, wirings []wiring.Wiring) string {
	var carried []string
	for i, env := range envs {
		if len(env.Lines) > 0 {
			carried = append(carried, strings.TrimPrefix(wirings[i].Service, "magnum-"))
		}
	}
	if len(carried) == 0 {
		return ""
	}
	return "; the model's proxy in the environment of " + strings.Join(carried, " + ")
}
