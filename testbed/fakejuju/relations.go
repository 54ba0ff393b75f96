package fakejuju

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Relation is one relation the unit takes part in, as its unit agent and
// the controller know it. In the test bed the controller (testbed's
// Controller) keeps Members and the other units' settings up to date.
type Relation struct {
	ID int `json:"id"`
	// Endpoint is the unit's own endpoint, e.g. "graft".
	Endpoint string `json:"endpoint"`
	// RemoteApplication is the application at the other end; for a peer
	// relation, the unit's own.
	RemoteApplication string `json:"remote-application"`
	// Members are the remote units the unit agent has seen join and not
	// yet depart: what relation-list shows. Juju's uniter counts a unit
	// as a member from its relation-joined hook on, and no longer in its
	// relation-departed hook (runner/context/contextfactory.go,
	// HookContext: InvalidateMember, RemoveMember).
	Members []string `json:"members"`
	// Units holds each unit's settings as last committed, the unit's own
	// among them. Juju keeps a unit's settings after it departs, for the
	// life of the relation (state's RelationUnit.ReadSettings).
	Units map[string]map[string]string `json:"units"`
	// Applications holds each application's settings as its leader last
	// committed them (relation-set --app).
	Applications map[string]map[string]string `json:"applications"`
	// PendingUnit and PendingApp are the running hook's relation-set
	// calls that are not committed yet; an empty value deletes its key.
	// Juju commits them only when the hook succeeds (the uniter's
	// HookContext.Flush). The fake's own tools keep them here between
	// their calls, and EndHook commits or drops them; Juju's own tool
	// code in the test bed keeps them in the hook's context instead, as
	// Juju does (testbed/juju/hookcontext).
	PendingUnit map[string]string `json:"pending-unit,omitempty"`
	PendingApp  map[string]string `json:"pending-app,omitempty"`
}

// FakeID is how hook tools name the relation ("graft:3"):
// ContextRelation.FakeId in Juju's runner/context/relation.go.
func (r *Relation) FakeID() string { return fmt.Sprintf("%s:%d", r.Endpoint, r.ID) }

// Join makes unit a member of the relation with settings (as Juju's
// EnterScope leaves them, plus whatever it set since). The local unit is
// never its own member: pass it to set its own settings only.
func (r *Relation) Join(local, unit string, settings map[string]string) {
	if unit != local && !slices.Contains(r.Members, unit) {
		r.Members = append(r.Members, unit)
		slices.Sort(r.Members)
	}
	if r.Units == nil {
		r.Units = map[string]map[string]string{}
	}
	r.Units[unit] = copyContent(settings)
}

// Depart ends unit's membership; its settings stay readable.
func (r *Relation) Depart(unit string) {
	r.Members = slices.DeleteFunc(r.Members, func(m string) bool { return m == unit })
}

// RelationHook is the relation a relation hook runs for and the remote
// unit or application that caused it: what the uniter's HookVars puts in
// JUJU_RELATION, JUJU_RELATION_ID, JUJU_REMOTE_UNIT and JUJU_REMOTE_APP
// (internal/worker/uniter/runner/context/context.go). RemoteUnit is empty
// for a change of the remote application's settings; DepartingUnit is set
// in relation-departed.
type RelationHook struct {
	ID            int    `json:"id"`
	RemoteUnit    string `json:"remote-unit,omitempty"`
	RemoteApp     string `json:"remote-app,omitempty"`
	DepartingUnit string `json:"departing-unit,omitempty"`
}

// Vars is the hook environment for h in a relation whose endpoint is
// endpoint, in HookVars' order.
func (h RelationHook) Vars(endpoint string) []string {
	vars := []string{
		"JUJU_RELATION=" + endpoint,
		"JUJU_RELATION_ID=" + fmt.Sprintf("%s:%d", endpoint, h.ID),
		"JUJU_REMOTE_UNIT=" + h.RemoteUnit,
		"JUJU_REMOTE_APP=" + h.RemoteApp,
	}
	if h.DepartingUnit != "" {
		vars = append(vars, "JUJU_DEPARTING_UNIT="+h.DepartingUnit)
	}
	return vars
}

