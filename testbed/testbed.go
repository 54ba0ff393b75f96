// Package testbed drives real Magnum units in boxes for the integration
// tests, the demo and the benchmark: it boots a box from the cached root
// filesystem (testbed/rootfs, testbed/box), unpacks the packed charm where
// Juju puts it, installs the fake Juju agent beside it, and runs hooks and
// actions exactly as Juju would: by running the charm's dispatch.
package testbed

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// Unit layout inside the box, as a Juju machine agent lays it out, for the
// unit a single-unit box runs (a box of several runs Box.Unit: see the
// methods of the same names).
const (
	UnitName = "magnum-capi-graft/0"
	AgentDir = "/var/lib/juju/agents/unit-magnum-capi-graft-0"
	CharmDir = AgentDir + "/charm"
	ToolsDir = "/var/lib/juju/tools/unit-magnum-capi-graft-0"
	FakeJuju = "/usr/local/sbin/fakejuju"
	// JujuExec is where a machine has juju-exec (a link to jujud there, to
	// the fake agent here, which runs Juju's own juju-exec under that name).
	JujuExec = "/usr/bin/juju-exec"
	// AgentService is the fake unit agent's service: it serves juju-exec
	// for the unit, as jujud does on a machine.
	AgentService = "fakejuju-agent.service"
	StateFile    = AgentDir + "/fakejuju-state.json"
	Principal    = "magnum/0"
	BoxTimeout   = 5 * time.Minute
)

// Repo is the repository's top directory.
func Repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Box is one booted Magnum unit: a box on this host, or, with Remote, a
// machine reached some other way.
type Box struct {
	Name    string
	Release string
	// Unit is the subordinate unit the box runs, magnum-capi-graft/N beside
	// the principal magnum/N; empty means UnitName.
	Unit string
	// Remote, when set, is how the machine is reached: it is not a box on
	// this host, and has no root directory here (Root and Path panic).
	Remote Remote
}

// UnitName is the subordinate unit the box runs.
func (b *Box) UnitName() string {
	if b.Unit == "" {
		return UnitName
	}
	return b.Unit
}

// Principal is the principal unit beside it: magnum/N for
// magnum-capi-graft/N.
func (b *Box) Principal() string {
	_, n, _ := strings.Cut(b.UnitName(), "/")
	return "magnum/" + n
}

func (b *Box) unitTag() string { return "unit-" + strings.ReplaceAll(b.UnitName(), "/", "-") }

// AgentDir, CharmDir, ToolsDir and StateFile are the unit's paths inside
// the box (the constants of the same names for UnitName).
func (b *Box) AgentDir() string  { return "/var/lib/juju/agents/" + b.unitTag() }
func (b *Box) CharmDir() string  { return b.AgentDir() + "/charm" }
func (b *Box) ToolsDir() string  { return "/var/lib/juju/tools/" + b.unitTag() }
func (b *Box) StateFile() string { return b.AgentDir() + "/fakejuju-state.json" }

func script(name string) string { return filepath.Join(Repo(), "testbed", name) }

// RunDir is where boxes live while they run: $TESTBED_RUN, as testbed/box
// reads it, else <repo>/.cache/testbed/run.
func RunDir() string {
	if d := os.Getenv("TESTBED_RUN"); d != "" {
		return d
	}
	return filepath.Join(Repo(), ".cache", "testbed", "run")
}

// Up boots a fresh box. Its name must be unique among running boxes.
func Up(ctx context.Context, name, release string) (*Box, error) {
	b, err := Create(ctx, name, release, BoxOptions{})
	if err != nil {
		return nil, err
	}
	if err := b.Start(ctx); err != nil {
		_ = b.Down()
		return nil, err
	}
	return b, nil
}

// BoxOptions say how a box differs from a Magnum unit with only loopback.
type BoxOptions struct {
	// Image is a tarball to unpack instead of testbed/rootfs RELEASE.
	Image string
	// Bridge puts the box on this host bridge (a veth, host0 inside)
	// instead of a private network with only loopback.
	Bridge string
	// NoMagnum makes Start wait only for systemd, not for Magnum.
	NoMagnum bool
	// APIWorkers, when not 0, is how many uWSGI workers magnum-api runs
	// (testbed/box create --api-workers), set before the first boot.
	APIWorkers int
}

