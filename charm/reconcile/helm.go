package reconcile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// The driver runs `helm` from the services' PATH, as user magnum. The charm
// installs the helm from the `helm` resource into its own tree and links
// /usr/bin/helm (on that PATH; /usr/local/bin is not) to it; a helm a
// package owns is used as it is and never touched.
const (
	HelmDir    = InstallRoot + "/helm"
	HelmBinary = HelmDir + "/helm"
	// HelmLink is where the services' PATH finds the charm's helm.
	HelmLink = "/usr/bin/helm"
	// HelmExample names the resource an operator attaches.
	HelmExample = "helm-v3.17.3-linux-amd64.tar.gz"

	helmRecordFile = "helm.json"
	helmPending    = "helm.pending"
)

// A helm release tarball holds helm, LICENSE and README.md; what else it may
// hold is bounded in count and in bytes unpacked.
const (
	maxHelmTarMembers = 64
	maxHelmTarExtra   = 16 << 20
)

// maxHelmSize bounds the helm resource and the binary in it (helm 3 is
// about 55 MiB). A variable so a test can show a larger binary is refused
// without making one.
var maxHelmSize int64 = 256 << 20

// HelmMode says whose helm the services run.
type HelmMode string

const (
	// HelmResource: the charm's, from the resource, linked at HelmLink.
	HelmResource HelmMode = "resource"
	// HelmPackage: a package's, found on the services' PATH.
	HelmPackage HelmMode = "package"
	// HelmExternal: one found on the services' PATH that no package owns,
	// used while no resource is attached.
	HelmExternal HelmMode = "external"
)

// HelmState is helm as this reconcile wants it.
type HelmState struct {
	Mode HelmMode
	// Path is the helm the services find on their PATH.
	Path    string
	Version string
	Package string
	// Converged is set when the cheap check found the recorded helm intact.
	Converged bool

	sha256 string
	// binary is the resource's helm, to install (nil: already installed).
	binary []byte
	prove  bool
}

// Summary is helm's part of the status.
func (h *HelmState) Summary() string {
	s := "helm " + h.Version
	switch h.Mode {
	case HelmPackage:
		s += " (package " + h.Package + ")"
	case HelmExternal:
		s += " (" + h.Path + ")"
	}
	return s
}

type helmRecord struct {
	Mode        HelmMode `json:"mode"`
	Path        string   `json:"path"`
	Version     string   `json:"version"`
	Package     string   `json:"package,omitempty"`
	SHA256      string   `json:"sha256,omitempty"`
	Fingerprint string   `json:"fingerprint"`
}

func (r *Reconciler) loadHelmRecord() *helmRecord {
	b, err := files.ReadFile(filepath.Join(r.StateDir, helmRecordFile), files.MaxTextFile)
	if err != nil {
		return nil
	}
	var rec helmRecord
	if json.Unmarshal(b, &rec) != nil {
		return nil
	}
	return &rec
}

