//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/realjuju"
)

// jujuSSH reaches a machine of a model with juju ssh and juju scp: the
// only way in that needs nothing but the juju client.
type jujuSSH struct {
	juju    *realjuju.CLI
	machine string
}

// Run runs argv as root with a clean environment. ssh hands the remote
// user's shell one command line, so each word is single-quoted for it.
func (r *jujuSSH) Run(ctx context.Context, argv []string) (testbed.Result, error) {
	words := []string{"sudo", "-n", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}
	var quoted []string
	for _, w := range append(words, argv...) {
		quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
	}
	cmd := exec.CommandContext(ctx, r.juju.Bin, "ssh", r.machine, "--", strings.Join(quoted, " "))
	cmd.Env = append(os.Environ(), r.juju.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := testbed.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if cmd.ProcessState != nil {
		res.Code = cmd.ProcessState.ExitCode()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = nil
	}
	if err != nil {
		return res, fmt.Errorf("juju ssh %s %v: %w", r.machine, argv, err)
	}
	return res, nil
}

// Put copies a file with juju scp (as the machine's login user, into
// /tmp) and moves it into place as root.
func (r *jujuSSH) Put(ctx context.Context, local, path string, mode os.FileMode) error {
	var tag [6]byte
	_, _ = rand.Read(tag[:])
	tmp := "/tmp/e2e-put-" + hex.EncodeToString(tag[:])
	if _, err := r.juju.Run(ctx, "scp", "--", local, r.machine+":"+tmp); err != nil {
		return err
	}
	res, err := r.Run(ctx, []string{"install", "-D", "-o", "root", "-g", "root", "-m", fmt.Sprintf("%o", mode.Perm()), tmp, path})
	_, _ = r.Run(ctx, []string{"rm", "-f", tmp})
	if err == nil && res.Code != 0 {
		err = fmt.Errorf("install %s: %s", path, res.Stderr)
	}
	return err
}
