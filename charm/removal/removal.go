// Package removal takes the graft off the unit when its principal goes:
// exactly what the charm added, from the footprint the reconcile kept, and
// what its artifacts installed; everything else stays, and is said.
package removal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/driver"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/helm"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Remover carries what a removal needs.
type Remover struct {
	State state.Dir
	// Systemd returns the unit's systemd; it is asked only when removal
	// has something to stop or restart.
	Systemd func(context.Context) (systemd.Controller, error)
	// Settle is how long a restarted service must stay up.
	Settle time.Duration
	Log    func(string)
	// InstallRoot is the charm's install tree (artifact.InstallRoot
	// unless a test points it elsewhere).
	InstallRoot string
}

func (r *Remover) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(fmt.Sprintf(format, args...))
	}
}

func (r *Remover) systemd(ctx context.Context) (systemd.Controller, error) { return r.Systemd(ctx) }

// Removal is what a removal hook did.
type Removal struct {
	// Plan lists the changes made and the services restarted.
	Plan *plan.Plan
	// Kept names what removal left in place, and why: "path (reason)".
	Kept []string
	// Problems are what went wrong that a retry of the hook would not
	// mend (a service that did not start again).
	Problems []string
	// Changed is false when there was nothing of the graft left to remove:
	// an earlier removal hook did it all.
	Changed bool
}

func (res *Removal) keep(path, why string) {
	res.Kept = append(res.Kept, fmt.Sprintf("%s (%s)", path, why))
}

// Message is the status a removal hook ends with.
func (res *Removal) Message() string {
	msg := "graft removed"
	if len(res.Problems) > 0 {
		msg += "; " + strings.Join(res.Problems, "; ")
	}
	if len(res.Kept) > 0 {
		msg += "; left in place: " + strings.Join(res.Kept, "; ")
	}
	return msg
}

// pendingRestarts (state.RemovalRestarts) remembers a daemon-reload and
// restarts that removal changed files for but could not do (systemd
// unreachable), so the hook's retry, which finds the files already dealt
// with, still does them.
type pendingRestarts struct {
	Reload   bool     `json:"reload"`
	Services []string `json:"services"`
}

// Remove takes the graft off the unit: exactly what the charm added goes,
// everything else stays, and what stays is said (Kept) rather than fought
// over. Per path of the footprint (see files.Footprint.Undo for the rule):
// a file the charm wrote goes, or is put back as it was before the charm,
// unless someone changed it since; the charm's managed block comes out of
// a file others share and their lines stay; a directory the charm created
// goes once empty. Then the packages the charm installed, its install tree
// (the driver's version directories and helm; anything else there stays),
// one daemon-reload if a unit file went, one restart of each running
// service, and the charm's state.
//
// Someone else's content never makes it fail. It fails (and the hook is
// retried by Juju) only when it could not take off something of the
// charm's, or reach systemd; what it did is forgotten, so the retry does
// the rest. It is complete in one run, because Juju 4.0 runs stop and
// remove after juju-info-relation-broken only sometimes (the unit agent may
// be gone by then), and a later run finds nothing and changes nothing.
func (r *Remover) Remove(ctx context.Context) (*Removal, error) {
	res := &Removal{Plan: &plan.Plan{}}
	fp, err := r.State.Footprint()
	if err != nil {
		return res, err
	}
	stopped, err := r.removeWatcher(ctx)
	if err != nil {
		return res, err
	}
	res.Changed = stopped
	done, failed := r.undoFootprint(fp, res)
	for _, k := range res.Kept {
		r.logf("left in place: %s", k)
	}
	// With the activation gone: the packages the charm installed and its
	// own tree (driver versions, helm).
	did, err := r.removeArtifacts(ctx, res)
	if err != nil {
		failed = append(failed, err)
	}
	for _, d := range did {
		for _, svc := range unitshape.Services {
			res.Plan.NeedRestart(svc, d)
		}
	}
	res.Plan.Order(unitshape.Services)
	if err := r.restartAfterRemoval(ctx, res); err != nil {
		failed = append(failed, err)
	}
	if len(failed) > 0 {
		// Keep what is left to do for the retry.
		_ = fp.Forget(done...)
		return res, errors.Join(failed...)
	}
	if !res.Plan.Empty() {
		res.Changed = true
	}
	if err := r.removeState(res); err != nil {
		return res, err
	}
	return res, nil
}

