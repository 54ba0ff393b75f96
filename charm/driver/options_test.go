package driver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseDriver(t *testing.T, raw map[string]any) Config {
	t.Helper()
	cfg, err := ParseConfig(raw, "1.4.0")
	require.NoError(t, err)
	return cfg
}

func TestParseConfig(t *testing.T) {
	dc := parseDriver(t, map[string]any{})
	require.NoError(t, dc.Check())
	assert.Equal(t, Config{Source: SourceAuto, Version: "1.4.0", IndexURL: "https://pypi.org/simple",
		AptPackage: "python3-magnum-capi-helm"}, dc)

	dc = parseDriver(t, map[string]any{
		"driver-source": "apt", "pip-index-url": "https://mirror.example/pypi/simple/",
		"driver-apt-package": "python3-magnum-capi-helm", "driver-apt-source": "ppa:canonical-openstack/magnum-capi-helm"})
	require.NoError(t, dc.Check())
	assert.Equal(t, SourceApt, dc.Source)
	assert.Equal(t, "https://mirror.example/pypi/simple", dc.IndexURL)
	assert.Equal(t, "ppa:canonical-openstack/magnum-capi-helm", dc.AptSource)

	for _, tc := range []struct {
		key, value, want string
	}{
		{"driver-source", "pip", `driver-source "pip" is not one of auto, resource, index, apt`},
		{"pip-index-url", "http://pypi.org/simple", "pip-index-url must be an https URL"},
		{"pip-index-url", "pypi.org", "pip-index-url must be an https URL"},
		{"pip-index-url", "https://pypi.org/simple?x=1", "pip-index-url must be an https URL"},
		{"driver-apt-package", "Python3 Magnum", "is not a Debian package name"},
		{"driver-apt-package", "-oAPT::foo", "is not a Debian package name"},
		{"driver-apt-source", "--yes", "driver-apt-source must be one line"},
		{"driver-apt-source", "ppa:x/y\ndeb http://evil/ x main", "driver-apt-source must be one line"},
	} {
		dc := parseDriver(t, map[string]any{tc.key: tc.value})
		assert.ErrorContains(t, dc.Check(), tc.want, "%s=%q", tc.key, tc.value)
	}
}