// ErrRelationNotFound is the uniter's answer for a relation id the unit is
// not in (HookContext.Relation: errors.NotFoundf("relation")).
var ErrRelationNotFound = errors.New("relation not found")

// ErrCannotWriteAppSettings is relation-set --app by a unit that is not the
// leader (jujuc/relation-set.go, RelationSetCommand.Run).
var ErrCannotWriteAppSettings = errors.New("cannot write relation settings")

// errPerm is the uniter facade's answer for settings the unit may not
// read (apiservererrors.ErrPerm).
var errPerm = errors.New("permission denied")

// app is the unit's application.
func (s *State) app() string {
	app, _, _ := strings.Cut(s.Unit, "/")
	return app
}

// AddRelation adds a relation the unit is in, with no members yet, its own
// settings empty and each application's settings empty (Juju creates the
// applications' settings when it creates the relation: state's
// AddRelation). It replaces a relation with the same id.
func (s *State) AddRelation(id int, endpoint, remoteApp string) *Relation {
	r := &Relation{
		ID: id, Endpoint: endpoint, RemoteApplication: remoteApp, Members: []string{},
		Units:        map[string]map[string]string{s.Unit: {}},
		Applications: map[string]map[string]string{s.app(): {}, remoteApp: {}},
	}
	s.Relations = slices.DeleteFunc(s.Relations, func(o *Relation) bool { return o.ID == id })
	s.Relations = append(s.Relations, r)
	slices.SortFunc(s.Relations, func(a, b *Relation) int { return a.ID - b.ID })
	return r
}

