// Package tour is what `make demo` does, as a library the demo command and
// an integration test share: on a real Magnum unit in a box it installs the
// real driver as Debian packages it (magnum-capi-helm 1.2.0, not
// relabelled) against a management cluster serving what a real CAPO release
// serves, grafts it the way an operator's first day would, breaks the unit
// the way life does and times the watcher's repair, and sums up what was
// proved, one line per step of the runbook the charm replaces.
//
// Juju is the test bed's fake unit agent here, except where the charm meets
// Juju: the hook tools and juju-exec are Juju 3.6's own code (testbed/juju).
package tour

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// CAPO is the cluster-api-provider-openstack release line the fake
// management cluster serves: the last one that still serves OpenStackCluster
// at v1alpha6, which driver 1.2.0 reads (fakek8s.CAPOReleases).
const CAPO = "v0.10"

// NamespacePrefix is the one driver option the tour sets besides the
// kubeconfig, so that 99-capi.conf shows a typed option.
const NamespacePrefix = "demo"

// Boot boots a fresh box for the tour: a unit with the real driver and helm
// attached and a management cluster serving what CAPO's release line CAPO
// and its Cluster API serve. The caller owns the box (Down).
func Boot(ctx context.Context, name, release string, a testbed.Artifacts) (*testbed.Box, error) {
	return testbed.BootUnit(ctx, name, release, a, testbed.RealDriver, "--capo="+CAPO)
}

// Options say where the tour's running commentary goes and what it may use.
type Options struct {
	// Out receives the commentary as it happens; nil discards it.
	Out io.Writer
	// FakeCloud is the smoke test's contract server binary (make fakejuju
	// builds it); "" leaves the runbook's Step 8 not done.
	FakeCloud string
}

// Status is a unit status as the fake Juju recorded it.
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// DriverInfo says which driver the tour installed and where it came from.
type DriverInfo struct {
	Version string `json:"version"`
	// Package is the Debian package (name and version) whose files the
	// wheel holds.
	Package string `json:"package"`
	Wheel   string `json:"wheel"`
	// Relabelled is false: the wheel's version is the package's own.
	Relabelled bool `json:"relabelled"`
}

// Repair is one disruption of the principal and how the graft came back.
type Repair struct {
	Disruption string `json:"disruption"`
	// Repaired is whether the unit converged again within the limit.
	Repaired bool `json:"repaired"`
	// Seconds is the time from the disruption's start to a converged unit;
	// StoppingSeconds is how much of it systemd spent stopping Magnum's
	// services (the principal's share); DisruptionSeconds is how long the
	// disruption's own commands ran.
	Seconds           float64 `json:"seconds"`
	StoppingSeconds   float64 `json:"stopping-seconds"`
	DisruptionSeconds float64 `json:"disruption-seconds"`
	// ServiceStarts counts Magnum's service starts (journal) from the
	// disruption until the watcher settled; CharmRestarts are the charm's
	// own "restart ..." log lines among them: the rest are the
	// disruption's (the watcher may restart a service before the
	// disruption's own commands have returned).
	ServiceStarts int      `json:"service-starts"`
	CharmRestarts []string `json:"charm-restarts"`
	// Regrafts counts the watcher's re-grafts (its journal).
	Regrafts int `json:"regrafts"`
	// WatcherLog is the watcher's journal from the disruption on;
	// CharmLog what the charm logged (juju-log) meanwhile.
	WatcherLog []string `json:"watcher-log"`
	CharmLog   []string `json:"charm-log"`
	Error      string   `json:"error,omitempty"`
}

// Report is everything the tour did and saw.
type Report struct {
	Release           string     `json:"release"`
	Box               string     `json:"box"`
	Driver            DriverInfo `json:"driver"`
	ManagementCluster string     `json:"management-cluster"`
	// Config is what `juju config` was given (the secret's URI elided).
	Config      map[string]string      `json:"config"`
	Investigate *testbed.ActionOutcome `json:"investigate"`
	// Blocked is the status of the install hook before the kubeconfig.
	Blocked Status `json:"blocked"`
	// Grafted is the status after config-changed; GraftStarts counts the
	// service starts the graft cost.
	Grafted     Status `json:"grafted"`
	GraftStarts int    `json:"graft-starts"`
	// Files are the graft's files as written, but the kubeconfig, which
	// KubeconfigFile describes ("/etc/magnum/kubeconfig root:magnum 640")
	// rather than shows.
	Files          map[string]string `json:"files"`
	KubeconfigFile string            `json:"kubeconfig-file"`
	// Converged is the status of a second config-changed, which must
	// start no service (ConvergedStarts).
	Converged       Status                 `json:"converged"`
	ConvergedStarts int                    `json:"converged-starts"`
	Verify          *testbed.ActionOutcome `json:"verify"`
	// VerifyAfter is verify run again after the repairs.
	VerifyAfter *testbed.ActionOutcome `json:"verify-after-repairs"`
	Repairs     []Repair               `json:"repairs"`
	SmokeTest   *testbed.ActionOutcome `json:"smoke-test,omitempty"`
	// SmokeRecords are the contract server's records of the smoke test:
	// what it was asked and what exists in it afterwards.
	SmokeRecords []string `json:"smoke-records,omitempty"`
	SmokeLeft    []string `json:"smoke-left,omitempty"`
	Summary      []Line   `json:"summary"`
	WallSeconds  float64  `json:"wall-seconds"`
}

