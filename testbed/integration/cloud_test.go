//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/collision"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxyenv"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/outside"
)

// The driver on a real cloud, the parts that need no reconcile: the
// model's proxy reaching helm through the conductor's environment, and
// Magnum's own driver loader meeting a second driver. Each runs on a plain
// Magnum unit in a box (no charm): only loopback, an empty resolv.conf.

// plainBox boots a Magnum unit in a box without the charm.
func plainBox(t *testing.T, release string) *testbed.Box {
	t.Helper()
	name := fmt.Sprintf("it-%d-%d", os.Getpid(), boxes.Add(1))
	box, err := testbed.Up(context.Background(), name, release)
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Down() })
	return box
}

// servicesEnv is what Magnum's services run with (field notes: the init
// script's PATH; HOME is user magnum's).
var servicesEnv = []string{"PATH=/sbin:/usr/sbin:/bin:/usr/bin", "HOME=/var/lib/magnum", "LANG=C.UTF-8"}

// asMagnum runs argv in the box as user magnum with exactly env.
func asMagnum(ctx context.Context, box *testbed.Box, env []string, argv ...string) (testbed.Result, error) {
	full := append([]string{"runuser", "-u", "magnum", "--", "env", "-i"}, env...)
	return box.Run(ctx, append(full, argv...)...)
}

// mainPID is the main process of a service in the box.
func mainPID(ctx context.Context, t *testing.T, box *testbed.Box, svc string) string {
	t.Helper()
	out, err := box.MustRun(ctx, "systemctl", "show", "-p", "MainPID", "--value", svc)
	require.NoError(t, err)
	pid := strings.TrimSpace(out)
	n, err := strconv.Atoi(pid)
	require.NoError(t, err)
	require.NotZero(t, n, "%s has no main process", svc)
	return pid
}

// environ reads a process's environment in the box.
func environ(ctx context.Context, t *testing.T, box *testbed.Box, pid string) []byte {
	t.Helper()
	out, err := box.MustRun(ctx, "cat", "/proc/"+pid+"/environ")
	require.NoError(t, err)
	return []byte(out)
}

// restart restarts a service and waits for a new main process.
func restart(ctx context.Context, t *testing.T, box *testbed.Box, svc string) string {
	t.Helper()
	before := mainPID(ctx, t, box, svc)
	_, err := box.MustRun(ctx, "systemctl", "restart", svc)
	require.NoError(t, err)
	// The new main process, once systemd calls the service running and
	// names the same process twice in a row (under load a forking
	// service's main PID is read from its PID file a moment after start).
	var pid, last string
	require.Eventually(t, func() bool {
		sub, err := box.MustRun(ctx, "systemctl", "show", "-p", "SubState", "--value", svc)
		if err != nil || strings.TrimSpace(sub) != "running" {
			return false
		}
		out, err := box.MustRun(ctx, "systemctl", "show", "-p", "MainPID", "--value", svc)
		now := strings.TrimSpace(out)
		if err != nil || now == "0" || now == before {
			return false
		}
		last, pid = pid, now
		return last == pid
	}, time.Minute, 200*time.Millisecond)
	if t.Failed() {
		return pid
	}
	t.Cleanup(func() {
		if t.Failed() {
			status, _ := box.MustRun(ctx, "systemctl", "status", "--no-pager", svc)
			cmdline, _ := box.MustRun(ctx, "cat", "/proc/"+pid+"/cmdline")
			t.Logf("%s after its restart (main PID %s: %q):\n%s", svc, pid, cmdline, status)
		}
	})
	return pid
}

// installHelm puts the real helm at /usr/bin/helm, on the services' PATH.
func installHelm(t *testing.T, box *testbed.Box) {
	t.Helper()
	bin, err := testbed.HelmBinary()
	require.NoError(t, err)
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(box.Path("/usr/bin/helm"), data, 0o755))
}

