package driver

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the host's python3. They use the real .pth mechanism:
// instead of Magnum's /usr/local site directory (which a test must not
// touch) they activate the driver in the per-user site directory, which
// Python also scans for .pth files at start-up, moved under t.TempDir() by
// PYTHONUSERBASE. Nothing in the package knows it is being tested.

func findPython(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(DefaultPython); err == nil {
		return DefaultPython
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	t.Skip("no python3 on this machine")
	return ""
}

type pyFixture struct {
	python string
	env    []string
	interp *Interpreter
	site   string // the per-user site directory standing in for /usr/local's
}

func newPyFixture(t *testing.T) *pyFixture {
	t.Helper()
	python := findPython(t)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"LANG=C.UTF-8",
		"PYTHONUSERBASE=" + t.TempDir(),
	}
	interp, err := Discover(context.Background(), python, "", env)
	require.NoError(t, err)
	if interp.UserSite == "" {
		t.Skip("user site directories are disabled for this python")
	}
	return &pyFixture{python: python, env: env, interp: interp, site: interp.UserSite}
}

func TestDiscover(t *testing.T) {
	f := newPyFixture(t)
	in := f.interp
	assert.Equal(t, f.python, in.Python)
	assert.Regexp(t, `^3\.\d+$`, in.Version)
	assert.True(t, strings.HasPrefix(in.FullVersion, in.Version+"."), in.FullVersion)
	assert.NotEmpty(t, in.SysPath)
	assert.NotEmpty(t, in.Executable)
	assert.True(t, strings.HasPrefix(in.UserSite, strings.TrimPrefix(f.env[3], "PYTHONUSERBASE=")), "PYTHONUSERBASE moved the user site: %s", in.UserSite)
	_, err := os.Stat(filepath.Join(in.Stdlib, "EXTERNALLY-MANAGED"))
	assert.Equal(t, err == nil, in.ExternallyManaged)
	if in.SiteDir != "" {
		assert.True(t, strings.HasPrefix(in.SiteDir, "/usr/local/"), in.SiteDir)
		assert.Contains(t, in.SiteDirs, in.SiteDir)
	}
	if in.MagnumVersion != "" {
		assert.NotEmpty(t, in.MagnumFile)
	} else {
		assert.Contains(t, in.MagnumError, "magnum")
	}
	ok, err := in.RequiresPythonOK(">=3.6")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = in.RequiresPythonOK("< 3")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestDiscoverReportsMissingPython(t *testing.T) {
	_, err := Discover(context.Background(), filepath.Join(t.TempDir(), "python3"), "", nil)
	assert.ErrorContains(t, err, "discover Python")
}

func TestProveWhatThePthActivates(t *testing.T) {
	f := newPyFixture(t)
	ctx := context.Background()
	root := t.TempDir()
	good, err := Install(inspectGood(t, testWheel{version: "1.2.0"}), root)
	require.NoError(t, err)
	broken, err := Install(inspectGood(t, testWheel{version: "1.3.0", files: map[string]string{
		"magnum_capi_helm/__init__.py": "",
		"magnum_capi_helm/driver.py":   "import json\njson.loads('{')\n",
	}}), root)
	require.NoError(t, err)

	_, err = Prove(ctx, f.interp, "", f.env, "1.2.0", good)
	assertNotProven(t, err)

	activate(t, f.site, good)
	p, err := Prove(ctx, f.interp, "", f.env, "1.2.0", good)
	require.NoError(t, err)
	assert.Equal(t, "1.2.0", p.Version)
	assert.Equal(t, "magnum-capi-helm", p.Dist)
	assert.Equal(t, "magnum_capi_helm.driver:Driver", p.Value)
	assert.Equal(t, filepath.Join(good, "magnum_capi_helm", "driver.py"), p.File)
	assert.Equal(t, "magnum_capi_helm.driver.Driver", p.Object)
	// -B: proving must not leave bytecode that would fail verification or
	// change the fingerprint.
	assert.NoDirExists(t, filepath.Join(good, "magnum_capi_helm", "__pycache__"))

	_, err = Prove(ctx, f.interp, "", f.env, "1.3.0", good)
	assert.ErrorContains(t, err, "want 1.3.0")
	_, err = Prove(ctx, f.interp, "", f.env, "1.2.0", broken)
	assert.ErrorContains(t, err, "not from "+broken)

	// A version whose import fails is caught, with Python's exception...
	activate(t, f.site, broken)
	_, err = Prove(ctx, f.interp, "", f.env, "1.3.0", broken)
	assert.ErrorContains(t, err, "JSONDecodeError: Expecting property name enclosed in double quotes")
	// ...and activating the one that worked again restores it.
	activate(t, f.site, good)
	p, err = Prove(ctx, f.interp, "", f.env, "1.2.0", good)
	require.NoError(t, err)
	assert.Equal(t, "1.2.0", p.Version)

	require.NoError(t, os.Remove(filepath.Join(f.site, PthName)))
	_, err = Prove(ctx, f.interp, "", f.env, "1.2.0", good)
	assertNotProven(t, err)
}

// assertNotProven checks the error Prove gives when the version under test
// is not active: no entry point at all, or (on a machine with Debian's
// python3-magnum-capi-helm) one imported from somewhere else.
func assertNotProven(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	if !strings.Contains(err.Error(), "was imported from /usr/lib/python3/dist-packages/") {
		assert.ErrorContains(t, err, "LookupError: no entry point k8s_capi_helm_v1 in group magnum.drivers")
	}
}

func writeDistInfo(t *testing.T, site, name, version string) {
	t.Helper()
	d := filepath.Join(site, strings.ReplaceAll(name, "-", "_")+"-"+version+".dist-info")
	require.NoError(t, os.MkdirAll(d, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(d, "METADATA"), []byte("Metadata-Version: 2.1\nName: "+name+"\nVersion: "+version+"\n"), 0o644))
}

func TestCheckRequirements(t *testing.T) {
	f := newPyFixture(t)
	writeDistInfo(t, f.site, "fakedep", "2.1.0")
	writeDistInfo(t, f.site, "fake-dep2", "1.0")
	reqs := []string{
		"fakedep>=2.0",
		"fakedep (<2)",
		"absent-dist-xyz>=1",
		`pytest-absent-xyz; extra == "test"`,
		`absent-dist-xyz; python_version < "3"`,
		`fakedep==2.1.*; os_name == "posix"`,
		"FakeDep ~= 2.0",
		"Fake.Dep2 >= 1.0", // names compare PEP 503 normalized
	}
	want := []Unmet{
		{Requirement: "fakedep (<2)", Name: "fakedep", Spec: "<2", Found: "2.1.0"},
		{Requirement: "absent-dist-xyz>=1", Name: "absent-dist-xyz", Spec: ">=1"},
	}
	for _, goOnly := range []bool{false, true} {
		t.Run(map[bool]string{false: "preferred", true: "go-fallback"}[goOnly], func(t *testing.T) {
			forceGoSpecifiers = goOnly
			defer func() { forceGoSpecifiers = false }()
			unmet, err := CheckRequirements(context.Background(), f.interp, reqs)
			require.NoError(t, err)
			assert.Equal(t, want, unmet)
			assert.Equal(t, "fakedep<2 (found 2.1.0)", unmet[0].String())
			assert.Equal(t, "absent-dist-xyz>=1 (not installed)", unmet[1].String())
		})
	}

	// What an active driver directory provides does not count.
	hidden := *f.interp
	hidden.Hide = []string{f.site}
	unmet, err := CheckRequirements(context.Background(), &hidden, []string{"fakedep>=2.0"})
	require.NoError(t, err)
	assert.Equal(t, []Unmet{{Requirement: "fakedep>=2.0", Name: "fakedep", Spec: ">=2.0"}}, unmet)
}

// fakeDriverManage puts a magnum-driver-manage on a private PATH that
// checks its arguments and behaves as script says.
func fakeDriverManage(t *testing.T, python, script string) []string {
	t.Helper()
	bin := t.TempDir()
	prog := "#!" + python + "\nimport sys\n" +
		"if sys.argv[1:] != ['list-drivers', '--details', '-f', 'json']:\n" +
		"    sys.exit('bad arguments: %r' % sys.argv[1:])\n" + script
	require.NoError(t, os.WriteFile(filepath.Join(bin, "magnum-driver-manage"), []byte(prog), 0o755))
	return []string{"PATH=" + bin, "LANG=C.UTF-8"}
}

func TestListDrivers(t *testing.T) {
	python := findPython(t)
	ctx := context.Background()

	env := fakeDriverManage(t, python, `print('[{"Name": "k8s_capi_helm_v1", "Server_Type": "vm", "OS": "ubuntu", "COE": "kubernetes"}, `+
		`{"Name": "k8s_capi_helm_v1", "Server_Type": "vm", "OS": "flatcar", "COE": "kubernetes"}, `+
		`{"Name": "k8s_fedora_coreos_v1", "Server_Type": "vm", "OS": "fedora-coreos", "COE": "kubernetes"}]')`)
	l, err := ListDrivers(ctx, "", env)
	require.NoError(t, err)
	assert.True(t, l.Supported)
	assert.True(t, l.Listed)
	assert.Equal(t, []string{"vm/ubuntu/kubernetes", "vm/flatcar/kubernetes"}, l.Provides)
	assert.Equal(t, []string{"k8s_capi_helm_v1", "k8s_fedora_coreos_v1"}, l.Names)

	env = fakeDriverManage(t, python, `print('[{"Name": "k8s_fedora_coreos_v1", "Server_Type": "vm", "OS": "fedora-coreos", "COE": "kubernetes"}]')`)
	l, err = ListDrivers(ctx, "", env)
	require.NoError(t, err)
	assert.True(t, l.Supported)
	assert.False(t, l.Listed)

	// Magnum 2023.x crashes on any driver that is not a Heat driver.
	env = fakeDriverManage(t, python, `sys.stderr.write("'Driver' object has no attribute 'get_template_definition'\n"); sys.exit(1)`)
	l, err = ListDrivers(ctx, "", env)
	require.NoError(t, err)
	assert.False(t, l.Supported)
	assert.False(t, l.Listed)
	assert.Contains(t, l.Reason, "get_template_definition")

	env = fakeDriverManage(t, python, `sys.stderr.write("oslo_config.cfg.ConfigFilesNotFoundError: Failed to find some config files\n"); sys.exit(1)`)
	_, err = ListDrivers(ctx, "", env)
	assert.ErrorContains(t, err, "ConfigFilesNotFoundError")

	_, err = ListDrivers(ctx, "", []string{"PATH=" + t.TempDir()})
	assert.ErrorContains(t, err, "magnum-driver-manage not found on PATH")
}

func TestParseDriverListTable(t *testing.T) {
	out := "+------------------+-------------+---------+------------+\n" +
		"| Name             | Server_Type | OS      | COE        |\n" +
		"+------------------+-------------+---------+------------+\n" +
		"| k8s_capi_helm_v1 | vm          | ubuntu  | kubernetes |\n" +
		"| k8s_capi_helm_v1 | vm          | flatcar | kubernetes |\n" +
		"+------------------+-------------+---------+------------+\n"
	l, err := parseDriverList([]byte(out))
	require.NoError(t, err)
	assert.True(t, l.Listed)
	assert.Equal(t, []string{"vm/ubuntu/kubernetes", "vm/flatcar/kubernetes"}, l.Provides)
}

// activate writes the .pth the charm plans, naming dir, into site.
func activate(t *testing.T, site, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(site, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(site, PthName), PthContent(dir), 0o644))
}
