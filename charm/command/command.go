// Package command runs programs on the unit from argv lists: never through a
// shell, always with a deadline, optionally as another user with an exact
// environment. Every non-Juju program the charm runs goes through here, so
// "no shell strings" holds by construction.
package command

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds a command that sets no Timeout of its own. Hooks hold
// the machine lock, so nothing may hang.
const DefaultTimeout = 30 * time.Second

// Cmd describes one program run.
type Cmd struct {
	Argv []string
	// Env, when non-nil, is the whole environment; nil inherits the charm's.
	Env []string
	// User, when set, runs the program as that user and its primary group.
	User  string
	Dir   string
	Stdin []byte
	// Timeout overrides DefaultTimeout.
	Timeout time.Duration
}

// Result is what a finished program left behind.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Error is a program that could not run, exited non-zero or timed out. Its
// text carries the program name, exit code and the tail of stderr: enough to
// act on, and never the program's input.
type Error struct {
	Argv0    string
	ExitCode int
	Stderr   string
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Argv0, e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs c and returns its output. A non-zero exit is an *Error; the Result
// is filled in either way.
func Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{}, fmt.Errorf("command: empty argv")
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	stdout, stderr := &capped{max: MaxStdout, overflow: cancel}, &capped{max: MaxStderr, keepTail: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Kill the whole process group on timeout: a wrapper script's children
	// must not outlive the hook.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if c.User != "" {
		cred, err := credential(c.User)
		if err != nil {
			return Result{}, &Error{Argv0: c.Argv[0], ExitCode: -1, Err: err}
		}
		cmd.SysProcAttr.Credential = cred
	}
	err := cmd.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: cmd.ProcessState.ExitCode()}
	if err != nil {
		switch {
		case stdout.err != nil:
			err = stdout.err
		case ctx.Err() == context.DeadlineExceeded:
			err = fmt.Errorf("timed out after %s", timeout)
		}
		return res, &Error{Argv0: c.Argv[0], ExitCode: res.ExitCode, Stderr: Tail(res.Stderr, 5), Err: err}
	}
	return res, nil
}

// Output runs c and returns its trimmed stdout.
func Output(ctx context.Context, c Cmd) (string, error) {
	res, err := Run(ctx, c)
	return strings.TrimSpace(string(res.Stdout)), err
}

// Tail returns the last n non-empty lines of out, joined by " | ".
func Tail(out []byte, n int) string {
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// credential resolves a user name to the uid, primary gid and supplementary
// groups the program should run with, as login(1) would set them.
func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}