// statPrint is a cheap fingerprint of the file a path resolves to.
func statPrint(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%o %d:%d %d %d %d.%d %d.%d", uint32(fi.Mode()), st.Uid, st.Gid, st.Size, st.Ino,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}

// lookPathIn finds name on a PATH the way the services' shell does.
func lookPathIn(name, pathList string) string {
	for _, dir := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// isOurs reports whether p resolves to the charm's helm.
func isOurs(p string) bool {
	t, err := filepath.EvalSymlinks(p)
	return err == nil && t == HelmBinary
}

// inLinkDir reports whether p is in the directory HelmLink is in (on
// merged-/usr systems /bin/helm is /usr/bin/helm).
func inLinkDir(p string) bool {
	d, err := filepath.EvalSymlinks(filepath.Dir(p))
	return err == nil && d == filepath.Dir(HelmLink)
}

// desireHelm adds helm to the desired state, changing nothing.
func (r *Reconciler) desireHelm(ctx context.Context, unit *unitshape.Unit, d *Desired, opts Options) error {
	found := lookPathIn("helm", servicesPATH(unit))
	ours := found != "" && isOurs(found)
	h := &HelmState{}
	d.Helm = h
	rec := r.loadHelmRecord()

	if !opts.Force && rec != nil && !r.marked(helmPending) && statPrint(rec.Path) == rec.Fingerprint {
		intact := false
		switch rec.Mode {
		case HelmResource:
			intact = ours && statPrint(HelmBinary) == rec.Fingerprint
		default:
			intact = found == rec.Path
		}
		if intact {
			h.Mode, h.Path, h.Version, h.Package, h.sha256, h.Converged = rec.Mode, rec.Path, rec.Version, rec.Package, rec.SHA256, true
			if h.Mode == HelmResource {
				h.Path = HelmBinary
				d.Links = append(d.Links, files.Symlink{Path: HelmLink, Target: HelmBinary})
			}
			return nil
		}
	}

	if !opts.DryRun {
		r.mark(helmPending, true)
	}
	if found != "" && !ours {
		if pkg := dpkgOwner(ctx, found); pkg != "" {
			h.Mode, h.Path, h.Package, h.prove = HelmPackage, found, pkg, true
			return nil
		}
	}
	res, err := r.Juju.ResourceGet(ctx, "helm")
	var data []byte
	switch {
	case errors.Is(err, hooktool.ErrResourceNotFound):
	case err != nil:
		return fmt.Errorf("resource-get helm: %w", err)
	default:
		if data, err = readLimited(res, maxHelmSize); err != nil {
			return block("helm resource: %v", err)
		}
	}
	if len(data) == 0 {
		switch {
		case found != "" && !ours:
			h.Mode, h.Path, h.prove = HelmExternal, found, true
			return nil
		case ours && rec != nil && rec.Mode == HelmResource:
			// The resource went, the charm's helm stays until removal.
			h.Mode, h.Path, h.sha256, h.prove = HelmResource, HelmBinary, rec.SHA256, true
			d.Links = append(d.Links, files.Symlink{Path: HelmLink, Target: HelmBinary})
			return nil
		}
		return block("attach helm: juju attach-resource %s helm=%s", r.app(), HelmExample)
	}
	bin, err := helmFromResource(data)
	if err != nil {
		return block("helm resource: %v", err)
	}
	if found != "" && !ours && !inLinkDir(found) {
		return block("%s is found before %s on the services' PATH (%s) and no package owns it: remove it, or detach the helm resource to use it",
			found, HelmLink, servicesPATH(unit))
	}
	sum := sha256.Sum256(bin)
	h.Mode, h.Path, h.sha256, h.prove = HelmResource, HelmBinary, hex.EncodeToString(sum[:]), true
	if cur, err := files.ReadFile(HelmBinary, maxHelmSize); err != nil || !bytes.Equal(cur, bin) {
		h.binary = bin
	}
	d.Links = append(d.Links, files.Symlink{Path: HelmLink, Target: HelmBinary})
	return nil
}

func readLimited(p string, limit int64) ([]byte, error) {
	data, err := files.ReadFile(p, limit)
	if errors.Is(err, files.ErrTooLarge) {
		return nil, fmt.Errorf("larger than %s", sizeText(limit))
	}
	return data, err
}

// sizeText says a size in MiB or KiB.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// helmFromResource takes the helm binary from the official release tarball
// (linux-amd64/helm) or a bare binary.
func helmFromResource(data []byte) ([]byte, error) {
	if bytes.HasPrefix(data, []byte("\x7fELF")) {
		return data, nil
	}
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return nil, fmt.Errorf("neither a helm release tarball (helm-vX.Y.Z-linux-amd64.tar.gz) nor a helm binary")
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	// Members before helm are decompressed to be skipped: the whole
	// stream is bounded, not only the binary.
	tr := tar.NewReader(files.Capped(zr, maxHelmSize+maxHelmTarExtra))
	var names []string
	n := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read tarball: %w", err)
		}
		if n++; n > maxHelmTarMembers {
			return nil, fmt.Errorf("the tarball holds more than %d files before linux-amd64/helm", maxHelmTarMembers)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		names = append(names, name)
		if hdr.Typeflag != tar.TypeReg || path.Base(name) != "helm" || strings.Count(name, "/") > 1 {
			continue
		}
		if hdr.Size > maxHelmSize {
			return nil, fmt.Errorf("%s in the tarball is larger than %s", name, sizeText(maxHelmSize))
		}
		bin, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
			return nil, fmt.Errorf("%s in the tarball is not a Linux binary", name)
		}
		return bin, nil
	}
	if len(names) > 5 {
		names = append(names[:5], "...")
	}
	return nil, fmt.Errorf("no linux-amd64/helm in the tarball (it holds %s)", strings.Join(names, ", "))
}

