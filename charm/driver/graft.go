package driver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/apt"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// The driver as an artifact of the graft (package artifact). resource and
// index install a wheel into a version directory under Root and activate
// it with one .pth file in the /usr/local site directory of Magnum's
// Python, which is a planned file like any other: the plan shows it, the
// footprint records what was there, removal deletes it, and a change to it
// restarts both services. apt installs a package instead.
//
// Everything that costs (resource-get, reading the wheel, running Python)
// is Resolve's, and runs only when the hook asks for it (install,
// config-changed, upgrade-charm, regraft: Force) or when the cheap check
// finds drift; a converged update-status reads one small JSON file and
// stats the active directory.

// DistPackages is where Debian's python3-* packages install.
const DistPackages = "/usr/lib/python3/dist-packages"

// Root is where the version directories are in the install tree.
func Root(c *artifact.Context) string { return c.Root() + "/driver" }

// Source says where the driver comes from.
type Source string

const (
	SourceAuto     Source = "auto"
	SourceResource Source = "resource"
	SourceIndex    Source = "index"
	SourceApt      Source = "apt"
)

// Config is the driver's part of the charm config.
type Config struct {
	Source     Source
	Version    string
	IndexURL   string
	AptPackage string
	AptSource  string
}

const (
	// DefaultIndexURL is PyPI's simple index.
	DefaultIndexURL   = "https://pypi.org/simple"
	DefaultAptPackage = "python3-magnum-capi-helm"
)

var aptPackageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// Check checks the options. Every error names the option, so it can be the
// blocked status as it is.
func (dc *Config) Check() error {
	dc.IndexURL = strings.TrimRight(dc.IndexURL, "/")
	switch dc.Source {
	case SourceAuto, SourceResource, SourceIndex, SourceApt:
	case "":
		dc.Source = SourceAuto
	default:
		return fmt.Errorf("driver-source %q is not one of auto, resource, index, apt", dc.Source)
	}
	u, err := url.Parse(dc.IndexURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("pip-index-url must be an https URL of a simple index, like %s", DefaultIndexURL)
	}
	if dc.AptPackage == "" {
		dc.AptPackage = DefaultAptPackage
	}
	if !aptPackageRE.MatchString(dc.AptPackage) {
		return fmt.Errorf("driver-apt-package %q is not a Debian package name", dc.AptPackage)
	}
	if strings.HasPrefix(dc.AptSource, "-") || strings.ContainsFunc(dc.AptSource, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return fmt.Errorf("driver-apt-source must be one line of printable ASCII not starting with '-', like ppa:canonical-openstack/magnum-capi-helm")
	}
	return nil
}

// key identifies the options a recorded install answered.
func (dc Config) key() string {
	return strings.Join([]string{string(dc.Source), dc.Version, dc.IndexURL, dc.AptPackage, dc.AptSource}, "\x00")
}

// Driver is the driver as this reconcile wants it.
type Driver struct {
	Config Config
	// Source is where it comes from (auto resolved).
	Source  Source
	Version string
	// Dir is the version directory the .pth names (resource and index), or
	// "" (apt).
	Dir string
	// SiteDir and Pth locate the activation file.
	SiteDir string
	Pth     string
	// Package is the Debian package (apt).
	Package string
	// converged is set when the cheap check found the recorded install
	// intact and nothing was re-read.
	converged bool

	artifact *Artifact
	sha256   string
	// prove: a fresh interpreter must load the driver before any restart.
	prove bool
	// aptInstall: the package must be installed (or upgraded) by stage.
	aptInstall bool
	// aptSource: add-apt-repository must run first.
	aptSource bool
	// staged work, undone if the proof fails.
	installedDir bool
	installedApt bool
	previous     *record
	proof        Proof
}

var _ artifact.Artifact = (*Driver)(nil)

// New is the driver as the options want it.
func New(dc Config) *Driver { return &Driver{Config: dc, Version: dc.Version} }

// Summary is the driver's part of the status.
func (s *Driver) Summary() string {
	return fmt.Sprintf("%s %s (%s)", DistName, s.Version, s.Source)
}

// Replaces reports whether the driver resolved is another than the one
// last installed (a new version, source or wheel, or the first): the
// change a rolling restart tries on a canary first.
func (s *Driver) Replaces() bool {
	rec := s.previous
	return rec == nil || rec.Source != s.Source || rec.Version != s.Version || rec.SHA256 != s.sha256 || rec.Package != s.Package
}

