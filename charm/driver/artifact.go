package driver

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

const (
	// DistName is the normalized distribution name of the driver.
	DistName = "magnum-capi-helm"
	// EntryPointGroup and EntryPointName name the entry point Magnum's
	// driver lookup loads.
	EntryPointGroup = "magnum.drivers"
	EntryPointName  = "k8s_capi_helm_v1"

	// maxMemberSize bounds one file inside a wheel, and maxInstallSize all
	// of a wheel's files, whatever a (possibly hostile) RECORD claims.
	maxMemberSize  = 64 << 20
	maxInstallSize = 512 << 20
	// maxWheelFiles bounds a wheel's entries, checked before its zip
	// directory is parsed (which allocates per entry); the driver has about
	// 60, a large dependency a few thousand. maxTarMembers bounds a
	// wheelhouse tarball's members.
	maxWheelFiles = 20000
	maxTarMembers = 4096
)

// The work a resource can cost is bounded by bytes, not only by what it
// weighs: maxUnpacked bounds what a tarball decompresses to (members that
// are not wheels are decompressed too, to be skipped), and maxInflated what
// all the wheels of one resource inflate to while each file is verified
// against RECORD. Variables so a test can build the worst shapes small.
var maxUnpacked, maxInflated int64 = 512 << 20, 512 << 20

// maxArtifactSize bounds what is read into memory: the driver wheel is about
// 100 KiB and a wheelhouse of its whole dependency tree a few tens of MiB.
var maxArtifactSize int64 = 256 << 20

var (
	// ErrEmpty is a zero-byte resource: what Juju hands out when the
	// operator has not attached one.
	ErrEmpty = errors.New("driver resource is empty")
	// ErrSdist is a source distribution, which cannot be installed without
	// pip and a build backend.
	ErrSdist = errors.New("driver resource is an sdist")
	// ErrNotPure is a wheel with compiled code or a platform tag: it might
	// not match the unit's interpreter, and the driver never needs one.
	ErrNotPure = errors.New("wheel is not pure Python (py3-none-any)")
)

// Kind says what the resource file holds.
type Kind string

const (
	KindWheel      Kind = "wheel"
	KindWheelhouse Kind = "wheelhouse"
)

// Wheel is one inspected wheel, pure or not: its identity and metadata. Every
// file in it matched RECORD when it was inspected.
type Wheel struct {
	// Member is the wheel's path inside a wheelhouse tarball ("" for a bare
	// wheel).
	Member string
	// SHA256 is the hex digest of the .whl file itself.
	SHA256 string
	// Name is the PEP 503 normalized distribution name.
	Name    string
	Version string
	// RequiresDist holds the Requires-Dist values verbatim, environment
	// markers included.
	RequiresDist   []string
	RequiresPython string
	// EntryPoints maps group to name to "module:attr".
	EntryPoints map[string]map[string]string
	Tags        []string
	Pure        bool

	distInfo string
	// topLevel are the importable top-level names the wheel ships:
	// packages (directories) and modules (.py files) at its root.
	topLevel []string
}

// Artifact is an inspected driver resource. Its embedded Wheel is the
// driver's; a wheelhouse may hold further wheels in Extras, of which only
// those in Deps (see WithDeps) are installed.
type Artifact struct {
	Wheel
	Path string
	Kind Kind
	// SHA256 is the hex digest of the resource file; it names the install
	// directory, so two different files never share one.
	SHA256 string
	Extras []Wheel
	Deps   []Wheel
}

