package driver

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealUnit runs the whole life of a driver version against a real
// Magnum unit: Magnum's own interpreter and /usr/local site directory, the
// services' PATH, user magnum, and magnum-driver-manage. It needs root on a
// machine (or box) with Magnum installed, and a real driver wheel:
//
//	MAGNUM_CAPI_GRAFT_REAL_WHEEL=/path/to/magnum_capi_helm-X-py3-none-any.whl go test -run TestRealUnit
//
// It writes its own .pth name and removes it afterwards.
func TestRealUnit(t *testing.T) {
	wheel := os.Getenv("MAGNUM_CAPI_GRAFT_REAL_WHEEL")
	if wheel == "" {
		t.Skip("MAGNUM_CAPI_GRAFT_REAL_WHEEL is not set")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := user.Lookup("magnum"); err != nil {
		t.Skip("no user magnum here")
	}
	ctx := context.Background()
	servicesEnv := []string{"PATH=/sbin:/usr/sbin:/bin:/usr/bin"}
	const pth = "zz-magnum-capi-graft-test.pth"

	interp, err := Discover(ctx, DefaultPython, "", servicesEnv)
	require.NoError(t, err)
	t.Logf("python %s, magnum %s (%s), site dir %s, packaging %q, externally managed %v",
		interp.FullVersion, interp.MagnumVersion, interp.MagnumFile, interp.SiteDir, interp.Packaging, interp.ExternallyManaged)
	require.NotEmpty(t, interp.MagnumVersion, interp.MagnumError)
	require.NotEmpty(t, interp.SiteDir)

	a, err := Inspect(wheel)
	require.NoError(t, err)
	ok, err := interp.RequiresPythonOK(a.RequiresPython)
	require.NoError(t, err)
	assert.True(t, ok)
	unmet, err := CheckRequirements(ctx, interp, a.Requirements())
	require.NoError(t, err)
	assert.Empty(t, unmet, "python3-magnum brings every dependency")
	unmet, err = CheckRequirements(ctx, interp, []string{"magnum>=999"})
	require.NoError(t, err)
	require.Len(t, unmet, 1)
	assert.Equal(t, interp.MagnumVersion, unmet[0].Found)

	// User magnum must be able to reach the install root.
	root := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(root), 0o755))
	require.NoError(t, os.Chmod(root, 0o755))
	dir, err := Install(a, root)
	require.NoError(t, err)
	require.NoError(t, VerifyInstalled(dir))

	t.Cleanup(func() { _ = os.Remove(filepath.Join(interp.SiteDir, pth)) })
	require.NoError(t, os.WriteFile(filepath.Join(interp.SiteDir, pth), PthContent(dir), 0o644))
	p, err := Prove(ctx, interp, "magnum", servicesEnv, a.Version, dir)
	require.NoError(t, err)
	t.Logf("proof: %+v", p)
	assert.NoError(t, VerifyInstalled(dir), "proving leaves the install as it was")

	l, err := ListDrivers(ctx, "magnum", servicesEnv)
	require.NoError(t, err)
	t.Logf("list-drivers: %+v", l)
	if l.Supported {
		assert.True(t, l.Listed)
		assert.Contains(t, l.Provides, "vm/ubuntu/kubernetes")
	}

	require.NoError(t, os.Remove(filepath.Join(interp.SiteDir, pth)))
	_, err = Prove(ctx, interp, "magnum", servicesEnv, a.Version, dir)
	assert.Error(t, err)
}