// ProveDir is where a proof must find the driver's module.
func (s *Driver) ProveDir() string {
	if s.Source == SourceApt {
		return DistPackages
	}
	return s.Dir
}

// record is what the last successful reconcile installed, kept in the
// state directory: the cheap check compares the unit with it.
type record struct {
	Key         string `json:"key"`
	Source      Source `json:"source"`
	Version     string `json:"version"`
	SHA256      string `json:"sha256,omitempty"`
	Dir         string `json:"dir,omitempty"`
	Previous    string `json:"previous,omitempty"`
	SiteDir     string `json:"site-dir"`
	Python      string `json:"python"`
	Magnum      string `json:"magnum"`
	Fingerprint string `json:"fingerprint,omitempty"`
	ProofFile   string `json:"proof-file,omitempty"`
	// apt
	Package   string    `json:"package,omitempty"`
	ListMtime time.Time `json:"list-mtime,omitzero"`
	// AptInstalled lists packages the charm installed (removal removes
	// them); AptSources the archives it added.
	AptInstalled []string `json:"apt-installed,omitempty"`
	AptSources   []string `json:"apt-sources,omitempty"`
}

// loadRecord returns the record, or nil when there is none (or it cannot
// be read: the full path then runs, and rewrites it).
func loadRecord(d state.Dir) *record {
	var rec record
	if d.Load(state.Driver, &rec) != nil {
		return nil
	}
	return &rec
}

// Desire says where the driver is activated and, when the record of the
// last install still holds, that it is converged. It runs nothing.
func (s *Driver) Desire(c *artifact.Context) (artifact.Part, error) {
	unit := c.Unit
	if unit.PythonVersion == "" {
		return artifact.Part{}, artifact.Blocked("cannot tell the version of Magnum's Python (%s): the driver cannot be activated", unit.Python)
	}
	s.SiteDir = "/usr/local/lib/python" + unit.PythonVersion + "/dist-packages"
	s.Pth = filepath.Join(s.SiteDir, PthName)
	rec := loadRecord(c.State)
	s.previous = rec
	if !c.Force && rec != nil && rec.Key == s.Config.key() && rec.Python == unit.PythonVersion &&
		rec.Magnum == unit.MagnumVersion && !c.State.Marked(state.DriverPending) && s.intact(rec) {
		s.converged = true
		s.Source, s.Dir, s.Package, s.sha256 = rec.Source, rec.Dir, rec.Package, rec.SHA256
	}
	part := artifact.Part{Watch: []string{Root(c)}}
	both := slices.Clone(unitshape.Services)
	switch {
	case s.converged:
		part.Add(s.activation())
	case s.Config.Source != SourceApt:
		// The site directory exists on most units; when it does not, the
		// charm creates it (and removal removes it again if empty).
		for _, dir := range []string{filepath.Dir(s.SiteDir), s.SiteDir} {
			if _, err := os.Stat(dir); err != nil {
				part.Dirs = append(part.Dirs, files.Dir{Path: dir, Mode: 0o755, Owner: "root", Group: "root"})
			}
		}
	}
	// A Python upgrade moves the site directory: the old activation goes.
	if rec != nil && rec.SiteDir != "" && rec.SiteDir != s.SiteDir {
		old := filepath.Join(rec.SiteDir, PthName)
		if _, err := os.Lstat(old); err == nil {
			part.Absent = append(part.Absent, files.File{Path: old, Restarts: both})
		}
	}
	return part, nil
}

// activation is how the plan activates the driver: the .pth naming its
// version directory, or (apt) no .pth and the package's list as a stamp.
func (s *Driver) activation() artifact.Part {
	both := slices.Clone(unitshape.Services)
	var part artifact.Part
	if s.Source == SourceApt {
		if _, err := os.Lstat(s.Pth); err == nil {
			part.Absent = append(part.Absent, files.File{Path: s.Pth, Restarts: both})
		}
		part.Stamps = append(part.Stamps, apt.ListFile(s.Package))
		part.Keys = []string{fmt.Sprintf("driver %s %s %s", s.Source, s.Version, s.Package)}
		return part
	}
	// Python reads the .pth only when it starts (charm/readings): one
	// removed and put back under running services needs no restart.
	part.Files = append(part.Files, files.File{Path: s.Pth, Content: PthContent(s.Dir), Mode: 0o644,
		Owner: "root", Group: "root", Restarts: both, ReadAtStart: true})
	part.Watch = append(part.Watch, s.Dir)
	part.Keys = []string{fmt.Sprintf("driver %s %s %s", s.Source, s.Version, s.sha256)}
	return part
}

