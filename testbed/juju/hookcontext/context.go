// Package hookcontext is the unit agent's side of Juju's hook tools for the
// test bed: a jujuc.Context (juju/juju internal/worker/uniter/runner/jujuc,
// context.go) backed by the fake agent's state file. Juju's own command code
// (config-get, secret-get, status-set, action-set, ...) parses, validates,
// formats and refuses every call exactly as on a real unit; only what the
// controller would answer comes from the state, through the same methods
// the in-process fake uses (testbed/fakejuju, unitagent.go).
//
// Each call reads or updates the state file under its lock, so a hook's
// tools, the test's model-side commands and a parallel action never lose
// each other's writes. Real Juju caches some of this per hook and flushes
// at the end (HookContext.Flush); tests read the state after the hook, so
// writing through is indistinguishable for them, except for relation
// settings: other units see them, and only once the hook succeeded, so
// those are kept in the context until Commit (relations.go).
package hookcontext

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/juju/charm/v12"
	"github.com/juju/errors"
	"github.com/juju/loggo"

	coresecrets "github.com/juju/juju/core/secrets"
	"github.com/juju/juju/internal/worker/uniter/runner/jujuc"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// Context is one hook, action or juju-exec context of one unit.
type Context struct {
	// RestrictedContext answers every call this fake does not serve with
	// Juju's own "not implemented" error, as Juju's restricted contexts do.
	jujuc.RestrictedContext

	id           string
	unit         string
	statePath    string
	charmDir     string
	resourcesDir string
	// actionID is the running action's id; empty outside actions.
	actionID string
	logs     *loggo.Context
	// relationHook is what a relation hook runs for; nil otherwise.
	relationHook *fakejuju.RelationHook
	// relMu guards rels, the relations as this context sees them (nil
	// until first used; relations.go).
	relMu sync.Mutex
	rels  map[int]*contextRelation
}

var _ jujuc.Context = (*Context)(nil)

// Config says which context to serve.
type Config struct {
	// ID is the context id (JUJU_CONTEXT_ID).
	ID string
	// Paths are the unit's paths (state file, charm and agent directories).
	Paths fakejuju.Paths
	// ActionID is the action this context runs; empty for hooks and
	// juju-exec.
	ActionID string
	// Relation is the relation, and remote unit or application, a
	// relation hook runs for; nil for any other hook, action or juju-exec.
	Relation *fakejuju.RelationHook
}

// New returns the context for cfg.
func New(cfg Config) *Context {
	c := &Context{
		id:           cfg.ID,
		unit:         cfg.Paths.Unit,
		statePath:    cfg.Paths.State,
		charmDir:     cfg.Paths.CharmDir,
		resourcesDir: cfg.Paths.ResourcesDir(),
		actionID:     cfg.ActionID,
		logs:         loggo.NewContext(loggo.TRACE),
		relationHook: cfg.Relation,
	}
	// juju-log's lines end up in the unit's log (juju debug-log); here in
	// the state, where tests read them.
	_ = c.logs.AddWriter("state", loggo.NewMinimumLevelWriter(stateWriter{c}, loggo.TRACE))
	return c
}

// ID is the context id the hook tools must present.
func (c *Context) ID() string { return c.id }

func (c *Context) load() (*fakejuju.State, error) { return fakejuju.Load(c.statePath) }

func (c *Context) update(fn func(*fakejuju.State) error) error {
	return fakejuju.Update(c.statePath, fn)
}

// UnitName implements jujuc.ContextUnit.
func (c *Context) UnitName() string { return c.unit }

// ConfigSettings implements jujuc.ContextUnit: every option the charm
// declares, nil for those without a value (config-get drops nils unless
// --all, as on a unit).
func (c *Context) ConfigSettings() (charm.Settings, error) {
	st, err := c.load()
	if err != nil {
		return nil, err
	}
	settings := charm.Settings{}
	for k, v := range st.Config {
		settings[k] = v
	}
	return settings, nil
}