// dpkgOwner returns the package that owns p (or what it resolves to), or "".
func dpkgOwner(ctx context.Context, p string) string {
	cands := []string{p}
	if d, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		cands = append(cands, filepath.Join(d, filepath.Base(p)))
	}
	if t, err := filepath.EvalSymlinks(p); err == nil {
		cands = append(cands, t)
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] {
			continue
		}
		seen[c] = true
		res, err := command.Run(ctx, command.Cmd{Argv: []string{"dpkg-query", "-S", c}})
		if err != nil {
			continue
		}
		if pkg := parseDpkgSearch(string(res.Stdout), c); pkg != "" {
			return pkg
		}
	}
	return ""
}

// parseDpkgSearch reads `dpkg-query -S PATH`: "pkg[, pkg2]: PATH" lines;
// "diversion by ..." lines are not owners.
func parseDpkgSearch(out, p string) string {
	for _, line := range strings.Split(out, "\n") {
		pkgs, file, ok := strings.Cut(line, ": ")
		if !ok || strings.TrimSpace(file) != p || strings.HasPrefix(line, "diversion ") {
			continue
		}
		first, _, _ := strings.Cut(pkgs, ",")
		return strings.TrimSpace(first)
	}
	return ""
}

// stageHelm installs the resource's helm (proved before it is put in
// place) or proves the one the services will use.
func (r *Reconciler) stageHelm(ctx context.Context, unit *unitshape.Unit, h *HelmState) error {
	if h == nil || !h.prove {
		return nil
	}
	if h.binary == nil {
		v, err := helmVersion(ctx, unit, h.Path)
		if err != nil {
			return block("%v", err)
		}
		h.Version = v
		return nil
	}
	if err := mkdirOwned(InstallRoot); err != nil {
		return err
	}
	if err := mkdirOwned(HelmDir); err != nil {
		return err
	}
	staged := HelmBinary + ".new"
	r.logf("helm: install %s", HelmBinary)
	if err := osutil.AtomicWriteFileChown(staged, h.binary, 0o755, osutil.AtomicWriteChmod, 0, 0); err != nil {
		return err
	}
	v, err := helmVersion(ctx, unit, staged)
	if err != nil {
		os.Remove(staged)
		return block("the helm resource does not run: %v", err)
	}
	if err := os.Rename(staged, HelmBinary); err != nil {
		return err
	}
	h.Version = v
	return nil
}

// helmVersion runs `helm version --short` as user magnum with the services'
// PATH and magnum's HOME, and returns the version (e.g. v3.17.3).
func helmVersion(ctx context.Context, unit *unitshape.Unit, bin string) (string, error) {
	out, err := command.Output(ctx, command.Cmd{Argv: []string{bin, "version", "--short"}, User: "magnum",
		Env: ServicesEnv(unit), Dir: "/"})
	if err != nil {
		return "", fmt.Errorf("%s version as magnum: %w", bin, err)
	}
	v, _, _ := strings.Cut(strings.TrimSpace(out), "+")
	if !strings.HasPrefix(v, "v3.") {
		return "", fmt.Errorf("%s version as magnum says %q: the driver needs helm 3", bin, command.Tail([]byte(out), 1))
	}
	return v, nil
}

// commitHelm checks the services find the helm that was proved and
// records it.
func (r *Reconciler) commitHelm(unit *unitshape.Unit, h *HelmState) error {
	if h == nil || h.Converged {
		return nil
	}
	found := lookPathIn("helm", servicesPATH(unit))
	want := h.Path
	if h.Mode == HelmResource {
		if found == "" || !isOurs(found) {
			return block("helm: the services' PATH (%s) finds %q, not %s", servicesPATH(unit), found, HelmLink)
		}
	} else if found != want {
		return block("helm: the services' PATH (%s) finds %q, not %s", servicesPATH(unit), found, want)
	}
	rec := helmRecord{Mode: h.Mode, Path: h.Path, Version: h.Version, Package: h.Package, SHA256: h.sha256, Fingerprint: statPrint(h.Path)}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.StateDir, 0o700); err != nil {
		return err
	}
	if err := osutil.AtomicWriteFile(filepath.Join(r.StateDir, helmRecordFile), append(b, '\n'), 0o600, 0); err != nil {
		return err
	}
	r.mark(helmPending, false)
	return nil
}

// HelmOnPath finds helm on the services' PATH and runs `helm version
// --short` as user magnum with that PATH and magnum's HOME, as the driver
// will. It returns the path found and the version.
func HelmOnPath(ctx context.Context, unit *unitshape.Unit) (string, string, error) {
	found := lookPathIn("helm", servicesPATH(unit))
	if found == "" {
		return "", "", fmt.Errorf("no helm on the services' PATH (%s)", servicesPATH(unit))
	}
	v, err := helmVersion(ctx, unit, found)
	return found, v, err
}
