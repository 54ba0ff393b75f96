package testbed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// Application is the charm's application in a test bed of several units,
// and PeerEndpoint its peer relation (metadata.yaml).
const (
	Application  = "magnum-capi-graft"
	PeerEndpoint = "graft"
	// PeerRelationID is the peer relation's id: Juju creates it with the
	// application, before the juju-info relation to magnum.
	PeerRelationID = 1
)

// Controller is the test bed's Juju controller for several units of the
// charm, each in a box of its own beside its principal magnum/N. It keeps
// the model's side of the application (config, secrets, leadership, and
// the peer relation with every unit's committed settings), carries it into
// each unit's fake agent state, and runs on each unit the hooks Juju's
// uniter would run there, in the uniter's order (next). A unit runs one
// operation at a time (its agent's operation lock also queues juju-exec
// and actions behind the hooks); different units run theirs at the same
// time, as separate unit agents do.
//
// Whatever commits relation settings on a unit (a hook, an action, a
// juju-exec command), the controller sees it in the unit's state within
// pollInterval, or at once after a hook it ran, and carries it to the other
// units, which then run graft-relation-changed.
type Controller struct {
	logf func(format string, args ...any)
	// noPeers: the units are in no peer relation (each alone, as the
	// charm was before it took turns).
	noPeers bool

	mu sync.Mutex
	// changed is broadcast whenever a unit's worker goes idle or a hook
	// ends: WaitIdle waits on it.
	changed *sync.Cond
	units   map[string]*unitAgent
	leader  string
	// config is every option set through SetConfig; configVersion counts
	// the changes (Juju's config hash).
	config        map[string]any
	configVersion int
	secrets       map[string]*fakejuju.Secret
	// inScope are the units in the peer relation's scope.
	inScope map[string]bool
	// settings are each unit's committed settings in the peer relation
	// (kept after it leaves, as Juju keeps them), with a version counting
	// their changes (the settings document's version in Juju).
	settings    map[string]map[string]string
	versions    map[string]int
	appSettings map[string]string
	appVersion  int
	runs        []HookRun
	stop        chan struct{}
	wg          sync.WaitGroup
}

// HookRun is one hook the controller ran on a unit.
type HookRun struct {
	Unit string
	Hook string
	// Remote is what a relation hook is about: the remote unit, or the
	// application for a change of its settings.
	Remote     string
	Start, End time.Time
	Err        error
}

func (r HookRun) String() string {
	s := r.Unit + ": " + r.Hook
	if r.Remote != "" {
		s += " (" + r.Remote + ")"
	}
	if r.Err != nil {
		s += ": " + r.Err.Error()
	}
	return s
}

// unitHost is where a unit runs: its box (boxHost), or a fake in the
// controller's own tests.
type unitHost interface {
	// statePath is the unit's fake agent state, as the host sees it.
	statePath() string
	// runHook runs a hook as the unit agent does, with env (K=V) added to
	// its environment; a hook that fails (exits non-zero) is an error.
	runHook(ctx context.Context, hook string, rh *fakejuju.RelationHook, env ...string) error
}

type boxHost struct {
	box   *Box
	state string
}

func (h boxHost) statePath() string { return h.state }
func (h boxHost) runHook(ctx context.Context, hook string, rh *fakejuju.RelationHook, env ...string) error {
	return h.box.RelationHook(ctx, hook, rh, env...)
}

// unitAgent is one unit: where it runs, and what its uniter has done so
// far (the uniter's local state, and its relation state for the peer
// relation).
type unitAgent struct {
	name      string
	host      unitHost
	statePath string
	wake      chan struct{}

	busy                        bool
	installed, created, started bool
	leader                      bool // leader-elected has run
	configVersion               int
	// members are the remote units the unit has seen join, with the
	// version of their settings it last ran a hook for.
	members    map[string]int
	appVersion int
	// secrets are the revision of each secret the unit last ran
	// secret-changed for (or found when it was added).
	secrets            map[string]int
	changedPending     string
	dying              bool
	brokenRun, stopRun bool
	gone               bool
	failed             *step
	failures           int
	retryAt            time.Time
	lastState          os.FileInfo
}