type tour struct {
	ctx  context.Context
	box  *testbed.Box
	out  io.Writer
	opts Options
	r    *Report
}

func (t *tour) say(format string, args ...any) { fmt.Fprintf(t.out, format+"\n", args...) }

func (t *tour) step(format string, args ...any) { fmt.Fprintf(t.out, "\n==> "+format+"\n", args...) }

func (t *tour) status() Status {
	s, m, err := t.box.Status()
	if err != nil {
		return Status{Status: "unknown", Message: err.Error()}
	}
	return Status{s, m}
}

func (t *tour) hook(name string) (Status, error) {
	if err := t.box.Hook(t.ctx, name); err != nil {
		return Status{}, err
	}
	st := t.status()
	t.say("    hook %s -> %s: %s", name, st.Status, st.Message)
	return st, nil
}

func (t *tour) starts() int {
	a, _ := t.box.Starts(t.ctx, "magnum-api")
	c, _ := t.box.Starts(t.ctx, "magnum-conductor")
	return a + c
}

func (t *tour) logCount() int {
	st, err := t.box.State()
	if err != nil {
		return 0
	}
	return len(st.Logs)
}

func (t *tour) logsSince(n int) []string {
	st, err := t.box.State()
	if err != nil || n > len(st.Logs) {
		return nil
	}
	var out []string
	for _, l := range st.Logs[n:] {
		out = append(out, l.Level+" "+l.Message)
	}
	return out
}

// Run takes the booted box (see Boot) through the tour and returns what
// happened, with its summary. An error means the tour could not go on; a
// step that went wrong but let it go on shows in the summary as not done.
func Run(ctx context.Context, box *testbed.Box, opts Options) (*Report, error) {
	began := time.Now()
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	t := &tour{ctx: ctx, box: box, out: out, opts: opts, r: &Report{Release: box.Release, Box: box.Name,
		Files: map[string]string{}, Config: map[string]string{}}}
	err := t.run()
	t.r.Summary = Summarize(t.r)
	t.r.WallSeconds = seconds(time.Since(began))
	return t.r, err
}

