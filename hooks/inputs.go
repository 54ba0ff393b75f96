package hooks

import (
	"context"
	"encoding/json"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/glance"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/reconcile"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// Juju runs config-changed when config changes and secret-changed when a
// tracked secret gets a new revision, so between those hooks the charm's
// inputs cannot change. recordingTools remembers what config-get and
// secret-get returned in a full hook; rememberedTools answers update-status
// (every 5 minutes, and each time the watcher re-grafts) from that record, so
// the converged check asks Juju nothing and stays cheap. It still recomputes
// the whole desired state and observes the unit afresh: only the questions
// to Juju are saved, not the reconcile.
//
// The record holds secret content: it lives in the charm's root-only state
// directory, mode 0600, and is deleted with it on removal.
type inputs struct {
	Config  map[string]any               `json:"config"`
	Secrets map[string]map[string]string `json:"secrets"`
	Status  *statusRecord                `json:"status,omitempty"`
	// Peers is what the last reconcile told the other units, when it may
	// be said again without asking (reconcile.Outcome.PeersSaid).
	Peers string `json:"peers,omitempty"`
}

type statusRecord struct {
	Status  hooktool.Status `json:"status"`
	Message string          `json:"message"`
}

func loadInputs(d state.Dir) (*inputs, bool) {
	var in inputs
	if d.Load(state.Inputs, &in) != nil || in.Config == nil {
		return &inputs{Secrets: map[string]map[string]string{}}, false
	}
	if in.Secrets == nil {
		in.Secrets = map[string]map[string]string{}
	}
	return &in, true
}

// save keeps the record. It is only a saving: without it the next
// update-status asks Juju again, so a failure to keep it is no error.
func (in *inputs) save(d state.Dir) {
	_ = d.Save(state.Inputs, in)
}

// recordingTools passes every call to Juju and records the answers.
type recordingTools struct {
	hooktool.Tools
	in    *inputs
	state state.Dir
}

func (r *recordingTools) ConfigGet(ctx context.Context) (map[string]any, error) {
	cfg, err := r.Tools.ConfigGet(ctx)
	if err == nil {
		r.in.Config = cfg
		// A new config may name other secrets: start their record afresh.
		r.in.Secrets = map[string]map[string]string{}
		r.in.save(r.state)
	}
	return cfg, err
}

func (r *recordingTools) SecretGet(ctx context.Context, id string, mode hooktool.SecretGetMode) (map[string]string, error) {
	content, err := r.Tools.SecretGet(ctx, id, mode)
	if err == nil {
		r.in.Secrets[id] = content
	} else {
		delete(r.in.Secrets, id)
	}
	r.in.save(r.state)
	return content, err
}

func (r *recordingTools) StatusSet(ctx context.Context, s hooktool.Status, msg string) error {
	err := r.Tools.StatusSet(ctx, s, msg)
	if err == nil {
		r.in.Status = &statusRecord{s, msg}
		r.in.save(r.state)
	}
	return err
}

// rememberedTools answers config-get and secret-get from the record and
// skips a status-set that would say what Juju already shows. A secret the
// record does not hold (never read, or unreadable) is asked of Juju.
type rememberedTools struct {
	recordingTools
}

func (r *rememberedTools) ConfigGet(ctx context.Context) (map[string]any, error) {
	return r.in.Config, nil
}

func (r *rememberedTools) SecretGet(ctx context.Context, id string, mode hooktool.SecretGetMode) (map[string]string, error) {
	if content, ok := r.in.Secrets[id]; ok {
		return content, nil
	}
	return r.recordingTools.SecretGet(ctx, id, mode)
}

func (r *rememberedTools) StatusSet(ctx context.Context, s hooktool.Status, msg string) error {
	if r.in.Status != nil && r.in.Status.Status == s && r.in.Status.Message == msg {
		return nil
	}
	return r.recordingTools.StatusSet(ctx, s, msg)
}

// toolsFor picks how a hook talks to Juju: update-status from the record
// when there is one, every other hook and action live (and recorded).
func (rt *Runtime) toolsFor(hook string) hooktool.Tools {
	in, ok := loadInputs(rt.State)
	rec := recordingTools{Tools: rt.Juju, in: in, state: rt.State}
	if hook == "update-status" && ok {
		return &rememberedTools{rec}
	}
	return &rec
}

// recordOf is the record behind r's hook tools (nil when they keep none).
func recordOf(r *reconcile.Reconciler) *recordingTools {
	switch t := r.Juju.(type) {
	case *rememberedTools:
		return &t.recordingTools
	case *recordingTools:
		return t
	}
	return nil
}

// reconcile runs r, a reconciler from Runtime.reconciler, and keeps what
// it told the other units in the record. Only update-status answered from
// the record passes the last of it on: no relation hook ran since the hook
// that recorded it (each reconciles and records again), so the peer
// relation's settings are as they were (reconcile.Options.PeersSaid).
func reconcileRecorded(ctx context.Context, r *reconcile.Reconciler, opts reconcile.Options) (reconcile.Outcome, error) {
	rec := recordOf(r)
	if _, remembered := r.Juju.(*rememberedTools); remembered {
		opts.PeersSaid = rec.in.Peers
	}
	out, err := r.Reconcile(ctx, opts)
	if rec != nil {
		said := out.PeersSaid
		if err != nil {
			said = ""
		}
		if said != rec.in.Peers {
			rec.in.Peers = said
			rec.in.save(rec.state)
		}
	}
	return out, err
}

// digest identifies a hook's inputs for a glance record (charm/glance):
// the config and secret content the record holds and what the reconcile
// takes from the hook's process (env): the model's proxy reaches a hook
// only in its environment, and Juju runs no hook when it changes
// (a config-changed follows the charm's config alone), so it must end
// the glance itself. All hashed: the record is no place for a secret.
func (in *inputs) digest(env reconcile.Env) string {
	var parts [][]byte
	for _, v := range []any{in.Config, in.Secrets, env} {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		parts = append(parts, b)
	}
	return glance.Digest(parts...)
}

// glanced answers a plain update-status from the glance record when it
// holds (charm/glance): the status the last converged reconcile said is
// said again, which the record of what Juju shows makes no call at all.
// Only update-status answered from the record glances: every other hook,
// and the watcher's re-grafts (something changed), reconcile in full.
func (rt *Runtime) glanced(ctx context.Context, r *reconcile.Reconciler, ev Event) (bool, error) {
	rem, ok := r.Juju.(*rememberedTools)
	if !ok || ev.FromWatcher {
		return false, nil
	}
	in := rem.in.digest(r.Env)
	if in == "" {
		return false, nil
	}
	rec, ok := glance.Holds(rt.State, in, time.Now())
	if !ok {
		return false, nil
	}
	return true, r.Juju.StatusSet(ctx, rec.Status, rec.Message)
}

// keepSight keeps what a reconcile observed for the next update-status
// when it found the unit active and converged, and forgets any earlier
// record otherwise.
func (rt *Runtime) keepSight(r *reconcile.Reconciler, out reconcile.Outcome, message string, ok bool) {
	rec := recordOf(r)
	if !ok || out.Sight == nil || rec == nil {
		glance.Forget(rt.State)
		return
	}
	if in := rec.in.digest(r.Env); in != "" {
		_ = glance.Keep(rt.State, *out.Sight, in, out.Status, message)
		return
	}
	glance.Forget(rt.State)
}