// step is a hook the uniter chose to run next on a unit.
type step struct {
	hook string
	rel  *fakejuju.RelationHook
	// env is what the hook's environment adds (JUJU_SECRET_ID).
	env []string
	// before makes true, just before the hook, what the uniter makes true
	// for its context: a joining unit is a member, a departing one is
	// not.
	before func() error
	// done records, under the controller's lock, that the hook succeeded.
	done func()
}

// pollInterval is how often the controller looks for relation settings
// committed by operations it did not run.
const pollInterval = 200 * time.Millisecond

// NewController starts a controller with no units. logf, when not nil,
// gets a line per hook run.
func NewController(logf func(format string, args ...any)) *Controller {
	c := &Controller{
		logf: logf, units: map[string]*unitAgent{}, config: map[string]any{}, configVersion: 1,
		secrets: map[string]*fakejuju.Secret{}, inScope: map[string]bool{},
		settings: map[string]map[string]string{}, versions: map[string]int{}, appSettings: map[string]string{},
		stop: make(chan struct{}),
	}
	c.changed = sync.NewCond(&c.mu)
	c.wg.Add(1)
	go c.poll()
	return c
}

// Close stops the controller's workers; hooks already running finish.
func (c *Controller) Close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.wg.Wait()
}

// NewControllerWithoutPeers starts a controller whose units are in no peer
// relation: each is alone, and restarts whenever its hooks say so (the
// charm's behaviour before rolling restarts, the bench's baseline).
func NewControllerWithoutPeers(logf func(format string, args ...any)) *Controller {
	c := NewController(logf)
	c.noPeers = true
	return c
}

// AddSecret adds a secret granted to the application, on every unit, and
// returns its URI.
func (c *Controller) AddSecret(content map[string]string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := fakejuju.NewSecretID()
	c.secrets[id] = &fakejuju.Secret{Granted: true, Revisions: []fakejuju.Revision{{Revision: 1, Content: maps.Clone(content)}}}
	for _, u := range c.units {
		if err := c.writeModel(u); err != nil {
			return "", err
		}
	}
	return "secret:" + id, nil
}

// RotateSecret publishes a new revision of a secret with content, as
// `juju update-secret` does: each unit, which consumes it, runs
// secret-changed for it (JUJU_SECRET_ID set), all at the same time. Juju's
// secrets resolver runs secret-changed while the revision a unit has seen
// is not the latest, after leadership's hooks and before config-changed
// (internal/worker/uniter/secrets/resolver.go, secretsResolver.NextOp;
// uniterResolver.NextOp's order).
func (c *Controller) RotateSecret(uri string, content map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, _ := fakejuju.ParseSecretURI(uri)
	sec, ok := c.secrets[id]
	if !ok {
		return fmt.Errorf("no secret %s", uri)
	}
	sec.Revisions = append(sec.Revisions, fakejuju.Revision{Revision: len(sec.Revisions) + 1, Content: maps.Clone(content)})
	for _, u := range c.units {
		if err := c.writeModel(u); err != nil {
			return err
		}
		c.wakeLocked(u)
	}
	return nil
}

// SetConfig changes the application's config, as `juju config` does: every
// unit gets the new values and then runs config-changed, all at the same
// time. A nil value resets an option to unset.
func (c *Controller) SetConfig(kv map[string]any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	maps.Copy(c.config, kv)
	c.configVersion++
	for _, u := range c.units {
		if err := c.writeModel(u); err != nil {
			return err
		}
		c.wakeLocked(u)
	}
	return nil
}

// writeModel writes the model's side of things into a unit's state:
// config, secrets (a unit keeps the revision it tracks) and leadership.
func (c *Controller) writeModel(u *unitAgent) error {
	return fakejuju.Update(u.statePath, func(st *fakejuju.State) error {
		maps.Copy(st.Config, c.config)
		for id, sec := range c.secrets {
			tracked := 0
			if have := st.Secrets[id]; have != nil {
				tracked = have.Tracked
			}
			st.Secrets[id] = &fakejuju.Secret{Granted: sec.Granted, Revisions: slices.Clone(sec.Revisions), Tracked: tracked}
		}
		st.Leader = c.leader == u.name
		return nil
	})
}

