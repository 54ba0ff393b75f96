package fakek8s_test

import (
	"bytes"
	"context"
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakek8s"
)

// syncBuffer is a bytes.Buffer the serving goroutine and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveCLI runs "fakek8s serve args..." in the background until the
// returned stop is called, which returns the exit status, and waits for its
// kubeconfig.
func serveCLI(t *testing.T, stateDir string, args ...string) (kubeconfig []byte, stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- fakek8s.Main(ctx, append([]string{"serve", "--state-dir", stateDir}, args...), &bytes.Buffer{}, stderr)
	}()
	stopped := false
	stop = func() int {
		if stopped {
			return -1
		}
		stopped = true
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("fakek8s serve did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	kubeconfig = waitForKubeconfig(t, filepath.Join(stateDir, fakek8s.KubeconfigFile), code, stderr)
	return kubeconfig, stderr, stop
}

func waitForKubeconfig(t *testing.T, path string, exited <-chan int, stderr *syncBuffer) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil {
			info, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			return data
		}
		select {
		case c := <-exited:
			t.Fatalf("fakek8s serve exited %d: %s", c, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no kubeconfig after 10s: %s", stderr)
	return nil
}

func serverOf(t *testing.T, kubeconfig []byte) string {
	var doc struct {
		Clusters []struct {
			Cluster struct{ Server string } `yaml:"cluster"`
		} `yaml:"clusters"`
	}
	require.NoError(t, yaml.Unmarshal(kubeconfig, &doc))
	return strings.TrimPrefix(doc.Clusters[0].Cluster.Server, "https://")
}

func TestServeCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fakek8s")
	held, stderr, stop := serveCLI(t, dir, "--listen", "127.0.0.1:0", "--capi", "v1alpha6", "--auth", "token",
		"--deny", "create/namespaces", "--missing-group", "addons.stackhpc.com")
	addr := serverOf(t, held)
	_, r := preflight(t, held, "1.3.0")
	assert.Equal(t, []string{
		"management cluster: missing API addons.stackhpc.com/v1alpha1 HelmRelease, Manifests",
		"management cluster: identity may not create namespaces",
	}, r.Problems)
	assert.Equal(t, 0, stop())
	assert.NoFileExists(t, filepath.Join(dir, fakek8s.KubeconfigFile), "removed once not serving")
	assert.Contains(t, stderr.String(), "fakek8s: serving https://"+addr+" (auth token, infrastructure v1alpha6, deny [create/namespaces], missing [addons.stackhpc.com])")
	assert.Contains(t, stderr.String(), `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews 201 user="magnum-token" (create namespaces: denied)`)
	log, err := os.ReadFile(filepath.Join(dir, fakek8s.RequestLogFile))
	require.NoError(t, err)
	assert.Equal(t, 7, strings.Count(string(log), "\n"), "%s", log)

	// Restarted on the same port with other flags, the server keeps its
	// credentials, so the kubeconfig the charm already holds still works.
	again, _, stop := serveCLI(t, dir, "--listen", addr, "--capi", "v1alpha6", "--auth", "token")
	assert.Equal(t, string(held), string(again))
	_, r = preflight(t, held, "1.3.0")
	assert.True(t, r.OK(), "%v", r.Problems)
	assert.Equal(t, 0, stop())

	// In cert mode the same state gives a client-certificate kubeconfig.
	certs, _, stop := serveCLI(t, dir, "--listen", "127.0.0.1:0")
	_, r = preflight(t, certs, "1.4.0")
	assert.True(t, r.OK(), "%v", r.Problems)
	assert.Equal(t, 0, stop())
}

func TestServeCommandUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "usage: fakek8s serve --state-dir DIR"},
		{[]string{"serve"}, 2, "fakek8s serve: --state-dir is required"},
		{[]string{"serve", "--state-dir", dir, "extra"}, 2, `fakek8s serve: unexpected argument "extra"`},
		{[]string{"serve", "--state-dir", dir, "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"serve", "--state-dir", dir, "--listen", "127.0.0.1:0", "--auth", "oidc"}, 1, `fakek8s serve: auth mode "oidc" is not "cert" or "token"`},
		{[]string{"serve", "--state-dir", dir, "--listen", "127.0.0.1:0", "--capi", "v1alpha5"}, 1, `unknown infrastructure.cluster.x-k8s.io version "v1alpha5"`},
	} {
		var stdout, stderr bytes.Buffer
		code := fakek8s.Main(context.Background(), tc.args, &stdout, &stderr)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr.String())
		assert.Contains(t, stderr.String(), tc.stderr, "%v", tc.args)
	}
	var stdout bytes.Buffer
	assert.Equal(t, 0, fakek8s.Main(context.Background(), []string{"help"}, &stdout, &stdout))
	assert.Contains(t, stdout.String(), "--missing-group")
}

// The binary the box runs: built static, it writes its kubeconfig, serves
// the charm's preflight and exits 0 on SIGTERM, as systemctl stop sends.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	bin := filepath.Join(t.TempDir(), "fakek8s")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/fakek8s")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	// Static means no program interpreter: the box need not have the
	// host's libc.
	exe, err := elf.Open(bin)
	require.NoError(t, err)
	for _, prog := range exe.Progs {
		assert.NotEqual(t, elf.PT_INTERP, prog.Type, "dynamically linked")
	}
	require.NoError(t, exe.Close())

	// Port 0 would do as well; a fixed free port checks --listen is used.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	dir := filepath.Join(t.TempDir(), "state")
	stderr := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--listen", addr, "--state-dir", dir, "--capi", "v1alpha6")
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	exited := make(chan int, 1)
	go func() {
		_ = cmd.Wait()
		exited <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	held := waitForKubeconfig(t, filepath.Join(dir, fakek8s.KubeconfigFile), exited, stderr)
	assert.Equal(t, addr, serverOf(t, held))
	_, r := preflight(t, held, "1.2.1")
	assert.True(t, r.OK(), "%v", r.Problems)

	// SIGUSR1 takes readiness away, SIGUSR2 gives it back.
	require.NoError(t, cmd.Process.Signal(syscall.SIGUSR1))
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "ready=false") }, 5*time.Second, 10*time.Millisecond)
	_, r = preflight(t, held, "1.2.1")
	assert.Equal(t, []string{"management cluster: /readyz reports not ready (HTTP 500)"}, r.Problems)
	require.NoError(t, cmd.Process.Signal(syscall.SIGUSR2))
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "ready=true") }, 5*time.Second, 10*time.Millisecond)
	_, r = preflight(t, held, "1.2.1")
	assert.True(t, r.OK(), "%v", r.Problems)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case code := <-exited:
		assert.Equal(t, 0, code, "%s", stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("fakek8s did not stop on SIGTERM")
	}
	assert.Contains(t, stderr.String(), "fakek8s: stopped")
}
