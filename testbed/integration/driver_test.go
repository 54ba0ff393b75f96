//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// The driver and helm, on Debian trixie: Magnum 20.0.0 (Python 3.13), with
// the real magnum-capi-helm 1.2.0 (as a wheel made from Debian's package,
// or the package itself) and a real helm built from the Go module proxy.
// The box has no network: everything comes from the resources or from
// apt's cache.

const (
	driverRoot = "/opt/magnum-capi-graft/driver"
	pthFile    = "/usr/local/lib/python3.13/dist-packages/magnum-capi-graft.pth"
	helmLink   = "/usr/bin/helm"
)

// capo010 makes the fake management cluster serve what CAPO v0.10 and its
// Cluster API serve: OpenStackCluster at v1alpha6, v1alpha7 and v1beta1,
// which every driver release the tests switch between reads (v1alpha6 up to
// 1.3.x, v1beta1 from 1.4.0).
const capo010 = "--capo=v0.10"

var (
	resourcesOnce sync.Once
	resourcesErr  error
	helmTarball   string
	wheelDir      string
)

// buildResources builds helm (once per machine; cached) and makes a directory
// for wheels.
func buildResources(t *testing.T) {
	t.Helper()
	resourcesOnce.Do(func() {
		helmTarball, resourcesErr = testbed.HelmTarball()
		if resourcesErr == nil {
			wheelDir, resourcesErr = os.MkdirTemp("", "driver-wheels-")
		}
	})
	require.NoError(t, resourcesErr)
}

func wheel(t *testing.T, o testbed.WheelOptions) string {
	t.Helper()
	buildResources(t)
	p, err := testbed.DriverWheel(filepath.Join(wheelDir, t.Name()), o)
	require.NoError(t, err)
	return p
}

func (u *unit) attach(name, hostPath string) {
	u.t.Helper()
	require.NoError(u.t, u.box.AttachResource(u.ctx, name, hostPath))
}

// detachAll starts from a unit with no resources, whatever boot attached.
func (u *unit) detachAll() {
	u.t.Helper()
	for _, name := range []string{"driver", "helm"} {
		require.NoError(u.t, u.box.DetachResource(u.ctx, name))
	}
}

// asMagnum runs argv as user magnum with the services' PATH and HOME.
func (u *unit) asMagnum(argv ...string) string {
	u.t.Helper()
	out, err := u.box.AsMagnum(u.ctx, argv...)
	require.NoError(u.t, err)
	return out
}

// versionDirs lists the driver's version directories.
func (u *unit) versionDirs() []string {
	u.t.Helper()
	entries, err := os.ReadDir(u.box.Path(driverRoot))
	require.NoError(u.t, err)
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(driverRoot, e.Name()))
	}
	sort.Strings(out)
	return out
}

// active is the directory the .pth names.
func (u *unit) active() string {
	u.t.Helper()
	b, err := os.ReadFile(u.box.Path(pthFile))
	require.NoError(u.t, err)
	var dir string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			require.Empty(u.t, dir, "more than one path in the .pth:\n%s", b)
			dir = l
		}
	}
	return dir
}

// loadedFrom is where Magnum's Python, as magnum, imports the driver from.
func (u *unit) loadedFrom() string {
	u.t.Helper()
	return strings.TrimSpace(u.asMagnum("python3", "-c",
		"from importlib import metadata as m; ep, = m.entry_points(group='magnum.drivers', name='k8s_capi_helm_v1'); "+
			"import importlib; mod = importlib.import_module(ep.value.split(':')[0]); print(ep.dist.version, mod.__file__)"))
}

// pids are the services' main PIDs: a restart changes them.
func (u *unit) pids() [2]int {
	u.t.Helper()
	return [2]int{u.service("magnum-api").MainPID, u.service("magnum-conductor").MainPID}
}

func (u *unit) logsContaining(s string) int {
	u.t.Helper()
	st, err := u.box.State()
	require.NoError(u.t, err)
	n := 0
	for _, l := range st.Logs {
		if strings.Contains(l.Message, s) {
			n++
		}
	}
	return n
}

