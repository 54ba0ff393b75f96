// Package realjuju brings up a real Juju on this machine for the e2e suite:
// a controller machine and one Magnum machine, both systemd-nspawn boxes on
// a bridge the test bed creates, made to look like Ubuntu 24.04 to Juju
// (testbed/realjuju/image). It bootstraps with the unmanaged provider and
// local agent binaries from a Juju release (../shared/juju beside the
// repository, or $REALJUJU_DIST), adds the Magnum machine over ssh, and
// deploys a stand-in `magnum` principal on it. It tears down only what it
// started.
package realjuju

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// Names in the model the test bed makes.
const (
	ModelName  = "openstack"
	MagnumApp  = "magnum"
	sshKeyName = "testbed_ed25519"
)

// Options configure Up.
type Options struct {
	Dist *Dist
	// Logf gets progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Bed is a running real-Juju test bed.
type Bed struct {
	ID string
	// Dir holds the run's files: JUJU_DATA, HOME, the stub charms, logs.
	Dir string
	// Juju runs the juju client against the bed's model.
	Juju *CLI
	// Controller and Magnum are the two machines, as boxes on the host.
	Controller, Magnum *testbed.Box
	// MagnumAddr is the Magnum machine's address on the bridge.
	MagnumAddr netip.Addr
	// MagnumMachine is its Juju machine id.
	MagnumMachine string

	net     network
	bridged bool
}

// LogDir is where CollectLogs puts the machines' Juju logs; Down keeps it.
func (b *Bed) LogDir() string { return filepath.Join(b.Dir, "logs") }

func (b *Bed) dataDir() string { return filepath.Join(b.Dir, "juju-data") }

// Up brings the test bed up. On error everything it started is torn down
// again (after collecting the machines' logs, whose place the error names).
func Up(ctx context.Context, o Options) (bed *Bed, err error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var seed [4]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(seed[:3])
	b := &Bed{ID: id, Dir: filepath.Join(testbed.RunDir(), "realjuju-"+id)}
	defer func() {
		if err != nil {
			if dir, cerr := b.CollectLogs(); cerr == nil {
				err = fmt.Errorf("%w (Juju's logs: %s)", err, dir)
			}
			_ = b.Down()
		}
	}()
	began := time.Now()
	step := func(what string, f func() error) error {
		t0 := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		logf("realjuju: %s (%s)", what, time.Since(t0).Round(100*time.Millisecond))
		return nil
	}

	for _, d := range []string{b.dataDir(), filepath.Join(b.Dir, "home"), filepath.Join(b.Dir, "charms")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return b, err
		}
	}
	bin, err := b.sshWrappers()
	if err != nil {
		return b, err
	}
	b.Juju = &CLI{Bin: o.Dist.Bin("juju"), Dir: b.Dir, Logf: logf,
		// Juju writes ~/.local/share/juju unless JUJU_DATA is set, and it
		// runs ssh and scp from PATH (see sshWrappers); HOME keeps anything
		// else the client writes in the run too.
		Env: []string{"JUJU_DATA=" + b.dataDir(), "HOME=" + filepath.Join(b.Dir, "home"),
			"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}}

	var image, metadata string
	err = step("image and agent binaries ready", func() error {
		out, err := exec.CommandContext(ctx, filepath.Join(testbed.Repo(), "testbed", "realjuju", "image")).Output()
		if err != nil {
			return fmt.Errorf("testbed/realjuju/image: %w", exitErr(err))
		}
		image = strings.TrimSpace(string(out))
		metadata, err = o.Dist.AgentMetadata(ctx)
		return err
	})
	if err != nil {
		return b, err
	}

	// The machines log in the client with a key pair of the run. Juju
	// loads every key pair in $JUJU_DATA/ssh.
	key := filepath.Join(b.dataDir(), "ssh", sshKeyName)
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		return b, err
	}
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "realjuju-"+id, "-f", key).CombinedOutput(); err != nil {
		return b, fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return b, err
	}

	err = step("bridge up", func() error {
		prefix, err := pickPrefix(binary.BigEndian.Uint32(seed[:]))
		if err != nil {
			return err
		}
		b.net = network{Bridge: "rjuju-" + id, Prefix: prefix}
		if err := b.net.create(ctx); err != nil {
			return err
		}
		b.bridged = true
		return nil
	})
	if err != nil {
		return b, err
	}
	ctlAddr, magAddr := b.net.nth(2), b.net.nth(3)
	b.MagnumAddr = magAddr

	// Names differ in their first characters: nspawn names a box's host
	// side veth after them ("vb-" and the start of the name).
	err = step("machines created", func() error {
		var err error
		if b.Controller, err = b.createMachine(ctx, "jujuc-"+id, image, ctlAddr, pub, true); err != nil {
			return err
		}
		b.Magnum, err = b.createMachine(ctx, "magnum-"+id, image, magAddr, pub, false)
		return err
	})
	if err != nil {
		return b, err
	}

	// The Magnum machine boots (and Magnum starts, ~30 s) while the
	// controller is bootstrapped.
	magnumUp := make(chan error, 1)
	go func() {
		t0 := time.Now()
		err := b.Magnum.Start(ctx)
		if err == nil {
			err = awaitTCP(ctx, magAddr.String()+":22", time.Minute)
		}
		if err == nil {
			logf("realjuju: Magnum machine up, Magnum running (%s)", time.Since(t0).Round(100*time.Millisecond))
		}
		magnumUp <- err
	}()
	waitMagnum := func() error {
		select {
		case err := <-magnumUp:
			magnumUp <- err
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() {
		if err != nil {
			_ = waitMagnum() // never tear down a box while it is booting
		}
	}()

	err = step("controller machine up", func() error {
		if err := b.Controller.Start(ctx); err != nil {
			return err
		}
		return awaitTCP(ctx, ctlAddr.String()+":22", time.Minute)
	})
	if err != nil {
		return b, err
	}

	stub := filepath.Join(b.Dir, "charms", "juju-controller.charm")
	if err := WriteCharm(stub, ControllerCharm); err != nil {
		return b, err
	}
	controller := "realjuju-" + id
	err = step("bootstrap", func() error {
		_, err := b.Juju.Run(ctx, "bootstrap", "unmanaged/ubuntu@"+ctlAddr.String(), controller,
			"--metadata-source", metadata, "--controller-charm-path", stub,
			"--config", "enable-os-refresh-update=false", "--config", "enable-os-upgrade=false")
		return err
	})
	if err != nil {
		return b, err
	}
	err = step("model "+ModelName+" added", func() error {
		if _, err := b.Juju.Run(ctx, "model-defaults", "enable-os-refresh-update=false", "enable-os-upgrade=false"); err != nil {
			return err
		}
		_, err := b.Juju.Run(ctx, "add-model", ModelName)
		return err
	})
	if err != nil {
		return b, err
	}
	// From here on every command is for the model, as after `juju switch`.
	b.Juju.Env = append(b.Juju.Env, "JUJU_MODEL="+controller+":"+ModelName)

	if err := waitMagnum(); err != nil {
		return b, fmt.Errorf("the Magnum machine: %w", err)
	}
	err = step("Magnum machine added", func() error {
		if _, err := b.Juju.Run(ctx, "add-machine", "ssh:ubuntu@"+magAddr.String()); err != nil {
			return err
		}
		_, err := b.Juju.AwaitStatus(ctx, 5*time.Minute, func(st *Status) (bool, string) {
			id, ok := st.MachineAt(magAddr.String())
			if !ok {
				return false, "no machine at " + magAddr.String()
			}
			b.MagnumMachine = id
			m := st.Machines[id]
			return m.JujuStatus.Current == "started", "machine " + id + ": " + m.JujuStatus.String()
		})
		return err
	})
	if err != nil {
		return b, err
	}
	err = step("magnum deployed", func() error {
		charm := filepath.Join(b.Dir, "charms", "magnum.charm")
		if err := WriteCharm(charm, MagnumCharm); err != nil {
			return err
		}
		if _, err := b.Juju.Run(ctx, "deploy", charm, MagnumApp, "--to", b.MagnumMachine); err != nil {
			return err
		}
		_, err := b.Juju.AwaitStatus(ctx, 5*time.Minute, func(st *Status) (bool, string) {
			for name, u := range st.Units(MagnumApp) {
				return u.WorkloadStatus.Current == "active" && u.JujuStatus.Current == "idle",
					name + ": " + u.WorkloadStatus.String() + ", agent " + u.JujuStatus.String()
			}
			return false, "no magnum unit yet"
		})
		return err
	})
	if err != nil {
		return b, err
	}
	logf("realjuju: test bed %s up in %s: controller %s, Magnum machine %s (%s)", id,
		time.Since(began).Round(time.Second), ctlAddr, b.MagnumMachine, magAddr)
	return b, nil
}

// createMachine unpacks a machine from the image and makes it this run's:
// its hostname, its static address, the run's ssh key for ubuntu, and on
// the controller Magnum's services masked (the same image serves both).
func (b *Bed) createMachine(ctx context.Context, name, image string, addr netip.Addr, pub []byte, controller bool) (*testbed.Box, error) {
	box, err := testbed.Create(ctx, name, "bookworm", testbed.BoxOptions{Image: image, Bridge: b.net.Bridge, NoMagnum: controller})
	if err != nil {
		return nil, err
	}
	uid, gid, err := passwdIDs(box.Path("/etc/passwd"), "ubuntu")
	if err == nil {
		err = os.WriteFile(box.Path("/etc/hostname"), []byte(name+"\n"), 0o644)
	}
	if err == nil {
		err = os.WriteFile(box.Path("/etc/systemd/network/10-host0.network"), []byte(b.net.networkdFile(addr)), 0o644)
	}
	keys := box.Path("/home/ubuntu/.ssh/authorized_keys")
	if err == nil {
		err = os.WriteFile(keys, pub, 0o600)
	}
	if err == nil {
		err = os.Chown(keys, uid, gid)
	}
	if err == nil {
		err = b.hostKeys(ctx, box, addr)
	}
	if controller {
		for _, svc := range []string{"magnum-api.service", "magnum-conductor.service"} {
			if err == nil {
				err = os.Symlink("/dev/null", box.Path("/etc/systemd/system/"+svc))
			}
		}
	}
	if err != nil {
		_ = box.Down()
		return nil, fmt.Errorf("prepare machine %s: %w", name, err)
	}
	return box, nil
}

// sshWrappers puts ssh and scp wrappers in the run's bin directory that
// give the real ones the run's ssh configuration: host keys are checked
// against the run's known_hosts (hostKeys writes it) and nothing else. Juju
// runs ssh without options for manual provisioning (Juju 3.6:
// environs/manual/sshprovisioner, checkProvisioned), and ssh reads
// ~/.ssh from the user's passwd entry, not from $HOME: without this it
// would answer "Host key verification failed" (seen), or read and write
// the host user's own files.
func (b *Bed) sshWrappers() (string, error) {
	bin := filepath.Join(b.Dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	config := filepath.Join(b.Dir, "ssh_config")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`Host *
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
`, b.knownHosts())), 0o644); err != nil {
		return "", err
	}
	for _, name := range []string{"ssh", "scp"} {
		real, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("the juju client needs %s (openssh-client): %w", name, err)
		}
		script := fmt.Sprintf("#!/bin/sh\nexec '%s' -F '%s' \"$@\"\n", real, config)
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			return "", err
		}
	}
	return bin, nil
}

