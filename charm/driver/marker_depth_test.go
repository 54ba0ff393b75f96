package driver

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMarkerNestingIsBounded: a Requires-Dist marker with millions of
// parentheses (a wheel of a few KiB) must be refused, not overflow the
// stack, which is fatal to the hook on every retry. The deep case runs in a
// child process, so that the bug, if it comes back, fails this test instead
// of killing the whole test binary.
func TestMarkerNestingIsBounded(t *testing.T) {
	env := map[string]string{"python_version": "3.13"}
	nest := func(n int) string {
		return strings.Repeat("(", n) + `python_version >= "3"` + strings.Repeat(")", n)
	}
	if os.Getenv("MARKER_DEPTH_CHILD") == "1" {
		// A small stack makes an unbounded recursion fail fast.
		debug.SetMaxStack(64 << 20)
		_, err := evalMarker(nest(5_000_000), env)
		if err == nil || !strings.Contains(err.Error(), "nested more than 32 deep") {
			os.Exit(3)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMarkerNestingIsBounded$")
	cmd.Env = append(os.Environ(), "MARKER_DEPTH_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child: %.2000s", out)

	ok, err := evalMarker(nest(maxMarkerDepth), env)
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = evalMarker(nest(maxMarkerDepth+1), env)
	assert.ErrorContains(t, err, "nested more than 32 deep")
	// The error does not quote a marker of any length whole.
	assert.Less(t, len(err.Error()), 300)
}
