package fakejuju

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// Runner is a hooktool.Runner that runs the fake's hook tools in process:
// no binaries, no PATH, but the same argv parsing, output and errors as the
// fakejuju binary, so unit tests exercise the real hooktool.Juju. Relation
// settings a hook sets stay pending until the test ends the hook with
// EndHook, as Juju commits them only when a hook succeeds. For a relation
// hook, set the variables RelationHook.Vars gives in Env.
type Runner struct {
	// StatePath is the state file the tools read and write.
	StatePath string
	// Env is the hook environment the tools see. Leave JUJU_ACTION_UUID
	// unset to act inside an action set up with an empty UUID (as tests do
	// with State.Action); set it to run as a hook beside an action.
	Env map[string]string
}

var _ hooktool.Runner = (*Runner)(nil)

// NewRunner returns a Runner over the state file at statePath.
func NewRunner(statePath string) *Runner {
	return &Runner{StatePath: statePath, Env: map[string]string{}}
}

// Run implements hooktool.Runner.
func (r *Runner) Run(ctx context.Context, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("fakejuju: empty argv")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	if _, ok := tools[argv[0]]; !ok {
		// What exec would say for a tool Juju does not provide.
		return nil, fmt.Errorf("%s: %w", argv[0], exec.ErrNotFound)
	}
	env := func(k string) string {
		if k == "FAKEJUJU_STATE" {
			return r.StatePath
		}
		return r.Env[k]
	}
	var stdout, stderr bytes.Buffer
	code := Main(argv, bytes.NewReader(nil), &stdout, &stderr, env)
	if strings.Contains(stderr.String(), ErrSecretLeak.Error()) {
		// Loud on purpose: the charm may ignore a tool's error (a log
		// line that fails is not worth failing a hook for), and a leak
		// must fail whichever test caused it.
		panic(strings.TrimSpace(stderr.String()))
	}
	if code != 0 {
		return stdout.Bytes(), &hooktool.ExitError{Tool: argv[0], Code: code, Stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}