func (t *tour) run() error {
	if err := t.describeDriver(); err != nil {
		return err
	}
	c, err := fakek8s.LookupCAPO(CAPO)
	if err != nil {
		return err
	}
	t.r.ManagementCluster = c.String()
	t.say("    driver: %s, from Debian's %s, as a wheel (%s), not relabelled", "magnum-capi-helm "+t.r.Driver.Version,
		t.r.Driver.Package, t.r.Driver.Wheel)
	t.say("    management cluster (fake, in the box): %s", t.r.ManagementCluster)

	t.step("investigate (the runbook's Step 1), before anything is grafted")
	if t.r.Investigate, err = t.box.Action(t.ctx, "investigate", nil); err != nil {
		return err
	}
	for _, l := range investigateLines(t.r.Investigate) {
		t.say("    %s", l)
	}

	t.step("juju deploy --config driver-version=%s; install with no kubeconfig yet", t.r.Driver.Version)
	if err := t.config("driver-version=" + t.r.Driver.Version); err != nil {
		return err
	}
	if t.r.Blocked, err = t.hook("install"); err != nil {
		return err
	}

	t.step("juju add-secret + grant-secret; juju config kubeconfig=<secret> namespace-prefix=%s", NamespacePrefix)
	secret, err := t.box.Fake(t.ctx, "add-secret", "--grant", "kubeconfig#file="+testbed.ManagementKubeconfig)
	if err != nil {
		return err
	}
	if err := t.config("kubeconfig="+strings.TrimSpace(secret), "namespace-prefix="+NamespacePrefix); err != nil {
		return err
	}
	t.r.Config["kubeconfig"] = "secret:<id>"
	before := t.starts()
	if t.r.Grafted, err = t.hook("config-changed"); err != nil {
		return err
	}
	t.r.GraftStarts = t.starts() - before
	t.say("    Magnum's services started %d times for the graft", t.r.GraftStarts)
	for _, p := range []string{"/etc/magnum/magnum.conf.d/99-capi.conf", "/etc/default/magnum-conductor"} {
		data, err := os.ReadFile(t.box.Path(p))
		if err != nil {
			t.r.Files[p] = "(" + err.Error() + ")"
			continue
		}
		t.r.Files[p] = string(data)
		t.say("    --- %s\n%s", p, indent(string(data)))
	}

	if out, err := t.box.MustRun(t.ctx, "stat", "-c", "%n %U:%G %a", "/etc/magnum/kubeconfig"); err == nil {
		t.r.KubeconfigFile = strings.TrimSpace(out)
		t.say("    --- %s (a secret's content: not shown)", t.r.KubeconfigFile)
	}

	t.step("config-changed again: converged, nothing to do")
	before = t.starts()
	if t.r.Converged, err = t.hook("config-changed"); err != nil {
		return err
	}
	t.r.ConvergedStarts = t.starts() - before
	t.say("    service starts: %d", t.r.ConvergedStarts)

	t.step("verify: the runbook's exit criteria, checked on the live unit")
	if t.r.Verify, err = t.box.Action(t.ctx, "verify", nil); err != nil {
		return err
	}
	t.say("    %s", verifyCounts(t.r.Verify))

	t.step("life happens: the principal changes, Juju runs no hook for the subordinate")
	t.say("    the watcher (systemd over D-Bus, inotify) re-grafts through Juju's juju-exec:")
	t.say("    juju-exec -u %s -- hooks/update-status --from-watcher", testbed.UnitName)
	var last time.Time
	for _, name := range []string{"wiring deleted", "apt-get install --reinstall"} {
		sc, err := scenario(name)
		if err != nil {
			return err
		}
		rep := t.repair(sc, last)
		t.r.Repairs = append(t.r.Repairs, rep)
		if rep.Error != "" {
			t.say("    NOT repaired: %s", rep.Error)
			continue
		}
		last = time.Now()
	}

	t.step("verify again, after the repairs")
	if t.r.VerifyAfter, err = t.box.Action(t.ctx, "verify", nil); err != nil {
		return err
	}
	t.say("    %s", verifyCounts(t.r.VerifyAfter))

	if t.opts.FakeCloud != "" {
		t.step("smoke-test (the runbook's Step 8) against the test bed's contract server, not a real cloud")
		if err := t.smokeTest(); err != nil {
			return err
		}
	}
	return nil
}

// config sets charm options as `juju config` does.
func (t *tour) config(kv ...string) error {
	if _, err := t.box.Fake(t.ctx, append([]string{"config"}, kv...)...); err != nil {
		return err
	}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		t.r.Config[k] = v
	}
	return nil
}

// describeDriver reads what the attached driver wheel is: the version its
// METADATA says, and the Debian package its files came from.
func (t *tour) describeDriver() error {
	deb, err := testbed.DriverDeb()
	if err != nil {
		return err
	}
	out, err := exec.Command("dpkg-deb", "--show", "--showformat", "${Package} ${Version}", deb).Output()
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", deb, err)
	}
	st, err := t.box.State()
	if err != nil {
		return err
	}
	wheel := filepath.Base(st.Resources["driver"])
	version := strings.TrimPrefix(wheel, "magnum_capi_helm-")
	version, _, _ = strings.Cut(version, "-")
	t.r.Driver = DriverInfo{Version: version, Package: strings.TrimSpace(string(out)) + " (Debian trixie)", Wheel: wheel,
		Relabelled: version != testbed.RealDriverVersion}
	if t.r.Driver.Relabelled {
		return fmt.Errorf("the attached driver %s is not the real %s", wheel, testbed.RealDriverVersion)
	}
	return nil
}

func scenario(prefix string) (testbed.Scenario, error) {
	for _, s := range testbed.Scenarios {
		if strings.HasPrefix(s.Name, prefix) {
			return s, nil
		}
	}
	return testbed.Scenario{}, fmt.Errorf("no scenario %q in testbed.Scenarios", prefix)
}