// undoFootprint undoes each path of the footprint (see files.Footprint.Undo
// for the rule), and the leftovers of the charm's interrupted writes. It
// returns the paths dealt with and what failed.
func (r *Remover) undoFootprint(fp *files.Footprint, res *Removal) (done []string, failed []error) {
	kept := map[string]bool{}
	for _, path := range fp.Paths() {
		// A write of the charm's killed half-way leaves its temporary
		// file beside the target: the charm's, and in the way of an
		// empty directory.
		for _, tmp := range files.Leftovers(path) {
			r.logf("remove %s (an interrupted write of the charm's)", tmp)
			if err := os.Remove(tmp); err != nil && !files.Missing(err) {
				failed = append(failed, err)
			}
			res.Changed = true
		}
		// Only the charm writes its managed block's markers, so a file
		// holding them is one it shares through the block
		// (/etc/default/magnum-*), wherever it is.
		step, err := fp.Undo(path, wiring.StripBlock)
		if err != nil {
			failed = append(failed, fmt.Errorf("cannot undo %s: %w", path, err))
			continue
		}
		switch {
		case len(step.Holds) > 0:
			kept[path] = true
			if others := notKept(step.Holds, kept); len(others) > 0 {
				res.keep(path, "holds "+names(others)+", which the charm did not put there")
			}
		case step.Kept != "":
			kept[path] = true
			res.keep(path, step.Kept)
		}
		if step.Kind != "" {
			c := plan.Change{Kind: step.Kind, Path: path, Why: stepWhy(step),
				UnitFile: strings.HasPrefix(path, "/etc/systemd/"),
				// Every path the charm touches is read by the Magnum
				// services (or is the charm's own): restart once.
				Restarts: unitshape.Services}
			r.logf("%s", c.String())
			if err := step.Do(); err != nil {
				failed = append(failed, err)
				continue
			}
			res.Plan.Add(c)
		}
		done = append(done, path)
	}
	return done, failed
}

func stepWhy(s files.Step) string {
	switch {
	case s.Kept != "":
		return "the charm's block taken out"
	case s.Kind == plan.Restore:
		return "put back as before the charm"
	}
	return "added by the charm"
}

// notKept lists the paths that were not kept for a reason already said.
func notKept(paths []string, kept map[string]bool) []string {
	var out []string
	for _, p := range paths {
		if !kept[p] {
			out = append(out, p)
		}
	}
	return out
}

// names lists a few base names for a status.
func names(paths []string) string {
	var ns []string
	for _, p := range paths {
		ns = append(ns, filepath.Base(p))
	}
	sort.Strings(ns)
	if len(ns) > 3 {
		return strings.Join(ns[:3], ", ") + fmt.Sprintf(" and %d more", len(ns)-3)
	}
	return strings.Join(ns, ", ")
}

// rmdirIfEmpty removes a directory the charm created once nothing is left
// in it, and otherwise says what keeps it.
func (r *Remover) rmdirIfEmpty(dir string, res *Removal, kept map[string]bool) error {
	st, err := files.Read(dir)
	switch {
	case err != nil:
		return fmt.Errorf("cannot read %s: %w", dir, err)
	case !st.Exists:
		return nil
	case !st.IsDir:
		kept[dir] = true
		res.keep(dir, "not a directory any more: not the charm's")
		r.logf("left in place: %s", res.Kept[len(res.Kept)-1])
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", dir, err)
	}
	if len(entries) == 0 {
		r.logf("rmdir %s (added by the charm)", dir)
		if err := os.Remove(dir); err != nil && !files.Missing(err) {
			return fmt.Errorf("cannot remove %s: %w", dir, err)
		}
		res.Changed = true
		return nil
	}
	kept[dir] = true
	var holds []string
	for _, e := range entries {
		holds = append(holds, filepath.Join(dir, e.Name()))
	}
	if others := notKept(holds, kept); len(others) > 0 {
		res.keep(dir, "holds "+names(others)+", which the charm did not put there")
		r.logf("left in place: %s", res.Kept[len(res.Kept)-1])
	}
	return nil
}

// removeArtifacts takes off what the artifacts installed (the packages the
// charm installed, its install tree: driver versions, helm), then each of
// their directories and the tree once empty. It returns what the services
// must restart without.
func (r *Remover) removeArtifacts(ctx context.Context, res *Removal) ([]string, error) {
	c := &artifact.Context{State: r.State, Log: r.Log, InstallRoot: r.InstallRoot}
	var did, dirs []string
	for _, a := range []artifact.Artifact{&driver.Driver{}, &helm.Helm{}} {
		rm, err := a.Remove(ctx, c)
		did = append(did, rm.Did...)
		res.Changed = res.Changed || rm.Changed
		if err != nil {
			return did, err
		}
		dirs = append(dirs, rm.Dirs...)
	}
	kept := map[string]bool{}
	for _, d := range append(dirs, c.Root()) {
		if err := r.rmdirIfEmpty(d, res, kept); err != nil {
			return did, err
		}
	}
	return did, nil
}

