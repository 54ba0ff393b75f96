package realjuju

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// DistEnv names a directory holding a Juju release tarball, for a checkout
// that has no ../shared/juju beside it.
const DistEnv = "REALJUJU_DIST"

// DistDir is where the Juju release is looked for: $REALJUJU_DIST, else
// ../shared/juju beside the repository (where CI has it).
func DistDir() string {
	if d := os.Getenv(DistEnv); d != "" {
		return d
	}
	return filepath.Join(testbed.Repo(), "..", "shared", "juju")
}

// ErrNoDist says that no Juju release is available: the real-Juju test bed
// cannot run here.
var ErrNoDist = errors.New("no Juju release")

// Dist is an unpacked Juju release: the client (juju), the agent (jujud),
// the hook-tool client (jujuc) and the juju-metadata plugin, as static
// linux/amd64 binaries.
type Dist struct {
	Dir     string
	Version string // e.g. "4.0.15"
}

// Bin is the path of one of the release's binaries.
func (d *Dist) Bin(name string) string { return filepath.Join(d.Dir, name) }

// Unpack finds the one juju-*-linux-amd64.tar.zst in dir, checks it against
// dir/SHA256SUMS when that lists it, and unpacks it once into
// <repo>/.cache/juju/<sha256 prefix>/ (never into the source tree). The
// binaries are not part of the project; they are only run from there.
func Unpack(dir string) (*Dist, error) {
	tarballs, _ := filepath.Glob(filepath.Join(dir, "juju-*-linux-amd64.tar.zst"))
	if len(tarballs) != 1 {
		return nil, fmt.Errorf("%w: no single juju-*-linux-amd64.tar.zst in %s (set %s to a directory that has one)", ErrNoDist, dir, DistEnv)
	}
	tarball := tarballs[0]
	sum, err := fileSHA256(tarball)
	if err != nil {
		return nil, err
	}
	if want, ok, err := listedSum(filepath.Join(dir, "SHA256SUMS"), filepath.Base(tarball)); err != nil {
		return nil, err
	} else if ok && want != sum {
		return nil, fmt.Errorf("%s: sha256 %s, SHA256SUMS says %s", tarball, sum, want)
	}
	version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(tarball), "juju-"), "-linux-amd64.tar.zst")
	cache := filepath.Join(testbed.Repo(), ".cache", "juju", sum[:12])
	d := &Dist{Dir: filepath.Join(cache, "juju-"+version), Version: version}
	if _, err := os.Stat(d.Bin("jujud")); err == nil {
		return d, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	unlock, err := testbed.LockFile(filepath.Join(cache, ".unpack.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(d.Bin("jujud")); err == nil {
		return d, nil
	}
	tmp, err := os.MkdirTemp(cache, ".unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.Command("tar", "-I", "zstd", "-x", "-f", tarball, "-C", tmp).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cannot unpack %s (is zstd installed?): %v: %s", tarball, err, out)
	}
	for _, b := range []string{"juju", "jujud", "jujuc", "juju-metadata"} {
		if _, err := os.Stat(filepath.Join(tmp, "juju-"+version, b)); err != nil {
			return nil, fmt.Errorf("%s has no juju-%s/%s", tarball, version, b)
		}
	}
	if err := os.Rename(filepath.Join(tmp, "juju-"+version), d.Dir); err != nil {
		return nil, err
	}
	return d, nil
}

// AgentMetadata returns a directory with the release's agent binaries as
// simplestreams (tools/released/juju-V-ubuntu-amd64.tgz and the streams
// juju-metadata generate-agent-binaries writes), built once beside the
// unpacked binaries. bootstrap --metadata-source takes it, so no agent
// binary is ever looked for online.
func (d *Dist) AgentMetadata(ctx context.Context) (string, error) {
	dir := filepath.Join(filepath.Dir(d.Dir), "agent-metadata")
	done := filepath.Join(dir, ".done")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	unlock, err := testbed.LockFile(filepath.Join(filepath.Dir(d.Dir), ".agent-metadata.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	released := filepath.Join(dir, "tools", "released")
	if err := os.MkdirAll(released, 0o755); err != nil {
		return "", err
	}
	tgz := filepath.Join(released, fmt.Sprintf("juju-%s-ubuntu-amd64.tgz", d.Version))
	if err := writeTgz(tgz, d.Bin("jujud"), d.Bin("jujuc")); err != nil {
		return "", err
	}
	// The plugin wants a JUJU_DATA; it keeps nothing there that matters.
	data := filepath.Join(dir, ".juju-data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, d.Bin("juju-metadata"), "generate-agent-binaries", "-d", dir,
		"--clean", "--prevent-fallback", "--stream", "released")
	cmd.Env = append(os.Environ(), "JUJU_DATA="+data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("juju-metadata generate-agent-binaries: %v: %s", err, out)
	}
	if err := os.RemoveAll(data); err != nil {
		return "", err
	}
	return dir, os.WriteFile(done, nil, 0o644)
}

// writeTgz packs files (by base name, mode 0755) into a gzipped tarball.
func writeTgz(path string, files ...string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for _, p := range files {
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		fi, err := src.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: filepath.Base(p), Mode: 0o755, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg})
		}
		if err == nil {
			_, err = io.Copy(tw, src)
		}
		src.Close()
		if err != nil {
			return fmt.Errorf("pack %s: %w", p, err)
		}
	}
	for _, c := range []io.Closer{tw, zw} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// listedSum reads name's sum from a sha256sum-style file, if it lists it.
func listedSum(sums, name string) (string, bool, error) {
	data, err := os.ReadFile(sums)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && strings.TrimPrefix(f[1], "*") == name {
			return f[0], true, nil
		}
	}
	return "", false, nil
}
