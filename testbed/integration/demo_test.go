//go:build integration

package integration

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/ini.v1"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/tour"
)

// TestDemoSummaryMatchesTheBox runs `make demo`'s tour on a trixie unit and
// holds every line of its summary to what the box shows, read here without
// the charm: the driver Python imports as magnum, the files on disk, the
// live command lines, the fake management cluster's and contract server's
// own records, the watcher's journal. A summary line that says done but
// that the box contradicts fails the test.
func TestDemoSummaryMatchesTheBox(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("it-%d-%d", os.Getpid(), boxes.Add(1))
	box, err := tour.Boot(ctx, name, "trixie", artifacts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Down() })
	u := &unit{t: t, ctx: ctx, box: box}

	var log strings.Builder
	rep, err := tour.Run(ctx, box, tour.Options{Out: &log, FakeCloud: artifacts.FakeCloud})
	t.Logf("the tour:\n%s", log.String())
	require.NoError(t, err)

	lines := map[string]tour.Line{}
	for _, l := range rep.Summary {
		key := l.Step
		if key == "keep" {
			key = l.Title
		}
		lines[key] = l
		assert.True(t, l.Done, "step %s %s not done: %s", l.Step, l.Title, l.Evidence)
	}
	for _, step := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		require.Contains(t, lines, step, "the summary has a line for each runbook step")
	}
	require.Len(t, rep.Repairs, 2)

	t.Run("no secret in the report", func(t *testing.T) {
		kube, err := os.ReadFile(box.Path(testbed.ManagementKubeconfig))
		require.NoError(t, err)
		whole, err := json.Marshal(rep)
		require.NoError(t, err)
		found := 0
		for _, l := range strings.Split(string(kube), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), ": "); ok && (k == "client-key-data" || k == "client-certificate-data") {
				found++
				assert.NotContains(t, string(whole), v, "the report holds the kubeconfig's %s", k)
			}
		}
		require.Equal(t, 2, found, "the kubeconfig has a client certificate and key to look for")
	})

	t.Run("driver is the real release", func(t *testing.T) {
		u.t = t
		assert.Equal(t, testbed.RealDriverVersion, rep.Driver.Version)
		assert.False(t, rep.Driver.Relabelled)
		st, err := box.State()
		require.NoError(t, err)
		assert.Equal(t, "1.2.0", st.Config["driver-version"], "the charm is configured for the release it installs")
		assert.Equal(t, "1.2.0", st.ApplicationVersion)
		// The attached wheel's METADATA and code are the .deb's own.
		deb := debFiles(t)
		whl := zipFiles(t, box.Path(st.Resources["driver"]))
		assert.Contains(t, string(whl["magnum_capi_helm-1.2.0.dist-info/METADATA"]), "\nVersion: 1.2.0\n")
		for p, data := range deb {
			assert.Equal(t, string(data), string(whl[p]), "%s differs from the .deb's", p)
		}
	})

	t.Run("step 1 investigate", func(t *testing.T) {
		u.t = t
		ev := lines["1"].Evidence
		py := strings.TrimSpace(u.run("python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"))
		assert.Contains(t, ev, "(Python "+py+")")
		magnum := strings.TrimSpace(u.asMagnum("python3", "-c", "from importlib import metadata; print(metadata.version('magnum'))"))
		assert.Contains(t, ev, "Magnum "+magnum+" ")
		for _, svc := range []string{"magnum-api", "magnum-conductor"} {
			exec := strings.TrimSpace(u.run("systemctl", "show", "-p", "ExecStart", "--value", svc))
			script := "/etc/init.d/" + svc
			assert.Contains(t, exec, script, "%s runs its init script", svc)
			assert.Contains(t, ev, svc+": ", "%s is investigated", svc)
			assert.Contains(t, ev, script+" systemd-start")
		}
	})

	t.Run("step 2 preflight", func(t *testing.T) {
		u.t = t
		ev := lines["2"].Evidence
		// What the fake cluster itself answered, from its request log.
		requests := u.run("cat", "/root/fakek8s/"+fakek8s.RequestLogFile)
		for _, gv := range []string{"cluster.x-k8s.io/v1beta1", "infrastructure.cluster.x-k8s.io/v1alpha6",
			"controlplane.cluster.x-k8s.io/v1beta1", "addons.stackhpc.com/v1alpha1"} {
			assert.Contains(t, requests, "GET /apis/"+gv+" 200", "the cluster answered discovery of %s", gv)
			assert.Contains(t, ev, gv+" serves", "the summary names %s", gv)
		}
		assert.Contains(t, requests, "GET /readyz 200")
		assert.Contains(t, ev, "https://127.0.0.1:6443/readyz ok")
		// Driver 1.2.0 reads v1alpha6: the preflight has no business with
		// v1beta1. Only verify's compatibility report asks for it, right
		// after the group's discovery, as it walks every version served.
		log := strings.Split(requests, "\n")
		for i, line := range log {
			if strings.HasPrefix(line, "GET /apis/infrastructure.cluster.x-k8s.io/v1beta1 ") {
				require.Positive(t, i, "v1beta1 asked first of all")
				assert.True(t, strings.HasPrefix(log[i-1], "GET /apis/infrastructure.cluster.x-k8s.io "),
					"v1beta1 asked outside the compatibility report's walk of the group (after %q)", log[i-1])
			}
		}
		served := u.run("journalctl", "-u", "fakek8s", "-o", "cat", "--no-pager")
		assert.Contains(t, served, "cluster-api-provider-openstack v0.10 (infrastructure.cluster.x-k8s.io v1alpha6, v1alpha7, v1beta1)")
	})

	t.Run("step 3 driver installed", func(t *testing.T) {
		u.t = t
		ev := lines["3"].Evidence
		m := regexp.MustCompile(`from magnum[-_]capi[-_]helm 1\.2\.0 at (\S+/magnum_capi_helm/driver\.py)`).FindStringSubmatch(ev)
		require.NotNil(t, m, "the evidence names the module it loaded: %s", ev)
		assert.Equal(t, "1.2.0 "+m[1], u.loadedFrom())
		data, err := os.ReadFile(box.Path(m[1]))
		require.NoError(t, err)
		assert.Equal(t, string(debFiles(t)["magnum_capi_helm/driver.py"]), string(data), "the installed driver.py is Debian's")
		helm := strings.TrimSpace(u.asMagnum("helm", "version", "--short"))
		assert.Contains(t, ev, helm)
	})

	t.Run("step 4 kubeconfig", func(t *testing.T) {
		u.t = t
		const kube = "/etc/magnum/kubeconfig"
		got, err := os.ReadFile(box.Path(kube))
		require.NoError(t, err)
		want, err := os.ReadFile(box.Path(testbed.ManagementKubeconfig))
		require.NoError(t, err)
		// Compared by hash, so a failure prints no key. The charm trims the
		// secret's value (kubeconfig.FromSecret): the file has no trailing
		// newline.
		sum := func(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(bytes.TrimRight(b, "\n"))) }
		assert.Equal(t, sum(want), sum(got), "the unit's kubeconfig is the management cluster's")
		fi, err := os.Stat(box.Path(kube))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
		assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid)
		assert.Equal(t, u.magnumGID(), fi.Sys().(*syscall.Stat_t).Gid)
		assert.Contains(t, lines["4"].Evidence, kube+" root:magnum 640")
	})

	t.Run("step 5 conf.d", func(t *testing.T) {
		u.t = t
		data, err := os.ReadFile(box.Path("/etc/magnum/magnum.conf.d/99-capi.conf"))
		require.NoError(t, err)
		f, err := ini.Load(data)
		require.NoError(t, err)
		keys := 0
		for _, s := range f.Sections() {
			keys += len(s.Keys())
		}
		assert.Equal(t, "/etc/magnum/kubeconfig", f.Section("capi_helm").Key("kubeconfig_file").String())
		assert.Equal(t, tour.NamespacePrefix, f.Section("capi_helm").Key("namespace_prefix").String())
		assert.Equal(t, 2, strings.Count(lines["5"].Evidence, fmt.Sprintf("resolves all %d keys of 99-capi.conf", keys)),
			"both services, all %d keys: %s", keys, lines["5"].Evidence)
	})

	t.Run("step 6 wiring", func(t *testing.T) {
		u.t = t
		ev := lines["6"].Evidence
		for _, svc := range []string{"magnum-api", "magnum-conductor"} {
			s := u.service(svc)
			assert.Equal(t, "active", s.ActiveState, svc)
			assert.Contains(t, ev, strings.Join(s.Cmdline, " "), "the summary shows %s's live command line", svc)
		}
		cond := u.service("magnum-conductor")
		assert.Greater(t, indexOf(cond.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d"),
			indexOf(cond.Cmdline, "--config-file=/etc/magnum/magnum.conf"), "conductor: %q", cond.Cmdline)
	})

	t.Run("step 7 driver loads", func(t *testing.T) {
		u.t = t
		require.NoError(t, box.DriverLoadsAsMagnum(ctx))
		assert.Contains(t, u.asMagnum("magnum-driver-manage", "list-drivers", "--details"), "k8s_capi_helm_v1")
		assert.Contains(t, lines["7"].Evidence, "lists k8s_capi_helm_v1")
		assert.Contains(t, lines["7"].How, "proves nothing")
	})

	t.Run("step 8 smoke test", func(t *testing.T) {
		u.t = t
		rec, err := box.FakeCloudRecords()
		require.NoError(t, err)
		assert.Empty(t, rec.Clusters, "clusters left in the contract server")
		assert.Empty(t, rec.Templates, "templates left in the contract server")
		tpls := rec.Matching("POST", "/magnum/v1/clustertemplates")
		require.Len(t, tpls, 1)
		clusters := rec.Matching("POST", "/magnum/v1/clusters")
		require.Len(t, clusters, 1)
		ev := lines["8"].Evidence
		assert.Contains(t, ev, fmt.Sprintf("template %s and cluster %s created", tpls[0].Body["name"], clusters[0].Body["name"]))
		assert.Contains(t, ev, "CREATE_COMPLETE")
		assert.Contains(t, lines["8"].How, "not a real cluster")
	})

	t.Run("kept true", func(t *testing.T) {
		u.t = t
		journal := u.run("journalctl", "-b", "-u", "magnum-capi-graft-watcher", "--no-pager", "-o", "cat")
		st, err := box.State()
		require.NoError(t, err)
		var charmLog []string
		for _, l := range st.Logs {
			charmLog = append(charmLog, l.Message)
		}
		for _, rep := range rep.Repairs {
			l := lines["After: "+rep.Disruption]
			require.True(t, l.Done, "%s: %s", rep.Disruption, l.Evidence)
			assert.Contains(t, l.Evidence, fmt.Sprintf("converged %.1f s after", rep.Seconds))
			assert.Greater(t, rep.Seconds, 0.0)
			assert.LessOrEqual(t, rep.StoppingSeconds, rep.Seconds+rep.DisruptionSeconds)
			require.GreaterOrEqual(t, rep.Regrafts, 1, "%s: the watcher re-grafted", rep.Disruption)
			last := regexp.MustCompile(`last: (re-graft \S+ in [^;]+);`).FindStringSubmatch(l.Evidence)
			require.NotNil(t, last, l.Evidence)
			assert.Contains(t, journal, last[1], "the quoted re-graft is in the watcher's journal")
			for _, r := range rep.CharmRestarts {
				assert.Contains(t, charmLog, r, "the quoted restart is in the charm's log")
			}
			assert.GreaterOrEqual(t, rep.ServiceStarts, len(rep.CharmRestarts))
		}
		// The first disruption deletes the wiring: only the charm puts it
		// back, and the conductor must restart to read it.
		require.NotEmpty(t, rep.Repairs[0].CharmRestarts, "the wiring came back without a restart")
		assert.Contains(t, rep.Repairs[0].CharmRestarts[0], "restart magnum-conductor")
		def := u.run("cat", "/etc/default/magnum-conductor")
		assert.Contains(t, def, "--config-dir=/etc/magnum/magnum.conf.d", "the wiring is back")
		assert.Contains(t, lines["After: "+rep.Repairs[0].Disruption].Evidence, "repaired by the charm: INFO write /etc/default/magnum-conductor")
		assert.True(t, box.Converged(ctx, box.GraftState()), "the graft is in effect now")
		assert.Equal(t, "active", u.service("magnum-capi-graft-watcher").ActiveState)
		assert.True(t, lines["Still true after the repairs"].Done)
	})
}

// debFiles are the driver package's module files, by their path in a wheel.
func debFiles(t *testing.T) map[string][]byte {
	t.Helper()
	deb, err := testbed.DriverDeb()
	require.NoError(t, err)
	dir := t.TempDir()
	out, err := exec.Command("dpkg-deb", "-x", deb, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	site := filepath.Join(dir, "usr/lib/python3/dist-packages")
	files := map[string][]byte{}
	require.NoError(t, filepath.Walk(filepath.Join(site, "magnum_capi_helm"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasSuffix(p, ".pyc") {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(site, p)
		files[filepath.ToSlash(rel)] = data
		return err
	}))
	require.Contains(t, files, "magnum_capi_helm/driver.py")
	return files
}

// zipFiles reads every member of a zip (a wheel).
func zipFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(r)
		r.Close()
		require.NoError(t, err)
		files[f.Name] = data
	}
	return files
}
