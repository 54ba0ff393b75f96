package reconcile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/driver"
)

// The driver's options are decoded for the driver version the operator
// names, "v" or not, and the pinned one when none.
func TestParseConfigDriverVersion(t *testing.T) {
	for raw, want := range map[string]string{"": DefaultDriverVersion, "v1.2.0": "1.2.0", "1.3.0": "1.3.0"} {
		cfg, err := ParseConfig(map[string]any{"driver-version": raw, "driver-source": "apt"})
		require.NoError(t, err)
		assert.Equal(t, want, cfg.DriverVersion, raw)
		assert.Equal(t, want, cfg.Driver.Version, raw)
		assert.Equal(t, driver.SourceApt, cfg.Driver.Source, raw)
	}
}