// requirePythonUntouched: nothing under /usr/lib/python3* differs.
func requirePythonUntouched(t *testing.T, before, after testbed.Manifest) {
	t.Helper()
	for _, d := range before.Diff(after) {
		p := strings.Fields(d)[1]
		assert.False(t, strings.HasPrefix(p, "/usr/lib/python3"), "the graft changed the distro's Python: %s", d)
	}
}

// logStatus puts the unit's status in the test's log, for people reading it.
func (u *unit) logStatus() {
	u.t.Helper()
	s, m := u.status()
	u.t.Logf("status: %s: %s", s, m)
}

func check(t *testing.T, results map[string]any, path ...string) map[string]any {
	t.Helper()
	at := results
	for _, p := range path {
		next, ok := at[p].(map[string]any)
		require.True(t, ok, "no %s in verify's results: %v", strings.Join(path, "."), results)
		at = next
	}
	assert.Equal(t, "true", at["pass"], "%s: %v", strings.Join(path, "."), at["evidence"])
	return at
}

// TestDriverAndHelmFromResourcesWithRelabelledVersions: the runbook's Step
// 3 done by the charm, offline, from the two resources, with the real
// driver 1.2.0; versions switched atomically with one previous kept, the
// other versions being 1.2.0's files relabelled 1.2.1 and 1.3.0 (the test
// bed has no artefact of those releases: what is proved is the charm's
// switching, not those releases); every bad driver refused with nothing
// activated and no restart; removal leaving the unit as it was.
func TestDriverAndHelmFromResourcesWithRelabelledVersions(t *testing.T) {
	t.Parallel()
	buildResources(t)
	w120 := wheel(t, testbed.WheelOptions{})
	u := bootWith(t, "trixie", testbed.RealDriver, capo010)
	u.detachAll()
	assert.Empty(t, strings.TrimSpace(u.run("ip", "route", "show")), "the box must have no network")
	pristine := u.manifest()
	pids := u.pids()

	// The driver alone is not enough: without helm, blocked saying how to
	// attach one, and nothing changes.
	u.attach("driver", w120)
	u.graft("driver-version", "1.2.0")
	u.requireStatus("blocked", "attach helm: juju attach-resource magnum-capi-graft helm=helm-v3.17.3-linux-amd64.tar.gz")
	u.logStatus()
	requireSame(t, pristine, u.manifest(), "a graft blocked on helm")
	assert.Equal(t, pids, u.pids())

	// Juju runs upgrade-charm when a resource is attached.
	apiStarts, condStarts := u.starts("magnum-api"), u.starts("magnum-conductor")
	u.attach("helm", helmTarball)
	u.hook("upgrade-charm")
	u.requireStatus("active", "magnum-capi-helm 1.2.0 (resource) + helm v3.17.3; conf.d read by api (default-dirs) + conductor (default-file)")
	u.logStatus()
	assert.Equal(t, apiStarts+1, u.starts("magnum-api"), "magnum-api starts")
	assert.Equal(t, condStarts+1, u.starts("magnum-conductor"), "magnum-conductor starts")

	dir120 := u.active()
	assert.Regexp(t, `^/opt/magnum-capi-graft/driver/magnum-capi-helm-1\.2\.0-[0-9a-f]{12}$`, dir120)
	assert.Equal(t, "0:0 0644", u.owner(pthFile))
	assert.Equal(t, "1.2.0 "+dir120+"/magnum_capi_helm/driver.py", u.loadedFrom())
	assert.Contains(t, u.asMagnum("magnum-driver-manage", "list-drivers", "--details"), "k8s_capi_helm_v1")
	link, err := os.Readlink(u.box.Path(helmLink))
	require.NoError(t, err)
	assert.Equal(t, "/opt/magnum-capi-graft/helm/helm", link)
	assert.Equal(t, "0:0 0755", u.owner("/opt/magnum-capi-graft/helm/helm"))
	assert.Equal(t, "v3.17.3", strings.TrimSpace(u.asMagnum("helm", "version", "--short")))
	requirePythonUntouched(t, pristine, u.manifest())
	st, err := u.box.State()
	require.NoError(t, err)
	assert.Equal(t, "1.2.0", st.ApplicationVersion)

	results := u.requireVerified()
	ep := check(t, results, "driver", "entry-point")
	assert.Contains(t, ep["evidence"], dir120)
	assert.Contains(t, check(t, results, "driver", "list-drivers")["evidence"], "vm/ubuntu/kubernetes")
	assert.Contains(t, check(t, results, "helm")["evidence"], "v3.17.3")

	// Converged: update-status reads no resource, runs no Python, writes
	// and restarts nothing.
	inspects := u.logsContaining("driver: inspect")
	mt := u.mtimes(pthFile, "/opt/magnum-capi-graft/helm/helm")
	pids = u.pids()
	u.hook("update-status")
	u.requireStatus("active", "magnum-capi-helm 1.2.0 (resource) + helm v3.17.3")
	assert.Equal(t, inspects, u.logsContaining("driver: inspect"), "a converged hook inspected the resource")
	assert.Equal(t, mt, u.mtimes(pthFile, "/opt/magnum-capi-graft/helm/helm"))
	assert.Equal(t, pids, u.pids())

	// The activation vanishes (removed by hand): the next hook puts it
	// back byte for byte with its mtime, and restarts nothing: both
	// services' processes read it when they started, and Python reads a
	// .pth only then (charm/readings).
	apiStarts, condStarts = u.starts("magnum-api"), u.starts("magnum-conductor")
	mt = u.mtimes(pthFile)
	u.run("rm", pthFile)
	u.hook("update-status")
	u.requireStatus("active", "magnum-capi-helm 1.2.0 (resource) + helm v3.17.3")
	assert.Equal(t, dir120, u.active())
	assert.Equal(t, mt, u.mtimes(pthFile), "the .pth put back with another mtime")
	assert.Equal(t, pids, u.pids(), "a service restarted")
	assert.Equal(t, apiStarts, u.starts("magnum-api"), "magnum-api starts")
	assert.Equal(t, condStarts, u.starts("magnum-conductor"), "magnum-conductor starts")

	// Switch versions and back: one .pth rename each, each service
	// restarted once, one previous version kept.
	switchTo := func(version, wheelPath string) string {
		t.Helper()
		a, c := u.starts("magnum-api"), u.starts("magnum-conductor")
		u.attach("driver", wheelPath)
		u.config("driver-version", version)
		u.hook("config-changed")
		u.requireStatus("active", "magnum-capi-helm "+version+" (resource)")
		assert.Equal(t, a+1, u.starts("magnum-api"), "magnum-api starts switching to %s", version)
		assert.Equal(t, c+1, u.starts("magnum-conductor"), "magnum-conductor starts switching to %s", version)
		dir := u.active()
		assert.Equal(t, version+" "+dir+"/magnum_capi_helm/driver.py", u.loadedFrom())
		return dir
	}
	dir121 := switchTo("1.2.1", wheel(t, testbed.WheelOptions{Relabel: "1.2.1"}))
	assert.Equal(t, []string{dir120, dir121}, u.versionDirs())
	assert.Equal(t, dir120, switchTo("1.2.0", w120), "switching back reuses the kept version")
	assert.Equal(t, []string{dir120, dir121}, u.versionDirs())
	dir130 := switchTo("1.3.0", wheel(t, testbed.WheelOptions{Relabel: "1.3.0"}))
	assert.Equal(t, []string{dir120, dir130}, u.versionDirs(), "only the previous version is kept")
	switchTo("1.2.0", w120)
	u.requireVerified()

	// Bad drivers: each refused by name, nothing activated, no restart.
	grafted := u.manifest()
	dirs := u.versionDirs()
	pids = u.pids()
	for _, tc := range []struct {
		name   string
		attach string // a wheel; "" for the 0-byte placeholder; "-" to detach
		config []any
		want   []string
	}{
		{"import error", wheel(t, testbed.WheelOptions{ImportError: true}), nil,
			[]string{"magnum-capi-helm 1.2.0 (resource) does not load as user magnum", "No module named 'magnum_capi_graft_test_no_such_module'"}},
		{"wrong version", wheel(t, testbed.WheelOptions{Relabel: "1.2.1"}), nil,
			[]string{"the driver resource is magnum-capi-helm 1.2.1, but driver-version is 1.2.0"}},
		{"unmet requirement", wheel(t, testbed.WheelOptions{Requires: []string{"nosuchpkg>=1"}}), nil,
			[]string{"needs nosuchpkg>=1 (not installed), which Magnum's Python does not have"}},
		{"empty resource", "", []any{"driver-source", "resource"},
			[]string{"the driver resource is empty: juju attach-resource magnum-capi-graft driver=magnum_capi_helm-1.2.0-py3-none-any.whl"}},
		{"missing resource", "-", []any{"driver-source", "resource"},
			[]string{"no driver resource: juju attach-resource magnum-capi-graft driver="}},
		{"missing resource, auto, no network", "-", nil,
			[]string{"driver from the index: fetch https://pypi.org/simple/magnum-capi-helm/", "; or attach the wheel: juju attach-resource magnum-capi-graft driver="}},
		{"bad driver-source", w120, []any{"driver-source", "pip"}, []string{`driver-source "pip" is not one of`}},
		{"plain http index", w120, []any{"driver-source", "index", "pip-index-url", "http://pypi.example/simple"},
			[]string{"pip-index-url must be an https URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u.t = t
			switch tc.attach {
			case "-":
				require.NoError(t, u.box.DetachResource(u.ctx, "driver"))
			case "":
				u.attach("driver", "")
			default:
				u.attach("driver", tc.attach)
			}
			u.config(tc.config...)
			u.hook("config-changed")
			u.logStatus()
			s, m := u.status()
			assert.Equal(t, "blocked", s, m)
			for _, w := range tc.want {
				assert.Contains(t, m, w)
			}
			// The next update-status keeps saying so: the last good
			// version does not pass for converged.
			u.hook("update-status")
			s, m = u.status()
			assert.Equal(t, "blocked", s, m)
			for _, w := range tc.want {
				assert.Contains(t, m, w)
			}
			requireSame(t, grafted, u.manifest(), tc.name)
			assert.Equal(t, dir120, u.active())
			assert.Equal(t, dirs, u.versionDirs(), "a refused driver left a directory")
			assert.Equal(t, pids, u.pids(), "a refused driver restarted a service")
			// Put the good driver back for the next case.
			u.attach("driver", w120)
			u.config("driver-source", "auto", "pip-index-url", nil)
		})
	}
	u.t = t
	u.hook("config-changed")
	u.requireStatus("active", "magnum-capi-helm 1.2.0 (resource) + helm v3.17.3")
	assert.Equal(t, pids, u.pids(), "the good driver again: nothing to restart")

	// Removal: the activation, the link, the charm's tree and the graft go.
	u.removeCharm()
	requireSame(t, pristine, u.manifest(), "removal")
	for _, p := range []string{"/opt/magnum-capi-graft", helmLink} {
		_, err := os.Lstat(u.box.Path(p))
		assert.True(t, os.IsNotExist(err), "%s outlived removal", p)
	}
	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		assert.Equal(t, "active", u.service(svc).ActiveState, svc)
	}
}

