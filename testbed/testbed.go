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
	"strings"
	"time"
)

// Unit layout inside the box, as a Juju machine agent lays it out.
const (
	UnitName   = "magnum-capi-graft/0"
	AgentDir   = "/var/lib/juju/agents/unit-magnum-capi-graft-0"
	CharmDir   = AgentDir + "/charm"
	ToolsDir   = "/var/lib/juju/tools/unit-magnum-capi-graft-0"
	FakeJuju   = "/usr/local/sbin/fakejuju"
	StateFile  = AgentDir + "/fakejuju-state.json"
	Principal  = "magnum/0"
	BoxTimeout = 5 * time.Minute
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
	// Remote, when set, is how the machine is reached: it is not a box on
	// this host, and has no root directory here (Root and Path panic).
	Remote Remote
}

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

// InstallCharm unpacks the packed .charm where Juju puts it and installs the
// fake Juju agent (its tools on the agent's tools path).
func (b *Box) InstallCharm(ctx context.Context, charm, fakejuju string) error {
	zr, err := zip.OpenReader(charm)
	if err != nil {
		return err
	}
	defer zr.Close()
	dst := b.Path(CharmDir)
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
		// Juju keeps the modes stored in the zip: dispatch stays executable.
		// A new file renamed into place, as Juju deploys a charm: the
		// running watcher keeps its binary until it is restarted.
		if err := os.WriteFile(p+".new", data, f.Mode().Perm()); err != nil {
			return err
		}
		if err := os.Rename(p+".new", p); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(fakejuju)
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.Path(FakeJuju), data, 0o755); err != nil {
		return err
	}
	_, err = b.MustRun(ctx, FakeJuju, "install-tools", ToolsDir)
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

// Artifacts are what `make` builds for the test bed: the packed charm, and
// the fake Juju agent and fake management cluster that run beside it.
type Artifacts struct {
	Charm, FakeJuju, FakeK8s string
}

// ArtifactsFromEnv reads CHARM, FAKEJUJU and FAKEK8S, as make sets them.
func ArtifactsFromEnv() (Artifacts, error) {
	a := Artifacts{Charm: os.Getenv("CHARM"), FakeJuju: os.Getenv("FAKEJUJU"), FakeK8s: os.Getenv("FAKEK8S")}
	if a.Charm == "" || a.FakeJuju == "" || a.FakeK8s == "" {
		return a, fmt.Errorf("CHARM, FAKEJUJU and FAKEK8S must name the built artifacts: run it through make")
	}
	return a, nil
}

// BootUnit boots a fresh box and makes it a unit as Juju would have it:
// the charm unpacked beside a fake Juju agent (state initialised from the
// charm's config.yaml), and a fake management cluster serving inside the
// box. The caller owns the box (Down).
func BootUnit(ctx context.Context, name, release string, a Artifacts, k8sArgs ...string) (*Box, error) {
	box, err := Up(ctx, name, release)
	if err != nil {
		return nil, err
	}
	err = box.InstallCharm(ctx, a.Charm, a.FakeJuju)
	if err == nil {
		_, err = box.Fake(ctx, "init")
	}
	if err == nil {
		err = box.StartManagementCluster(ctx, a.FakeK8s, k8sArgs...)
	}
	if err == nil {
		// The driver (the real one's files as a wheel) and a real helm, as
		// an operator attaches them.
		err = box.AttachGraftResources(ctx, "1.4.0")
	}
	if err != nil {
		_ = box.Down()
		return nil, err
	}
	return box, nil
}
