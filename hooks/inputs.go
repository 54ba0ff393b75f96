package hooks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
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
}

type statusRecord struct {
	Status  hooktool.Status `json:"status"`
	Message string          `json:"message"`
}

const inputsFile = "inputs.json"

func loadInputs(stateDir string) (*inputs, bool) {
	b, err := files.ReadFile(filepath.Join(stateDir, inputsFile), files.MaxTextFile)
	if err != nil {
		return &inputs{Secrets: map[string]map[string]string{}}, false
	}
	var in inputs
	if json.Unmarshal(b, &in) != nil || in.Config == nil {
		return &inputs{Secrets: map[string]map[string]string{}}, false
	}
	if in.Secrets == nil {
		in.Secrets = map[string]map[string]string{}
	}
	return &in, true
}

func (in *inputs) save(stateDir string) {
	b, err := json.Marshal(in)
	if err != nil || os.MkdirAll(stateDir, 0o700) != nil {
		return
	}
	_ = osutil.AtomicWriteFile(filepath.Join(stateDir, inputsFile), b, 0o600, 0)
}

// recordingTools passes every call to Juju and records the answers.
type recordingTools struct {
	hooktool.Tools
	in       *inputs
	stateDir string
}

func (r *recordingTools) ConfigGet(ctx context.Context) (map[string]any, error) {
	cfg, err := r.Tools.ConfigGet(ctx)
	if err == nil {
		r.in.Config = cfg
		// A new config may name other secrets: start their record afresh.
		r.in.Secrets = map[string]map[string]string{}
		r.in.save(r.stateDir)
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
	r.in.save(r.stateDir)
	return content, err
}

func (r *recordingTools) StatusSet(ctx context.Context, s hooktool.Status, msg string) error {
	err := r.Tools.StatusSet(ctx, s, msg)
	if err == nil {
		r.in.Status = &statusRecord{s, msg}
		r.in.save(r.stateDir)
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
	in, ok := loadInputs(rt.StateDir)
	rec := recordingTools{Tools: rt.Juju, in: in, stateDir: rt.StateDir}
	if hook == "update-status" && ok {
		return &rememberedTools{rec}
	}
	return &rec
}
