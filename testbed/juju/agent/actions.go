package agent

import (
	"fmt"
	"io"
	"strconv"

	"github.com/juju/charm/v12"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// Outcome is an action's end as `juju run` reports it.
type Outcome struct {
	ID         string         `json:"id"`
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Results    map[string]any `json:"results"`
	Logs       []string       `json:"logs"`
	ReturnCode int            `json:"return-code"`
}

// BadParamsError is an action Juju refuses before it runs: not defined, or
// parameters its schema rejects (state/unit.go PrepareActionPayload).
type BadParamsError struct{ err error }

func (e *BadParamsError) Error() string { return e.err.Error() }
func (e *BadParamsError) Unwrap() error { return e.err }

// prepareAction does what Juju does before an action is queued: find its
// spec in the charm, validate the parameters against its JSON schema, then
// insert the schema's defaults (state/unit.go PrepareActionPayload, with
// github.com/juju/charm's ActionSpec.ValidateParams and InsertDefaults).
func prepareAction(charmDir, name string, params map[string]any) (map[string]any, charm.ActionSpec, error) {
	ch, err := charm.ReadCharmDir(charmDir)
	if err != nil {
		return nil, charm.ActionSpec{}, fmt.Errorf("cannot read the charm: %w", err)
	}
	var spec charm.ActionSpec
	ok := false
	if acts := ch.Actions(); acts != nil {
		spec, ok = acts.ActionSpecs[name]
	}
	if !ok {
		return nil, spec, &BadParamsError{fmt.Errorf("action %q not defined on unit", name)}
	}
	if err := spec.ValidateParams(params); err != nil {
		return nil, spec, &BadParamsError{err}
	}
	params, err = spec.InsertDefaults(params)
	if err != nil {
		return nil, spec, &BadParamsError{err}
	}
	return params, spec, nil
}

// RunAction queues and runs action name with params as `juju run` would:
// refused with a BadParamsError before anything runs when Juju would refuse
// it; otherwise run under the operation lock, and the machine lock unless
// the charm declares the action parallel, with the uniter's action
// environment (a numeric id, JUJU_ACTION_UUID and JUJU_ACTION_TAG).
func (a *Agent) RunAction(name string, params map[string]any, output io.Writer) (*Outcome, error) {
	if params == nil {
		params = map[string]any{}
	}
	params, spec, err := prepareAction(a.Paths.CharmDir, name, params)
	if err != nil {
		return nil, err
	}
	// Juju gives the action its id when it is queued (state/unit.go
	// AddAction), and makes it the unit's running action when the uniter
	// runs it: a queued action must not clear the results of one running.
	var id string
	err = fakejuju.Update(a.Paths.State, func(st *fakejuju.State) error {
		st.ActionsRun++
		id = strconv.Itoa(st.ActionsRun)
		return nil
	})
	if err != nil {
		return nil, err
	}
	begin := func() error {
		return fakejuju.Update(a.Paths.State, func(st *fakejuju.State) error {
			st.Action = &fakejuju.Action{Name: name, UUID: id, Params: params}
			st.ActionResults = map[string]string{}
			st.ActionFailed = false
			st.ActionMessage = ""
			st.ActionLogs = nil
			return nil
		})
	}
	op := operation{name: name, action: id, parallel: spec.Parallel, begin: begin, env: []string{
		"JUJU_ACTION_NAME=" + name,
		"JUJU_ACTION_UUID=" + id,
		"JUJU_ACTION_TAG=action-" + id,
		"JUJU_DISPATCH_PATH=actions/" + name,
	}}
	code := 0
	err = a.run(op, func(env []string) (bool, error) {
		var err error
		code, err = a.dispatch(env, output, output)
		return code == 0, err
	})
	if err != nil {
		return nil, err
	}
	st, err := fakejuju.Load(a.Paths.State)
	if err != nil {
		return nil, err
	}
	out := &Outcome{ID: id, Status: "completed", Message: st.ActionMessage, Results: st.ResultsTree(), Logs: st.ActionLogs, ReturnCode: code}
	if out.Logs == nil {
		out.Logs = []string{}
	}
	// Juju fails an action that called action-fail or exited non-zero.
	if st.ActionFailed || code != 0 {
		out.Status = "failed"
		if out.Message == "" {
			out.Message = fmt.Sprintf("exit status %d", code)
		}
	}
	return out, nil
}