// intact is the cheap check: what was installed and proved is still there
// as it was (the package not reinstalled; the version directory's every
// entry with the same inode, size and times). It runs no program. The
// activation is not part of it: the .pth is a planned file like any other,
// so a removed or edited one is written back by the plan (and the services
// restart onto it) without re-installing or re-proving a driver that did
// not change.
func (s *Driver) intact(rec *record) bool {
	if rec.SiteDir != s.SiteDir {
		return false
	}
	if rec.Source == SourceApt {
		fi, err := os.Stat(apt.ListFile(rec.Package))
		return err == nil && fi.ModTime().Equal(rec.ListMtime)
	}
	if rec.Dir == "" {
		return false
	}
	fp, err := Fingerprint(rec.Dir)
	return err == nil && fp == rec.Fingerprint
}

// Resolve finds the driver and checks it against the options and Magnum's
// Python, installing nothing. It returns the activation for the plan.
func (s *Driver) Resolve(ctx context.Context, c *artifact.Context) (artifact.Part, error) {
	// While the marker is there the cheap check is not trusted, so a
	// refused resource keeps its blocked status instead of the last good
	// version passing for converged.
	if err := c.MarkPending(state.DriverPending); err != nil {
		return artifact.Part{}, err
	}
	s.Source = s.Config.Source
	var restart string
	if s.Source == SourceApt {
		var err error
		if restart, err = s.resolveApt(ctx, c); err != nil {
			return artifact.Part{}, err
		}
	} else if err := s.resolveWheel(ctx, c); err != nil {
		return artifact.Part{}, err
	}
	part := s.activation()
	if restart != "" {
		part.Restart = []string{restart}
	}
	return part, nil
}

// Stage installs what Resolve chose: the version directory, or the
// package. The activation is a planned file; the services are not touched
// here.
func (s *Driver) Stage(ctx context.Context, c *artifact.Context) error {
	return s.install(ctx, c)
}

// Converged reports that the recorded install holds.
func (s *Driver) Converged() bool { return s.converged }

// resolveWheel finds the wheel (the resource, or the index), and checks it
// against the options and Magnum's Python.
func (s *Driver) resolveWheel(ctx context.Context, c *artifact.Context) error {
	path, from, cleanup, err := s.find(ctx, c)
	if err != nil {
		return err
	}
	defer cleanup()
	c.Logf("driver: inspect %s", from)
	a, err := Inspect(path)
	if err != nil {
		return artifact.Blocked("%s: %v", from, err)
	}
	if a.Version != s.Config.Version {
		return artifact.Blocked("%s is %s %s, but driver-version is %s: attach the %s wheel or set driver-version=%s",
			from, a.Name, a.Version, s.Config.Version, s.Config.Version, a.Version)
	}
	if a, err = s.fits(ctx, c, a, from); err != nil {
		return err
	}
	s.artifact = a
	s.sha256 = a.SHA256
	s.Dir = filepath.Join(Root(c), a.DirName())
	s.prove = true
	return nil
}

