package testbed

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// The real driver, as a wheel. Debian trixie packages magnum-capi-helm 1.2.0
// (python3-magnum-capi-helm); the trixie root filesystem keeps the .deb in
// /var/cache/testbed. A .deb ships the module and an egg-info (PKG-INFO,
// entry_points.txt, ...); a wheel is those files plus a .dist-info with
// METADATA (= PKG-INFO), WHEEL and a RECORD of every file's sha256. Variants
// (another version, an import error, an unmet requirement) are the same
// files with one thing changed, for the tests that must see the charm
// refuse them.

// RealDriverVersion is the version Debian trixie packages.
const RealDriverVersion = "1.2.0"

// WheelOptions says how a wheel differs from the real package.
type WheelOptions struct {
	// Relabel replaces the package's version ("" keeps it): the same 1.2.0
	// code under another release's number, a stand-in for a release the
	// test bed has no artefact of. The driver's code does not read its own
	// version, but other releases' code differs (1.4.0 reads OpenStackCluster
	// at v1beta1, 1.2.0 at v1alpha6): a relabelled wheel proves what the
	// charm does with a version, never what that release does.
	Relabel string
	// ImportError makes the driver module fail to import.
	ImportError bool
	// Requires adds Requires-Dist lines.
	Requires []string
}

// DriverDeb returns the real driver .deb, taken (once) from the trixie
// root filesystem tarball, which testbed/rootfs builds if needed.
func DriverDeb() (string, error) {
	out, err := exec.Command(script("rootfs"), "trixie").Output()
	if err != nil {
		return "", fmt.Errorf("testbed/rootfs trixie: %w", err)
	}
	tarball := strings.TrimSpace(string(out))
	cache := filepath.Join(filepath.Dir(tarball), "driver-deb", strings.TrimSuffix(filepath.Base(tarball), ".tar.zst"))
	if debs, _ := filepath.Glob(filepath.Join(cache, "python3-magnum-capi-helm_*.deb")); len(debs) == 1 {
		return debs[0], nil
	}
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(cache), ".extract-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("tar", "-I", "zstd", "-x", "-f", tarball, "-C", tmp, "--wildcards", "./var/cache/testbed/python3-magnum-capi-helm_*.deb")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("take the driver .deb from %s: %v: %s", tarball, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "var/cache/testbed"), cache); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(cache); serr != nil {
			return "", err
		}
	}
	debs, _ := filepath.Glob(filepath.Join(cache, "python3-magnum-capi-helm_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("no single driver .deb in %s", cache)
	}
	return debs[0], nil
}

