package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"/usr/local/bin/magnum-capi-graft"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLIHelp: help asked for is printed on stdout and exits 0; a usage
// error prints the usage on stderr and exits 2; every subcommand has its
// own help.
func TestCLIHelp(t *testing.T) {
	t.Setenv("JUJU_DISPATCH_PATH", "")
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, stdout, stderr := runCLI(args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Contains(t, stdout, "Usage: magnum-capi-graft <command>", "%v", args)
		assert.Contains(t, stdout, "plan", "%v", args)
		assert.Empty(t, stderr, "%v", args)
	}
	code, stdout, stderr := runCLI()
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "Usage: magnum-capi-graft <command>")

	for _, args := range [][]string{{"plan", "--help"}, {"help", "plan"}} {
		code, stdout, stderr = runCLI(args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Contains(t, stdout, "Usage: magnum-capi-graft plan", "%v", args)
		assert.Contains(t, stdout, "juju exec --unit", "%v", args)
		assert.Empty(t, stderr, "%v", args)
	}
	code, stdout, _ = runCLI("help", "watch")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Usage: magnum-capi-graft watch")
	code, stdout, _ = runCLI("version", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Usage: magnum-capi-graft version")

	code, _, stderr = runCLI("plan", "--bogus")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown flag: --bogus")
	code, _, stderr = runCLI("frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	code, _, stderr = runCLI("--version")
	assert.Equal(t, 2, code, "version is a command, not a flag")
	assert.Contains(t, stderr, `unknown command "--version"`)
}

func TestCLIVersion(t *testing.T) {
	t.Setenv("JUJU_DISPATCH_PATH", "")
	code, stdout, stderr := runCLI("version")
	assert.Equal(t, 0, code)
	assert.Equal(t, "magnum-capi-graft dev\n", stdout)
	assert.Empty(t, stderr)
}

func TestCLIPlanNeedsHookContext(t *testing.T) {
	t.Setenv("JUJU_DISPATCH_PATH", "")
	t.Setenv("JUJU_UNIT_NAME", "")
	code, _, stderr := runCLI("plan")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "juju exec --unit")
}
