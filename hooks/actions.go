package hooks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/glance"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/smoketest"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/verify"
)

func (rt *Runtime) verify(ctx context.Context) (map[string]any, error) {
	sd, err := systemd.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	r := rt.reconciler("verify", nil)
	defer r.Close()
	checks, err := verify.Run(ctx, r, sd)
	if err != nil {
		return nil, err
	}
	results := map[string]any{}
	for _, c := range checks {
		// Check names are "service.check": nest them, as action-set's dotted
		// keys would.
		at := results
		parts := strings.Split(c.Name, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := at[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				at[p] = next
			}
			at = next
		}
		at[parts[len(parts)-1]] = map[string]any{"pass": c.Pass, "evidence": c.Evidence}
	}
	// What the driver will do when a user creates a cluster, from the
	// checks above.
	results["cluster-create"] = verify.Summary(checks)
	if failed := verify.Failed(checks); len(failed) > 0 {
		return results, fmt.Errorf("%d check(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return results, nil
}

func (rt *Runtime) regraft(ctx context.Context, progress func(string)) (map[string]any, error) {
	if rt.leaving() != "" {
		return nil, fmt.Errorf("this unit is leaving its principal and the graft was removed: nothing to re-graft")
	}
	r := rt.reconciler("regraft", progress)
	defer r.Close()
	// An operator's explicit request: a change that failed and stopped
	// the rolling restart is tried again, on this unit first.
	out, err := reconcileRecorded(ctx, r, reconcile.Options{Force: true, Retry: true})
	if err != nil {
		glance.Forget(rt.State)
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	// The operator's re-graft starts the watcher's count again.
	_, _ = rt.noteRegraft(Event{Kind: Action, Name: "regraft"}, true, out.Status, out.Message)
	_ = r.Juju.StatusSet(ctx, out.Status, out.Message)
	rt.keepSight(r, out, out.Message, true)
	results := map[string]any{"status": string(out.Status), "message": out.Message,
		"plan": strings.TrimSpace(out.Plan.String()), "applied": out.Applied}
	if out.Status != hooktool.Active {
		return results, fmt.Errorf("%s: %s", out.Status, out.Message)
	}
	return results, nil
}

// smokeTest runs the end-to-end test through the Magnum API. It is declared
// parallel: it must not hold the machine's hook lock for its 20 minutes.
func (rt *Runtime) smokeTest(ctx context.Context, progress func(string)) (map[string]any, error) {
	raw, err := rt.Juju.ActionGet(ctx)
	if err != nil {
		return nil, err
	}
	var a smoketest.ActionParams
	if err := hooktool.Decode(raw, &a); err != nil {
		return nil, err
	}
	if !a.Force {
		leader, err := rt.Juju.IsLeader(ctx)
		if err != nil {
			return nil, err
		}
		if !leader {
			return nil, fmt.Errorf("run smoke-test on the leader (magnum-capi-graft/leader), or pass force=true")
		}
	}
	credID := a.Credentials
	if credID == "" {
		return nil, fmt.Errorf("credentials: name a Juju secret with auth-url, username, password, project-name, user-domain-name, project-domain-name")
	}
	content, err := rt.Juju.SecretGet(ctx, credID, hooktool.SecretRefresh)
	if err != nil {
		return nil, fmt.Errorf("credentials secret %s is not readable: juju grant-secret %s %s", credID, credID, appName())
	}
	creds, err := smoketest.CredentialsFromSecret(content)
	if err != nil {
		return nil, err
	}
	p, err := a.Params()
	if err != nil {
		return nil, err
	}
	p.MagnumVersion = magnumVersion(ctx)
	res, runErr := smoketest.Run(ctx, creds, p, progress)
	results := map[string]any{
		"status": res.Status, "status-reason": res.StatusReason, "cluster-uuid": res.ClusterUUID,
		"api-address": res.APIAddress, "cluster-name": res.ClusterName, "template-name": res.TemplateName,
		"kept": res.Kept, "failed-phase": res.FailedPhase,
	}
	phases := map[string]any{}
	for _, ph := range res.Phases {
		phases[ph.Phase] = ph.Duration.Round(time.Second).String()
	}
	results["phases"] = phases
	if len(res.LeftoversRemoved) > 0 {
		results["leftovers-removed"] = strings.Join(res.LeftoversRemoved, ", ")
	}
	return results, runErr
}

// magnumVersion is the unit's Magnum version, "" when it cannot be read
// (the smoke test's pre-check then assumes the newer rules).
func magnumVersion(ctx context.Context) string {
	sd, err := systemd.Connect(ctx)
	if err != nil {
		return ""
	}
	defer sd.Close()
	u, err := unitshape.Observe(ctx, sd)
	if err != nil {
		return ""
	}
	return u.MagnumVersion
}