// helmPull is what the driver's `helm upgrade --repo R NAME --version V`
// does first: fetch R/index.yaml, then the chart archive it names. The CA
// of the test bed's repository is passed with --ca-file, as the unit's
// system store does not hold it.
func helmPull(ctx context.Context, box *testbed.Box, conn outside.Connection, env []string, version, dest string) (testbed.Result, error) {
	return asMagnum(ctx, box, env, "helm", "pull", outside.DefaultChart, "--repo", conn.RepoURL, "--version", version,
		"--ca-file", conn.CAFile, "--destination", dest)
}

// The model's proxy, as the wiring would carry it, reaches helm through the
// conductor's live environment; without it the same fetch fails. The
// lines under test are exactly proxyenv's, written by hand where the wiring
// will write them: the default file's block (Debian's init script sources
// it), a drop-in's Environment= lines, and the root-only file a proxy
// with credentials needs.
func TestHelmReachesTheChartRepositoryOnlyThroughTheModelProxy(t *testing.T) {
	ctx := context.Background()
	box := plainBox(t, "trixie")
	installHelm(t, box)
	conn, err := box.StartOutside(ctx, artifacts.Outside)
	require.NoError(t, err)
	// /var/tmp, not /tmp: the box's /tmp is a tmpfs systemd mounts inside,
	// which the host does not see under the box's root.
	_, err = box.MustRun(ctx, "install", "-d", "-o", "magnum", "-g", "magnum", "/var/tmp/charts")
	require.NoError(t, err)

	// Without the proxy the repository's name does not resolve.
	res, err := helmPull(ctx, box, conn, servicesEnv, "0.16.0", "/var/tmp/charts")
	require.NoError(t, err)
	assert.NotZero(t, res.Code, "helm fetched without a proxy:\n%s", res.Stdout)
	assert.Contains(t, res.Stderr, "charts.example")
	reqs, err := box.OutsideRequests()
	require.NoError(t, err)
	assert.Empty(t, reqs, "nothing went through the proxy")

	// The conductor's environment, wired through the default file's block.
	conductor := &unitshape.Service{Name: "magnum-conductor", Shape: unitshape.InitScript,
		InitScript: "/etc/init.d/magnum-conductor", DefaultFile: "/etc/default/magnum-conductor"}
	model := proxyenv.Model{HTTP: conn.ProxyURL, HTTPS: conn.ProxyURL, NoProxy: "10.0.0.0/8"}
	env, err := proxyenv.For(proxyenv.Input{Model: model, Service: conductor, Method: wiring.ByDefaultFile,
		Endpoints: []string{"https://127.0.0.1:6443"}})
	require.NoError(t, err)
	original, err := os.ReadFile(box.Path("/etc/default/magnum-conductor"))
	if os.IsNotExist(err) {
		original = nil
	} else {
		require.NoError(t, err)
	}
	block := "# BEGIN magnum-capi-graft (test)\n" + strings.Join(env.Lines, "\n") + "\n# END magnum-capi-graft (test)\n"
	require.NoError(t, os.WriteFile(box.Path("/etc/default/magnum-conductor"), append(append([]byte{}, original...), block...), 0o644))
	pid := restart(ctx, t, box, "magnum-conductor")
	live := proxyenv.FromEnviron(environ(ctx, t, box, pid))
	assert.Empty(t, proxyenv.Compare(env.Vars, live), "the live conductor carries the model's proxy")

	// helm as magnum with the conductor's own proxy variables fetches the
	// index and the chart through the proxy.
	liveEnv := append([]string{}, servicesEnv...)
	for _, v := range live {
		liveEnv = append(liveEnv, v.Name+"="+v.Value)
	}
	res, err = helmPull(ctx, box, conn, liveEnv, "0.16.0", "/var/tmp/charts")
	require.NoError(t, err)
	require.Zero(t, res.Code, "helm pull through the proxy: %s%s", res.Stdout, res.Stderr)
	tgz, err := os.ReadFile(box.Path("/var/tmp/charts/openstack-cluster-0.16.0.tgz"))
	require.NoError(t, err)
	want, err := outside.Archive(outside.DefaultChart, "0.16.0")
	require.NoError(t, err)
	assert.Equal(t, want, tgz, "helm fetched the repository's archive")
	reqs, err = box.OutsideRequests()
	require.NoError(t, err)
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, "CONNECT charts.example:443", r.Line())
		assert.Equal(t, 200, r.Status)
	}

	// Removed again: one restart, and the live conductor carries no proxy.
	require.NoError(t, os.WriteFile(box.Path("/etc/default/magnum-conductor"), original, 0o644))
	pid = restart(ctx, t, box, "magnum-conductor")
	assert.Empty(t, proxyenv.FromEnviron(environ(ctx, t, box, pid)))

	// The same through a drop-in's Environment= lines (the
	// systemd-override shape), then through the root-only file a proxy
	// with credentials needs.
	dropIn := "/etc/systemd/system/magnum-conductor.service.d/" + unitshape.OwnDropIn
	for _, m := range []proxyenv.Model{
		{HTTPS: conn.ProxyURL, NoProxy: "*.internal"},
		{HTTPS: strings.Replace(conn.ProxyURL, "http://", "http://capi:s3cret%25@", 1), NoProxy: "*.internal"},
	} {
		env, err := proxyenv.For(proxyenv.Input{Model: m, Service: conductor, Method: wiring.BySystemdOverride})
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(box.Path(path.Dir(dropIn)), 0o755))
		content := "[Service]\n" + strings.Join(env.Lines, "\n") + "\n"
		require.NoError(t, os.WriteFile(box.Path(dropIn), []byte(content), 0o644))
		if env.Credentials {
			require.NoError(t, os.MkdirAll(box.Path(path.Dir(proxyenv.EnvFile)), 0o755))
			require.NoError(t, os.WriteFile(box.Path(proxyenv.EnvFile), env.EnvFileContent, 0o600))
			shown, err := box.MustRun(ctx, "systemctl", "show", "-p", "Environment", "magnum-conductor")
			require.NoError(t, err)
			assert.NotContains(t, shown, "s3cret", "systemctl show, which any user may run, shows no password")
		}
		_, err = box.MustRun(ctx, "systemctl", "daemon-reload")
		require.NoError(t, err)
		pid = restart(ctx, t, box, "magnum-conductor")
		live = proxyenv.FromEnviron(environ(ctx, t, box, pid))
		assert.Empty(t, proxyenv.Compare(env.Vars, live), "drop-in (credentials %v)", env.Credentials)
	}
	_, err = box.MustRun(ctx, "rm", "-f", dropIn, proxyenv.EnvFile)
	require.NoError(t, err)
	_, err = box.MustRun(ctx, "systemctl", "daemon-reload")
	require.NoError(t, err)
}

