//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/realjuju"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/tour"
)

const (
	app       = "magnum-capi-graft"
	principal = realjuju.MagnumApp
	kubeFile  = "/etc/magnum/kubeconfig"
	confFile  = "/etc/magnum/magnum.conf.d/99-capi.conf"
	// repairGoal is issue 7's bound from a principal's change to a
	// converged unit, the stopping of Magnum's services aside.
	repairGoal = 10 * time.Second
)

// operator is the operator at the juju client: commands run in a working
// directory that holds the files the README's commands name.
type operator struct {
	t    *testing.T
	ctx  context.Context
	juju *realjuju.CLI
	// box is the Magnum machine, seen from the host.
	box *testbed.Box
	// unit is the graft's unit on the Magnum machine, looked up.
	unit string
	// probeInstalled: the suite's binary is on a remote machine.
	probeInstalled bool
}

func (o *operator) run(args ...string) string {
	o.t.Helper()
	out, err := o.juju.Run(o.ctx, args...)
	require.NoError(o.t, err)
	return out
}

// graftUnit is the graft's unit's status, and its name.
func (o *operator) graftUnit(st *realjuju.Status) (string, realjuju.Unit, bool) {
	for name, u := range st.Units(app) {
		if u.Machine == on.machine {
			return name, u, true
		}
	}
	return "", realjuju.Unit{}, false
}

// awaitGraft waits until the graft's unit is idle with this workload
// status and a message containing want.
func (o *operator) awaitGraft(status, want string, limit time.Duration) realjuju.Unit {
	o.t.Helper()
	var got realjuju.Unit
	_, err := o.juju.AwaitStatus(o.ctx, limit, func(st *realjuju.Status) (bool, string) {
		name, u, ok := o.graftUnit(st)
		if !ok {
			return false, "no " + app + " unit on machine " + on.machine
		}
		o.unit, got = name, u
		return u.WorkloadStatus.Current == status && strings.Contains(u.WorkloadStatus.Message, want) &&
			u.JujuStatus.Current == "idle", name + ": " + u.WorkloadStatus.String() + "; agent " + u.JujuStatus.String()
	})
	require.NoError(o.t, err)
	return got
}

// action runs `juju run UNIT NAME [k=v...]` and returns the task's
// status and results. A failed task is not an error here.
func (o *operator) action(name string, params ...string) (string, map[string]any) {
	o.t.Helper()
	args := append([]string{"run", o.unit, name}, params...)
	out, err := o.juju.Run(o.ctx, append(args, "--format=json")...)
	var tasks map[string]struct {
		Status  string         `json:"status"`
		Message string         `json:"message"`
		Results map[string]any `json:"results"`
	}
	require.NoError(o.t, json.Unmarshal([]byte(out), &tasks), "juju run %s %s: %v\n%s", o.unit, name, err, out)
	task, ok := tasks[o.unit]
	require.True(o.t, ok, "no result for %s: %s", o.unit, out)
	if err != nil && task.Status == "completed" {
		require.NoError(o.t, err)
	}
	return task.Status, task.Results
}

func (o *operator) manifest() testbed.Manifest {
	o.t.Helper()
	m, err := o.box.TakeManifest()
	require.NoError(o.t, err)
	return m
}

func (o *operator) service(name string) testbed.Service {
	o.t.Helper()
	s, err := o.box.Service(o.ctx, name)
	require.NoError(o.t, err)
	return s
}

func (o *operator) starts(name string) int {
	o.t.Helper()
	n, err := o.box.Starts(o.ctx, name)
	require.NoError(o.t, err)
	return n
}

func requireSame(t *testing.T, before, after testbed.Manifest, what string) {
	t.Helper()
	diff := before.Diff(after)
	require.Empty(t, diff, "%s changed the unit:\n%s", what, strings.Join(diff, "\n"))
}

