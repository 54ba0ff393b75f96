package reconcile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// The model's proxy as Magnum's services' environment (issue 14): the
// driver runs helm inside magnum-conductor, which must reach the chart
// repository the way the model says (charm/proxyenv says why and how).
// It is part of the wiring: the same block of /etc/default/NAME or the same
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

// serviceEnv is the wiring's extra lines for one service, and the
// environment they carry. With service-proxy off, or no proxy in the
// model, there are none: the wiring then takes out what it wrote before.
func (d *Desired) serviceEnv(svc *unitshape.Service, model proxy.Settings) (wiring.Extra, proxyenv.Env, error) {
	method, err := wiring.Choose(svc, d.Config.Wiring)
	if err != nil {
		return wiring.Extra{}, proxyenv.Env{}, block("%v", err)
	}
	if !d.Config.ServiceProxy {
		model = proxy.Settings{}
	}
	env, err := proxyenv.For(proxyenv.Input{Model: model, Service: svc, Method: method, Endpoints: d.directEndpoints()})
	if err != nil {
		return wiring.Extra{}, env, block("the model's proxy cannot be given to %s: %v", svc.Name, err)
	}
	var extra wiring.Extra
	switch env.Placement {
	case proxyenv.InDefaultFile:
		extra.BlockLines = env.Lines
	case proxyenv.InDropIn:
		extra.ServiceLines = env.Lines
	}
	return extra, env, nil
}

// directEndpoints are the URLs the services reach that the model may keep
// direct: the management cluster, and Keystone as magnum.conf names it.
func (d *Desired) directEndpoints() []string {
	var out []string
	if d.Kubeconfig != nil && d.Kubeconfig.Server != nil {
		out = append(out, d.Kubeconfig.Server.String())
	}
	if conf, err := files.ReadFile(wiring.MagnumConf, files.MaxTextFile); err == nil {
		for _, e := range proxyenv.KeystoneEndpoints(conf) {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// desireEnvFile adds the file the services' environment is read from
// when a proxy URL carries credentials (root:magnum 0640: proxyenv.EnvFile
// says why), or its absence, and the absence of the root-only file earlier
// releases wrote instead.
func (d *Desired) desireEnvFile() error {
	var content []byte
	var restarts []string
	for i, env := range d.ServiceEnvs {
		if env.EnvFileContent != nil {
			content = env.EnvFileContent
			restarts = append(restarts, d.Wirings[i].Service)
		}
	}
	paths := []string{proxyenv.LegacyEnvFile}
	if content != nil {
		d.Files = append(d.Files, files.File{Path: proxyenv.EnvFile, Content: content, Mode: 0o640,
			Owner: "root", Group: "magnum", Secret: true, Restarts: restarts})
	} else {
		paths = append(paths, proxyenv.EnvFile)
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			// The block or drop-in that read it goes in the same plan, and
			// restarts the service.
			d.Absent = append(d.Absent, files.File{Path: p})
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// liveProxyProblems names each running service whose live process does
// not carry the proxy its wiring gives it. After a real reconcile the
// wiring is in place and each service whose environment changed has been
// restarted, so a difference means the service did not get it (a file its
// init script cannot read, a script that drops the variables): seen on
// the live process, not assumed from the files. Names, never values.
func (d *Desired) liveProxyProblems(unit *unitshape.Unit) []string {
	var out []string
	for i, env := range d.ServiceEnvs {
		if len(env.Vars) == 0 || env.Placement == proxyenv.Nowhere || i >= len(unit.Services) {
			continue
		}
		svc := unit.Services[i]
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

// proxySummary is the status's word on the services' environment.
func (d *Desired) proxySummary() string {
	var carried []string
	for i, env := range d.ServiceEnvs {
		if len(env.Lines) > 0 {
			carried = append(carried, d.Wirings[i].Service)
		}
	}
	if len(carried) == 0 {
		return ""
	}
	return "; the model's proxy in the environment of " + joinShort(carried)
}

func joinShort(svcs []string) string {
	s := ""
	for i, svc := range svcs {
		if i > 0 {
			s += " + "
		}
		s += svc[len("magnum-"):]
	}
	return s
}
