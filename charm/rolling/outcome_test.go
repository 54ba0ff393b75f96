package rolling

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Only a converged hook that read no peer relation, asked for nothing and
// failed nothing may leave its outcome unsaid next time.
func TestOutcomeQuiet(t *testing.T) {
	converged := Outcome{Converged: true, Change: "A"}
	assert.Equal(t, "done A", converged.Quiet())
	for name, o := range map[string]Outcome{
		"read the peers":  {Read: true, Converged: true, Change: "A"},
		"asked a turn":    {Asked: true, Converged: true, Change: "A"},
		"failed":          {Converged: true, Failure: "it broke", Change: "A"},
		"not converged":   {Change: "A"},
		"knows no change": {Converged: true},
	} {
		assert.Empty(t, o.Quiet(), name)
	}
}

// Tell says Done, Fail or the leader's step, and leaves the peer relation
// alone when it would say what was said (Quiet) or the unit asked a turn.
func TestOutcomeTell(t *testing.T) {
	ctx := context.Background()
	m := newModel(t, u0, u1)
	unopened := func(context.Context) (*Peers, error) {
		t.Error("the peer relation is opened")
		return nil, errors.New("not to be opened")
	}
	said, err := Outcome{Converged: true, Change: "A"}.Tell(ctx, unopened, "done A")
	require.NoError(t, err)
	assert.Equal(t, "done A", said)
	said, err = Outcome{Asked: true, Change: "A"}.Tell(ctx, unopened, "")
	require.NoError(t, err)
	assert.Empty(t, said)

	tell := func(u string, o Outcome, said string) string {
		var news string
		m.hook(u, func(p *Peers) error {
			var err error
			news, err = o.Tell(ctx, func(context.Context) (*Peers, error) { return p, nil }, said)
			return err
		})
		return news
	}
	assert.Equal(t, Turn{Granted: true}, m.ask(u0, "A", KindConfig), "the leader grants itself the turn")
	assert.Equal(t, "done A", tell(u0, Outcome{Converged: true, Change: "A"}, "done B"), "another outcome is said")
	assert.Empty(t, m.roll().Turn, "done hands the turn back")

	m.ask(u1, "B", KindConfig)
	m.lead()
	assert.Equal(t, u1, m.roll().Turn)
	assert.Empty(t, tell(u1, Outcome{Read: true, Failure: "it broke", Change: "B"}, ""))
	m.lead()
	r := m.roll()
	assert.Equal(t, u1, r.StoppedBy, "a failure stops the roll")
	assert.Contains(t, r.Stopped, "it broke")

	failed := errors.New("no relation")
	_, err = Outcome{Converged: true, Change: "A"}.Tell(ctx, func(context.Context) (*Peers, error) { return nil, failed }, "")
	assert.ErrorIs(t, err, failed)
}