// Inspect reads the resource at path and says what it is. It recognises the
// content, not the file name: Juju stores every attached file under the
// resource's declared filename.
//
// A wheel (a zip with exactly one .dist-info holding METADATA and RECORD)
// must be the pure-Python magnum-capi-helm wheel with its k8s_capi_helm_v1
// entry point, and every file in it must match RECORD. A tarball of wheels
// (a wheelhouse, as `pip wheel -w DIR` leaves) must hold exactly one such
// wheel; its other wheels are verified and listed in Extras but installed
// only on request (WithDeps). A tarball with PKG-INFO and no wheels is an
// sdist and is refused with ErrSdist: building one needs pip and a build
// backend, and its files come with no RECORD to verify.
func Inspect(filePath string) (*Artifact, error) {
	data, sum, err := readArtifact(filePath)
	if err != nil {
		return nil, err
	}
	a := &Artifact{Path: filePath, SHA256: sum}
	inflate := maxInflated
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		w, err := readWheel(data, "", &inflate)
		if err != nil {
			return nil, fmt.Errorf("driver wheel: %w", err)
		}
		a.Kind, a.Wheel = KindWheel, *w
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}) || isTar(data):
		members, pkgInfo, err := readTarball(data, nil)
		if err != nil {
			return nil, fmt.Errorf("driver tarball: %w", err)
		}
		if len(members) == 0 {
			if pkgInfo != nil {
				return nil, sdistError(pkgInfo)
			}
			return nil, fmt.Errorf("driver tarball holds no .whl files and no PKG-INFO: neither a wheelhouse nor an sdist")
		}
		var drivers []Wheel
		for _, name := range slices.Sorted(maps.Keys(members)) {
			w, err := readWheel(members[name], name, &inflate)
			if err != nil {
				return nil, fmt.Errorf("driver wheelhouse: %s: %w", name, err)
			}
			if w.Name == DistName {
				drivers = append(drivers, *w)
			} else {
				a.Extras = append(a.Extras, *w)
			}
		}
		switch len(drivers) {
		case 0:
			return nil, fmt.Errorf("driver wheelhouse holds no %s wheel", DistName)
		case 1:
		default:
			return nil, fmt.Errorf("driver wheelhouse holds %d %s wheels (%s, %s, ...); keep one", len(drivers), DistName, drivers[0].Version, drivers[1].Version)
		}
		a.Kind, a.Wheel = KindWheelhouse, drivers[0]
	default:
		return nil, fmt.Errorf("driver resource is neither a wheel (zip) nor a tarball")
	}
	if err := checkDriverWheel(&a.Wheel); err != nil {
		return nil, err
	}
	return a, nil
}

// checkDriverWheel refuses a verified wheel that is not a usable driver.
func checkDriverWheel(w *Wheel) error {
	if w.Name != DistName {
		return fmt.Errorf("driver resource is %s %s, not %s", w.Name, w.Version, DistName)
	}
	if !w.Pure {
		return fmt.Errorf("driver %s %s: %w (tags %s)", w.Name, w.Version, ErrNotPure, strings.Join(w.Tags, ", "))
	}
	if w.EntryPoints[EntryPointGroup][EntryPointName] == "" {
		return fmt.Errorf("driver %s %s has no entry point %s in group %s", w.Name, w.Version, EntryPointName, EntryPointGroup)
	}
	return nil
}

func sdistError(pkgInfo map[string][]string) error {
	version := first(pkgInfo["version"])
	if version == "" {
		version = "X"
	}
	return fmt.Errorf("%w; attach a wheel (pip wheel --no-deps %s==%s)", ErrSdist, DistName, version)
}

// DirName is the install directory's name: name, version and the first 12
// hex digits of the resource's sha256, or, when dependencies are installed
// alongside, of a digest over the resource and the chosen wheels, so the
// same resource with a different set of dependencies gets its own directory.
func (a *Artifact) DirName() string {
	id := a.SHA256
	if len(a.Deps) > 0 {
		h := sha256.New()
		h.Write([]byte(a.SHA256))
		for _, d := range a.Deps {
			h.Write([]byte("\n" + d.SHA256))
		}
		id = hex.EncodeToString(h.Sum(nil))
	}
	return fmt.Sprintf("%s-%s-%s", a.Name, a.Version, id[:12])
}

