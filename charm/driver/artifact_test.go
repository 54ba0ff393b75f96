package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInspectWheel(t *testing.T) {
	data := testWheel{requires: []string{"pbr (>=2.0)", "oslo.log", `pytest; extra == "test"`}}.build(t)
	a, err := inspectBytes(t, data)
	require.NoError(t, err)

	sum := sha256.Sum256(data)
	assert.Equal(t, KindWheel, a.Kind)
	assert.Equal(t, hex.EncodeToString(sum[:]), a.SHA256)
	assert.Equal(t, "magnum-capi-helm", a.Name)
	assert.Equal(t, "1.2.0", a.Version)
	assert.True(t, a.Pure)
	assert.Equal(t, []string{"py3-none-any"}, a.Tags)
	// The body's "Requires-Dist:" line is description, not a header.
	assert.Equal(t, []string{"pbr (>=2.0)", "oslo.log", `pytest; extra == "test"`}, a.RequiresDist)
	assert.Equal(t, "magnum_capi_helm.driver:Driver", a.EntryPoints["magnum.drivers"]["k8s_capi_helm_v1"])
	assert.Equal(t, "magnum-capi-helm-1.2.0-"+a.SHA256[:12], a.DirName())
}

func TestInspectEmpty(t *testing.T) {
	_, err := inspectBytes(t, nil)
	assert.ErrorIs(t, err, ErrEmpty)
}

func TestInspectSdist(t *testing.T) {
	data := tarball(t, map[string][]byte{
		"magnum-capi-helm-1.2.0/PKG-INFO":                       []byte("Metadata-Version: 2.1\nName: magnum-capi-helm\nVersion: 1.2.0\n"),
		"magnum-capi-helm-1.2.0/setup.py":                       []byte("import setuptools\n"),
		"magnum-capi-helm-1.2.0/magnum_capi_helm/__init__.py":   nil,
		"magnum-capi-helm-1.2.0/magnum_capi_helm.egg-info/x.tx": nil,
	})
	_, err := inspectBytes(t, data)
	assert.ErrorIs(t, err, ErrSdist)
	assert.EqualError(t, err, "driver resource is an sdist; attach a wheel (pip wheel --no-deps magnum-capi-helm==1.2.0)")
}

