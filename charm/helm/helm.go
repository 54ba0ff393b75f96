// Package helm is the helm the driver runs, as an artifact of the graft
// (package artifact). The driver runs `helm` from the services' PATH, as
// user magnum. The charm installs the helm from the `helm` resource into
// its own tree and links /usr/bin/helm (on that PATH; /usr/local/bin is
// not) to it; a helm a package owns is used as it is and never touched.
package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/apt"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

const (
	// Link is where the services' PATH finds the charm's helm.
	Link = "/usr/bin/helm"
	// Example names the resource an operator attaches.
	Example = "helm-v3.17.3-linux-amd64.tar.gz"
)

// Dir is the charm's helm directory in the install tree, and Binary its
// helm.
func Dir(c *artifact.Context) string    { return c.Root() + "/helm" }
func Binary(c *artifact.Context) string { return Dir(c) + "/helm" }

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

// Mode says whose helm the services run.
type Mode string

const (
	// FromResource: the charm's, from the resource, linked at Link.
	FromResource Mode = "resource"
	// FromPackage: a package's, found on the services' PATH.
	FromPackage Mode = "package"
	// External: one found on the services' PATH that no package owns,
	// used while no resource is attached.
	External Mode = "external"
)

// Helm is helm as this reconcile wants it.
type Helm struct {
	Mode Mode
	// Path is the helm the services find on their PATH.
	Path    string
	Version string
	Package string
	// converged is set when the cheap check found the recorded helm intact.
	converged bool

	sha256 string
	// binary is the resource's helm, to install (nil: already installed).
	binary []byte
	// found is the helm on the services' PATH when desired, ours whether
	// it is the charm's, rec the record of the last commit.
	found string
	ours  bool
	rec   *record
}

var _ artifact.Artifact = (*Helm)(nil)

// Summary is helm's part of the status.
func (h *Helm) Summary() string {
	s := "helm " + h.Version
	switch h.Mode {
	case FromPackage:
		s += " (package " + h.Package + ")"
	case External:
		s += " (" + h.Path + ")"
	}
	return s
}