// TestDriverFromApt: driver-source=apt installs Debian's package from apt's
// cache (the box has no network), refuses a version apt cannot give, proves
// the package's driver as magnum, and removal removes the package the charm
// installed.
func TestDriverFromApt(t *testing.T) {
	t.Parallel()
	buildResources(t)
	u := bootWith(t, "trixie", testbed.RealDriver, capo010)
	u.detachAll()
	u.attach("helm", helmTarball)
	pristine := u.manifest()
	pids := u.pids()
	const pkg = "python3-magnum-capi-helm"
	dpkgStatus := func() string {
		res, err := u.box.Run(u.ctx, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}${Version}", pkg)
		require.NoError(t, err)
		return strings.TrimSpace(res.Stdout)
	}
	require.False(t, strings.HasPrefix(dpkgStatus(), "ii"), "the package must not be installed yet")

	u.graft("driver-source", "apt", "driver-version", "1.2.0", "driver-apt-source", "ppa:canonical-openstack/magnum-capi-helm")
	u.requireStatus("blocked", "driver-apt-source is set but add-apt-repository is not installed")
	u.logStatus()
	requireSame(t, pristine, u.manifest(), "a refused apt source")

	u.config("driver-apt-source", "", "driver-version", "1.4.0")
	u.hook("config-changed")
	u.requireStatus("blocked", "apt would install python3-magnum-capi-helm 1.2.0-3, but driver-version is 1.4.0")
	u.logStatus()
	requireSame(t, pristine, u.manifest(), "a refused apt version")
	assert.Equal(t, pids, u.pids())

	apiStarts, condStarts := u.starts("magnum-api"), u.starts("magnum-conductor")
	u.config("driver-version", "1.2.0")
	u.hook("config-changed")
	u.requireStatus("active", "magnum-capi-helm 1.2.0 (apt) + helm v3.17.3; conf.d read by")
	u.logStatus()
	assert.Equal(t, "ii 1.2.0-3", dpkgStatus())
	assert.Equal(t, apiStarts+1, u.starts("magnum-api"), "magnum-api starts")
	assert.Equal(t, condStarts+1, u.starts("magnum-conductor"), "magnum-conductor starts")
	assert.Equal(t, "1.2.0 /usr/lib/python3/dist-packages/magnum_capi_helm/driver.py", u.loadedFrom())
	_, err := os.Lstat(u.box.Path(pthFile))
	assert.True(t, os.IsNotExist(err), "apt needs no activation file")
	results := u.requireVerified()
	assert.Contains(t, check(t, results, "driver", "entry-point")["evidence"], "/usr/lib/python3/dist-packages/magnum_capi_helm")
	check(t, results, "driver", "list-drivers")

	pids = u.pids()
	u.hook("update-status")
	u.requireStatus("active", "magnum-capi-helm 1.2.0 (apt)")
	assert.Equal(t, pids, u.pids(), "a converged hook restarted a service")

	u.removeCharm()
	assert.False(t, strings.HasPrefix(dpkgStatus(), "ii"), "the package the charm installed outlived removal: %s", dpkgStatus())
	requireSame(t, pristine, u.manifest(), "removal")
}