func TestInspectRefusesBadWheels(t *testing.T) {
	tamper := func(lines []string) []string {
		for i, l := range lines {
			if strings.HasPrefix(l, "magnum_capi_helm/driver.py,") {
				parts := strings.Split(l, ",")
				lines[i] = parts[0] + ",sha256=" + strings.Repeat("A", 43) + "," + parts[2]
			}
		}
		return lines
	}
	drop := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if !strings.HasPrefix(l, "magnum_capi_helm/common/x.py,") {
				out = append(out, l)
			}
		}
		return out
	}
	addMissing := func(lines []string) []string {
		return append(lines, "magnum_capi_helm/gone.py,sha256="+strings.Repeat("A", 43)+",3")
	}
	for _, tc := range []struct {
		name  string
		wheel testWheel
		want  string
	}{
		{"hash mismatch", testWheel{record: tamper}, "magnum_capi_helm/driver.py: sha256 mismatch with RECORD"},
		{"file not in RECORD", testWheel{record: drop}, "magnum_capi_helm/common/x.py is not listed in RECORD"},
		{"unrecorded extra file", testWheel{unrecorded: map[string]string{"evil.py": "x"}}, "evil.py is not listed in RECORD"},
		{"RECORD entry missing", testWheel{record: addMissing}, "RECORD lists magnum_capi_helm/gone.py, which the wheel does not contain"},
		{"path traversal", testWheel{files: map[string]string{"../../etc/cron.d/x": "boom"}}, `path "../../etc/cron.d/x" escapes`},
		{"absolute path", testWheel{files: map[string]string{"/etc/x": "boom"}}, `path "/etc/x" is absolute`},
		{"symlink", testWheel{symlink: "magnum_capi_helm/link"}, "zip entry magnum_capi_helm/link is not a regular file"},
		{"not pure", testWheel{tag: "cp311-cp311-manylinux_2_17_x86_64", purelib: "false"}, "wheel is not pure Python"},
		{"other distribution", testWheel{name: "oslo.log", version: "5.0.0"}, "driver resource is oslo-log 5.0.0, not magnum-capi-helm"},
		{"no entry point", testWheel{entryPoints: "-"}, "has no entry point k8s_capi_helm_v1 in group magnum.drivers"},
		{"data dir", testWheel{files: map[string]string{"magnum_capi_helm-1.2.0.data/scripts/x": "#!/bin/sh\n"}}, "has a magnum_capi_helm-1.2.0.data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inspectBytes(t, tc.wheel.build(t))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestInspectNotPureIsErrNotPure(t *testing.T) {
	_, err := inspectBytes(t, testWheel{tag: "py3-none-linux_x86_64"}.build(t))
	assert.ErrorIs(t, err, ErrNotPure)
}

func TestInspectGarbage(t *testing.T) {
	_, err := inspectBytes(t, []byte("#!/bin/sh\necho not a wheel\n"))
	assert.EqualError(t, err, "driver resource is neither a wheel (zip) nor a tarball")
}

func TestInspectWheelhouse(t *testing.T) {
	drv := testWheel{requires: []string{"oslo.log", "capi-extra>=1.0"}}.build(t)
	extra := testWheel{name: "capi-extra", version: "1.1.0", files: map[string]string{"capi_extra/__init__.py": "E = 1\n"}, entryPoints: "-"}.build(t)
	native := testWheel{name: "fastthing", version: "2.0", files: map[string]string{"fastthing.so": "ELF"}, tag: "cp311-cp311-linux_x86_64", purelib: "false", entryPoints: "-"}.build(t)
	data := tarball(t, map[string][]byte{
		"wheelhouse/magnum_capi_helm-1.2.0-py3-none-any.whl": drv,
		"wheelhouse/capi_extra-1.1.0-py3-none-any.whl":       extra,
		"wheelhouse/fastthing-2.0-cp311-linux_x86_64.whl":    native,
		"wheelhouse/requirements.txt":                        []byte("magnum-capi-helm==1.2.0\n"),
	})
	a, err := inspectBytes(t, data)
	require.NoError(t, err)

	assert.Equal(t, KindWheelhouse, a.Kind)
	assert.Equal(t, "magnum-capi-helm", a.Name)
	assert.Equal(t, "wheelhouse/magnum_capi_helm-1.2.0-py3-none-any.whl", a.Member)
	require.Len(t, a.Extras, 2)
	assert.Equal(t, "capi-extra", a.Extras[0].Name)
	assert.True(t, a.Extras[0].Pure)
	assert.Equal(t, "fastthing", a.Extras[1].Name)
	assert.False(t, a.Extras[1].Pure)
	assert.Empty(t, a.Deps, "extras are not installed unless asked for")

	// An installed dependency at the wrong version is never shadowed.
	_, err = a.WithDeps([]Unmet{{Requirement: "oslo.log>=9", Name: "oslo.log", Spec: ">=9", Found: "5.0.0"}})
	assert.ErrorContains(t, err, "would shadow it")
	// A missing dependency with no wheel in the wheelhouse is refused.
	_, err = a.WithDeps([]Unmet{{Requirement: "absent", Name: "absent"}})
	assert.ErrorContains(t, err, "no pure wheel in the wheelhouse satisfies it")
	// A missing dependency is only satisfied by a pure wheel.
	_, err = a.WithDeps([]Unmet{{Requirement: "fastthing", Name: "fastthing"}})
	assert.ErrorContains(t, err, "no pure wheel")
	// A missing dependency the wheelhouse has is chosen.
	b, err := a.WithDeps([]Unmet{{Requirement: "capi-extra>=1.0", Name: "capi-extra", Spec: ">=1.0"}})
	require.NoError(t, err)
	require.Len(t, b.Deps, 1)
	assert.Equal(t, "capi-extra", b.Deps[0].Name)
	assert.Empty(t, a.Deps, "WithDeps returns a copy")
	assert.NotEqual(t, a.DirName(), b.DirName(), "a different set of wheels gets its own directory")
	assert.Equal(t, []string{"oslo.log"}, b.Requirements(), "a chosen dependency satisfies its requirement")
}

func TestInspectWheelhouseWithoutDriver(t *testing.T) {
	extra := testWheel{name: "capi-extra", version: "1.1.0", entryPoints: "-"}.build(t)
	_, err := inspectBytes(t, tarball(t, map[string][]byte{"capi_extra-1.1.0-py3-none-any.whl": extra}))
	assert.EqualError(t, err, "driver wheelhouse holds no magnum-capi-helm wheel")
}

func TestInspectTarballOfNothing(t *testing.T) {
	_, err := inspectBytes(t, tarball(t, map[string][]byte{"helm": []byte("ELF")}))
	assert.ErrorContains(t, err, "neither a wheelhouse nor an sdist")
}
