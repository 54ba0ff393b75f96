package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/driver"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/helm"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/readings"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Desired is the unit as the operator asked for it: a value computed from
// config, secrets and the artifacts' records, with no side effect, that a
// dry run prints and the failure memory hashes. What staging the artifacts
// finds is added to a copy (With), never to it.
type Desired struct {
	Config Config
	// Part holds the paths, links, stamps and restarts wanted, from the
	// config, the wiring and the artifacts alike.
	artifact.Part
	Wirings []wiring.Wiring
	// ServiceEnvs are the model's proxy as each service's environment,
	// one per Wirings entry (proxyenv.ForService).
	ServiceEnvs []proxyenv.Env
	// Kubeconfig is the validated management-cluster kubeconfig, and
	// Warnings what validation said without refusing it.
	Kubeconfig *kubeconfig.Kubeconfig
	Warnings   string
	// Watcher is set when the watcher is part of the desired state.
	Watcher bool
	// Driver and Helm are the graft's artifacts.
	Driver *driver.Driver
	Helm   *helm.Helm
	// Hash identifies the desired state with what the artifacts resolved
	// to (secret content included, hashed): the memory of a failed graft
	// is kept under it. It is set once the artifacts are resolved.
	Hash string
	// Change identifies the change across the application's units, for
	// their rolling restart: the options, the kubeconfig and what the
	// artifacts resolved to, and nothing that is the unit's own (its
	// name in the watcher's unit, its wiring). Set with Hash.
	Change string
}

// Artifacts lists the artifacts in the order they are staged: helm, then
// the driver.
func (d *Desired) Artifacts() artifact.List {
	var as artifact.List
	if d.Helm != nil {
		as = append(as, d.Helm)
	}
	if d.Driver != nil {
		as = append(as, d.Driver)
	}
	return as
}

// With is a copy of d with what staging found added.
func (d *Desired) With(staged artifact.Part) *Desired {
	c := *d
	c.Part = artifact.Part{}
	c.Part.Add(d.Part)
	c.Part.Add(staged)
	return &c
}

// Desire computes the desired state. Everything the operator can get wrong
// in the options is checked here, before the plan, so bad input changes
// nothing. It runs no program and fetches nothing: the artifacts read only
// their records.
func (r *Reconciler) Desire(ctx context.Context, c *artifact.Context, fp *files.Footprint) (*Desired, error) {
	raw, err := r.Juju.ConfigGet(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, block("%v", err)
	}
	if err := confd.Validate(raw, cfg.DriverVersion); err != nil {
		return nil, block("%v", err)
	}
	kc, err := kubeconfig.Load(ctx, r.Juju, cfg.KubeconfigSecret, r.Env.App(), cfg.DriverVersion)
	if err != nil {
		return nil, err
	}
	conf, err := confd.Render(raw, cfg.DriverVersion, KubeconfigFile)
	if err != nil {
		return nil, block("%v", err)
	}
	both := slices.Clone(unitshape.Services)
	d := &Desired{Config: cfg, Kubeconfig: kc.Kubeconfig, Warnings: kc.Warnings}
	d.Dirs = append(d.Dirs, files.Dir{Path: wiring.ConfDir, Mode: 0o750, Owner: "root", Group: "magnum"})
	d.Files = append(d.Files,
		files.File{Path: ConfFile, Content: conf, Mode: 0o640, Owner: "root", Group: "magnum", Restarts: both},
		files.File{Path: KubeconfigFile, Content: kc.Data, Mode: 0o640, Owner: "root", Group: "magnum", Restarts: both, Secret: true},
	)
	if err := d.wire(c.Unit, fp, conf, c.Proxy); err != nil {
		return nil, err
	}
	if err := d.Config.Driver.Check(); err != nil {
		return nil, block("%v", err)
	}
	d.Helm, d.Driver = &helm.Helm{}, driver.New(d.Config.Driver)
	part, err := d.Artifacts().Desire(c)
	if err != nil {
		return nil, err
	}
	d.Add(part)
	return d, nil
}

