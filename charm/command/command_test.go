package command

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOutputIsBounded: a program that prints without end is stopped once it
// has printed MaxStdout, with an error that says so, not left to fill the
// hook's memory until its deadline.
func TestOutputIsBounded(t *testing.T) {
	res, err := Run(context.Background(), Cmd{Argv: []string{"yes"}})
	require.ErrorIs(t, err, ErrOutputTooLarge)
	assert.EqualError(t, err, "yes: printed more than the charm reads (64 MiB)")
	assert.LessOrEqual(t, len(res.Stdout), MaxStdout)
}

func TestStderrKeepsItsEnd(t *testing.T) {
	c := &capped{max: 10, keepTail: true}
	for _, s := range []string{"0123", "456789", "abc", strings.Repeat("x", 20) + "0123456789"} {
		n, err := c.Write([]byte(s))
		require.NoError(t, err)
		assert.Equal(t, len(s), n)
	}
	assert.Equal(t, "0123456789", string(c.Bytes()))
	c = &capped{max: 10, keepTail: true}
	_, _ = c.Write([]byte("0123456"))
	_, _ = c.Write([]byte("789ab"))
	assert.Equal(t, "23456789ab", string(c.Bytes()))
}
