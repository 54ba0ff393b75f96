package rolling

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// The keys of a unit's settings.
const (
	keyWant    = "roll-want"
	keyKind    = "roll-kind"
	keyDone    = "roll-done"
	keyFailed  = "roll-failed"
	keyReason  = "roll-reason"
	keyLeaving = "roll-leaving"
	keyRetry   = "roll-retry"
)

// The keys of the application's settings.
const (
	keyRoll      = "roll-fp"
	keyOrder     = "roll-order"
	keyTurn      = "roll-turn"
	keyTurnFP    = "roll-turn-fp"
	keyCanary    = "roll-canary"
	keyStopped   = "roll-stopped"
	keyStoppedBy = "roll-stopped-by"
	keyRefused   = "roll-refused"
)

// Peers is one unit's side of the protocol during one hook. The zero
// Peers is a unit alone.
type Peers struct {
	juju hooktool.Tools
	unit string
	// rel is the peer relation's id ("" when the unit has none).
	rel string
	// own is the unit's settings as this hook last read or set them.
	own map[string]string
	// Log, when set, gets a line for each request and each decision of
	// the leader's that changes the roll.
	Log func(string)
}

// Open finds the unit's peer relation. A unit without one (before Juju
// has created it, or a unit outside Juju) is alone, and every turn is its
// own.
func Open(ctx context.Context, juju hooktool.Tools, unit string) (*Peers, error) {
	p := &Peers{juju: juju, unit: unit}
	if juju == nil {
		// Outside Juju (a test of apply alone) there are no peers.
		return p, nil
	}
	ids, err := juju.RelationIDs(ctx, Endpoint)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return p, nil
	}
	// A peer endpoint has one relation (Juju creates it with the
	// application; it is never broken while the application lives).
	p.rel = ids[0]
	if p.own, err = juju.RelationGet(ctx, p.rel, unit); err != nil {
		if errors.Is(err, hooktool.ErrRelationNotFound) {
			p.rel = ""
			return p, nil
		}
		return nil, err
	}
	return p, nil
}

// Alone reports whether the unit has no peer relation.
func (p *Peers) Alone() bool { return p.rel == "" }

// Turn is the answer to Ask.
type Turn struct {
	// Granted: the unit may restart now.
	Granted bool
	// Canary: the unit is its roll's canary.
	Canary bool
	// Status and Message are what a unit without the turn shows.
	Status  hooktool.Status
	Message string
}

// Ask says that the unit wants to make the change fp with a restart, and
// tells whether it may now. The leader also takes its step (Lead), so a
// leader may grant itself the turn at once.
func (p *Peers) Ask(ctx context.Context, fp string, kind Kind) (Turn, error) {
	return p.ask(ctx, fp, kind, false)
}

// Retry is Ask for an operator's explicit request to try the change fp
// again (the regraft action): a change that failed, here or on another
// unit, and stopped its roll, is tried again, on this unit first. The
// unit's own record of the failure goes, or the leader would take it for
// a failure of the retry.
func (p *Peers) Retry(ctx context.Context, fp string, kind Kind) (Turn, error) {
	return p.ask(ctx, fp, kind, true)
}

func (p *Peers) ask(ctx context.Context, fp string, kind Kind, retry bool) (Turn, error) {
	if p.Alone() {
		return Turn{Granted: true}, nil
	}
	if p.own[keyWant] != fp || (retry && p.own[keyRetry] != fp) {
		again := ""
		if retry {
			again = ", the operator's retry"
		}
		p.logf("asking for a turn for change %s (%s%s)", short(fp), kind, again)
	}
	set := map[string]string{keyWant: fp, keyKind: string(kind)}
	if retry {
		set[keyRetry] = fp
		if p.own[keyFailed] == fp {
			set[keyFailed], set[keyReason] = "", ""
		}
	}
	if err := p.setOwn(ctx, set); err != nil {
		return Turn{}, err
	}
	roll, err := p.lead(ctx, true)
	if err != nil {
		return Turn{}, err
	}
	if roll.Granted(p.unit, fp) {
		return Turn{Granted: true, Canary: roll.Canary == p.unit}, nil
	}
	status, msg := roll.Say(p.unit, fp)
	if retry && status == hooktool.Blocked {
		// The leader has not seen the retry yet (its relation-changed
		// for this unit will).
		return Turn{Status: hooktool.Waiting, Message: "rolling restart: asked the leader to try this change again, on this unit first"}, nil
	}
	return Turn{Status: status, Message: msg}, nil
}

// Done says that the unit runs the change fp (made under its turn, or
// needing none), which hands a turn it held back.
func (p *Peers) Done(ctx context.Context, fp string) error {
	if p.Alone() {
		return nil
	}
	if p.own[keyDone] != fp {
		p.logf("this unit runs change %s", short(fp))
	}
	if err := p.setOwn(ctx, map[string]string{keyWant: "", keyKind: "", keyRetry: "", keyDone: fp, keyFailed: "", keyReason: ""}); err != nil {
		return err
	}
	_, err := p.lead(ctx, false)
	return err
}

// Fail says that the change fp failed on the unit, which rolled it back:
// the leader stops the roll.
func (p *Peers) Fail(ctx context.Context, fp, reason string) error {
	if p.Alone() {
		return nil
	}
	reason = oneLine(reason, 400)
	if reason == "" {
		reason = "failed"
	}
	if p.own[keyFailed] != fp {
		p.logf("change %s failed on this unit", short(fp))
	}
	if err := p.setOwn(ctx, map[string]string{keyWant: "", keyKind: "", keyRetry: "", keyFailed: fp, keyReason: reason}); err != nil {
		return err
	}
	_, err := p.lead(ctx, false)
	return err
}