// find returns the wheel's path and what it is, from the resource or the
// index; cleanup removes a temporary download.
func (s *Driver) find(ctx context.Context, c *artifact.Context) (path, from string, cleanup func(), err error) {
	dc := s.Config
	cleanup = func() {}
	if s.Source != SourceIndex {
		p, err := c.Juju.ResourceGet(ctx, "driver")
		var empty bool
		if err == nil {
			fi, serr := os.Stat(p)
			empty = serr == nil && fi.Size() == 0
		}
		switch {
		case err != nil && !errors.Is(err, hooktool.ErrResourceNotFound):
			return "", "", cleanup, fmt.Errorf("resource-get driver: %w", err)
		case err == nil && !empty:
			s.Source = SourceResource
			return p, "the driver resource", cleanup, nil
		case s.Source == SourceResource && empty:
			return "", "", cleanup, artifact.Blocked("the driver resource is empty: %s", attachHint(c, dc.Version))
		case s.Source == SourceResource:
			return "", "", cleanup, artifact.Blocked("no driver resource: %s", attachHint(c, dc.Version))
		}
		s.Source = SourceIndex
	}
	c.Logf("driver: fetch %s %s from %s", DistName, dc.Version, redact.String(dc.IndexURL))
	client, err := indexHTTPClient(c.Proxy)
	if err != nil {
		return "", "", cleanup, artifact.Blocked("%v", err)
	}
	p, temp, err := fetchWheel(ctx, client, dc.IndexURL, dc.Version, c.State.Path(state.WheelCache), c.DryRun)
	if temp {
		cleanup = func() { os.Remove(p) }
	}
	if err != nil {
		msg := fmt.Sprintf("driver from the index: %v", err)
		if dc.Source == SourceAuto {
			msg += fmt.Sprintf("; or attach the wheel: juju attach-resource %s driver=magnum_capi_helm-%s-py3-none-any.whl", c.App, dc.Version)
		}
		return "", "", cleanup, artifact.Blocked("%s", msg)
	}
	return p, "the index's wheel", cleanup, nil
}

// fits checks the wheel against Magnum's Python: it reads .pth files from
// the site directory, the wheel's Python and requirements are met (a
// wheelhouse may bring what is missing), and nothing it ships shadows what
// Magnum's Python already has.
func (s *Driver) fits(ctx context.Context, c *artifact.Context, a *Artifact, from string) (*Artifact, error) {
	unit := c.Unit
	interp, err := Discover(ctx, unit.Python, "magnum", unit.ServicesEnv())
	if err != nil {
		return nil, artifact.Blocked("run Magnum's Python as magnum: %v", err)
	}
	if interp.MagnumError != "" {
		return nil, artifact.Blocked("Magnum's Python %s cannot import magnum: %s", unit.Python, interp.MagnumError)
	}
	if !slices.Contains(interp.SiteDirs, s.SiteDir) {
		return nil, artifact.Blocked("Magnum's Python %s does not read .pth files from %s (its site directories: %s)",
			unit.Python, s.SiteDir, strings.Join(interp.SiteDirs, ", "))
	}
	if ok, err := interp.RequiresPythonOK(a.RequiresPython); err == nil && !ok {
		return nil, artifact.Blocked("%s %s requires Python %s; Magnum runs %s", a.Name, a.Version, a.RequiresPython, interp.FullVersion)
	}
	interp.Hide = []string{Root(c)}
	unmet, err := CheckRequirements(ctx, interp, a.Requirements())
	if err != nil {
		return nil, err
	}
	if len(unmet) > 0 && a.Kind == KindWheelhouse {
		if b, werr := a.WithDeps(unmet); werr == nil {
			if unmet, err = CheckRequirements(ctx, interp, b.Requirements()); err != nil {
				return nil, err
			}
			a = b
		}
	}
	if len(unmet) > 0 {
		return nil, artifact.Blocked("%s %s needs %s, which Magnum's Python does not have; the charm installs no dependencies: install them from the distro or attach a wheelhouse with them",
			a.Name, a.Version, joinStrings(unmet))
	}
	shadows, err := Shadowed(ctx, interp, a.TopLevel())
	if err != nil {
		return nil, err
	}
	if len(shadows) > 0 {
		return nil, artifact.Blocked("%s: %s %s ships top-level %s, which Magnum's Python already has: installing it would shadow that for every service on the unit",
			from, a.Name, a.Version, strings.Join(stringsOf(shadows), "; "))
	}
	return a, nil
}

func joinStrings[T fmt.Stringer](xs []T) string { return strings.Join(stringsOf(xs), ", ") }

func stringsOf[T fmt.Stringer](xs []T) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.String())
	}
	return out
}

func attachHint(c *artifact.Context, version string) string {
	return fmt.Sprintf("juju attach-resource %s driver=magnum_capi_helm-%s-py3-none-any.whl (or set driver-source=index or apt)", c.App, version)
}

