package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/investigate"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// Runtime is what handling an event needs.
type Runtime struct {
	Juju     hooktool.Tools
	StateDir string
	Settle   time.Duration
}

// reconciler returns a reconciler for an event. Its hook tools record what
// config-get, secret-get and status-set said (see inputs.go), whatever the
// event: update-status skips a status-set that the record says is already
// shown, so a status set around the record would leave a stale one showing.
func (rt *Runtime) reconciler(event string, log func(string)) *reconcile.Reconciler {
	return &reconcile.Reconciler{Juju: rt.toolsFor(event), StateDir: rt.StateDir, Settle: rt.Settle, Log: log}
}

// Run handles one event. A returned error makes the hook fail (Juju retries
// it); problems an operator must fix are statuses, not errors.
func (rt *Runtime) Run(ctx context.Context, ev Event) error {
	if ev.Kind == Action {
		return rt.action(ctx, ev.Name)
	}
	log := func(s string) { _ = rt.Juju.Log(ctx, hooktool.Info, s) }
	switch HookEffect(ev.Name) {
	case Reconcile:
		if ev.FromWatcher {
			if f, stopped := rt.watcherStopped(); stopped {
				return fmt.Errorf("automatic re-grafts are stopped after %d failures in a row (last: %s)", f.Count, f.Reason)
			}
		}
		r := rt.reconciler(ev.Name, log)
		defer r.Close()
		// A config or secret change is a new attempt: forget a failed one.
		force := ev.Name == "install" || ev.Name == "config-changed" || ev.Name == "secret-changed" || ev.Name == "upgrade-charm"
		out := r.Reconcile(ctx, reconcile.Options{Force: force})
		message, regraftErr := rt.noteRegraft(ev, force, out.Status, out.Message)
		if err := r.Juju.StatusSet(ctx, out.Status, message); err != nil {
			return err
		}
		return regraftErr
	case Remove:
		r := rt.reconciler(ev.Name, log)
		defer r.Close()
		if _, err := r.Remove(ctx, inputsFile); err != nil {
			return fmt.Errorf("remove the graft: %w", err)
		}
		// Straight to Juju: Remove deleted the state directory, and a
		// recorded status-set would create it again.
		return rt.Juju.StatusSet(ctx, hooktool.Maintenance, "graft removed")
	}
	return nil
}

func (rt *Runtime) action(ctx context.Context, name string) error {
	progress := func(s string) { _ = rt.Juju.ActionLog(ctx, s) }
	var results map[string]any
	var err error
	switch name {
	case "investigate":
		results, err = rt.investigate(ctx)
	case "verify":
		results, err = rt.verify(ctx)
	case "regraft":
		results, err = rt.regraft(ctx, progress)
	case "smoke-test":
		results, err = rt.smokeTest(ctx, progress)
	default:
		err = fmt.Errorf("unknown action %q", name)
	}
	if results != nil {
		if serr := rt.Juju.ActionSet(ctx, results); serr != nil {
			return serr
		}
	}
	if err != nil {
		return rt.Juju.ActionFail(ctx, err.Error())
	}
	return nil
}

func (rt *Runtime) investigate(ctx context.Context) (map[string]any, error) {
	sd, err := systemd.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	rep, err := investigate.Run(ctx, sd)
	if err != nil {
		return nil, err
	}
	return toResults(rep)
}

func appName() string {
	if app, _, ok := strings.Cut(os.Getenv("JUJU_UNIT_NAME"), "/"); ok {
		return app
	}
	return "magnum-capi-graft"
}

// toResults turns a report into action-set's nested map through its JSON
// form, so the result keys are the report's json tags.
func toResults(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
