package hookcontext

import (
	"strings"
	"sync"

	"github.com/juju/errors"
	"github.com/juju/names/v5"

	"github.com/juju/juju/core/life"
	"github.com/juju/juju/core/relation"
	"github.com/juju/juju/internal/worker/uniter/runner/jujuc"
	"github.com/juju/juju/rpc/params"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// The unit's relations, as Juju's HookContext and ContextRelation serve
// them (internal/worker/uniter/runner/context/context.go and relation.go):
// the relations and their members are taken once, when the context first
// needs them; the unit's own settings are read once and changed in memory
// by relation-set; other units' settings are read from the controller (here
// the state, which the test bed's controller keeps current) once per
// context; and what the hook set is committed only by Commit, which the
// agent calls when the operation succeeded (HookContext.Flush).

// relations returns the context's relations, taking them from the state
// on first use.
func (c *Context) relations() (map[int]*contextRelation, error) {
	c.relMu.Lock()
	defer c.relMu.Unlock()
	if c.rels != nil {
		return c.rels, nil
	}
	st, err := c.load()
	if err != nil {
		return nil, err
	}
	c.rels = map[int]*contextRelation{}
	for _, r := range st.Relations {
		c.rels[r.ID] = &contextRelation{
			c: c, id: r.ID, endpoint: r.Endpoint, remoteApp: r.RemoteApplication,
			members:     append([]string{}, r.Members...),
			peer:        r.RemoteApplication == c.app(),
			modelUUID:   st.ModelUUID,
			remoteCache: map[string]params.Settings{},
		}
	}
	return c.rels, nil
}

func (c *Context) app() string {
	app, _, _ := strings.Cut(c.unit, "/")
	return app
}

// Relation implements jujuc.ContextRelations.
func (c *Context) Relation(id int) (jujuc.ContextRelation, error) {
	rels, err := c.relations()
	if err != nil {
		return nil, err
	}
	r, ok := rels[id]
	if !ok {
		return nil, errors.NotFoundf("relation")
	}
	return r, nil
}

// RelationIds implements jujuc.ContextRelations. Juju leaves out broken
// relations; the state holds none.
func (c *Context) RelationIds() ([]int, error) {
	rels, err := c.relations()
	if err != nil {
		return nil, err
	}
	ids := []int{}
	for id := range rels {
		ids = append(ids, id)
	}
	return ids, nil
}

// HookRelation implements jujuc.RelationHookContext: the relation of a
// relation hook, not found in any other context.
func (c *Context) HookRelation() (jujuc.ContextRelation, error) {
	if c.relationHook == nil {
		return nil, errors.NotFoundf("relation")
	}
	return c.Relation(c.relationHook.ID)
}

// RemoteUnitName implements jujuc.RelationHookContext.
func (c *Context) RemoteUnitName() (string, error) {
	if c.relationHook == nil || c.relationHook.RemoteUnit == "" {
		return "", errors.NotFoundf("remote unit")
	}
	return c.relationHook.RemoteUnit, nil
}

// RemoteApplicationName implements jujuc.RelationHookContext.
func (c *Context) RemoteApplicationName() (string, error) {
	if c.relationHook == nil || c.relationHook.RemoteApp == "" {
		return "", errors.NotFoundf("saas application")
	}
	return c.relationHook.RemoteApp, nil
}

// RelationVars are the variables HookVars adds for a relation hook:
// JUJU_RELATION, JUJU_RELATION_ID, JUJU_REMOTE_UNIT, JUJU_REMOTE_APP and,
// in relation-departed, JUJU_DEPARTING_UNIT. None outside relation hooks.
func (c *Context) RelationVars() ([]string, error) {
	r, err := c.HookRelation()
	if errors.Is(err, errors.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.relationHook.Vars(r.Name()), nil
}

// Commit writes what the hook set in its relations to the state, as the
// uniter's HookContext.Flush does when a hook succeeded: each relation's
// unit settings the hook touched, and its application settings if the
// hook changed them (which fails if the unit lost the leadership since).
// All of it in one update, as CommitHookChanges is one transaction.
func (c *Context) Commit() error {
	c.relMu.Lock()
	defer c.relMu.Unlock()
	if c.rels == nil {
		return nil
	}
	return c.update(func(st *fakejuju.State) error {
		for _, r := range c.rels {
			var unit, app params.Settings
			if r.settings != nil {
				unit = r.settings.finalResult()
			}
			if r.appSettings != nil && r.appSettings.isDirty() {
				app = r.appSettings.finalResult()
			}
			if len(unit)+len(app) == 0 {
				continue
			}
			if err := st.CommitRelationSettings(r.id, unit, app); err != nil {
				return err
			}
		}
		return nil
	})
}

// contextRelation implements jujuc.ContextRelation for one relation.
type contextRelation struct {
	c         *Context
	id        int
	endpoint  string
	remoteApp string
	members   []string
	peer      bool
	modelUUID string

	// settings and appSettings are the unit's and its application's
	// settings as this hook sees and changes them; nil until first used.
	settings, appSettings *settings
	// remoteCache holds the other units' and applications' settings read
	// so far (Juju's RelationCache).
	remoteCache map[string]params.Settings
}

var _ jujuc.ContextRelation = (*contextRelation)(nil)

func (r *contextRelation) Id() int      { return r.id }
func (r *contextRelation) Name() string { return r.endpoint }

// RelationTag is the relation's tag: for a peer relation its key,
// "app:endpoint". The fake does not know the other end's endpoint of any
// other relation, and none of the hook tools served here reads the tag.
func (r *contextRelation) RelationTag() names.RelationTag {
	if r.peer {
		return names.NewRelationTag(r.c.app() + ":" + r.endpoint)
	}
	return names.RelationTag{}
}

func (r *contextRelation) FakeId() string {
	return (&fakejuju.Relation{ID: r.id, Endpoint: r.endpoint}).FakeID()
}

// UnitNames are the remote units in the relation when the context began.
func (r *contextRelation) UnitNames() []string { return append([]string{}, r.members...) }

func (r *contextRelation) relation(st *fakejuju.State) (*fakejuju.Relation, error) {
	return st.Relation(r.id)
}

// Settings are the unit's own settings in the relation, read once.
func (r *contextRelation) Settings() (jujuc.Settings, error) {
	r.c.relMu.Lock()
	defer r.c.relMu.Unlock()
	if r.settings == nil {
		st, err := r.c.load()
		if err != nil {
			return nil, err
		}
		rel, err := r.relation(st)
		if err != nil {
			return nil, err
		}
		r.settings = newSettings(rel.Units[st.Unit])
	}
	return r.settings, nil
}

// ApplicationSettings are the unit's application's settings in the
// relation, read once: any unit of a peer relation may read them, and
// otherwise the leader only.
func (r *contextRelation) ApplicationSettings() (jujuc.Settings, error) {
	r.c.relMu.Lock()
	defer r.c.relMu.Unlock()
	if r.appSettings == nil {
		st, err := r.c.load()
		if err != nil {
			return nil, err
		}
		rel, err := r.relation(st)
		if err != nil {
			return nil, err
		}
		committed, err := st.LocalAppSettings(rel)
		if err != nil {
			return nil, err
		}
		r.appSettings = newSettings(committed)
	}
	return r.appSettings, nil
}

// ReadSettings are another unit's settings, as the controller has them.
func (r *contextRelation) ReadSettings(unit string) (params.Settings, error) {
	return r.readRemote(unit, func(st *fakejuju.State, rel *fakejuju.Relation) (map[string]string, error) {
		return st.RemoteUnitSettings(rel, unit)
	})
}

// ReadApplicationSettings are an application's settings, as the
// controller has them.
func (r *contextRelation) ReadApplicationSettings(app string) (params.Settings, error) {
	return r.readRemote(app, func(st *fakejuju.State, rel *fakejuju.Relation) (map[string]string, error) {
		return st.RemoteAppSettings(rel, app)
	})
}

func (r *contextRelation) readRemote(name string, read func(*fakejuju.State, *fakejuju.Relation) (map[string]string, error)) (params.Settings, error) {
	r.c.relMu.Lock()
	defer r.c.relMu.Unlock()
	if s, ok := r.remoteCache[name]; ok {
		return s, nil
	}
	st, err := r.c.load()
	if err != nil {
		return nil, err
	}
	rel, err := r.relation(st)
	if err != nil {
		return nil, err
	}
	m, err := read(st, rel)
	if err != nil {
		return nil, err
	}
	s := params.Settings{}
	for k, v := range m {
		s[k] = v
	}
	r.remoteCache[name] = s
	return s, nil
}

func (r *contextRelation) Suspended() bool { return false }

// SetStatus is for cross-model relations, which the test bed has none of.
func (r *contextRelation) SetStatus(relation.Status) error {
	return errors.NotImplementedf("relation status")
}

func (r *contextRelation) RemoteApplicationName() string { return r.remoteApp }
func (r *contextRelation) RemoteModelUUID() string       { return r.modelUUID }
func (r *contextRelation) Life() life.Value              { return life.Alive }

// settings is Juju's uniter.Settings (api/agent/uniter/settings.go): a
// deleted key is kept as "" until the commit, so that the commit deletes
// it.
type settings struct {
	// mu guards the rest: the jujuc server runs each tool call in a
	// goroutine of its own.
	mu     sync.Mutex
	values params.Settings
	dirty  bool
}

var _ jujuc.Settings = (*settings)(nil)

func newSettings(m map[string]string) *settings {
	s := &settings{values: params.Settings{}}
	for k, v := range m {
		s.values[k] = v
	}
	return s
}

// Map returns the settings without deleted keys.
func (s *settings) Map() params.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := params.Settings{}
	for k, v := range s.values {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func (s *settings) Set(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = value
	s.dirty = true
}

func (s *settings) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = ""
	s.dirty = true
}

func (s *settings) isDirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}

// finalResult is every key, deleted ones as "".
func (s *settings) finalResult() params.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := params.Settings{}
	for k, v := range s.values {
		out[k] = v
	}
	return out
}