// AddUnit adds the unit a booted box runs (BootUnitWith) to the
// application, as `juju add-unit` does for the principal and Juju then for
// the subordinate: the unit gets the model's config and secrets, the
// first unit is the leader, and its uniter starts: install, then (Juju's
// uniterResolver.NextOp order) graft-relation-created, leader-elected if
// it leads, config-changed and start, then a relation-joined and
// relation-changed for each unit already there, while each of those runs
// relation-joined and relation-changed for it. It returns at once; see
// WaitIdle.
func (c *Controller) AddUnit(box *Box) error {
	return c.addUnit(box.UnitName(), boxHost{box: box, state: box.Path(box.StateFile())})
}

func (c *Controller) addUnit(name string, host unitHost) error {
	u := &unitAgent{
		name: name, host: host, statePath: host.statePath(),
		wake: make(chan struct{}, 1), members: map[string]int{}, secrets: map[string]int{},
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, sec := range c.secrets {
		u.secrets[id] = len(sec.Revisions)
	}
	if _, ok := c.units[u.name]; ok {
		return fmt.Errorf("unit %s is already in the application", u.name)
	}
	if c.leader == "" {
		c.leader = u.name
	}
	if err := c.writeModel(u); err != nil {
		return err
	}
	c.units[u.name] = u
	c.wg.Add(1)
	go c.work(u)
	return nil
}

// Leader is the unit that leads.
func (c *Controller) Leader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

// SetLeader moves the leadership to unit, as Juju does when the leader's
// lease expires and another unit claims it: the old leader stops being
// leader at once and runs no hook for it (Juju's resignLeadership runs
// none: internal/worker/uniter/operation/leader.go); the new one runs
// leader-elected (acceptLeadership).
func (c *Controller) SetLeader(unit string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.units[unit]
	if !ok || u.dying {
		return fmt.Errorf("no unit %s to lead", unit)
	}
	return c.setLeaderLocked(unit)
}

func (c *Controller) setLeaderLocked(unit string) error {
	old := c.units[c.leader]
	c.leader = unit
	for _, u := range []*unitAgent{old, c.units[unit]} {
		if u == nil {
			continue
		}
		if err := c.writeModel(u); err != nil {
			return err
		}
		c.wakeLocked(u)
	}
	return nil
}

// RemoveUnit removes a unit, as `juju remove-unit magnum/N` does to the
// principal and with it the subordinate. The leaving unit resigns the
// leadership at once (leadership resolver: "if the unit is dying, we
// should resign"), and the first unit left takes it; then, dying, it runs
// its relations' hooks before stop and remove, the peer relation's last
// (relationsResolver.NextOp): juju-info-relation-broken (the charm's
// removal; the fake has no juju-info relation of its own), a
// graft-relation-departed for each unit it knew, stop and remove. Once it
// is gone it leaves the peer relation's scope (a peer relation has no
// broken hook to leave it earlier: relationer.CommitHook), and every unit
// left runs graft-relation-departed for it. It returns at once; see
// WaitIdle.
func (c *Controller) RemoveUnit(unit string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.units[unit]
	if !ok || u.dying {
		return fmt.Errorf("no unit %s to remove", unit)
	}
	if !u.installed {
		return fmt.Errorf("unit %s is not installed yet", unit)
	}
	u.dying = true
	if c.leader == unit {
		next := ""
		for _, name := range slices.Sorted(maps.Keys(c.units)) {
			if !c.units[name].dying {
				next = name
				break
			}
		}
		if err := c.setLeaderLocked(next); err != nil {
			return err
		}
	}
	c.wakeLocked(u)
	return nil
}

// Runs lists the hooks run so far, in the order they ended.
func (c *Controller) Runs() []HookRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.runs)
}