// removeState deletes the charm's state: the files it knows it keeps there
// (state.Files) and the wheel cache, then the directory once empty;
// anything else keeps the directory, and the status says so.
func (r *Remover) removeState(res *Removal) error {
	var paths []string
	for _, name := range state.Files {
		p := r.State.Path(name)
		paths = append(append(paths, p), files.Leftovers(p)...)
	}
	cache := r.State.Path(state.WheelCache)
	if entries, err := os.ReadDir(cache); err == nil {
		for _, e := range entries {
			// Only fetchWheel writes there: wheels, through atomic writes.
			if strings.HasSuffix(e.Name(), ".whl") || strings.Contains(e.Name(), ".whl.") {
				paths = append(paths, filepath.Join(cache, e.Name()))
			}
		}
	}
	for _, p := range paths {
		if st, err := files.Read(p); err != nil || !st.Exists || st.IsDir {
			continue // not a file the charm wrote
		}
		if err := os.Remove(p); err != nil && !files.Missing(err) {
			return fmt.Errorf("remove state: %w", err)
		}
		res.Changed = true
	}
	kept := map[string]bool{}
	if err := r.rmdirIfEmpty(cache, res, kept); err != nil {
		return err
	}
	return r.rmdirIfEmpty(string(r.State), res, kept)
}

// restartAfterRemoval reloads systemd if a unit file went and restarts each
// running service once. What it cannot do for want of systemd is recorded
// first, so the hook's retry does it; a service that does not start again
// is said, not retried (it is the principal's, and a retry would not mend
// it).
func (r *Remover) restartAfterRemoval(ctx context.Context, res *Removal) error {
	var pending pendingRestarts
	if r.State.Load(state.RemovalRestarts, &pending) == nil {
		res.Plan.Reload = res.Plan.Reload || pending.Reload
		for _, svc := range pending.Services {
			res.Plan.NeedRestart(svc, "left from an earlier removal hook")
		}
		res.Plan.Order(unitshape.Services)
	}
	if res.Plan.Empty() {
		return nil
	}
	pending = pendingRestarts{Reload: res.Plan.Reload}
	for _, rs := range res.Plan.Restarts {
		pending.Services = append(pending.Services, rs.Service)
	}
	if err := r.State.Save(state.RemovalRestarts, pending); err != nil {
		return err
	}
	sd, err := r.systemd(ctx)
	if err != nil {
		return err
	}
	if res.Plan.Reload {
		r.logf("daemon-reload")
		if err := sd.DaemonReload(ctx); err != nil {
			return err
		}
	}
	for _, rs := range res.Plan.Restarts {
		u, err := sd.Unit(ctx, rs.Service+".service")
		if err != nil {
			return err
		}
		if u.Masked() || !u.Running() {
			// A paused or stopped service reads what is left when
			// it starts.
			continue
		}
		r.logf("restart %s", rs.Service)
		if _, err := sd.Restart(ctx, rs.Service+".service", r.Settle); err != nil {
			// Nothing of the graft is left for it to fail on, and
			// systemd's own Restart= may bring it back (bookworm's
			// uwsgi workers can outlive the stop and hold the port
			// for a moment): it counts as started once it settles.
			r.logf("restart %s: %v; waiting for it to settle", rs.Service, err)
			if _, err := sd.Settle(ctx, rs.Service+".service", r.Settle); err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("%s did not start again after the removal: %v", rs.Service, err))
				r.logf("%s", res.Problems[len(res.Problems)-1])
			}
		}
	}
	_, err = r.State.Remove(state.RemovalRestarts)
	return err
}

// removeWatcher stops and disables the watcher before its unit file goes,
// so it cannot re-graft what removal takes off. It reports whether there
// was a watcher to stop.
func (r *Remover) removeWatcher(ctx context.Context) (bool, error) {
	if _, err := os.Stat(watcher.UnitPath); err != nil {
		return false, nil
	}
	sd, err := r.systemd(ctx)
	if err != nil {
		return false, err
	}
	u, err := sd.Unit(ctx, watcher.ServiceName)
	if err != nil {
		return false, err
	}
	// A unit file someone changed is kept (see Remove): a later removal
	// hook finds its service already stopped and disabled.
	running := u.ActiveState != "" && u.ActiveState != "inactive" && u.ActiveState != "failed"
	if !running && u.UnitFileState != "enabled" {
		return false, nil
	}
	r.logf("stop and disable %s", watcher.ServiceName)
	if err := sd.Stop(ctx, watcher.ServiceName); err != nil {
		return false, err
	}
	return true, sd.Disable(ctx, watcher.ServiceName)
}
