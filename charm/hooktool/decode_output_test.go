package hooktool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A tool's null is empty, never nil; output that is no JSON names the tool.
func TestDecodeOutput(t *testing.T) {
	cfg, err := decodeOutput([]byte("null\n"), "config-get", map[string]any{})
	require.NoError(t, err)
	assert.NotNil(t, cfg)
	assert.Empty(t, cfg)
	ids, err := decodeOutput([]byte(`["peers:1"]`), "relation-ids", []string{})
	require.NoError(t, err)
	assert.Equal(t, []string{"peers:1"}, ids)
	units, err := decodeOutput([]byte("null"), "relation-list", []string{})
	require.NoError(t, err)
	assert.NotNil(t, units)
	_, err = decodeOutput([]byte("ERROR nope"), "action-get", map[string]any{})
	assert.ErrorContains(t, err, "action-get output: ")
}