// WaitIdle waits until no unit has a hook to run or running, with every
// commit seen; a hook that failed ends the wait with its error (Juju would
// retry it, and run nothing else on that unit until it passes).
func (c *Controller) WaitIdle(ctx context.Context) error {
	for {
		c.syncAll()
		c.mu.Lock()
		idle := true
		for _, u := range c.units {
			if u.failed != nil {
				run := c.lastRun(u.name)
				c.mu.Unlock()
				return fmt.Errorf("hook failed on %s: %v", u.name, run.Err)
			}
			if _, ok := c.next(u); ok || u.busy {
				idle = false
			}
		}
		c.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("units not idle: %w", ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

func (c *Controller) lastRun(unit string) HookRun {
	for i := len(c.runs) - 1; i >= 0; i-- {
		if c.runs[i].Unit == unit {
			return c.runs[i]
		}
	}
	return HookRun{}
}

func (c *Controller) wakeLocked(u *unitAgent) {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

func (c *Controller) wakeAllLocked() {
	for _, u := range c.units {
		c.wakeLocked(u)
	}
}

// work is a unit's uniter: it runs the next hook until there is none, then
// waits for a change.
func (c *Controller) work(u *unitAgent) {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		s, ok := c.next(u)
		if !ok {
			u.busy = false
			c.changed.Broadcast()
			wait := time.Duration(0)
			if u.failed != nil {
				wait = time.Until(u.retryAt)
			}
			gone := u.gone
			c.mu.Unlock()
			if gone {
				return
			}
			var retry <-chan time.Time
			if wait > 0 {
				retry = time.After(wait)
			}
			select {
			case <-u.wake:
			case <-retry:
			case <-c.stop:
				return
			}
			continue
		}
		u.busy = true
		c.mu.Unlock()

		run := HookRun{Unit: u.name, Hook: s.hook, Start: time.Now()}
		if s.rel != nil {
			run.Remote = s.rel.RemoteUnit
			if run.Remote == "" && s.hook != PeerEndpoint+"-relation-created" {
				run.Remote = s.rel.RemoteApp
			}
		}
		var err error
		if s.before != nil {
			err = s.before()
		}
		if err == nil {
			err = u.host.runHook(context.Background(), s.hook, s.rel, s.env...)
		}
		run.End, run.Err = time.Now(), err
		if c.logf != nil {
			c.logf("%s (%.1fs)", run, run.End.Sub(run.Start).Seconds())
		}

		c.mu.Lock()
		c.runs = append(c.runs, run)
		if err == nil {
			s.done()
			u.failed, u.failures = nil, 0
		} else {
			// Juju retries a failed hook after 5 s, doubling up to 5
			// minutes, and runs nothing else on the unit meanwhile
			// (apiserver/facades/agent/retrystrategy).
			u.failed = &s
			u.retryAt = time.Now().Add(min(5*time.Second<<u.failures, 5*time.Minute))
			u.failures++
		}
		c.changed.Broadcast()
		c.mu.Unlock()
		c.sync(u)
	}
}

// next is the uniter's choice of the next hook for a unit, under the lock:
// nothing while a failed hook waits for its retry; for a dying unit its
// departure; else install, then (uniterResolver.NextOp, nextOp)
// relation-created, leadership, config-changed, start, and the peer
// relation's hooks.
func (c *Controller) next(u *unitAgent) (step, bool) {
	switch {
	case u.gone:
		return step{}, false
	case u.failed != nil:
		return *u.failed, !time.Now().Before(u.retryAt)
	case u.dying:
		return c.nextLeaving(u)
	case !u.installed:
		return step{hook: "install", done: func() {
			u.installed = true
			if !c.noPeers {
				c.enterScope(u)
			}
		}}, true
	case !u.created && !c.noPeers:
		// createdRelationsResolver: after install, for each relation.
		return step{hook: PeerEndpoint + "-relation-created", rel: &fakejuju.RelationHook{ID: PeerRelationID, RemoteApp: Application},
			done: func() { u.created = true }}, true
	}
	// leadershipResolver: a unit that has lost the leadership resigns
	// with no hook; one that gained it runs leader-elected.
	if c.leader != u.name {
		u.leader = false
	} else if !u.leader {
		return step{hook: "leader-elected", done: func() { u.leader = true }}, true
	}
	for _, id := range slices.Sorted(maps.Keys(c.secrets)) {
		if rev := len(c.secrets[id].Revisions); u.secrets[id] != rev {
			return step{hook: "secret-changed", env: []string{"JUJU_SECRET_ID=secret:" + id},
				done: func() { u.secrets[id] = rev }}, true
		}
	}
	if v := c.configVersion; u.configVersion != v {
		return step{hook: "config-changed", done: func() { u.configVersion = v }}, true
	}
	if !u.started {
		// The uniter queues start after the first config-changed.
		return step{hook: "start", done: func() { u.started = true }}, true
	}
	return c.nextRelationHook(u)
}

// nextRelationHook is the relation resolver's nextHookForRelation for the
// peer relation (internal/worker/uniter/relation/resolver.go): the
// relation-changed a relation-joined leaves pending; relation-departed for
// members that left the scope; relation-changed for the application's
// settings; relation-joined for units that entered it (each followed by
// its relation-changed); relation-changed for members whose settings
// changed; units in name order.
func (c *Controller) nextRelationHook(u *unitAgent) (step, bool) {
	if !c.inScope[u.name] {
		return step{}, false
	}
	hook := func(remote string) *fakejuju.RelationHook {
		return &fakejuju.RelationHook{ID: PeerRelationID, RemoteUnit: remote, RemoteApp: Application}
	}
	if m := u.changedPending; m != "" {
		v := c.versions[m]
		return step{hook: PeerEndpoint + "-relation-changed", rel: hook(m),
			done: func() { u.changedPending, u.members[m] = "", v }}, true
	}
	for _, m := range slices.Sorted(maps.Keys(u.members)) {
		if !c.inScope[m] {
			rh := hook(m)
			rh.DepartingUnit = m
			return step{hook: PeerEndpoint + "-relation-departed", rel: rh,
				before: func() error { return c.setMember(u, m, false) },
				done:   func() { delete(u.members, m) }}, true
		}
	}
	if v := c.appVersion; u.appVersion != v {
		return step{hook: PeerEndpoint + "-relation-changed", rel: hook(""),
			done: func() { u.appVersion = v }}, true
	}
	for _, m := range slices.Sorted(maps.Keys(c.inScope)) {
		if _, known := u.members[m]; m != u.name && !known {
			v := c.versions[m]
			return step{hook: PeerEndpoint + "-relation-joined", rel: hook(m),
				before: func() error { return c.setMember(u, m, true) },
				done:   func() { u.members[m], u.changedPending = v, m }}, true
		}
	}
	for _, m := range slices.Sorted(maps.Keys(u.members)) {
		if v := c.versions[m]; u.members[m] != v {
			return step{hook: PeerEndpoint + "-relation-changed", rel: hook(m),
				done: func() { u.members[m] = v }}, true
		}
	}
	return step{}, false
}

// nextLeaving is a dying unit's departure (see RemoveUnit).
func (c *Controller) nextLeaving(u *unitAgent) (step, bool) {
	if !u.brokenRun {
		return step{hook: "juju-info-relation-broken", done: func() { u.brokenRun = true }}, true
	}
	for _, m := range slices.Sorted(maps.Keys(u.members)) {
		rh := &fakejuju.RelationHook{ID: PeerRelationID, RemoteUnit: m, RemoteApp: Application, DepartingUnit: u.name}
		return step{hook: PeerEndpoint + "-relation-departed", rel: rh,
			before: func() error { return c.setMember(u, m, false) },
			done:   func() { delete(u.members, m) }}, true
	}
	if !u.stopRun {
		return step{hook: "stop", done: func() { u.stopRun = true }}, true
	}
	return step{hook: "remove", done: func() { c.leave(u) }}, true
}

// enterScope puts a unit that has just installed into the peer relation
// (relationer.Join, then EnterScope, which sets its addresses: apiserver
// uniter.go EnterScope): its own state gets the relation with everyone's
// settings, and every other unit's state gets its settings.
func (c *Controller) enterScope(u *unitAgent) {
	n := len(c.inScope) + 10
	addr := fmt.Sprintf("10.0.0.%d", n)
	c.settings[u.name] = map[string]string{"private-address": addr, "ingress-address": addr, "egress-subnets": addr + "/32"}
	c.versions[u.name]++
	c.inScope[u.name] = true
	err := fakejuju.Update(u.statePath, func(st *fakejuju.State) error {
		r := st.AddRelation(PeerRelationID, PeerEndpoint, Application)
		for name, s := range c.settings {
			r.Units[name] = maps.Clone(s)
		}
		r.Applications[Application] = maps.Clone(c.appSettings)
		return nil
	})
	if err == nil {
		err = c.deliverLocked(u.name)
	}
	if err != nil && c.logf != nil {
		c.logf("%s: cannot enter the peer relation's scope: %v", u.name, err)
	}
	c.wakeAllLocked()
}

// leave takes a removed unit out of the application.
func (c *Controller) leave(u *unitAgent) {
	u.gone = true
	delete(c.inScope, u.name)
	delete(c.units, u.name)
	c.wakeAllLocked()
}

// setMember makes a remote unit a member of a unit's peer relation, or no
// longer one, as the uniter does before its joined or departed hook.
func (c *Controller) setMember(u *unitAgent, member string, in bool) error {
	return fakejuju.Update(u.statePath, func(st *fakejuju.State) error {
		r, err := st.Relation(PeerRelationID)
		if err != nil {
			return err
		}
		if in {
			r.Members = append(r.Members, member)
			slices.Sort(r.Members)
			r.Members = slices.Compact(r.Members)
		} else {
			r.Depart(member)
		}
		return nil
	})
}

// poll looks for commits of operations the controller did not run.
func (c *Controller) poll() {
	defer c.wg.Done()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.syncAll()
		}
	}
}

func (c *Controller) syncAll() {
	c.mu.Lock()
	units := slices.Collect(maps.Values(c.units))
	c.mu.Unlock()
	for _, u := range units {
		c.sync(u)
	}
}

// sync reads what a unit committed to the peer relation, if its state
// changed since last looked at, and carries what is new to the others: its
// own settings (they run relation-changed for it), and, from the leader,
// the application's (every unit runs relation-changed for them, the leader
// too: its relation units watcher watches its own application's settings
// in a peer relation, state/watcher.go RelationUnit.Watch).
func (c *Controller) sync(u *unitAgent) {
	// Every write of the state replaces the file (fakejuju's Update
	// renames a new one into place): a file that is the same as last time
	// holds nothing new.
	fi, err := os.Stat(u.statePath)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if (u.lastState != nil && os.SameFile(fi, u.lastState) && fi.ModTime().Equal(u.lastState.ModTime())) || !c.inScope[u.name] {
		return
	}
	u.lastState = fi
	st, err := fakejuju.Load(u.statePath)
	if err != nil {
		return
	}
	r, err := st.Relation(PeerRelationID)
	if err != nil {
		return
	}
	if own := r.Units[u.name]; !maps.Equal(own, c.settings[u.name]) {
		c.settings[u.name] = maps.Clone(own)
		c.versions[u.name]++
		if err := c.deliverLocked(u.name); err != nil && c.logf != nil {
			c.logf("cannot carry %s's settings: %v", u.name, err)
		}
		c.wakeAllLocked()
	}
	if app := r.Applications[Application]; c.leader == u.name && !maps.Equal(app, c.appSettings) {
		c.appSettings = maps.Clone(app)
		c.appVersion++
		for _, o := range c.units {
			if o == u || !c.inScope[o.name] {
				continue
			}
			err := fakejuju.Update(o.statePath, func(st *fakejuju.State) error {
				r, err := st.Relation(PeerRelationID)
				if err != nil {
					return err
				}
				r.Applications[Application] = maps.Clone(app)
				return nil
			})
			if err != nil && c.logf != nil {
				c.logf("cannot carry the application's settings to %s: %v", o.name, err)
			}
		}
		c.wakeAllLocked()
	}
}

// deliverLocked writes a unit's committed settings into every other unit's
// state in the relation's scope, where their relation-get reads them.
func (c *Controller) deliverLocked(from string) error {
	var errs []error
	for _, o := range c.units {
		if o.name == from || !c.inScope[o.name] {
			continue
		}
		errs = append(errs, fakejuju.Update(o.statePath, func(st *fakejuju.State) error {
			r, err := st.Relation(PeerRelationID)
			if err != nil {
				return err
			}
			r.Units[from] = maps.Clone(c.settings[from])
			return nil
		}))
	}
	return errors.Join(errs...)
}
