package hooktool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	type opts struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
		Keep  bool   `json:"keep"`
	}
	o := opts{Name: "default", Count: 1}
	require.NoError(t, Decode(map[string]any{"count": float64(3), "keep": true, "other": "x"}, &o))
	assert.Equal(t, opts{Name: "default", Count: 3, Keep: true}, o, "absent keys keep their default")

	err := Decode(map[string]any{"count": "three"}, &o)
	assert.EqualError(t, err, "count must be an integer")
	err = Decode(map[string]any{"name": 7.0}, &o)
	assert.EqualError(t, err, "name must be a string")
}