// TestRelabelledDriverOnBookworm: Magnum 15.0.1 (2023.1, Python 3.11),
// whose magnum-driver-manage cannot list drivers that are not Heat drivers.
// With the default driver-version and both resources attached
// (AttachGraftResources, what any test unit needs to go active; the driver
// is Debian's 1.2.0 relabelled 1.4.0), the graft is active, the entry point
// proves, and verify counts list-drivers as not supported on this Magnum.
func TestRelabelledDriverOnBookworm(t *testing.T) {
	t.Parallel()
	buildResources(t)
	u := bootRelabelled140(t, "bookworm")
	_, err := u.box.AttachGraftResources(u.ctx, testbed.Relabelled("1.4.0"))
	require.NoError(t, err)
	pristine := u.manifest()

	u.graft()
	u.requireStatus("active", "magnum-capi-helm 1.4.0 (resource) + helm v3.17.3; conf.d read by api (default-dirs) + conductor (default-file)")
	u.logStatus()
	b, err := os.ReadFile(u.box.Path("/usr/local/lib/python3.11/dist-packages/magnum-capi-graft.pth"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "/opt/magnum-capi-graft/driver/magnum-capi-helm-1.4.0-")
	results := u.requireVerified()
	assert.Contains(t, check(t, results, "driver", "entry-point")["evidence"], "/opt/magnum-capi-graft/driver/magnum-capi-helm-1.4.0-")
	assert.Contains(t, check(t, results, "driver", "list-drivers")["evidence"], "not supported on this Magnum")
	requirePythonUntouched(t, pristine, u.manifest())

	u.removeCharm()
	requireSame(t, pristine, u.manifest(), "removal")
}