// resolveApt checks what apt has and would do, without doing it. It
// returns why the services must restart ("" if they need not).
func (s *Driver) resolveApt(ctx context.Context, c *artifact.Context) (string, error) {
	dc := s.Config
	s.Package = dc.AptPackage
	if dc.AptSource != "" && (s.previous == nil || !slices.Contains(s.previous.AptSources, dc.AptSource)) {
		if _, err := exec.LookPath("add-apt-repository"); err != nil {
			return "", artifact.Blocked("driver-apt-source is set but add-apt-repository is not installed on this unit: install software-properties-common, or add the archive by hand and unset driver-apt-source")
		}
		s.aptSource = true
	}
	installed, err := apt.Installed(ctx, s.Package)
	if err != nil {
		return "", err
	}
	s.prove = true
	if installed != "" && apt.UpstreamVersion(installed) == dc.Version {
		return "", nil
	}
	// With an archive still to add, what it offers is known only after
	// adding it: install checks the candidate again.
	if !s.aptSource {
		candidate, err := apt.Candidate(ctx, s.Package)
		if err != nil {
			return "", err
		}
		if err := checkCandidate(s.Package, candidate, installed, dc.Version); err != nil {
			return "", err
		}
	}
	s.aptInstall = true
	return "apt-get install " + s.Package, nil
}

func checkCandidate(pkg, candidate, installed, want string) error {
	switch {
	case candidate == "":
		return artifact.Blocked("apt has no candidate for %s: set driver-apt-source (e.g. ppa:canonical-openstack/magnum-capi-helm) or driver-source=resource", pkg)
	case apt.UpstreamVersion(candidate) != want:
		have := ""
		if installed != "" {
			have = fmt.Sprintf(" (%s is installed)", installed)
		}
		return artifact.Blocked("apt would install %s %s%s, but driver-version is %s: set driver-version=%s or use driver-source=resource",
			pkg, candidate, have, want, apt.UpstreamVersion(candidate))
	}
	return nil
}

// install installs what Stage resolved: the version directory, or the
// package.
func (s *Driver) install(ctx context.Context, c *artifact.Context) error {
	if s.Source == SourceApt {
		return s.installApt(ctx, c)
	}
	if _, err := os.Lstat(s.Dir); err != nil {
		s.installedDir = true
	}
	c.Logf("driver: install %s %s into %s", s.artifact.Name, s.artifact.Version, s.Dir)
	if err := artifact.MkdirRoot(c.Root()); err != nil {
		return err
	}
	dir, err := Install(s.artifact, Root(c))
	if err != nil {
		return artifact.Blocked("%v", err)
	}
	if dir != s.Dir {
		return fmt.Errorf("driver installed into %s, expected %s", dir, s.Dir)
	}
	return nil
}

func (s *Driver) installApt(ctx context.Context, c *artifact.Context) error {
	if s.aptSource {
		c.Logf("driver: add-apt-repository %s", redact.Text(s.Config.AptSource))
		if err := apt.Run(ctx, "add-apt-repository", "-y", s.Config.AptSource); err != nil {
			return artifact.Blocked("driver-apt-source: %v", err)
		}
		if err := apt.Run(ctx, "apt-get", "update", "-q"); err != nil {
			return artifact.Blocked("driver-apt-source: %v", err)
		}
		if s.aptInstall {
			installed, _ := apt.Installed(ctx, s.Package)
			candidate, err := apt.Candidate(ctx, s.Package)
			if err != nil {
				return err
			}
			if err := checkCandidate(s.Package, candidate, installed, s.Version); err != nil {
				return err
			}
		}
	}
	if !s.aptInstall {
		return nil
	}
	before, _ := apt.Installed(ctx, s.Package)
	c.Logf("driver: apt-get install %s", s.Package)
	if err := apt.Run(ctx, "apt-get", "install", "-y", "-q", s.Package); err != nil {
		return artifact.Blocked("driver-source=apt: %v", err)
	}
	s.installedApt = before == ""
	got, err := apt.Installed(ctx, s.Package)
	if err != nil {
		return err
	}
	if apt.UpstreamVersion(got) != s.Version {
		return artifact.Blocked("apt installed %s %s, but driver-version is %s", s.Package, got, s.Version)
	}
	return nil
}