type record struct {
	Mode        Mode   `json:"mode"`
	Path        string `json:"path"`
	Version     string `json:"version"`
	Package     string `json:"package,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Fingerprint string `json:"fingerprint"`
}

func loadRecord(d state.Dir) *record {
	var rec record
	if d.Load(state.Helm, &rec) != nil {
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

// isOurs reports whether p resolves to the charm's helm, bin.
func isOurs(p, bin string) bool {
	t, err := filepath.EvalSymlinks(p)
	return err == nil && t == bin
}

// inLinkDir reports whether p is in the directory Link is in (on
// merged-/usr systems /bin/helm is /usr/bin/helm).
func inLinkDir(p string) bool {
	d, err := filepath.EvalSymlinks(filepath.Dir(p))
	return err == nil && d == filepath.Dir(Link)
}

// Desire reads the record of the last commit and what the services' PATH
// finds. A recorded helm still in place is converged.
func (h *Helm) Desire(c *artifact.Context) (artifact.Part, error) {
	h.found = lookPathIn("helm", c.Unit.ServicesPATH())
	h.ours = h.found != "" && isOurs(h.found, Binary(c))
	h.rec = loadRecord(c.State)
	rec := h.rec
	if c.Force || rec == nil || c.State.Marked(state.HelmPending) || statPrint(rec.Path) != rec.Fingerprint {
		return artifact.Part{Watch: h.watch(c)}, nil
	}
	intact := h.found == rec.Path
	if rec.Mode == FromResource {
		intact = h.ours && statPrint(Binary(c)) == rec.Fingerprint
	}
	if !intact {
		return artifact.Part{Watch: h.watch(c)}, nil
	}
	h.Mode, h.Path, h.Version, h.Package, h.sha256, h.converged = rec.Mode, rec.Path, rec.Version, rec.Package, rec.SHA256, true
	part := artifact.Part{Watch: h.watch(c), Keys: []string{"helm " + h.sha256}}
	if h.Mode == FromResource {
		h.Path = Binary(c)
		part.Links = h.links(c)
	}
	return part, nil
}

func (h *Helm) links(c *artifact.Context) []files.Symlink {
	return []files.Symlink{{Path: Link, Target: Binary(c)}}
}

// watch is what removes or replaces the charm's helm.
func (h *Helm) watch(c *artifact.Context) []string {
	return []string{Dir(c), Binary(c)}
}

// Resolve decides whose helm the services run: a package's or another
// found on their PATH, or the resource's, which the plan links.
func (h *Helm) Resolve(ctx context.Context, c *artifact.Context) (artifact.Part, error) {
	if err := c.MarkPending(state.HelmPending); err != nil {
		return artifact.Part{}, err
	}
	if err := h.choose(ctx, c); err != nil {
		return artifact.Part{}, err
	}
	part := artifact.Part{Keys: []string{"helm " + h.sha256}}
	if h.Mode == FromResource {
		part.Links = h.links(c)
	}
	return part, nil
}

// Stage proves the helm the services will run as magnum: the resource's
// before it is put in place.
func (h *Helm) Stage(ctx context.Context, c *artifact.Context) error {
	return h.install(ctx, c)
}

// Converged reports that the recorded helm holds.
func (h *Helm) Converged() bool { return h.converged }

// choose finds the helm the services will run.
func (h *Helm) choose(ctx context.Context, c *artifact.Context) error {
	found, ours, rec := h.found, h.ours, h.rec
	if found != "" && !ours {
		if pkg := apt.Owner(ctx, found); pkg != "" {
			h.Mode, h.Path, h.Package = FromPackage, found, pkg
			return nil
		}
	}
	res, err := c.Juju.ResourceGet(ctx, "helm")
	var data []byte
	switch {
	case errors.Is(err, hooktool.ErrResourceNotFound):
	case err != nil:
		return fmt.Errorf("resource-get helm: %w", err)
	default:
		if data, err = readLimited(res, maxHelmSize); err != nil {
			return artifact.Blocked("helm resource: %v", err)
		}
	}
	if len(data) == 0 {
		switch {
		case found != "" && !ours:
			h.Mode, h.Path = External, found
			return nil
		case ours && rec != nil && rec.Mode == FromResource:
			// The resource went, the charm's helm stays until removal.
			h.Mode, h.Path, h.sha256 = FromResource, Binary(c), rec.SHA256
			return nil
		}
		return artifact.Blocked("attach helm: juju attach-resource %s helm=%s", c.App, Example)
	}
	bin, err := helmFromResource(data)
	if err != nil {
		return artifact.Blocked("helm resource: %v", err)
	}
	if found != "" && !ours && !inLinkDir(found) {
		return artifact.Blocked("%s is found before %s on the services' PATH (%s) and no package owns it: remove it, or detach the helm resource to use it",
			found, Link, c.Unit.ServicesPATH())
	}
	sum := sha256.Sum256(bin)
	h.Mode, h.Path, h.sha256 = FromResource, Binary(c), hex.EncodeToString(sum[:])
	if cur, err := files.ReadFile(Binary(c), maxHelmSize); err != nil || !bytes.Equal(cur, bin) {
		h.binary = bin
	}
	return nil
}

// install puts the resource's helm in place, proved before it is renamed
// there, or proves the one the services will use.
func (h *Helm) install(ctx context.Context, c *artifact.Context) error {
	if h.binary == nil {
		v, err := helmVersion(ctx, c.Unit, h.Path)
		if err != nil {
			return artifact.Blocked("%v", err)
		}
		h.Version = v
		return nil
	}
	for _, dir := range []string{c.Root(), Dir(c)} {
		if err := artifact.MkdirRoot(dir); err != nil {
			return err
		}
	}
	staged := Binary(c) + ".new"
	c.Logf("helm: install %s", Binary(c))
	if err := osutil.AtomicWriteFileChown(staged, h.binary, 0o755, osutil.AtomicWriteChmod, 0, 0); err != nil {
		return err
	}
	v, err := helmVersion(ctx, c.Unit, staged)
	if err != nil {
		os.Remove(staged)
		return artifact.Blocked("the helm resource does not run: %v", err)
	}
	if err := os.Rename(staged, Binary(c)); err != nil {
		return err
	}
	h.Version = v
	return nil
}

// Prove has nothing to do: Stage proved helm as magnum.
func (h *Helm) Prove(context.Context, *artifact.Context) error { return nil }

// Unstage leaves the staged helm: it was proved, and the link to it is a
// planned file the rollback puts back.
func (h *Helm) Unstage(context.Context, *artifact.Context) {}

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

// helmVersion runs `helm version --short` as user magnum with the services'
// PATH and magnum's HOME, and returns the version (e.g. v3.17.3).
func helmVersion(ctx context.Context, unit *unitshape.Unit, bin string) (string, error) {
	out, err := command.Output(ctx, command.Cmd{Argv: []string{bin, "version", "--short"}, User: "magnum",
		Env: unit.ServicesEnv(), Dir: "/"})
	if err != nil {
		return "", fmt.Errorf("%s version as magnum: %w", bin, err)
	}
	v, _, _ := strings.Cut(strings.TrimSpace(out), "+")
	if !strings.HasPrefix(v, "v3.") {
		return "", fmt.Errorf("%s version as magnum says %q: the driver needs helm 3", bin, command.Tail([]byte(out), 1))
	}
	return v, nil
}

// Commit checks the services find the helm that was proved and records it.
func (h *Helm) Commit(_ context.Context, c *artifact.Context) error {
	path := c.Unit.ServicesPATH()
	found := lookPathIn("helm", path)
	if h.Mode == FromResource {
		if found == "" || !isOurs(found, Binary(c)) {
			return artifact.Blocked("helm: the services' PATH (%s) finds %q, not %s", path, found, Link)
		}
	} else if found != h.Path {
		return artifact.Blocked("helm: the services' PATH (%s) finds %q, not %s", path, found, h.Path)
	}
	rec := record{Mode: h.Mode, Path: h.Path, Version: h.Version, Package: h.Package, SHA256: h.sha256, Fingerprint: statPrint(h.Path)}
	if err := c.State.Save(state.Helm, rec); err != nil {
		return err
	}
	return c.State.Mark(state.HelmPending, false)
}

// Remove deletes the charm's helm (and what an interrupted install left);
// the services need no restart for it, the link to it being a planned
// file removal has already dealt with.
func (h *Helm) Remove(_ context.Context, c *artifact.Context) (artifact.Removed, error) {
	res := artifact.Removed{Dirs: []string{Dir(c)}}
	bin := Binary(c)
	for _, p := range append([]string{bin, bin + ".new"}, append(files.Leftovers(bin), files.Leftovers(bin+".new")...)...) {
		// The charm writes regular files there; anything else is not
		// its helm.
		if st, err := files.Read(p); err != nil || !st.Exists || st.IsDir || st.Link != "" {
			continue
		}
		err := os.Remove(p)
		if files.Missing(err) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("cannot remove %s: %w", p, err)
		}
		c.Logf("remove %s (the charm installed it)", p)
		res.Changed = true
	}
	return res, nil
}

// OnPath finds helm on the services' PATH and runs `helm version --short`
// as user magnum with that PATH and magnum's HOME, as the driver will. It
// returns the path found and the version.
func OnPath(ctx context.Context, unit *unitshape.Unit) (string, string, error) {
	found := lookPathIn("helm", unit.ServicesPATH())
	if found == "" {
		return "", "", fmt.Errorf("no helm on the services' PATH (%s)", unit.ServicesPATH())
	}
	v, err := helmVersion(ctx, unit, found)
	return found, v, err
}