// Leave says that the unit is taking its graft off: it wants no turn, and
// one it holds goes back.
func (p *Peers) Leave(ctx context.Context) error {
	if p.Alone() {
		return nil
	}
	return p.setOwn(ctx, map[string]string{keyWant: "", keyKind: "", keyRetry: "", keyLeaving: "true"})
}

// Lead takes the leader's step, if this unit leads: a hook that may have
// changed what the units want (a relation hook, leader-elected) runs it.
func (p *Peers) Lead(ctx context.Context) error {
	if p.Alone() {
		return nil
	}
	_, err := p.lead(ctx, false)
	return err
}

// Roll reads the roll as the application's settings hold it.
func (p *Peers) Roll(ctx context.Context) (Roll, error) {
	if p.Alone() {
		return Roll{}, nil
	}
	app, err := p.juju.RelationGet(ctx, p.rel, p.app())
	if err != nil {
		return Roll{}, err
	}
	return parseRoll(app), nil
}

func (p *Peers) app() string {
	app, _, _ := strings.Cut(p.unit, "/")
	return app
}

// lead reads the roll and, on the leader, decides it and writes what
// changed. A unit that does not lead reads it only when it must know it
// (read).
func (p *Peers) lead(ctx context.Context, read bool) (Roll, error) {
	leader, err := p.juju.IsLeader(ctx)
	if err != nil || (!leader && !read) {
		return Roll{}, err
	}
	app, err := p.juju.RelationGet(ctx, p.rel, p.app())
	if err != nil {
		return Roll{}, err
	}
	roll := parseRoll(app)
	if !leader {
		return roll, nil
	}
	members, err := p.juju.RelationList(ctx, p.rel)
	if err != nil {
		return roll, err
	}
	reqs := []Request{parseRequest(p.unit, p.own)}
	for _, m := range members {
		s, err := p.juju.RelationGet(ctx, p.rel, m)
		if err != nil {
			return roll, err
		}
		reqs = append(reqs, parseRequest(m, s))
	}
	next := Lead(roll, reqs)
	if next.FP != roll.FP {
		p.logf("leader: a new roll of change %s, order %s", short(next.FP), strings.Join(next.Order, " "))
	}
	if next.Turn != roll.Turn && next.Turn != "" {
		p.logf("leader: the turn goes to %s", next.Turn)
	}
	if next.FP == roll.FP && next.Stopped == "" && roll.Stopped != "" {
		p.logf("leader: the roll of change %s starts again from %s (the operator's retry)", short(next.FP), next.Turn)
	}
	if next.Stopped != "" && roll.Stopped == "" {
		p.logf("leader: the roll of change %s stopped: %s failed", short(next.FP), next.StoppedBy)
	}
	if changes := diff(app, formatRoll(next)); len(changes) > 0 {
		if err := p.juju.RelationSet(ctx, p.rel, true, changes); err != nil {
			return roll, err
		}
	}
	return next, nil
}

// setOwn sets the unit's own keys that differ from want ("" deletes).
func (p *Peers) setOwn(ctx context.Context, want map[string]string) error {
	changes := map[string]string{}
	for k, v := range want {
		if p.own[k] != v {
			changes[k] = v
		}
	}
	if len(changes) == 0 {
		return nil
	}
	if err := p.juju.RelationSet(ctx, p.rel, false, changes); err != nil {
		return fmt.Errorf("cannot tell the other units: %w", err)
	}
	own := maps.Clone(p.own)
	if own == nil {
		own = map[string]string{}
	}
	for k, v := range changes {
		if v == "" {
			delete(own, k)
		} else {
			own[k] = v
		}
	}
	p.own = own
	return nil
}

func (p *Peers) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log("rolling restart: " + fmt.Sprintf(format, args...))
	}
}

// short is a fingerprint as the logs show it.
func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

func parseRequest(unit string, s map[string]string) Request {
	return Request{Unit: unit, Want: s[keyWant], Kind: Kind(s[keyKind]), Done: s[keyDone],
		Failed: s[keyFailed], Reason: s[keyReason], Leaving: s[keyLeaving] == "true", Retry: s[keyRetry]}
}

func parseRoll(s map[string]string) Roll {
	r := Roll{FP: s[keyRoll], Turn: s[keyTurn], TurnFP: s[keyTurnFP], Canary: s[keyCanary],
		Stopped: s[keyStopped], StoppedBy: s[keyStoppedBy]}
	if o := s[keyOrder]; o != "" {
		r.Order = strings.Split(o, ",")
	}
	if o := s[keyRefused]; o != "" {
		r.Refused = strings.Split(o, ",")
	}
	return r
}

func formatRoll(r Roll) map[string]string {
	return map[string]string{keyRoll: r.FP, keyOrder: strings.Join(r.Order, ","), keyTurn: r.Turn,
		keyTurnFP: r.TurnFP, keyCanary: r.Canary, keyStopped: oneLine(r.Stopped, 400), keyStoppedBy: r.StoppedBy,
		keyRefused: strings.Join(r.Refused, ",")}
}

// diff is what relation-set must set to take have to want: changed keys,
// and "" for keys want drops.
func diff(have, want map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range want {
		if have[k] != v {
			out[k] = v
		}
	}
	return out
}