// Relation returns the relation with id.
func (s *State) Relation(id int) (*Relation, error) {
	for _, r := range s.Relations {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, ErrRelationNotFound
}

// RelationByName returns the relation a hook tool's -r value names, as
// jujuc's relationIdValue.Set reads it: the number after the last colon,
// then the relation with that id.
func (s *State) RelationByName(value string) (*Relation, error) {
	trim := value
	if i := strings.LastIndex(trim, ":"); i != -1 {
		trim = trim[i+1:]
	}
	id, err := strconv.Atoi(trim)
	if err != nil {
		return nil, errors.New("invalid relation id")
	}
	return s.Relation(id)
}

// RelationIDs lists the ids of the relations on endpoint as relation-ids
// prints them: sorted as strings (jujuc/relation-ids.go).
func (s *State) RelationIDs(endpoint string) []string {
	ids := []string{}
	for _, r := range s.Relations {
		if r.Endpoint == endpoint {
			ids = append(ids, r.FakeID())
		}
	}
	slices.Sort(ids)
	return ids
}

// peer reports whether r is a peer relation: one whose other end is the
// unit's own application.
func (s *State) peer(r *Relation) bool { return r.RemoteApplication == s.app() }

// LocalUnitSettings are the unit's own settings in r as its hook sees
// them: committed, with the hook's pending relation-set calls on top.
func (s *State) LocalUnitSettings(r *Relation) map[string]string {
	return overlay(r.Units[s.Unit], r.PendingUnit)
}

// LocalAppSettings are the unit's application's settings in r as its hook
// sees them, pending calls on top. The uniter facade hands them to any
// unit of a peer relation, and otherwise to the leader only
// (apiserver/facades/agent/uniter/uniter.go,
// readLocalApplicationSettings: "permission denied" otherwise).
func (s *State) LocalAppSettings(r *Relation) (map[string]string, error) {
	if !s.peer(r) && !s.Leader {
		return nil, errPerm
	}
	return overlay(r.Applications[s.app()], r.PendingApp), nil
}

// RemoteUnitSettings are another unit's committed settings in r, as the
// uniter facade reads them (ReadRemoteSettings with checkRemoteUnit, then
// state's RelationUnit.ReadSettings): a unit of an application at the
// other end that has never been in the relation has none, and a unit of
// any other application may not be read.
func (s *State) RemoteUnitSettings(r *Relation, unit string) (map[string]string, error) {
	app, _, _ := strings.Cut(unit, "/")
	if app != r.RemoteApplication {
		return nil, errPerm
	}
	settings, ok := r.Units[unit]
	if !ok {
		return nil, fmt.Errorf("cannot read settings for unit %q in relation %q: unit %q: settings not found", unit, s.relationKey(r), unit)
	}
	return copyContent(settings), nil
}

// RemoteAppSettings are an application's committed settings in r, as the
// uniter facade reads them for a unit that does not write them
// (getRemoteRelationAppSettings): only an application at the other end,
// which in a peer relation is the unit's own.
func (s *State) RemoteAppSettings(r *Relation, app string) (map[string]string, error) {
	if app != r.RemoteApplication {
		return nil, errPerm
	}
	return copyContent(r.Applications[app]), nil
}

// relationKey is how Juju names a relation in errors: for a peer relation
// its one endpoint, "app:endpoint" (state's relationKey). The fake does
// not know the other end's endpoint of any other relation, and names it
// by its id.
func (s *State) relationKey(r *Relation) string {
	if s.peer(r) {
		return s.app() + ":" + r.Endpoint
	}
	return r.FakeID()
}

// SetRelationSettings records one relation-set call of the running hook:
// pending until the hook ends (EndHook).
func (s *State) SetRelationSettings(r *Relation, app bool, values map[string]string) error {
	if app && !s.Leader {
		return ErrCannotWriteAppSettings
	}
	pending := &r.PendingUnit
	if app {
		pending = &r.PendingApp
	}
	if *pending == nil {
		*pending = map[string]string{}
	}
	maps.Copy(*pending, values)
	return nil
}

// CommitRelationSettings applies what a hook set in relation id when it
// succeeded (the uniter's HookContext.Flush, then the facade's
// CommitHookChanges): unit settings, and application settings if the unit
// is still the leader. An empty value deletes its key. A unit that lost
// the leadership during the hook cannot commit application settings: the
// leadership token check fails (core/leadership NotLeaderError).
func (s *State) CommitRelationSettings(id int, unit, app map[string]string) error {
	r, err := s.Relation(id)
	if err != nil {
		return err
	}
	if len(app) > 0 && !s.Leader {
		return fmt.Errorf("cannot commit the settings of relation %s: %q is not leader of %q", r.FakeID(), s.Unit, s.app())
	}
	if len(unit) > 0 {
		if r.Units == nil {
			r.Units = map[string]map[string]string{}
		}
		r.Units[s.Unit] = overlay(r.Units[s.Unit], unit)
	}
	if len(app) > 0 {
		if r.Applications == nil {
			r.Applications = map[string]map[string]string{}
		}
		r.Applications[s.app()] = overlay(r.Applications[s.app()], app)
	}
	return nil
}

// EndHook ends the running hook for the fake's own tools, as the uniter
// does: the relation settings the hook set are committed if it succeeded
// and dropped if it failed. Unit tests call it where Juju would end the
// hook. A commit Juju would refuse (application settings of a unit that is
// no longer the leader) commits nothing of the hook, drops it all and
// returns the error, as the hook would then fail.
func EndHook(path string, succeeded bool) error {
	var commitErr error
	err := Update(path, func(st *State) error {
		type change struct{ unit, app map[string]string }
		changes := map[int]change{}
		for _, r := range st.Relations {
			changes[r.ID] = change{r.PendingUnit, r.PendingApp}
			r.PendingUnit, r.PendingApp = nil, nil
		}
		if !succeeded {
			return nil
		}
		// One transaction: check everything before changing anything.
		for id, c := range changes {
			if len(c.app) > 0 && !st.Leader {
				commitErr = st.CommitRelationSettings(id, nil, c.app)
				return nil
			}
		}
		for id, c := range changes {
			if err := st.CommitRelationSettings(id, c.unit, c.app); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return commitErr
}

// overlay returns base with changes applied: an empty value deletes its
// key. Neither map is changed.
func overlay(base, changes map[string]string) map[string]string {
	out := copyContent(base)
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Juju's names (github.com/juju/names/v5): application and unit names.
var (
	applicationName = `(?:[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*)`
	validApp        = regexp.MustCompile(`^` + applicationName + `$`)
	validUnit       = regexp.MustCompile(`^` + applicationName + `/(?:0|[1-9][0-9]*)$`)
)
