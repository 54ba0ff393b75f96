package testbed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// HelmVersion is the helm the tests attach: the 3.17 line the driver's
// charts are tested with.
const HelmVersion = "v3.17.3"

// HelmTarballName is the official release asset's name.
const HelmTarballName = "helm-" + HelmVersion + "-linux-amd64.tar.gz"

// HelmBinary builds the real helm from the Go module proxy, once (about 4
// minutes cold), into <repo>/.cache/bin/helm-<version>/helm. The -X flag
// makes `helm version` report the release instead of "v3.17".
func HelmBinary() (string, error) {
	dir := filepath.Join(Repo(), ".cache", "bin", "helm-"+HelmVersion)
	bin := filepath.Join(dir, "helm")
	if fi, err := os.Stat(bin); err == nil && fi.Mode()&0o111 != 0 {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := LockFile(filepath.Join(dir, ".build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "install", "-ldflags", "-s -w -X helm.sh/helm/v3/internal/version.version="+HelmVersion,
		"helm.sh/helm/v3/cmd/helm@"+HelmVersion)
	// Outside the module: `go install pkg@version` builds the tool on its own.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+dir, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build helm %s: %v: %s", HelmVersion, err, out)
	}
	return bin, nil
}

// HelmTarball packs the built helm as the official release tarball
// (linux-amd64/helm, LICENSE, README.md) and returns its path.
func HelmTarball() (string, error) {
	bin, err := HelmBinary()
	if err != nil {
		return "", err
	}
	out := filepath.Join(filepath.Dir(bin), HelmTarballName)
	if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
		return out, nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	now := time.Now()
	for _, m := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"linux-amd64/helm", 0o755, data},
		{"linux-amd64/LICENSE", 0o644, []byte("Apache License 2.0 (helm.sh/helm)\n")},
		{"linux-amd64/README.md", 0o644, []byte("# helm " + HelmVersion + " (built by the test bed)\n")},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: m.mode, Size: int64(len(m.data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		if _, err := tw.Write(m.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return out, writeNew(out, buf.Bytes(), 0o644)
}

// LockFile takes an exclusive lock on p, so concurrent test runs build once.
func LockFile(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
