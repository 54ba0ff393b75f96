package driver

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDistInfoIsMatchedWithoutCase: importlib.metadata finds distributions
// by a case-insensitive ".dist-info"/".egg-info" suffix (CPython
// Lib/importlib/metadata/__init__.py, Lookup.__init__: child.lower()), so
// a second one in any case is a second distribution the wheel installs.
func TestDistInfoIsMatchedWithoutCase(t *testing.T) {
	for _, extra := range []string{"magnum-99.0.DIST-INFO/METADATA", "magnum-99.0.Dist-Info/METADATA",
		"magnum-99.0.egg-info/PKG-INFO", "magnum-99.0.EGG-INFO", "oslo.config-99.Data/scripts/x"} {
		w := testWheel{}.withFile(extra, "Metadata-Version: 2.1\nName: magnum\nVersion: 99.0\n")
		_, err := inspectBytes(t, w.build(t))
		assert.Error(t, err, extra)
	}
	_, err := inspectBytes(t, testWheel{}.withFile("magnum-99.0.DIST-INFO/METADATA", "x").build(t))
	assert.ErrorContains(t, err, "wheel has 2 .dist-info directories, want exactly 1")
	_, err = inspectBytes(t, testWheel{}.withFile("magnum-99.0.EGG-INFO", "x").build(t))
	assert.ErrorContains(t, err, "wheel has magnum-99.0.EGG-INFO: importlib.metadata would read it as another distribution")
}

func (w testWheel) withFile(name, content string) testWheel {
	files := map[string]string{
		"magnum_capi_helm/__init__.py": "",
		"magnum_capi_helm/driver.py":   driverModule,
	}
	for k, v := range w.files {
		files[k] = v
	}
	files[name] = content
	w.files = files
	return w
}

func TestTopLevelNames(t *testing.T) {
	w := testWheel{}.withFile("oslo_config/__init__.py", "").withFile("keystoneauth1.py", "").
		withFile("not-importable/x.py", "").withFile("README", "")
	a, err := inspectBytes(t, w.build(t))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"magnum_capi_helm": DistName, "oslo_config": DistName, "keystoneauth1": DistName}, a.TopLevel())
}

// TestShadowed asks a real Python which top-level names it already has:
// the stdlib's, a distribution's (here a stand-in for magnum's and
// oslo.config's, on PYTHONPATH), and none for a fresh name. A name that the
// same distribution provides (an older copy of the driver) is no shadow.
func TestShadowed(t *testing.T) {
	f := newPyFixture(t)
	site := t.TempDir()
	for name, dist := range map[string]string{"magnum": "magnum", "oslo_config": "oslo.config", "magnum_capi_helm": "magnum-capi-helm"} {
		require.NoError(t, os.MkdirAll(filepath.Join(site, name), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(site, name, "__init__.py"), nil, 0o644))
		di := filepath.Join(site, dist+"-1.0.dist-info")
		require.NoError(t, os.MkdirAll(di, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(di, "METADATA"), []byte("Metadata-Version: 2.1\nName: "+dist+"\nVersion: 1.0\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(di, "top_level.txt"), []byte(name+"\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(di, "RECORD"), []byte(name+"/__init__.py,,\n"), 0o644))
	}
	interp := *f.interp
	interp.Env = append(append([]string{}, f.env...), "PYTHONPATH="+site)
	got, err := Shadowed(context.Background(), &interp, map[string]string{
		"magnum": DistName, "oslo_config": DistName, "json": DistName, "magnum_capi_helm": DistName,
		"no_such_module_here": DistName,
	})
	require.NoError(t, err)
	require.Len(t, got, 3, "%v", got)
	assert.Equal(t, "json", got[0].Name)
	assert.Equal(t, "magnum", got[1].Name)
	assert.Equal(t, []string{"magnum"}, got[1].Dists)
	assert.Equal(t, filepath.Join(site, "magnum"), got[1].Where)
	assert.Equal(t, "oslo_config", got[2].Name)
	assert.Equal(t, "oslo_config (from oslo.config, "+filepath.Join(site, "oslo_config")+")", got[2].String())
}
