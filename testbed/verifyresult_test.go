package testbed

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFailedChecksNamesEveryFailureByItsPath(t *testing.T) {
	results := map[string]any{
		"summary": "1 of 4 checks failed",
		"magnum-api": map[string]any{
			"active": map[string]any{"pass": "true"},
			"wiring": map[string]any{"pass": "false", "reason": "no --config-dir"},
		},
		"watcher": map[string]any{"pass": "true"},
		"driver":  map[string]any{"loads": map[string]any{"pass": "false"}},
	}
	assert.Equal(t, []string{"driver.loads", "magnum-api.wiring"}, FailedChecks(results, ""))
	assert.Empty(t, FailedChecks(map[string]any{"watcher": map[string]any{"pass": "true"}}, ""))
}
