package realjuju

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CLI runs the juju client as an operator would type it: argv only, no
// shell, in a fixed environment (JUJU_DATA and, for the model, JUJU_MODEL,
// so the commands themselves read as the README's).
type CLI struct {
	// Bin is the juju client.
	Bin string
	// Env is added to the environment of every command.
	Env []string
	// Dir is where commands run: relative paths in them (./x.charm,
	// kubeconfig#file=...) are relative to it.
	Dir string
	// Logf, when set, gets every command and how long it took.
	Logf func(format string, args ...any)
}

// Run runs `juju args...` and returns its stdout; a non-zero exit is an
// error carrying stderr.
func (c *CLI) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if c.Logf != nil {
		c.Logf("$ juju %s  (%s)", strings.Join(args, " "), time.Since(start).Round(10*time.Millisecond))
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("juju %s: %v: %s%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()), tail(stdout.String()))
	}
	return stdout.String(), nil
}

// JSON runs a command that prints JSON (--format=json is added) and
// decodes its output into v.
func (c *CLI) JSON(ctx context.Context, v any, args ...string) error {
	out, err := c.Run(ctx, append(args, "--format=json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("juju %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return "\n" + s
}
