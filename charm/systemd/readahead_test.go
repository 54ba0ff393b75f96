package systemd

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readsBed is a Manager whose reads are counted instead of sent to
// systemd; each read returns the units with NRestarts set to its number.
type readsBed struct {
	m     *Manager
	reads [][]string
}

func newReadsBed() *readsBed {
	b := &readsBed{m: &Manager{}}
	b.m.readUnits = func(_ context.Context, names []string) ([]Unit, []error) {
		b.reads = append(b.reads, names)
		us, errs := make([]Unit, len(names)), make([]error, len(names))
		for i, n := range names {
			if n == "broken.service" {
				errs[i] = errors.New("no reply")
				continue
			}
			us[i] = Unit{Name: n, NRestarts: uint32(len(b.reads))}
		}
		return us, errs
	}
	return b
}

func TestReadAheadReadsOnceAndAnswersOnce(t *testing.T) {
	ctx := context.Background()
	b := newReadsBed()
	b.m.ReadAhead("a.service", "b.service", "w.service", "broken.service")

	a, err := b.m.Unit(ctx, "a.service")
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a.service", "a.service", "b.service", "w.service", "broken.service"}}, b.reads)
	assert.Equal(t, uint32(1), a.NRestarts)

	// b and w come from the same read, once each.
	u, err := b.m.Unit(ctx, "b.service")
	require.NoError(t, err)
	assert.Equal(t, uint32(1), u.NRestarts)
	u, err = b.m.Unit(ctx, "w.service")
	require.NoError(t, err)
	assert.Equal(t, uint32(1), u.NRestarts)
	assert.Len(t, b.reads, 1)

	// Asked again, each is read afresh, and so are a unit asked for
	// itself (a) and one whose read failed.
	for _, n := range []string{"a.service", "w.service", "broken.service"} {
		_, _ = b.m.Unit(ctx, n)
	}
	assert.Len(t, b.reads, 4)
}

// Anything done through the Manager forgets what was read ahead.
func TestActionsForgetWhatWasReadAhead(t *testing.T) {
	ctx := context.Background()
	b := newReadsBed()
	b.m.ReadAhead("w.service")
	_, err := b.m.Unit(ctx, "a.service")
	require.NoError(t, err)
	// Every change asks actions() for go-systemd's connection first; the
	// dial itself (or its failure) does not matter here.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if conn, err := b.m.actions(cancelled); err == nil {
		conn.Close()
		b.m.conn = nil
	}
	u, err := b.m.Unit(ctx, "w.service")
	require.NoError(t, err)
	assert.Equal(t, uint32(2), u.NRestarts, "read afresh")
	assert.Len(t, b.reads, 2)
}