// wire adds each service's wiring, with the model's proxy in its
// environment (charm/proxyenv).
func (d *Desired) wire(unit *unitshape.Unit, fp *files.Footprint, conf []byte, model proxy.Settings) error {
	priorExisted := func(p string) bool { return fp.Entries[p].Exists }
	var server *url.URL
	if d.Kubeconfig != nil {
		server = d.Kubeconfig.Server
	}
	endpoints := proxyenv.DirectEndpoints(server)
	for i := range unit.Services {
		svc := &unit.Services[i]
		if svc.Masked() {
			// A masked unit's shape cannot be read (its unit file is
			// /dev/null). Leave its wiring exactly as it is until it is
			// resumed; the verdict says the charm is waiting.
			d.Wirings = append(d.Wirings, wiring.Wiring{Service: svc.Name, Method: wiring.ByPaused})
			d.ServiceEnvs = append(d.ServiceEnvs, proxyenv.Env{Placement: proxyenv.Nowhere})
			continue
		}
		extra, env, err := proxyenv.ForService(svc, d.Config.Wiring, d.Config.ServicesProxy(model), endpoints)
		if err != nil {
			return block("%v", err)
		}
		w, err := wiring.DesireWith(svc, d.Config.Wiring, priorExisted, extra)
		if err != nil {
			return block("%v", err)
		}
		d.Wirings = append(d.Wirings, w)
		d.ServiceEnvs = append(d.ServiceEnvs, env)
		d.Dirs = append(d.Dirs, w.Dirs...)
		d.Files = append(d.Files, w.Files...)
		d.Absent = append(d.Absent, w.Absent...)
		if w.Method == wiring.ByDefaultDirs {
			if err := confd.CheckOverrides(svc.Name, conf); err != nil {
				return block("%v", err)
			}
		}
	}
	envFile, absent, err := proxyenv.Wanted(d.ServiceEnvs, d.Wirings)
	if err != nil {
		return err
	}
	if envFile != nil {
		d.Files = append(d.Files, *envFile)
	}
	d.Absent = append(d.Absent, absent...)
	return nil
}

// hash identifies the desired state: every file, absence and link, the
// driver's options and what each artifact resolved to.
func (d *Desired) hash() string {
	// In a stable order: an artifact adds its activation to the desired
	// state when its record holds and to what staging found otherwise,
	// and the same state must hash the same either way (the rolling
	// restart's turn is asked for by a forced hook and taken by the next).
	var entries []string
	for _, f := range d.Files {
		sum := sha256.Sum256(f.Content)
		entries = append(entries, fmt.Sprintf("%s\x00%o\x00%s:%s\x00%x", f.Path, f.Mode, f.Owner, f.Group, sum))
	}
	for _, f := range d.Absent {
		entries = append(entries, "absent "+f.Path)
	}
	for _, l := range d.Links {
		entries = append(entries, fmt.Sprintf("link %s %s", l.Path, l.Target))
	}
	return hashOf(fmt.Sprintf("driver %+v\x00", d.Config.Driver), append(entries, d.Keys...))
}

// change is Change: the graft's own files (99-capi.conf, the
// kubeconfig), the core options and what the artifacts resolved to.
func (d *Desired) change() string {
	entries := slices.Clone(d.Keys)
	for _, f := range d.Files {
		if f.Path == ConfFile || f.Path == KubeconfigFile {
			entries = append(entries, fmt.Sprintf("%s\x00%x", f.Path, sha256.Sum256(f.Content)))
		}
	}
	return hashOf(fmt.Sprintf("wiring %s\x00driver %+v\x00", d.Config.Wiring, d.Config.Driver), entries)
}

// hashOf is the hex SHA-256 of head and the entries, sorted, each ended by
// a NUL.
func hashOf(head string, entries []string) string {
	slices.Sort(entries)
	h := sha256.New()
	h.Write([]byte(head))
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00", e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Diff derives the plan that takes the observed unit to the desired one;
// read is what its services read when they started (nil: nothing known).
func Diff(d *Desired, unit *unitshape.Unit, read *readings.Record) (*plan.Plan, error) {
	p := &plan.Plan{}
	if err := d.Part.Diff(p); err != nil {
		return nil, err
	}
	diffServices(d, unit, p)
	read.Spare(p, unit.Services)
	p.Order(unitshape.Services)
	// Restarts the unit cannot take now are said, not done.
	p.Restarts = slices.DeleteFunc(p.Restarts, func(rs plan.Restart) bool {
		why := unit.Deferred(rs.Service)
		if why != "" {
			p.Skipped = append(p.Skipped, "restart "+rs.Service+": "+why)
		}
		return why != "" || unit.Service(rs.Service) == nil
	})
	return p, nil
}

// diffServices adds the restarts the live system needs. It is the truth:
// a service whose process does not keep the wiring's promise, or that
// started before a file it reads last changed, must restart even when
// every file is already right (a hook that died between write and
// restart, a hand edit reverted by us).
func diffServices(d *Desired, unit *unitshape.Unit, p *plan.Plan) {
	for i, w := range d.Wirings {
		svc := unit.Services[i]
		if !svc.Running() {
			continue
		}
		if err := wiring.Check(w.Method, svc.Cmdline); err != nil {
			p.NeedRestart(svc.Name, err.Error())
			continue
		}
		for _, why := range append(readings.Changed(svc, d.Files, d.Stamps), d.Restart...) {
			p.NeedRestart(svc.Name, why)
		}
	}
}