// Prove loads the driver as user magnum in a fresh interpreter, with the
// activation as the plan left it, before any service restarts.
func (s *Driver) Prove(ctx context.Context, c *artifact.Context) error {
	if !s.prove {
		return nil
	}
	c.Logf("driver: prove %s %s as magnum", DistName, s.Version)
	p, err := Prove(ctx, &Interpreter{Python: c.Unit.Python}, "magnum", c.Unit.ServicesEnv(), s.Version, s.ProveDir())
	if err != nil {
		return err
	}
	s.proof = p
	return nil
}

// Unstage undoes Stage after a failed proof or restart: a directory
// installed by this hook goes, and so does a package this hook installed.
func (s *Driver) Unstage(ctx context.Context, c *artifact.Context) {
	if s.installedDir && s.Dir != "" {
		_ = os.RemoveAll(s.Dir)
	}
	if s.installedApt {
		if err := apt.Run(ctx, "apt-get", "remove", "-y", "-q", s.Package); err != nil {
			c.Logf("driver: %v", err)
		}
	}
}

// Commit records what is now installed and proved, keeps one previous
// version directory and removes the others.
func (s *Driver) Commit(ctx context.Context, c *artifact.Context) error {
	rec, err := s.record(c)
	if err != nil {
		return err
	}
	if removed, err := Prune(Root(c), rec.Dir, rec.Previous); err != nil {
		c.Logf("driver: %v", err)
	} else if len(removed) > 0 {
		c.Logf("driver: removed %s", strings.Join(removed, ", "))
	}
	if err := c.State.Save(state.Driver, rec); err != nil {
		return err
	}
	if err := c.State.Mark(state.DriverPending, false); err != nil {
		return err
	}
	_ = c.Juju.ApplicationVersionSet(ctx, s.Version)
	return nil
}

// record is the record of what is installed now.
func (s *Driver) record(c *artifact.Context) (*record, error) {
	old := s.previous
	rec := &record{Key: s.Config.key(), Source: s.Source, Version: s.Version, SHA256: s.sha256, Dir: s.Dir,
		SiteDir: s.SiteDir, Python: c.Unit.PythonVersion, Magnum: c.Unit.MagnumVersion, Package: s.Package, ProofFile: s.proof.File}
	if old != nil {
		rec.AptInstalled, rec.AptSources = old.AptInstalled, old.AptSources
		switch {
		case old.Dir != "" && old.Dir != s.Dir:
			rec.Previous = old.Dir
		case old.Previous != s.Dir:
			rec.Previous = old.Previous
		}
	}
	if s.installedApt && !slices.Contains(rec.AptInstalled, s.Package) {
		rec.AptInstalled = append(rec.AptInstalled, s.Package)
	}
	if s.aptSource && !slices.Contains(rec.AptSources, s.Config.AptSource) {
		rec.AptSources = append(rec.AptSources, s.Config.AptSource)
	}
	if s.Source == SourceApt {
		fi, err := os.Stat(apt.ListFile(s.Package))
		if err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
		rec.ListMtime = fi.ModTime()
		return rec, nil
	}
	fp, err := Fingerprint(s.Dir)
	if err != nil {
		return nil, err
	}
	rec.Fingerprint = fp
	return rec, nil
}

// Remove runs during removal, after the activation is gone: it removes the
// packages the charm installed (the services must restart without them)
// and the version directories, verified trees the reconcile itself
// replaces when anything in them is not the wheel's, so wholly the
// charm's, and the directories interrupted installs left.
func (s *Driver) Remove(ctx context.Context, c *artifact.Context) (artifact.Removed, error) {
	res := artifact.Removed{Dirs: []string{Root(c)}}
	if rec := loadRecord(c.State); rec != nil {
		for _, pkg := range rec.AptInstalled {
			if v, _ := apt.Installed(ctx, pkg); v == "" {
				continue
			}
			c.Logf("apt-get remove %s (the charm installed it)", pkg)
			if err := apt.Run(ctx, "apt-get", "remove", "-y", "-q", pkg); err != nil {
				return res, err
			}
			res.Did = append(res.Did, "apt-get remove "+pkg)
			res.Changed = true
		}
	}
	if st, err := files.Read(Root(c)); err != nil || !st.IsDir {
		return res, nil
	}
	removed, err := Prune(Root(c), "", "")
	for _, p := range removed {
		c.Logf("remove %s (the charm installed it)", p)
		res.Changed = true
	}
	return res, err
}
