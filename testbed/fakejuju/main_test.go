package fakejuju_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// fakejujuBin is the fakejuju binary, built once by TestMain.
var fakejujuBin string

// TestMain builds the real fakejuju binary for the process-level tests. The
// test binary doubles as two helper programs, chosen by how it is invoked:
// as "<charm>/dispatch" it is a tiny charm that drives the hook tools
// through hooktool's ExecRunner, and with the argument
// "fakejuju-test-printenv" it reports the environment it was given.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "dispatch" {
		os.Exit(testDispatch())
	}
	if len(os.Args) > 1 && os.Args[1] == "fakejuju-test-printenv" {
		os.Exit(printEnv())
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fakejuju-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	fakejujuBin = filepath.Join(dir, "fakejuju")
	build := exec.Command("go", "build", "-o", fakejujuBin, "github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju/cmd/fakejuju")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building fakejuju: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// envReport is what the helper programs print about themselves.
type envReport struct {
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
	Args []string `json:"args"`
}

func printEnv() int {
	cwd, _ := os.Getwd()
	json.NewEncoder(os.Stdout).Encode(envReport{Env: os.Environ(), Cwd: cwd, Args: os.Args})
	return 0
}

// testDispatch is the helper charm. Every hook tool call goes through the
// real hooktool.Juju and ExecRunner, so PATH, tool symlinks and the state
// file must all be wired as in a real hook for it to work.
func testDispatch() int {
	ctx := context.Background()
	juju := hooktool.New(hooktool.ExecRunner{})
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "dispatch:", err)
		return 1
	}
	switch os.Getenv("JUJU_DISPATCH_PATH") {
	case "hooks/env-dump":
		printEnv()
		fmt.Fprintln(os.Stderr, "env-dump on stderr")
		code, _ := strconv.Atoi(os.Getenv("HOOK_EXIT"))
		return code
	case "hooks/config-changed":
		cfg, err := juju.ConfigGet(ctx)
		if err != nil {
			return fail(err)
		}
		uri, _ := cfg["kubeconfig"].(string)
		content, err := juju.SecretGet(ctx, uri, hooktool.SecretRefresh)
		if err != nil {
			return fail(err)
		}
		if err := juju.Log(ctx, hooktool.Info, fmt.Sprintf("kubeconfig has %d keys", len(content))); err != nil {
			return fail(err)
		}
		if err := juju.StatusSet(ctx, hooktool.Active, "ready"); err != nil {
			return fail(err)
		}
		return 0
	case "actions/investigate":
		params, err := juju.ActionGet(ctx)
		if err != nil {
			return fail(err)
		}
		if err := juju.ActionLog(ctx, "inspecting magnum-api"); err != nil {
			return fail(err)
		}
		results := map[string]any{"api": map[string]any{"wiring": "default-file"}, "depth": params["depth"]}
		if err := juju.ActionSet(ctx, results); err != nil {
			return fail(err)
		}
		if params["fail"] == true {
			if err := juju.ActionFail(ctx, "asked to fail"); err != nil {
				return fail(err)
			}
		}
		fmt.Println("investigate stdout")
		return 0
	case "actions/crash":
		return 3
	}
	return fail(fmt.Errorf("unexpected JUJU_DISPATCH_PATH %q", os.Getenv("JUJU_DISPATCH_PATH")))
}

// run runs Main in process.
func run(env map[string]string, argv ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = mainWith(argv, &out, &errb, env)
	return out.String(), errb.String(), code
}