// GetSecret implements jujuc.ContextSecrets.
func (c *Context) GetSecret(uri *coresecrets.URI, label string, refresh, peek bool) (coresecrets.SecretValue, error) {
	if uri == nil && label == "" {
		return nil, errors.NotValidf("empty URI and label")
	}
	if uri == nil {
		// The fake keeps no consumer labels.
		return nil, errors.NotFoundf("consumer label %q", label)
	}
	var content map[string]string
	err := c.update(func(st *fakejuju.State) (err error) {
		content, err = st.ReadSecret(uri.ID, refresh, peek)
		return err
	})
	if err != nil {
		return nil, err
	}
	// A SecretValue holds base64-encoded values (core/secrets.NewSecretValue).
	encoded := make(map[string]string, len(content))
	for k, v := range content {
		encoded[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	return coresecrets.NewSecretValue(encoded), nil
}

// UnitStatus implements jujuc.ContextStatus.
func (c *Context) UnitStatus() (*jujuc.StatusInfo, error) {
	st, err := c.load()
	if err != nil {
		return nil, err
	}
	return &jujuc.StatusInfo{Status: st.Status.Status, Info: st.Status.Message, Data: map[string]any{}}, nil
}

// SetUnitStatus implements jujuc.ContextStatus.
func (c *Context) SetUnitStatus(s jujuc.StatusInfo) error {
	return c.update(func(st *fakejuju.State) error {
		return st.SetStatus(fakejuju.StatusEntry{Status: s.Status, Message: s.Info}, false)
	})
}

// ApplicationStatus implements jujuc.ContextStatus.
func (c *Context) ApplicationStatus() (jujuc.ApplicationStatusInfo, error) {
	st, err := c.load()
	if err != nil {
		return jujuc.ApplicationStatusInfo{}, err
	}
	app, err := st.AppStatus()
	if err != nil {
		return jujuc.ApplicationStatusInfo{}, err
	}
	return jujuc.ApplicationStatusInfo{
		Application: jujuc.StatusInfo{Status: app.Status, Info: app.Message, Data: map[string]any{}},
		Units: []jujuc.StatusInfo{{
			Tag: "unit-" + strings.ReplaceAll(st.Unit, "/", "-"), Status: st.Status.Status,
			Info: st.Status.Message, Data: map[string]any{},
		}},
	}, nil
}

// SetApplicationStatus implements jujuc.ContextStatus.
func (c *Context) SetApplicationStatus(s jujuc.StatusInfo) error {
	return c.update(func(st *fakejuju.State) error {
		return st.SetStatus(fakejuju.StatusEntry{Status: s.Status, Message: s.Info}, true)
	})
}

// UnitWorkloadVersion implements jujuc.ContextVersion.
func (c *Context) UnitWorkloadVersion() (string, error) {
	st, err := c.load()
	if err != nil {
		return "", err
	}
	return st.ApplicationVersion, nil
}

// SetUnitWorkloadVersion implements jujuc.ContextVersion.
func (c *Context) SetUnitWorkloadVersion(v string) error {
	return c.update(func(st *fakejuju.State) error {
		st.ApplicationVersion = v
		return nil
	})
}

// IsLeader implements jujuc.ContextLeadership.
func (c *Context) IsLeader() (bool, error) {
	st, err := c.load()
	if err != nil {
		return false, err
	}
	return st.Leader, nil
}

// DownloadResource implements jujuc.ContextResources.
func (c *Context) DownloadResource(name string) (string, error) {
	var path string
	err := c.update(func(st *fakejuju.State) (err error) {
		path, err = st.DownloadResource(c.resourcesDir, name, fakejuju.ResourceFilename(c.charmDir, name))
		return err
	})
	return path, err
}

// running returns the state's action if this context runs it.
func (c *Context) running(st *fakejuju.State) (*fakejuju.Action, error) {
	if c.actionID == "" {
		return nil, fakejuju.ErrNotInAction
	}
	return st.RunningAction(c.actionID)
}

// updateAction changes the state of the action this context runs.
func (c *Context) updateAction(fn func(*fakejuju.State)) error {
	return c.update(func(st *fakejuju.State) error {
		if _, err := c.running(st); err != nil {
			return err
		}
		fn(st)
		return nil
	})
}

// ActionParams implements jujuc.ActionHookContext.
func (c *Context) ActionParams() (map[string]any, error) {
	st, err := c.load()
	if err != nil {
		return nil, err
	}
	a, err := c.running(st)
	if err != nil {
		return nil, err
	}
	if a.Params == nil {
		return map[string]any{}, nil
	}
	return a.Params, nil
}

// UpdateActionResults implements jujuc.ActionHookContext. action-set hands
// over a key already split at its dots; the state keeps it dotted, as the
// fake's own action-set does.
func (c *Context) UpdateActionResults(keys []string, value any) error {
	return c.updateAction(func(st *fakejuju.State) {
		st.SetActionResult(strings.Join(keys, "."), fmt.Sprint(value))
	})
}

// SetActionMessage implements jujuc.ActionHookContext.
func (c *Context) SetActionMessage(msg string) error {
	return c.updateAction(func(st *fakejuju.State) { st.ActionMessage = msg })
}

// SetActionFailed implements jujuc.ActionHookContext.
func (c *Context) SetActionFailed() error {
	return c.updateAction(func(st *fakejuju.State) { st.ActionFailed = true })
}

// LogActionMessage implements jujuc.ActionHookContext.
func (c *Context) LogActionMessage(msg string) error {
	return c.updateAction(func(st *fakejuju.State) { st.LogAction(msg) })
}

// GetLogger implements jujuc.HookContext.
func (c *Context) GetLogger(module string) loggo.Logger {
	return c.logs.GetLogger(module)
}

// stateWriter records juju-log lines in the state.
type stateWriter struct{ c *Context }

// Write implements loggo.Writer. A failure to record cannot be returned
// through loggo; it is kept as a line of its own so a test notices.
func (w stateWriter) Write(e loggo.Entry) {
	err := w.c.update(func(st *fakejuju.State) error {
		st.AddLog(e.Level.String(), e.Message)
		return nil
	})
	if err != nil {
		fmt.Printf("hookcontext: cannot record a juju-log line: %v\n", err)
	}
}