func (b *Bed) knownHosts() string { return filepath.Join(b.Dir, "known_hosts") }

// hostKeys generates the machine's ssh host keys into its disk and adds
// them to the client's known_hosts for its address: Juju's ssh checks host
// keys strictly (Juju 3.6: internal/provider/common/bootstrap.go,
// hostBootstrapSSHOptions; 4.0.15 refused an unknown key, seen),
// and each copy of the image gets keys of its own.
func (b *Bed) hostKeys(ctx context.Context, box *testbed.Box, addr netip.Addr) error {
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-A", "-f", box.Root()).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen -A: %v: %s", err, out)
	}
	pubs, _ := filepath.Glob(box.Path("/etc/ssh/ssh_host_*_key.pub"))
	if len(pubs) == 0 {
		return fmt.Errorf("ssh-keygen -A made no host keys in %s", box.Root())
	}
	var lines []byte
	for _, p := range pubs {
		k, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f := strings.Fields(string(k))
		if len(f) < 2 {
			return fmt.Errorf("%s: not a public key", p)
		}
		lines = append(lines, []byte(addr.String()+" "+f[0]+" "+f[1]+"\n")...)
	}
	f, err := os.OpenFile(b.knownHosts(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(lines); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// passwdIDs reads a user's uid and gid from a passwd file.
func passwdIDs(passwd, user string) (int, int, error) {
	data, err := os.ReadFile(passwd)
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 4 && f[0] == user {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err1 == nil && err2 == nil {
				return uid, gid, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("%s has no user %s", passwd, user)
}

// CollectLogs copies /var/log/juju of both machines into LogDir and
// returns it.
func (b *Bed) CollectLogs() (string, error) {
	var errs []error
	for _, m := range []*testbed.Box{b.Controller, b.Magnum} {
		if m == nil {
			continue
		}
		src := m.Path("/var/log/juju")
		if _, err := os.Stat(src); err != nil {
			continue
		}
		dst := filepath.Join(b.LogDir(), m.Name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return "", err
		}
		if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("copy %s: %v: %s", src, err, out))
		}
	}
	return b.LogDir(), errors.Join(errs...)
}

// Down stops and deletes both machines and the bridge, and the run's files
// but its collected logs.
func (b *Bed) Down() error {
	var errs []error
	for _, m := range []*testbed.Box{b.Magnum, b.Controller} {
		if m != nil {
			errs = append(errs, m.Down())
		}
	}
	if b.bridged {
		errs = append(errs, b.net.delete())
		b.bridged = false
	}
	entries, _ := os.ReadDir(b.Dir)
	for _, e := range entries {
		if e.Name() != "logs" {
			errs = append(errs, os.RemoveAll(filepath.Join(b.Dir, e.Name())))
		}
	}
	_ = os.Remove(b.Dir) // only when empty: collected logs stay
	return errors.Join(errs...)
}

// exitErr adds a command's stderr to its error.
func exitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