// Create unpacks a fresh box's disk without booting it, so that files can be
// put on it (Path) before Start. Its name must be unique among boxes; a
// stopped leftover of the same name is deleted first.
func Create(ctx context.Context, name, release string, o BoxOptions) (*Box, error) {
	b := &Box{Name: name, Release: release}
	_ = exec.Command(script("box"), "down", name).Run()
	args := []string{"create", name, release}
	if o.Image != "" {
		args = append(args, "--image", o.Image)
	}
	if o.Bridge != "" {
		args = append(args, "--bridge", o.Bridge)
	}
	if o.NoMagnum {
		args = append(args, "--wait", "system")
	}
	if o.APIWorkers > 0 {
		args = append(args, "--api-workers", strconv.Itoa(o.APIWorkers))
	}
	if out, err := exec.CommandContext(ctx, script("box"), args...).CombinedOutput(); err != nil {
		_ = b.Down()
		return nil, fmt.Errorf("create box %s: %v\n%s", name, err, out)
	}
	return b, nil
}

// Start boots a created box and waits until Magnum is up (or, with
// NoMagnum, until systemd is).
func (b *Box) Start(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, script("box"), "start", b.Name)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("boot box %s: %v\n%s", b.Name, err, out.String())
	}
	return nil
}

// Reboot shuts the box down cleanly and boots it again on the same disk,
// as a machine reboot would; it returns once Magnum is up again.
// Transient units (the fake management cluster) are gone after it.
func (b *Box) Reboot(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, script("box"), "reboot", b.Name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("reboot box %s: %v\n%s", b.Name, err, out)
	}
	return nil
}

// Down halts and deletes the box.
func (b *Box) Down() error {
	out, err := exec.Command(script("box"), "down", b.Name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("box down %s: %v: %s", b.Name, err, out)
	}
	return nil
}

// Root is the box's root directory on the host.
func (b *Box) Root() string {
	if b.Remote != nil {
		panic("testbed: machine " + b.Name + " is remote: it has no root directory on this host")
	}
	out, err := exec.Command(script("box"), "root", b.Name).Output()
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(out))
}