// boxRunner runs the charm's commands inside the box, as the user they ask
// for, with exactly their environment.
func boxRunner(box *testbed.Box) collision.Runner {
	return func(ctx context.Context, c command.Cmd) (command.Result, error) {
		argv := []string{"runuser", "-u", c.User, "--", "env", "-i"}
		argv = append(append(argv, c.Env...), c.Argv...)
		res, err := box.Run(ctx, argv...)
		out := command.Result{Stdout: []byte(res.Stdout), Stderr: []byte(res.Stderr), ExitCode: res.Code}
		if err == nil && res.Code != 0 {
			err = fmt.Errorf("%s exited %d: %s", c.Argv[0], res.Code, command.Tail(out.Stderr, 5))
		}
		return out, err
	}
}

// A second driver claiming what k8s_capi_helm_v1 claims, installed where a
// Debian package would put it (later on sys.path than the real driver in
// /usr/local, so Magnum's loader loads it last): the probe, run as magnum
// with the live conductor's arguments, names both, says the rival wins and
// gives the disabled-drivers value; with that value in conf.d, Magnum's own
// get_driver hands back k8s_capi_helm_v1.
func TestDriverCollisionAsMagnumSeesIt(t *testing.T) {
	for _, tc := range []struct{ release, python string }{
		{"trixie", "3.13"},
		{"bookworm", "3.11"},
	} {
		t.Run(tc.release, func(t *testing.T) {
			ctx := context.Background()
			box := plainBox(t, tc.release)
			dir := t.TempDir()
			real, err := testbed.DriverWheel(dir, testbed.WheelOptions{})
			require.NoError(t, err)
			rival, err := testbed.RivalWheel(dir)
			require.NoError(t, err)
			require.NoError(t, box.UnpackWheel(ctx, real, "/usr/local/lib/python"+tc.python+"/dist-packages"))
			require.NoError(t, box.UnpackWheel(ctx, rival, "/usr/lib/python3/dist-packages"))

			cmdline := func() []string {
				out, err := box.MustRun(ctx, "cat", "/proc/"+mainPID(ctx, t, box, "magnum-conductor")+"/cmdline")
				require.NoError(t, err)
				return strings.Split(strings.TrimRight(out, "\x00"), "\x00")
			}
			probe := func() (collision.Report, collision.Analysis) {
				r, err := collision.Probe(ctx, boxRunner(box), "/usr/bin/python3", "magnum", servicesEnv, cmdline())
				require.NoError(t, err)
				return r, collision.Analyse(r)
			}

			r, a := probe()
			t.Logf("claims: %+v", r.Claims)
			assert.Equal(t, "/usr/lib/python3/dist-packages/magnum/drivers/common/driver.py", r.Loader)
			assert.Equal(t, tc.release == "trixie", r.DriverNameArg, "Magnum 20 has get_driver(driver_name=), 15 not")
			assert.False(t, a.OursWins)
			assert.ElementsMatch(t, []string{"vm/ubuntu/kubernetes", "vm/flatcar/kubernetes"}, a.OurTuples)
			require.Len(t, a.Collisions, 2)
			for _, c := range a.Collisions {
				var names []string
				for _, cl := range c.Claimants {
					names = append(names, cl.Name)
				}
				assert.Contains(t, names, collision.Ours)
				assert.NotEqual(t, collision.Ours, c.Winner)
			}
			assert.Equal(t, "k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar", a.DisabledDrivers)
			assert.Empty(t, a.AlsoDisables)
			assert.Contains(t, a.Problem, "vm/ubuntu/kubernetes goes to k8s_cluster_api_ubuntu (testbed-rival-driver 1.0.0)")
			assert.Contains(t, a.Problem, "set disabled-drivers=k8s_cluster_api_ubuntu,k8s_cluster_api_flatcar")
			assert.Equal(t, "testbed_rival_driver.driver.UbuntuDriver", r.Returned["vm/ubuntu/kubernetes"])
			assert.Empty(t, confd.Check(map[string]any{"disabled-drivers": a.DisabledDrivers}, "1.2.0"))

			// The value where the charm's conf.d puts it (the stock units
			// read the default conf.d; the charm's wiring adds
			// --config-dir): Magnum's loader now picks ours.
			conf := "[drivers]\ndisabled_drivers = " + a.DisabledDrivers + "\n"
			require.NoError(t, os.MkdirAll(box.Path(wiring.ConfDir), 0o755))
			require.NoError(t, os.WriteFile(box.Path(path.Join(wiring.ConfDir, "99-capi.conf")), []byte(conf), 0o644))
			r, a = probe()
			assert.True(t, a.OursWins, a.Problem)
			assert.Empty(t, a.Problem)
			assert.Empty(t, a.Warning)
			assert.Equal(t, []string{"k8s_cluster_api_ubuntu", "k8s_cluster_api_flatcar"}, r.Disabled)
			assert.Equal(t, "magnum_capi_helm.driver.Driver", r.Returned["vm/ubuntu/kubernetes"])
			assert.Equal(t, "magnum_capi_helm.driver.Driver", r.Returned["vm/flatcar/kubernetes"])
		})
	}
}
