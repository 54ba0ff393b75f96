//go:build e2e

// Package e2e is the operator's path on a real Juju: what the README's
// "Using it" section tells an operator to type, run with the packed charm
// against a real controller and a real Magnum machine. `make e2e` builds the
// charm, the fake management cluster and the smoke test's contract server
// and passes them in CHARM, FAKEK8S and FAKECLOUD.
//
// By default the controller and the machine come from the real-Juju test
// bed (testbed/realjuju), which needs a Juju release at ../shared/juju
// beside the repository (or $REALJUJU_DIST); without one the suite is
// skipped and says why. With E2E_MODEL=[controller:]model it runs instead
// against that model of the operator's own, with only the juju client
// (E2E_JUJU, else juju on PATH, with the operator's JUJU_DATA): the model
// must have a `magnum` application on a Magnum machine, and the suite
// reaches that machine with juju ssh and juju scp.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/realjuju"
)

// target is what the suite runs against.
type target struct {
	juju *realjuju.CLI
	// box is the Magnum machine: a box of the test bed, or a machine of
	// the operator's model reached with juju ssh.
	box *testbed.Box
	// machine is its Juju machine id, looked up.
	machine string
	// bed is the test bed, when the suite brought one up.
	bed *realjuju.Bed
}

var (
	on *target
	// skipped says why the suite cannot run here.
	skipped string
	// wheel and helm are the driver's wheel and helm's release tarball.
	wheel, helm  string
	charm        = os.Getenv("CHARM")
	fakek8s      = os.Getenv("FAKEK8S")
	fakecloudBin = os.Getenv("FAKECLOUD")
)

func logf(format string, args ...any) {
	fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func TestMain(m *testing.M) {
	// The suite's binary, copied onto a machine of an operator's model,
	// times repairs there (see probe).
	if len(os.Args) > 1 && os.Args[1] == probeVerb {
		os.Exit(probe(os.Args[2:]))
	}
	if charm == "" || fakek8s == "" || fakecloudBin == "" {
		fmt.Fprintln(os.Stderr, "e2e: CHARM, FAKEK8S and FAKECLOUD must name the built artifacts: run it through make e2e")
		os.Exit(1)
	}
	ctx := context.Background()
	model := os.Getenv("E2E_MODEL")
	var dist *realjuju.Dist
	var err error
	if model == "" {
		dist, err = realjuju.Unpack(realjuju.DistDir())
		if errors.Is(err, realjuju.ErrNoDist) {
			skipped = fmt.Sprintf("the real-Juju suite needs a Juju release (%v), or E2E_MODEL naming a model of your own", err)
			fmt.Println("e2e: skipped:", skipped)
			os.Exit(m.Run())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
	}
	// The operator's files that take building (the driver's wheel from the
	// real package, helm from source: minutes when cold), before any
	// machine is up to wait for them.
	if wheel, err = testbed.DriverWheel(filepath.Join(testbed.Repo(), ".cache", "testbed", "wheels", "real-"+testbed.RealDriverVersion), testbed.WheelOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the driver's wheel:", err)
		os.Exit(1)
	}
	if helm, err = testbed.HelmTarball(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: helm:", err)
		os.Exit(1)
	}
	if model != "" {
		on, err = onModel(ctx, model)
	} else {
		on, err = onTestBed(ctx, dist)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	if on.bed != nil {
		if code != 0 {
			if dir, err := on.bed.CollectLogs(); err == nil {
				fmt.Printf("e2e: failed; the machines' /var/log/juju are in %s\n", dir)
			} else {
				fmt.Printf("e2e: failed; collecting the machines' logs: %v\n", err)
			}
		}
		if err := on.bed.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: teardown:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// onTestBed brings the real-Juju test bed up.
func onTestBed(ctx context.Context, dist *realjuju.Dist) (*target, error) {
	bed, err := realjuju.Up(ctx, realjuju.Options{Dist: dist, Logf: logf})
	if err != nil {
		return nil, fmt.Errorf("the real-Juju test bed did not come up: %w", err)
	}
	return &target{juju: bed.Juju, box: bed.Magnum, machine: bed.MagnumMachine, bed: bed}, nil
}

// onModel points the suite at an operator's own model: the machine is the
// one the magnum application's first unit runs on.
func onModel(ctx context.Context, model string) (*target, error) {
	bin := os.Getenv("E2E_JUJU")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("juju"); err != nil {
			return nil, fmt.Errorf("E2E_MODEL is set but there is no juju client: %w", err)
		}
	}
	juju := &realjuju.CLI{Bin: bin, Env: []string{"JUJU_MODEL=" + model}, Logf: logf}
	st, err := juju.Status(ctx)
	if err != nil {
		return nil, err
	}
	units := st.UnitNames(principal)
	if len(units) == 0 {
		return nil, fmt.Errorf("model %s has no %s application with a unit: the suite relates the graft to it", model, principal)
	}
	machine := st.Units(principal)[units[0]].Machine
	logf("e2e: model %s, %s on machine %s", model, units[0], machine)
	return &target{juju: juju, machine: machine,
		box: &testbed.Box{Name: "machine-" + machine, Release: "bookworm", Remote: &jujuSSH{juju: juju, machine: machine}}}, nil
}