// TestOperatorPath deploys the packed charm as the README says and walks
// an operator's life with it: every step depends on the ones before, so
// the first step that fails ends the test.
func TestOperatorPath(t *testing.T) {
	if skipped != "" {
		t.Skip(skipped)
	}
	ctx := context.Background()
	work := t.TempDir()
	juju := *on.juju
	juju.Dir = work
	o := &operator{t: t, ctx: ctx, juju: &juju, box: on.box}
	if on.bed == nil {
		// An operator's own model is left as it was found, whatever the
		// outcome (the test bed is deleted whole, after its logs are kept).
		t.Cleanup(func() {
			logErr := func(_ string, err error) {
				if err != nil {
					t.Logf("leaving the model as it was: %v", err)
				}
			}
			if st, err := o.juju.Status(ctx); err == nil {
				if _, there := st.Applications[app]; there {
					logErr(o.juju.Run(ctx, "remove-application", "--no-prompt", app))
				}
			}
			// The secrets were granted to the application: they go once
			// it has gone (it lingers with no units for a while).
			_, err := o.juju.AwaitStatus(ctx, 3*time.Minute, func(st *realjuju.Status) (bool, string) {
				_, there := st.Applications[app]
				return !there, app + " still in the model"
			})
			logErr("", err)
			logErr(o.juju.Run(ctx, "remove-secret", "capi-kubeconfig"))
			logErr(o.juju.Run(ctx, "remove-secret", "openstack-creds"))
			logErr(o.box.MustRun(ctx, "systemctl", "stop", "fakek8s", "fakecloud"))
			logErr(o.box.MustRun(ctx, "rm", "-f", "/usr/local/sbin/fakek8s", "/usr/local/sbin/fakecloud", probePath))
		})
	}
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, func(t *testing.T) {
			o.t = t
			f(t)
		}) {
			t.FailNow()
		}
		o.t = t
	}

	// The files the README's commands name, in the operator's directory:
	// the packed charm, the management cluster's kubeconfig, the driver's
	// wheel and helm's release tarball.
	var kubeconfig []byte
	var pristine testbed.Manifest
	var cloud fakecloud.Connection
	step("the files the operator has", func(t *testing.T) {
		require.NoError(t, os.Symlink(charm, filepath.Join(work, "magnum-capi-graft.charm")))
		// The management cluster and the cloud: the fake ones, serving on
		// the Magnum machine itself (the machine reaches nothing else). The
		// cloud holds a new cluster in CREATE_IN_PROGRESS for 5 s.
		require.NoError(t, o.box.StartManagementCluster(ctx, fakek8s, "--capo="+tour.CAPO))
		var err error
		cloud, err = o.box.StartFakeCloud(ctx, fakecloudBin, "--hold", "5s")
		require.NoError(t, err)
		kubeconfig, err = o.box.ReadFile(testbed.ManagementKubeconfig)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(work, "capi-mgmt.kubeconfig"), kubeconfig, 0o600))
		require.Equal(t, "magnum_capi_helm-"+testbed.RealDriverVersion+"-py3-none-any.whl", filepath.Base(wheel))
		require.NoError(t, os.Symlink(wheel, filepath.Join(work, filepath.Base(wheel))))
		require.NoError(t, os.Symlink(helm, filepath.Join(work, testbed.HelmTarballName)))
		// The unit before the graft, for removal to be compared with.
		require.NoError(t, o.box.AwaitAPIReady(ctx, 3*time.Minute))
		pristine = o.manifest()
	})

	var secretURI string
	step("deploy, relate, configure, attach", func(t *testing.T) {
		o.run("deploy", "./magnum-capi-graft.charm")
		o.run("relate", app, principal)
		out := o.run("add-secret", "capi-kubeconfig", "kubeconfig#file=capi-mgmt.kubeconfig")
		secretURI = strings.TrimSpace(out)
		require.Regexp(t, `^secret:[a-z0-9]+$`, secretURI)
		o.run("grant-secret", "capi-kubeconfig", app)
		o.run("config", app, "kubeconfig="+secretURI)
		// The real driver as Debian packages it (1.2.0), never a relabelled
		// one: the management cluster serves what CAPO tour.CAPO serves.
		o.run("config", app, "driver-version="+testbed.RealDriverVersion, "default-helm-chart-version=0.16.0", "minimum-flavor-ram=4096")
		o.run("attach-resource", app, "driver="+filepath.Base(wheel))
		o.run("attach-resource", app, "helm="+testbed.HelmTarballName)
		o.awaitGraft("active", "conf.d read by api (default-dirs) + conductor (default-file)", 10*time.Minute)
		logf("e2e: %s is active on machine %s", o.unit, on.machine)
		conf, err := o.box.ReadFile(confFile)
		require.NoError(t, err)
		assert.Regexp(t, `(?m)^default_helm_chart_version\s*=\s*0\.16\.0$`, string(conf))
		assert.Regexp(t, `(?m)^minimum_flavor_ram\s*=\s*4096$`, string(conf))
		got, err := o.box.ReadFile(kubeFile)
		require.NoError(t, err)
		// Juju keeps a secret's file content without its trailing newline
		// (seen on 4.0.15).
		assert.Equal(t, strings.TrimRight(string(kubeconfig), "\n"), string(got), "the unit's kubeconfig is the secret's")
	})

	step("verify", func(t *testing.T) {
		status, results := o.action("verify")
		assert.Equal(t, "completed", status, "failed checks: %v", testbed.FailedChecks(results, ""))
		assert.Empty(t, testbed.FailedChecks(results, ""))
		assert.Contains(t, fmt.Sprint(results["watcher"]), "pass:true")
	})

	step("investigate", func(t *testing.T) {
		status, r := o.action("investigate")
		require.Equal(t, "completed", status)
		assert.Equal(t, "15.0.1", r["magnum-version"])
		assert.Equal(t, "3.11", r["python-version"])
		svcs, _ := r["services"].(map[string]any)
		for _, name := range []string{"magnum-api", "magnum-conductor"} {
			live := o.service(name)
			got, _ := svcs[name].(map[string]any)
			require.NotNil(t, got, "investigate reports no %s: %v", name, r)
			assert.Equal(t, fmt.Sprint(live.MainPID), got["main-pid"], "%s main PID", name)
			assert.Equal(t, strings.Join(live.Cmdline, " "), got["cmdline"], "%s live command line", name)
			assert.Equal(t, "active/running", got["active"], name)
		}
	})

	step("dry run through juju exec", func(t *testing.T) {
		agentDir := "/var/lib/juju/agents/unit-" + strings.ReplaceAll(o.unit, "/", "-")
		out := o.run("exec", "--unit", o.unit, "--", agentDir+"/charm/bin/magnum-capi-graft", "plan")
		t.Logf("plan on a converged unit:\n%s", out)
		assert.Contains(t, strings.ToLower(out), "nothing to do")
	})

	var repairs []time.Duration
	step("the principal broken, repaired through juju-exec", func(t *testing.T) {
		repairs = o.repairs()
		// juju-exec's runs, as the machine agent logged them: how long each
		// waited for the machine lock and held it.
		if log, err := o.box.ReadFile("/var/log/juju/machine-lock.log"); err == nil {
			for _, l := range strings.Split(string(log), "\n") {
				if strings.Contains(l, o.unit+" uniter (run commands)") {
					t.Logf("machine lock: %s", l)
				}
			}
		}
	})
	sort.Slice(repairs, func(i, j int) bool { return repairs[i] < repairs[j] })
	logf("e2e: repairs through the real juju-exec: median %s, max %s over %d disruptions",
		repairs[len(repairs)/2].Round(time.Millisecond), repairs[len(repairs)-1].Round(time.Millisecond), len(repairs))

	step("regraft", func(t *testing.T) {
		status, r := o.action("regraft")
		require.Equal(t, "completed", status, "%v", r)
		assert.Equal(t, "active", r["status"])
	})

	step("kubeconfig rotated with update-secret", func(t *testing.T) {
		rotated := append([]byte("# rotated\n"), kubeconfig...)
		require.NoError(t, os.WriteFile(filepath.Join(work, "capi-mgmt.kubeconfig"), rotated, 0o600))
		api, cond := o.starts("magnum-api"), o.starts("magnum-conductor")
		o.run("update-secret", "capi-kubeconfig", "kubeconfig#file=capi-mgmt.kubeconfig")
		require.Eventually(t, func() bool {
			got, _ := o.box.ReadFile(kubeFile)
			return string(got) == strings.TrimRight(string(rotated), "\n")
		}, 3*time.Minute, time.Second, "the unit's kubeconfig never became the new revision")
		o.awaitGraft("active", "conf.d read by", 3*time.Minute)
		// The watcher sees the charm's own writes and answers with a no-op
		// re-graft: let that pass before counting.
		time.Sleep(8 * time.Second)
		assert.Equal(t, api+1, o.starts("magnum-api"), "magnum-api starts")
		assert.Equal(t, cond+1, o.starts("magnum-conductor"), "magnum-conductor starts")
	})

	step("a bad config value changes nothing", func(t *testing.T) {
		before := o.manifest()
		api, cond := o.service("magnum-api"), o.service("magnum-conductor")
		o.run("config", app, "namespace-prefix=magn\u00fcm")
		o.awaitGraft("blocked", "namespace-prefix", 3*time.Minute)
		requireSame(t, before, o.manifest(), "a bad config value")
		assert.Equal(t, api.MainPID, o.service("magnum-api").MainPID, "magnum-api restarted")
		assert.Equal(t, cond.MainPID, o.service("magnum-conductor").MainPID, "magnum-conductor restarted")
		// Juju 4.0.15 runs no config-changed hook for `juju config --reset`
		// (seen: the value reads back unset, the unit never hears of it),
		// so the README has the operator run regraft after it.
		o.run("config", app, "--reset", "namespace-prefix")
		status, r := o.action("regraft")
		require.Equal(t, "completed", status, "%v", r)
		o.awaitGraft("active", "conf.d read by", 3*time.Minute)
		requireSame(t, before, o.manifest(), "the value reset")
	})

	step("smoke-test against the contract server", func(t *testing.T) {
		o.smokeTest(work, cloud)
	})

	step("remove-application leaves the unit as it was", func(t *testing.T) {
		agentLog := "/var/log/juju/unit-" + strings.ReplaceAll(o.unit, "/", "-") + ".log"
		log, _ := o.box.ReadFile(agentLog)
		ran := len(hookRuns(string(log)))
		o.run("remove-application", "--no-prompt", app)
		// The unit leaves the model once it has run its last hook (the
		// application itself lingers a while longer with no units).
		_, err := o.juju.AwaitStatus(ctx, 5*time.Minute, func(st *realjuju.Status) (bool, string) {
			_, _, there := o.graftUnit(st)
			return !there, o.unit + " still in the model"
		})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return o.service("magnum-capi-graft-watcher").ActiveState != "active"
		}, time.Minute, 500*time.Millisecond, "the watcher still runs")
		// Juju 4.0 does not always get to stop and remove (the uniter can
		// be gone first): the graft must come off in relation-broken. The
		// charm's log says where it did.
		log, err = o.box.ReadFile(agentLog)
		require.NoError(t, err)
		runs := hookRuns(string(log))
		require.GreaterOrEqual(t, len(runs), ran)
		var names []string
		for _, r := range runs[ran:] {
			names = append(names, r.Name)
			took := strings.Contains(strings.Join(r.Logs, "\n"), "restart magnum-conductor")
			switch r.Name {
			case "juju-info-relation-broken":
				assert.True(t, took, "relation-broken did not take the graft off:\n%s", strings.Join(r.Logs, "\n"))
			default:
				assert.False(t, took, "%s took the graft off, not relation-broken", r.Name)
			}
		}
		t.Logf("hooks the departing unit ran: %s", strings.Join(names, ", "))
		assert.Contains(t, names, "juju-info-relation-broken")
		requireSame(t, pristine, o.manifest(), "removal")
		for _, p := range []string{"/var/lib/magnum-capi-graft", "/opt/magnum-capi-graft"} {
			_, err := o.box.Stat(p)
			assert.ErrorIs(t, err, fs.ErrNotExist, "%s outlived removal", p)
		}
		cond := o.service("magnum-conductor")
		assert.False(t, slices.Contains(cond.Cmdline, "--config-dir=/etc/magnum/magnum.conf.d"), "conductor still wired: %q", cond.Cmdline)
		assert.Equal(t, "active", cond.ActiveState)
		assert.Equal(t, "active", o.service("magnum-api").ActiveState)
	})
}

// hookRun is one hook a unit agent's log says it ran, with the lines the
// charm logged (juju-log) while it ran.
type hookRun struct {
	Name string
	Logs []string
}

// hookRuns reads a unit agent's log: the uniter logs `ran "NAME" hook`
// when a hook ends, after whatever the charm logged during it.
func hookRuns(log string) []hookRun {
	var out []hookRun
	var logs []string
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, ".juju-log "); i >= 0 {
			logs = append(logs, l)
			continue
		}
		if i := strings.Index(l, `ran "`); i >= 0 {
			rest := l[i+len(`ran "`):]
			if j := strings.Index(rest, `"`); j >= 0 {
				out = append(out, hookRun{Name: rest[:j], Logs: logs})
				logs = nil
			}
		}
	}
	return out
}