// PID1 is the box's PID 1 (systemd), as the host sees it.
func (b *Box) PID1() (int, error) {
	out, err := exec.Command(script("box"), "pid", b.Name).Output()
	if err != nil {
		return 0, fmt.Errorf("box %s has no PID 1: %w", b.Name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// Path maps a path inside the box to the host.
func (b *Box) Path(p string) string { return filepath.Join(b.Root(), p) }

// Result is a finished command in the box.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs argv inside the box with a clean environment (never a shell
// string). A non-zero exit is not an error here; callers assert on Code.
func (b *Box) Run(ctx context.Context, argv ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, BoxTimeout)
	defer cancel()
	if b.Remote != nil {
		return b.Remote.Run(ctx, argv)
	}
	cmd := exec.CommandContext(ctx, script("box"), append([]string{"exec", b.Name}, argv...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if cmd.ProcessState != nil {
		res.Code = cmd.ProcessState.ExitCode()
	}
	if err != nil && res.Code <= 0 {
		return res, fmt.Errorf("run %v in box: %w: %s", argv, err, res.Stderr)
	}
	return res, nil
}

// MustRun runs argv and fails on a non-zero exit.
func (b *Box) MustRun(ctx context.Context, argv ...string) (string, error) {
	res, err := b.Run(ctx, argv...)
	if err != nil {
		return "", err
	}
	if res.Code != 0 {
		return res.Stdout, fmt.Errorf("%v exited %d: %s%s", argv, res.Code, res.Stdout, res.Stderr)
	}
	return res.Stdout, nil
}

// InstallCharm unpacks the packed .charm where Juju puts it.
func (b *Box) InstallCharm(ctx context.Context, charm string) error {
	zr, err := zip.OpenReader(charm)
	if err != nil {
		return err
	}
	defer zr.Close()
	dst := b.Path(b.CharmDir())
	for _, f := range zr.File {
		p := filepath.Join(dst, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
		// Juju keeps the modes stored in the zip: the binary stays
		// executable, and dispatch stays a symlink to it (juju/utils
		// zip.ExtractAll). A new file renamed into place, as Juju deploys
		// a charm: the running watcher keeps its binary until it is
		// restarted.
		if f.Mode()&os.ModeSymlink != 0 {
			if err := replaceSymlink(string(data), p); err != nil {
				return err
			}
			continue
		}
		if err := writeFile(p, data, f.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// replaceSymlink makes p a symlink to target, renamed into place.
func replaceSymlink(target, p string) error {
	_ = os.Remove(p + ".new")
	if err := os.Symlink(target, p+".new"); err != nil {
		return err
	}
	return os.Rename(p+".new", p)
}

// writeFile writes data to a new file renamed into place.
func writeFile(p string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p+".new", data, mode); err != nil {
		return err
	}
	return os.Rename(p+".new", p)
}

// agentUnit is the fake unit agent's systemd unit: a real unit file,
// enabled, so that juju-exec works again after a reboot, as on a machine.
func agentUnit(unit string) string {
	return `[Unit]
Description=Fake Juju unit agent for ` + unit + ` (test bed): serves juju-exec

[Service]
Environment=FAKEJUJU_UNIT=` + unit + `
ExecStart=` + FakeJuju + ` agent
Restart=on-failure

[Install]
WantedBy=multi-user.target
`
}

// InstallAgent makes the box a Juju machine for the unit as far as the
// charm can tell: the fake unit agent, Juju's own hook tools (jujuc, linked
// under every tool's name in the unit's tools directory), Juju's own
// juju-exec at /usr/bin/juju-exec, and the agent's service serving it.
func (b *Box) InstallAgent(ctx context.Context, a Artifacts) error {
	for src, dst := range map[string]string{a.FakeJuju: FakeJuju, a.JujuC: filepath.Join(b.ToolsDir(), "jujuc")} {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := writeFile(b.Path(dst), data, 0o755); err != nil {
			return err
		}
	}
	if _, err := b.MustRun(ctx, FakeJuju, "install-tools", b.ToolsDir()); err != nil {
		return err
	}
	if _, err := b.MustRun(ctx, "ln", "-sfn", FakeJuju, JujuExec); err != nil {
		return err
	}
	if err := writeFile(b.Path("/etc/systemd/system/"+AgentService), []byte(agentUnit(b.UnitName())), 0o644); err != nil {
		return err
	}
	if _, err := b.MustRun(ctx, "systemctl", "daemon-reload"); err != nil {
		return err
	}
	_, err := b.MustRun(ctx, "systemctl", "enable", "--now", AgentService)
	return err
}

// ManagementKubeconfig is where the fake management cluster inside the box
// writes its kubeconfig once it serves.
const ManagementKubeconfig = "/root/fakek8s/kubeconfig"

// StartManagementCluster runs the fake Kubernetes management cluster
// (testbed/fakek8s) inside the box as a transient systemd service on
// 127.0.0.1:6443, and waits until it serves.
func (b *Box) StartManagementCluster(ctx context.Context, fakek8s string, args ...string) error {
	if err := b.Put(ctx, fakek8s, "/usr/local/sbin/fakek8s", 0o755); err != nil {
		return err
	}
	argv := append([]string{"systemd-run", "--unit", "fakek8s", "/usr/local/sbin/fakek8s", "serve",
		"--state-dir", filepath.Dir(ManagementKubeconfig)}, args...)
	if _, err := b.MustRun(ctx, argv...); err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if _, err := b.Stat(ManagementKubeconfig); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := b.MustRun(ctx, "journalctl", "-u", "fakek8s", "--no-pager")
	return fmt.Errorf("fake management cluster did not start:\n%s", out)
}

// Artifacts are what `make` builds for the test bed: the packed charm, the
// fake Juju agent (testbed/juju), Juju's own hook-tool client (jujuc), the
// fake management cluster that runs beside them, the smoke test's contract
// server (FakeCloud) and the world outside the unit (Outside: a proxy and a
// chart repository behind it), which only some tests start.
type Artifacts struct {
	Charm, FakeJuju, JujuC, FakeK8s, FakeCloud, Outside string
}

// ArtifactsFromEnv reads CHARM, FAKEJUJU, JUJUC, FAKEK8S, FAKECLOUD and
// OUTSIDE, as make sets them.
func ArtifactsFromEnv() (Artifacts, error) {
	a := Artifacts{Charm: os.Getenv("CHARM"), FakeJuju: os.Getenv("FAKEJUJU"), JujuC: os.Getenv("JUJUC"),
		FakeK8s: os.Getenv("FAKEK8S"), FakeCloud: os.Getenv("FAKECLOUD"), Outside: os.Getenv("OUTSIDE")}
	if a.Charm == "" || a.FakeJuju == "" || a.JujuC == "" || a.FakeK8s == "" || a.FakeCloud == "" || a.Outside == "" {
		return a, fmt.Errorf("CHARM, FAKEJUJU, JUJUC, FAKEK8S, FAKECLOUD and OUTSIDE must name the built artifacts: run it through make")
	}
	return a, nil
}

// BootUnit boots a fresh box and makes it a unit as Juju would have it:
// the charm unpacked beside a fake Juju agent (state initialised from the
// charm's config.yaml), a fake management cluster serving inside the box
// (k8sArgs are its flags), and the driver d and a real helm attached as
// resources. The caller owns the box (Down).
func BootUnit(ctx context.Context, name, release string, a Artifacts, d Driver, k8sArgs ...string) (*Box, error) {
	return BootUnitWith(ctx, name, release, a, UnitOptions{Driver: d, K8sArgs: k8sArgs})
}

// UnitOptions say how BootUnitWith makes a box: for a test bed of several
// units, which unit it is, and what the units share.
type UnitOptions struct {
	// Unit is the subordinate unit, magnum-capi-graft/N beside the
	// principal magnum/N; empty means UnitName.
	Unit string
	// APIWorkers, when not 0, is how many uWSGI workers magnum-api runs:
	// the test bed sets it in /etc/magnum/magnum-api-uwsgi.ini before the
	// box first boots, so before the charm is installed. Debian's ini
	// runs 8, each loading all of Magnum; several boxes of 8 do not fit a
	// 2-core machine.
	APIWorkers int
	// Credentials, when set, are the fake management cluster's: boxes
	// that share them serve the same kubeconfig, so that one secret
	// serves every unit, as one secret serves an application in a model.
	Credentials *fakek8s.Credentials
	// K8sArgs are more flags for the fake management cluster.
	K8sArgs []string
	// Driver is the driver wheel attached (RealDriver when zero).
	Driver Driver
}

// BootUnitWith is BootUnit with options.
func BootUnitWith(ctx context.Context, name, release string, a Artifacts, o UnitOptions) (*Box, error) {
	box, err := Create(ctx, name, release, BoxOptions{APIWorkers: o.APIWorkers})
	if err == nil {
		if err = box.Start(ctx); err != nil {
			_ = box.Down()
		}
	}
	if err != nil {
		return nil, err
	}
	box.Unit = o.Unit
	err = box.InstallCharm(ctx, a.Charm)
	if err == nil {
		err = box.InstallAgent(ctx, a)
	}
	if err == nil {
		_, err = box.Fake(ctx, "init", "--principal", box.Principal())
	}
	if err == nil && o.Credentials != nil {
		err = o.Credentials.Save(box.Path(filepath.Dir(ManagementKubeconfig)))
	}
	if err == nil {
		err = box.StartManagementCluster(ctx, a.FakeK8s, o.K8sArgs...)
	}
	if err == nil {
		// The driver and a real helm, as an operator attaches them.
		_, err = box.AttachGraftResources(ctx, o.Driver)
	}
	if err != nil {
		_ = box.Down()
		return nil, err
	}
	return box, nil
}