// Requirements is what must be true of Magnum's interpreter for the driver
// (and the chosen dependencies) to import: the driver's Requires-Dist, plus
// those of each dependency in Deps, less the ones a dependency in Deps
// itself provides.
func (a *Artifact) Requirements() []string {
	reqs := append([]string(nil), a.RequiresDist...)
	for _, d := range a.Deps {
		reqs = append(reqs, d.RequiresDist...)
	}
	var out []string
	for _, r := range reqs {
		if p, err := parseRequirement(r); err == nil && a.depProvides(p) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (a *Artifact) depProvides(r requirement) bool {
	for _, d := range a.Deps {
		if d.Name == normalizeName(r.Name) {
			if ok, err := specifierContains(r.Spec, d.Version); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// TopLevel maps each importable top-level name the artifact installs (the
// driver's and its chosen dependencies') to the distribution that ships it.
func (a *Artifact) TopLevel() map[string]string {
	out := make(map[string]string)
	for _, w := range append([]Wheel{a.Wheel}, a.Deps...) {
		for _, name := range w.topLevel {
			out[name] = w.Name
		}
	}
	return out
}

// WithDeps returns a copy of a that also installs, from the wheelhouse, one
// wheel for each unmet requirement. It refuses rather than guess:
//
//   - a requirement the interpreter has at the wrong version is not fixable
//     here, because the driver's directory comes before the distro's on
//     sys.path and a wheel there would shadow a distro package (magnum or
//     oslo.* would break every OpenStack service on the unit);
//   - a requirement no pure wheel in the wheelhouse satisfies.
//
// Dependencies are resolved one level deep: the chosen wheels' own
// requirements appear in Requirements() for the caller to check again.
func (a *Artifact) WithDeps(unmet []Unmet) (*Artifact, error) {
	b := *a
	b.Deps = nil
	chosen := make(map[string]bool)
	for _, u := range unmet {
		if u.Found != "" {
			return nil, fmt.Errorf("requirement %q: Magnum's interpreter has %s %s; installing another would shadow it", u.Requirement, u.Name, u.Found)
		}
		var pick *Wheel
		for i := range a.Extras {
			w := &a.Extras[i]
			if w.Name != normalizeName(u.Name) || !w.Pure {
				continue
			}
			if ok, err := specifierContains(u.Spec, w.Version); err == nil && ok {
				if pick == nil || versionLess(pick.Version, w.Version) {
					pick = w
				}
			}
		}
		if pick == nil {
			return nil, fmt.Errorf("requirement %q is not installed and no pure wheel in the wheelhouse satisfies it", u.Requirement)
		}
		if !chosen[pick.Member] {
			chosen[pick.Member] = true
			b.Deps = append(b.Deps, *pick)
		}
	}
	sort.Slice(b.Deps, func(i, j int) bool { return b.Deps[i].Member < b.Deps[j].Member })
	return &b, nil
}

func versionLess(a, b string) bool {
	va, err1 := parseVersion(a)
	vb, err2 := parseVersion(b)
	if err1 != nil || err2 != nil {
		return a < b
	}
	return compareVersions(va, vb) < 0
}

// readArtifact reads the whole resource and its sha256.
func readArtifact(filePath string) ([]byte, string, error) {
	data, err := files.ReadFile(filePath, maxArtifactSize)
	if errors.Is(err, files.ErrTooLarge) {
		return nil, "", fmt.Errorf("driver resource is larger than %d MiB", maxArtifactSize>>20)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read driver resource: %w", err)
	}
	if len(data) == 0 {
		return nil, "", ErrEmpty
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

func isTar(data []byte) bool {
	return len(data) > 262 && string(data[257:262]) == "ustar"
}

// readTarball returns the .whl members of a (possibly gzipped) tarball, and
// the fields of a top-level PKG-INFO if there is one. With want non-nil only
// those members are read.
func readTarball(data []byte, want map[string]bool) (map[string][]byte, map[string][]string, error) {
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(files.Capped(r, maxUnpacked))
	wheels := make(map[string][]byte)
	var pkgInfo map[string][]string
	var total int64
	for n := 1; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read tar: %w", err)
		}
		if n > maxTarMembers {
			return nil, nil, fmt.Errorf("more than %d members", maxTarMembers)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		isWheel := strings.HasSuffix(name, ".whl")
		isPkgInfo := path.Base(name) == "PKG-INFO" && strings.Count(name, "/") == 1
		if !isWheel && !isPkgInfo {
			continue
		}
		if want != nil && !want[name] {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, nil, fmt.Errorf("member %s is not a regular file", h.Name)
		}
		total += h.Size
		if h.Size > maxArtifactSize || total > maxArtifactSize {
			return nil, nil, fmt.Errorf("members add up to more than %d MiB", maxArtifactSize>>20)
		}
		body, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", name, err)
		}
		if isWheel {
			if _, dup := wheels[name]; dup {
				return nil, nil, fmt.Errorf("member %s appears twice", name)
			}
			wheels[name] = body
		} else if pkgInfo == nil {
			pkgInfo = parseHeaders(body)
		}
	}
	return wheels, pkgInfo, nil
}

// readWheel verifies a wheel completely and returns its metadata.
//
// inflate is what the resource's wheels may still inflate to; the wheel's
// files are charged to it before any is read.
func readWheel(data []byte, member string, inflate *int64) (*Wheel, error) {
	sum := sha256.Sum256(data)
	w := &Wheel{Member: member, SHA256: hex.EncodeToString(sum[:])}
	if n, err := zipEntries(data); err != nil {
		return nil, err
	} else if n > maxWheelFiles {
		return nil, fmt.Errorf("wheel has more than %d files", maxWheelFiles)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("open zip: %w", err)
	}
	files, err := zipFiles(zr)
	if err != nil {
		return nil, err
	}
	if err := w.readLayout(files); err != nil {
		return nil, err
	}
	read := func(name string) ([]byte, error) {
		f := files[w.distInfo+"/"+name]
		if f == nil {
			return nil, fmt.Errorf("%s/%s is missing", w.distInfo, name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Name, err)
		}
		defer rc.Close()
		return io.ReadAll(io.LimitReader(rc, maxMemberSize))
	}
	metadata, err := read("METADATA")
	if err != nil {
		return nil, err
	}
	recordData, err := read("RECORD")
	if err != nil {
		return nil, err
	}
	wheelData, err := read("WHEEL")
	if err != nil {
		return nil, err
	}
	if err := w.parseMetadata(metadata, wheelData); err != nil {
		return nil, err
	}
	if _, ok := files[w.distInfo+"/entry_points.txt"]; ok {
		ep, err := read("entry_points.txt")
		if err != nil {
			return nil, err
		}
		w.EntryPoints = parseEntryPoints(ep)
	}
	record, err := parseRecord(recordData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.distInfo, err)
	}
	// archive/zip refuses to inflate a file past the size its header
	// declares, so the declared sizes are what verifying costs.
	for _, f := range files {
		*inflate -= int64(min(f.UncompressedSize64, uint64(maxInflated)+1))
	}
	if *inflate < 0 {
		return nil, fmt.Errorf("the wheels unpack to more than %d MiB", maxInflated>>20)
	}
	if err := verifyZip(files, record, nil); err != nil {
		return nil, err
	}
	return w, nil
}

// readLayout reads a wheel's top-level names: its importable modules and
// packages, and its one .dist-info directory.
func (w *Wheel) readLayout(files map[string]*zip.File) error {
	distInfos := make(map[string]bool)
	tops := make(map[string]bool)
	for name := range files {
		top, _, nested := strings.Cut(name, "/")
		// importlib.metadata takes any entry of a sys.path directory
		// whose lower-cased name ends in .dist-info or .egg-info for a
		// distribution (CPython Lib/importlib/metadata/__init__.py,
		// Lookup.__init__), so the suffixes are matched without case.
		switch {
		case hasSuffixFold(top, ".egg-info"):
			return fmt.Errorf("wheel has %s: importlib.metadata would read it as another distribution", top)
		case !nested:
			if mod, ok := strings.CutSuffix(top, ".py"); ok && identRE().MatchString(mod) {
				tops[mod] = true
			}
		case hasSuffixFold(top, ".dist-info"):
			distInfos[top] = true
		case hasSuffixFold(top, ".data"):
			// Scripts, headers and data files would have to go outside the
			// install directory; the driver has none.
			return fmt.Errorf("wheel has a %s directory (scripts or data files); not supported", top)
		case identRE().MatchString(top):
			// A directory is importable as a package, with or without
			// __init__.py (a namespace package).
			tops[top] = true
		}
	}
	w.topLevel = slices.Sorted(maps.Keys(tops))
	if len(distInfos) != 1 {
		return fmt.Errorf("wheel has %d .dist-info directories, want exactly 1", len(distInfos))
	}
	for d := range distInfos {
		w.distInfo = d
	}
	return nil
}

// zipEntries reads the entry count from a zip's end of central directory
// record (APPNOTE.TXT 4.3.16), so that a directory claiming millions of
// entries is refused before archive/zip allocates for each. A zip64 count
// (0xffff) is taken as too many: a wheel never needs 65535 files.
func zipEntries(data []byte) (int, error) {
	const eocdLen = 22
	start := max(0, len(data)-eocdLen-0xffff)
	i := bytes.LastIndex(data[start:], []byte("PK\x05\x06"))
	if i < 0 || start+i+eocdLen > len(data) {
		return 0, fmt.Errorf("open zip: no end of central directory")
	}
	rec := data[start+i:]
	n := int(rec[10]) | int(rec[11])<<8
	if n == 0xffff {
		return math.MaxInt, nil
	}
	return n, nil
}

// zipFiles indexes a zip's regular files, refusing anything else: links,
// devices, duplicate names and paths that leave the directory.
func zipFiles(zr *zip.Reader) (map[string]*zip.File, error) {
	files := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") {
			if err := checkMemberPath(strings.TrimSuffix(name, "/")); err != nil {
				return nil, fmt.Errorf("zip entry: %w", err)
			}
			continue
		}
		if err := checkMemberPath(name); err != nil {
			return nil, fmt.Errorf("zip entry: %w", err)
		}
		if !f.Mode().IsRegular() {
			return nil, fmt.Errorf("zip entry %s is not a regular file (%s)", name, f.Mode().Type())
		}
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("zip entry %s appears twice", name)
		}
		files[name] = f
	}
	return files, nil
}

// verifyZip checks that the zip's files and RECORD's entries are the same
// set and that every file matches its entry; visit, if set, receives each
// file's content once it has been verified.
func verifyZip(files map[string]*zip.File, record []recordEntry, visit func(name string, data []byte) error) error {
	byPath := make(map[string]recordEntry, len(record))
	for _, e := range record {
		byPath[e.Path] = e
		if _, ok := files[e.Path]; !ok {
			if e.hasHash() {
				return fmt.Errorf("RECORD lists %s, which the wheel does not contain", e.Path)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		e, ok := byPath[name]
		if !ok {
			return fmt.Errorf("%s is not listed in RECORD", name)
		}
		f := files[name]
		if e.hasHash() && f.UncompressedSize64 != uint64(e.Size) {
			return fmt.Errorf("%s: size mismatch: RECORD says %d bytes, zip says %d", name, e.Size, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("open %s: %w", name, err)
		}
		data, err := checkContent(e, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if visit != nil {
			if err := visit(name, data); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

var (
	identRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	nameRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$`) })
	dirSafeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+!_-]*$`) })
	normRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[-_.]+`) })
)

// normalizeName is PEP 503 normalization: importlib.metadata and pip both
// compare distribution names this way.
func normalizeName(name string) string {
	return normRE().ReplaceAllString(strings.ToLower(name), "-")
}

func (w *Wheel) parseMetadata(metadata, wheel []byte) error {
	md := parseHeaders(metadata)
	name, version := first(md["name"]), first(md["version"])
	if !nameRE().MatchString(name) {
		return fmt.Errorf("METADATA: invalid Name %q", name)
	}
	// The version names a directory: refuse anything that is not a plain
	// token, whatever PEP 440 would say.
	if !dirSafeRE().MatchString(version) {
		return fmt.Errorf("METADATA: invalid Version %q", version)
	}
	w.Name, w.Version = normalizeName(name), version
	w.RequiresDist = md["requires-dist"]
	w.RequiresPython = first(md["requires-python"])

	// importlib.metadata finds a distribution by its .dist-info directory
	// name, then reads METADATA: the two must agree.
	stem := strings.TrimSuffix(w.distInfo, ".dist-info")
	i := strings.LastIndex(stem, "-")
	if i < 0 || normalizeName(stem[:i]) != w.Name || !sameVersion(stem[i+1:], version) {
		return fmt.Errorf("%s does not match METADATA (%s %s)", w.distInfo, name, version)
	}

	wh := parseHeaders(wheel)
	if wv := first(wh["wheel-version"]); !strings.HasPrefix(wv, "1.") {
		return fmt.Errorf("WHEEL: unsupported Wheel-Version %q", wv)
	}
	w.Tags = wh["tag"]
	w.Pure = strings.EqualFold(first(wh["root-is-purelib"]), "true") && len(w.Tags) > 0
	for _, tag := range w.Tags {
		parts := strings.Split(tag, "-")
		if len(parts) != 3 || parts[1] != "none" || parts[2] != "any" || !pyTagsArePure(parts[0]) {
			w.Pure = false
		}
	}
	return nil
}

// pyTagsArePure accepts python tags such as py3 and py2.py3: generic
// Python, not one implementation's ABI.
func pyTagsArePure(tags string) bool {
	py3 := false
	for _, t := range strings.Split(tags, ".") {
		if !strings.HasPrefix(t, "py") {
			return false
		}
		py3 = py3 || strings.HasPrefix(t, "py3")
	}
	return py3
}

func sameVersion(a, b string) bool {
	if a == b || a == strings.ReplaceAll(b, "-", "_") {
		return true
	}
	va, err1 := parseVersion(a)
	vb, err2 := parseVersion(b)
	return err1 == nil && err2 == nil && compareVersions(va, vb) == 0
}

// parseHeaders reads RFC 822 style headers (METADATA, PKG-INFO, WHEEL) up
// to the first blank line, keyed by lower-cased name. Continuation lines
// are joined to their header.
func parseHeaders(data []byte) map[string][]string {
	out := make(map[string][]string)
	var key string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), maxMemberSize)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if vals := out[key]; key != "" && len(vals) > 0 {
				vals[len(vals)-1] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			key = ""
			continue
		}
		key = strings.ToLower(strings.TrimSpace(k))
		out[key] = append(out[key], strings.TrimSpace(v))
	}
	return out
}

// parseEntryPoints reads entry_points.txt, an INI file of
// `name = module:attr` lines under [group] headers.
func parseEntryPoints(data []byte) map[string]map[string]string {
	out := make(map[string]map[string]string)
	var group string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			group = strings.TrimSpace(line[1 : len(line)-1])
		case group != "":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			if out[group] == nil {
				out[group] = make(map[string]string)
			}
			out[group][strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}