// repair disrupts the unit with sc and waits for the watcher to put the
// graft back. last is when the previous repair converged: the watcher
// leaves 30 s after a re-graft that changed something, so the next
// disruption waits that out, as changes in life are spaced.
func (t *tour) repair(sc testbed.Scenario, last time.Time) Repair {
	rep := Repair{Disruption: sc.Name}
	t.step("disruption: %s", sc.Name)
	// A principal that has been up a while, not one still loading Magnum
	// into its api workers from the last restart (see AwaitAPIReady).
	if err := t.box.AwaitAPIReady(t.ctx, 120*time.Second); err != nil {
		rep.Error = err.Error()
		return rep
	}
	if wait := 31*time.Second - time.Since(last); !last.IsZero() && wait > 0 {
		t.say("    (waiting %s: the watcher spaces re-grafts that changed something 30 s apart)", wait.Round(time.Second))
		time.Sleep(wait)
	}
	want := t.box.GraftState()
	starts, logs, regrafts := t.starts(), t.logCount(), t.box.Regrafts(t.ctx)
	// The clock starts with the disruption: re-grafting may begin before
	// its last command returns.
	start := time.Now()
	if err := sc.Disrupt(t.ctx, t.box); err != nil {
		rep.Error = err.Error()
		return rep
	}
	rep.DisruptionSeconds = seconds(time.Since(start))
	t.say("    its commands ran %.1f s; waiting for the graft to be true and in effect again...", rep.DisruptionSeconds)
	took, err := t.box.AwaitConverged(t.ctx, want, start, 90*time.Second)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	rep.Repaired = true
	rep.Seconds = seconds(took)
	rep.StoppingSeconds = seconds(t.box.StopTime(t.ctx, start))
	// Let the watcher settle (its debounce, an echo of its own re-graft)
	// before counting what the repair cost.
	time.Sleep(8 * time.Second)
	rep.ServiceStarts = t.starts() - starts
	rep.Regrafts = t.box.Regrafts(t.ctx) - regrafts
	rep.CharmLog = t.logsSince(logs)
	for _, l := range rep.CharmLog {
		if _, msg, _ := strings.Cut(l, " "); strings.HasPrefix(msg, "restart magnum-") {
			rep.CharmRestarts = append(rep.CharmRestarts, msg)
		}
	}
	if out, err := t.box.MustRun(t.ctx, "journalctl", "-u", "magnum-capi-graft-watcher", "--no-pager", "-o", "cat",
		"--since", fmt.Sprintf("@%d", start.Unix())); err == nil {
		rep.WatcherLog = nonEmpty(strings.Split(out, "\n"))
	}
	for _, l := range rep.WatcherLog {
		t.say("    watcher: %s", l)
	}
	for _, l := range rep.CharmLog {
		t.say("    charm:   %s", l)
	}
	if len(rep.CharmLog) > 0 {
		t.say("    REPAIRED: the graft was true again %.1f s after the disruption began (%.1f s of it systemd stopping Magnum's services, the principal's share)",
			rep.Seconds, rep.StoppingSeconds)
	} else {
		t.say("    NOTHING TO REPAIR: the graft was true and in effect %.1f s after the disruption began (%.1f s of it systemd stopping Magnum's services); the watcher's re-graft changed nothing",
			rep.Seconds, rep.StoppingSeconds)
	}
	t.say("    it cost %d service starts: %d by the disruption, %d by the charm; watcher re-grafts: %d",
		rep.ServiceStarts, rep.ServiceStarts-len(rep.CharmRestarts), len(rep.CharmRestarts), rep.Regrafts)
	return rep
}

// smokeTest runs the smoke-test action against the contract server (fake
// Keystone, Glance, Nova, Neutron and Magnum APIs) started in the box.
func (t *tour) smokeTest() error {
	// One look at CREATE_IN_PROGRESS, then CREATE_COMPLETE: the action's
	// wait shows without the demo waiting long.
	conn, err := t.box.StartFakeCloud(t.ctx, t.opts.FakeCloud, "--polls", "1")
	if err != nil {
		return err
	}
	args := []string{"add-secret", "--grant"}
	for k, v := range conn.SecretContent(nil) {
		if k != "cacert" {
			args = append(args, k+"="+v)
		}
	}
	args = append(args, "cacert#file="+conn.CAFile)
	secret, err := t.box.Fake(t.ctx, args...)
	if err != nil {
		return err
	}
	params := conn.SmokeTestParams()
	params["credentials"] = strings.TrimSpace(secret)
	params["timeout"] = "5m"
	if t.r.SmokeTest, err = t.box.Action(t.ctx, "smoke-test", params); err != nil {
		return err
	}
	res := t.r.SmokeTest
	t.say("    action smoke-test: %s %s; cluster %v: %v", res.Status, res.Message, res.Results["cluster-name"], res.Results["status"])
	rec, err := t.box.FakeCloudRecords()
	if err != nil {
		return err
	}
	for _, q := range rec.Requests {
		if strings.HasPrefix(q.Path, "/magnum/") {
			t.r.SmokeRecords = append(t.r.SmokeRecords, fmt.Sprintf("%s %d", q.Line(), q.Status))
		}
	}
	t.r.SmokeLeft = leftovers(rec)
	t.say("    the server's Magnum API was asked: %d calls; left in it afterwards: %s", len(t.r.SmokeRecords),
		orNone(strings.Join(t.r.SmokeLeft, ", ")))
	return nil
}

// leftovers are the templates and clusters that exist in the contract
// server.
func leftovers(rec fakecloud.Records) []string {
	var out []string
	for _, c := range rec.Clusters {
		out = append(out, "cluster "+c.Name)
	}
	for _, c := range rec.Templates {
		out = append(out, "template "+c.Name)
	}
	return out
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func nonEmpty(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "      " + strings.Join(lines, "\n      ")
}
