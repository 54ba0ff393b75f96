package driver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionOrdering(t *testing.T) {
	// Each version sorts strictly before the next (PEP 440's example list,
	// plus epochs and local versions).
	ordered := []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "2.0", "10.0", "1!0.1",
	}
	for i := 0; i+1 < len(ordered); i++ {
		a, err := parseVersion(ordered[i])
		require.NoError(t, err)
		b, err := parseVersion(ordered[i+1])
		require.NoError(t, err)
		assert.Equal(t, -1, compareVersions(a, b), "%s < %s", ordered[i], ordered[i+1])
		assert.Equal(t, 1, compareVersions(b, a), "%s > %s", ordered[i+1], ordered[i])
	}
	for _, eq := range [][2]string{{"1.0", "1.0.0"}, {"1.0rc1", "1.0c1"}, {"1.0-1", "1.0.post1"}, {"v1.0", "1.0"}, {"1.0alpha1", "1.0a1"}} {
		a, err := parseVersion(eq[0])
		require.NoError(t, err)
		b, err := parseVersion(eq[1])
		require.NoError(t, err)
		assert.Equal(t, 0, compareVersions(a, b), "%s == %s", eq[0], eq[1])
	}
	_, err := parseVersion("1.0-debian~foo")
	assert.Error(t, err)
}

func TestSpecifierContains(t *testing.T) {
	for _, tc := range []struct {
		spec, version string
		want          bool
	}{
		{"", "0.1", true},
		{">=2.0", "2.0", true},
		{">=2.0", "1.9.9", false},
		{">=2.0,<3", "2.5", true},
		{">=2.0,<3", "3.0", false},
		{"<3", "3.0rc1", false},
		{"<3rc2", "3.0rc1", true},
		{">1.0", "1.0.post1", false},
		{">1.0", "1.0.1", true},
		{">1.0.post1", "1.0.post2", true},
		{"<=20.0.0", "20.0", true},
		{"==20.0.0", "20.0", true},
		{"==20.0.0", "20.0.0+deb1", true},
		{"==20.0.0+deb1", "20.0.0", false},
		{"==20.*", "20.1.3", true},
		{"==20.*", "21.0", false},
		{"==2.1.*", "2.10", false},
		{"!=1.1", "1.1.0", false},
		{"!=1.1", "1.2", true},
		{"!=1.*", "2.0", true},
		{"~=2.2", "2.9", true},
		{"~=2.2", "3.0", false},
		{"~=2.2.1", "2.2.5", true},
		{"~=2.2.1", "2.3", false},
		{"===1.0", "1.0", true},
		{"===1.0", "1.0.0", false},
		{">= 1.0 , != 1.5", "1.5", false},
	} {
		got, err := specifierContains(tc.spec, tc.version)
		require.NoError(t, err, "%s %s", tc.spec, tc.version)
		assert.Equal(t, tc.want, got, "%q contains %q", tc.spec, tc.version)
	}
	_, err := specifierContains("~=2", "2.0")
	assert.Error(t, err)
	_, err = specifierContains("=>2", "2.0")
	assert.Error(t, err)
}

func TestParseRequirement(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want requirement
	}{
		{"pbr", requirement{Name: "pbr"}},
		{"pbr>=2.0", requirement{Name: "pbr", Spec: ">=2.0"}},
		{"pbr (>= 2.0, !=2.1)", requirement{Name: "pbr", Spec: ">=2.0,!=2.1"}},
		{"oslo.log[fixtures]>=4; python_version >= '3.8'", requirement{Name: "oslo.log", Extras: "fixtures", Spec: ">=4", Marker: "python_version >= '3.8'"}},
		{"pytest ; extra == \"test\"", requirement{Name: "pytest", Marker: "extra == \"test\""}},
		{"foo @ https://example.com/foo.whl", requirement{Name: "foo", URL: "https://example.com/foo.whl"}},
	} {
		got, err := parseRequirement(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", ">=1.0", "foo (>=1", "foo >=x!y"} {
		_, err := parseRequirement(bad)
		assert.Error(t, err, bad)
	}
}

func TestEvalMarker(t *testing.T) {
	env := map[string]string{
		"python_version": "3.13", "python_full_version": "3.13.5", "sys_platform": "linux",
		"platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
		"platform_machine": "x86_64", "platform_python_implementation": "CPython",
	}
	for _, tc := range []struct {
		marker string
		want   bool
	}{
		{`python_version >= "3.8"`, true},
		{`python_version < "3.10"`, false},
		{`python_version >= "3.10"`, true}, // a version comparison, not a string one
		{`extra == "test"`, false},
		{`extra != "test"`, true},
		{`sys_platform == 'win32' or sys_platform == 'linux'`, true},
		{`sys_platform == 'linux' and (python_version < '3' or platform_machine == 'x86_64')`, true},
		{`sys_platform == 'linux' and python_version < '3' or os_name == 'nt'`, false},
		{`"linux" in sys_platform`, true},
		{`platform_machine not in "aarch64 ppc64le"`, true},
		{`platform.python_implementation == "CPython"`, true},
	} {
		got, err := evalMarker(tc.marker, env)
		require.NoError(t, err, tc.marker)
		assert.Equal(t, tc.want, got, tc.marker)
	}
	for _, bad := range []string{`python_version >=`, `foo == "1"`, `(python_version == "3.13"`, `sys_platform < "linux"`} {
		_, err := evalMarker(bad, env)
		assert.Error(t, err, bad)
	}
}