// DriverWheel builds a driver wheel from the real .deb into dir and returns
// its path. The file name is the one pip would give it.
func DriverWheel(dir string, o WheelOptions) (string, error) {
	deb, err := DriverDeb()
	if err != nil {
		return "", err
	}
	x, err := os.MkdirTemp("", "driver-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(x)
	if out, err := exec.Command("dpkg-deb", "-x", deb, x).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb -x %s: %v: %s", deb, err, out)
	}
	site := filepath.Join(x, "usr/lib/python3/dist-packages")
	eggs, _ := filepath.Glob(filepath.Join(site, "magnum_capi_helm-*.egg-info"))
	if len(eggs) != 1 {
		return "", fmt.Errorf("%s has no single egg-info", deb)
	}
	egg := eggs[0]
	pkgInfo, err := os.ReadFile(filepath.Join(egg, "PKG-INFO"))
	if err != nil {
		return "", err
	}
	version := regexp.MustCompile(`(?m)^Version: (\S+)$`).FindSubmatch(pkgInfo)
	if version == nil {
		return "", fmt.Errorf("%s: PKG-INFO has no Version", deb)
	}
	ver := string(version[1])
	if o.Relabel != "" {
		ver = o.Relabel
	}

	members := map[string][]byte{}
	err = filepath.WalkDir(filepath.Join(site, "magnum_capi_helm"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".pyc") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(site, p)
		members[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return "", err
	}
	if o.ImportError {
		const mod = "magnum_capi_helm/driver.py"
		members[mod] = append([]byte("import magnum_capi_graft_test_no_such_module  # a broken driver, for the tests\n"), members[mod]...)
	}

	meta := regexp.MustCompile(`(?m)^Version: \S+$`).ReplaceAll(pkgInfo, []byte("Version: "+ver))
	if len(o.Requires) > 0 {
		var extra []byte
		for _, r := range o.Requires {
			extra = append(extra, []byte("Requires-Dist: "+r+"\n")...)
		}
		// Headers end at the first blank line; the description follows.
		if i := bytes.Index(meta, []byte("\n\n")); i >= 0 {
			meta = append(append(append([]byte{}, meta[:i+1]...), extra...), meta[i+1:]...)
		} else {
			meta = append(meta, extra...)
		}
	}
	distInfo := fmt.Sprintf("magnum_capi_helm-%s.dist-info", ver)
	members[distInfo+"/METADATA"] = meta
	members[distInfo+"/WHEEL"] = []byte("Wheel-Version: 1.0\nGenerator: magnum-capi-graft-testbed\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
	for _, f := range []string{"entry_points.txt", "top_level.txt"} {
		b, err := os.ReadFile(filepath.Join(egg, f))
		if err != nil {
			return "", err
		}
		members[distInfo+"/"+f] = b
	}

	data, err := packWheel(members, distInfo)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, fmt.Sprintf("magnum_capi_helm-%s-py3-none-any.whl", ver))
	if o.ImportError || len(o.Requires) > 0 {
		// Keep variants of one version apart.
		out = strings.TrimSuffix(out, ".whl") + ".variant-" + variantTag(o) + ".whl"
	}
	return out, writeNew(out, data, 0o644)
}

// writeNew writes data to path through a temporary file of its own, so
// that several boxes booting at once may each write the same file.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), mode)
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// packWheel zips members as a wheel, adding distInfo/RECORD with every
// member's sha256 and size, as pip's installer checks them.
func packWheel(members map[string][]byte, distInfo string) ([]byte, error) {
	var names []string
	for n := range members {
		names = append(names, n)
	}
	sort.Strings(names)
	var record bytes.Buffer
	for _, n := range names {
		sum := sha256.Sum256(members[n])
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(sum[:]), len(members[n]))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	names = append(names, distInfo+"/RECORD")
	all := map[string][]byte{distInfo + "/RECORD": record.Bytes()}
	for n, b := range members {
		all[n] = b
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(all[n]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Driver is the driver wheel a unit is given.
type Driver struct {
	// Relabel is the version the real driver's files are labelled as (see
	// WheelOptions.Relabel); "" is the real driver as Debian packages it.
	Relabel string
}

// RealDriver is Debian trixie's magnum-capi-helm 1.2.0, as packaged.
var RealDriver = Driver{}

// Relabelled is Debian's 1.2.0 labelled as version: it stands in for that
// release wherever the test bed has no artefact of it.
func Relabelled(version string) Driver { return Driver{Relabel: version} }

// Version is the version the wheel says it is.
func (d Driver) Version() string {
	if d.Relabel != "" {
		return d.Relabel
	}
	return RealDriverVersion
}

// String says what the wheel is, e.g. "magnum-capi-helm 1.2.0 relabelled
// as 1.4.0".
func (d Driver) String() string {
	if d.Relabel != "" && d.Relabel != RealDriverVersion {
		return "magnum-capi-helm " + RealDriverVersion + " relabelled as " + d.Relabel
	}
	return "magnum-capi-helm " + RealDriverVersion
}

// AttachGraftResources attaches what a unit needs to go active with
// driver-version set to d.Version(): the driver d as a wheel and the real
// helm, and returns the wheel's path on the host. The wheel and helm are
// built once and cached under .cache.
func (b *Box) AttachGraftResources(ctx context.Context, d Driver) (string, error) {
	helm, err := HelmTarball()
	if err != nil {
		return "", err
	}
	dir := "real-" + RealDriverVersion
	if d.Relabel != "" {
		dir = "relabelled-" + d.Relabel
	}
	w, err := DriverWheel(filepath.Join(Repo(), ".cache", "testbed", "wheels", dir), WheelOptions{Relabel: d.Relabel})
	if err != nil {
		return "", err
	}
	if err := b.AttachResource(ctx, "driver", w); err != nil {
		return "", err
	}
	return w, b.AttachResource(ctx, "helm", helm)
}

func variantTag(o WheelOptions) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%v %q", o.ImportError, o.Requires)))
	return fmt.Sprintf("%x", h[:4])
}

// AttachResource copies a file from the host into the box and attaches it
// as resource name, as `juju attach-resource` does; hostPath "" attaches
// Charmhub's 0-byte placeholder.
func (b *Box) AttachResource(ctx context.Context, name, hostPath string) error {
	if hostPath == "" {
		_, err := b.Fake(ctx, "attach-resource", name+"=")
		return err
	}
	data, err := os.ReadFile(hostPath)
	if err != nil {
		return err
	}
	inBox := path.Join("/root/resources", name, filepath.Base(hostPath))
	if err := os.MkdirAll(b.Path(path.Dir(inBox)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(b.Path(inBox), data, 0o644); err != nil {
		return err
	}
	_, err = b.Fake(ctx, "attach-resource", name+"="+inBox)
	return err
}

// DetachResource forgets resource name, as if it had never been attached.
func (b *Box) DetachResource(ctx context.Context, name string) error {
	_, err := b.Fake(ctx, "detach-resource", name)
	return err
}
