package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/driver"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// The driver is part of the graft. resource and index install a wheel into
// a version directory under DriverRoot (package driver does the installing
// and proving) and activate it with one .pth file in the /usr/local site
// directory of Magnum's Python, which is a desired file like any other: the
// plan shows it, the footprint records what was there, removal deletes it,
// and a change to it restarts both services. apt installs a package instead.
//
// Everything that costs (resource-get, reading the wheel, running Python)
// happens only when the hook asks for it (install, config-changed,
// upgrade-charm, regraft: Options.Force) or when the cheap check finds
// drift; a converged update-status reads one small JSON file and stats the
// active directory.
const (
	// InstallRoot is the charm's own tree; removal deletes what the charm
	// put there, and the tree once nothing else is in it.
	InstallRoot = "/opt/magnum-capi-graft"
	// DriverRoot holds one directory per installed driver version.
	DriverRoot = InstallRoot + "/driver"
	// PthName is the activation file in Magnum's /usr/local site directory.
	PthName = driver.DefaultPthName
	// ServicesPATH is the search path Magnum's init scripts set; the
	// services' observed PATH is used when there is one.
	ServicesPATH = "/sbin:/usr/sbin:/bin:/usr/bin"
	// MagnumHome is user magnum's home: a writable HOME for helm.
	MagnumHome = "/var/lib/magnum"
	// DistPackages is where Debian's python3-* packages install.
	DistPackages = "/usr/lib/python3/dist-packages"

	driverRecordFile = "driver.json"
	// driverPending marks a full-path attempt that has not been committed:
	// while it is there the cheap check is not trusted, so a refused
	// resource keeps its blocked status instead of the last good version
	// passing for converged.
	driverPending = "driver.pending"
	wheelCacheDir = "wheels"
)

// DriverSource says where the driver comes from.
type DriverSource string

const (
	SourceAuto     DriverSource = "auto"
	SourceResource DriverSource = "resource"
	SourceIndex    DriverSource = "index"
	SourceApt      DriverSource = "apt"
)

// DriverConfig is the driver's part of the charm config.
type DriverConfig struct {
	Source     DriverSource
	Version    string
	IndexURL   string
	AptPackage string
	AptSource  string
}

const (
	defaultIndexURL   = "https://pypi.org/simple"
	defaultAptPackage = "python3-magnum-capi-helm"
)

var aptPackageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// ParseDriverConfig reads and checks the driver options. Every error names
// the option, so it can be the blocked status as it is.
func ParseDriverConfig(cfg Config) (DriverConfig, error) {
	str := func(key, def string) string {
		if s, ok := cfg.Raw[key].(string); ok {
			return strings.TrimSpace(s)
		}
		return def
	}
	dc := DriverConfig{
		Source:     DriverSource(str("driver-source", string(SourceAuto))),
		Version:    cfg.DriverVersion,
		IndexURL:   strings.TrimRight(str("pip-index-url", defaultIndexURL), "/"),
		AptPackage: str("driver-apt-package", defaultAptPackage),
		AptSource:  str("driver-apt-source", ""),
	}
	switch dc.Source {
	case SourceAuto, SourceResource, SourceIndex, SourceApt:
	case "":
		dc.Source = SourceAuto
	default:
		return dc, fmt.Errorf("driver-source %q is not one of auto, resource, index, apt", dc.Source)
	}
	u, err := url.Parse(dc.IndexURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return dc, fmt.Errorf("pip-index-url must be an https URL of a simple index, like %s", defaultIndexURL)
	}
	if dc.AptPackage == "" {
		dc.AptPackage = defaultAptPackage
	}
	if !aptPackageRE.MatchString(dc.AptPackage) {
		return dc, fmt.Errorf("driver-apt-package %q is not a Debian package name", dc.AptPackage)
	}
	if strings.HasPrefix(dc.AptSource, "-") || strings.ContainsFunc(dc.AptSource, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return dc, fmt.Errorf("driver-apt-source must be one line of printable ASCII not starting with '-', like ppa:canonical-openstack/magnum-capi-helm")
	}
	return dc, nil
}

// key identifies the options a recorded install answered.
func (dc DriverConfig) key() string {
	return strings.Join([]string{string(dc.Source), dc.Version, dc.IndexURL, dc.AptPackage, dc.AptSource}, "\x00")
}

// DriverState is the driver as this reconcile wants it.
type DriverState struct {
	Config DriverConfig
	// Source is where it comes from (auto resolved).
	Source  DriverSource
	Version string
	// Dir is the version directory the .pth names (resource and index), or
	// "" (apt).
	Dir string
	// SiteDir and Pth locate the activation file.
	SiteDir string
	Pth     string
	// Package is the Debian package (apt).
	Package string
	// Converged is set when the cheap check found the recorded install
	// intact and nothing was re-read.
	Converged bool

	artifact *driver.Artifact
	sha256   string
	// prove: a fresh interpreter must load the driver before any restart.
	prove bool
	// aptInstall: the package must be installed (or upgraded) by stage.
	aptInstall bool
	// aptSource: add-apt-repository must run first.
	aptSource bool
	// staged work, undone if the proof fails.
	installedDir  bool
	installedApt  bool
	previous      *driverRecord
	restartReason string
	proof         driver.Proof
}

// Summary is the driver's part of the status.
func (s *DriverState) Summary() string {
	return fmt.Sprintf("%s %s (%s)", driver.DistName, s.Version, s.Source)
}

// ProveDir is where a proof must find the driver's module.
func (s *DriverState) ProveDir() string {
	if s.Source == SourceApt {
		return DistPackages
	}
	return s.Dir
}

// driverRecord is what the last successful reconcile installed, kept in the
// state directory: the cheap check compares the unit with it.
type driverRecord struct {
	Key         string       `json:"key"`
	Source      DriverSource `json:"source"`
	Version     string       `json:"version"`
	SHA256      string       `json:"sha256,omitempty"`
	Dir         string       `json:"dir,omitempty"`
	Previous    string       `json:"previous,omitempty"`
	SiteDir     string       `json:"site-dir"`
	Python      string       `json:"python"`
	Magnum      string       `json:"magnum"`
	Fingerprint string       `json:"fingerprint,omitempty"`
	ProofFile   string       `json:"proof-file,omitempty"`
	// apt
	Package   string    `json:"package,omitempty"`
	ListMtime time.Time `json:"list-mtime,omitzero"`
	// AptInstalled lists packages the charm installed (removal removes
	// them); AptSources the archives it added.
	AptInstalled []string `json:"apt-installed,omitempty"`
	AptSources   []string `json:"apt-sources,omitempty"`
}

func (r *Reconciler) loadDriverRecord() *driverRecord {
	b, err := files.ReadFile(filepath.Join(r.StateDir, driverRecordFile), files.MaxTextFile)
	if err != nil {
		return nil
	}
	var rec driverRecord
	if json.Unmarshal(b, &rec) != nil {
		return nil
	}
	return &rec
}

func (r *Reconciler) saveDriverRecord(rec *driverRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.StateDir, 0o700); err != nil {
		return err
	}
	return osutil.AtomicWriteFile(filepath.Join(r.StateDir, driverRecordFile), append(b, '\n'), 0o600, 0)
}

// ServicesEnv is the environment Magnum's services run with, as far as
// proving anything matters: their PATH and user magnum's home.
func ServicesEnv(unit *unitshape.Unit) []string {
	return []string{"PATH=" + servicesPATH(unit), "HOME=" + MagnumHome, "LANG=C.UTF-8"}
}

func servicesPATH(unit *unitshape.Unit) string {
	if unit != nil {
		for _, s := range unit.Services {
			if s.PATH != "" {
				return s.PATH
			}
		}
	}
	return ServicesPATH
}

// pthContent is the .pth file naming dir. Lines starting with # are
// comments to site.py.
func pthContent(dir string) []byte {
	return []byte("# Written by the magnum-capi-graft charm: it puts the magnum-capi-helm driver on sys.path.\n" +
		"# Do not edit; the charm rewrites or removes it.\n" + dir + "\n")
}

// desireDriver adds the driver to the desired state. It changes nothing on
// the unit: installing is stage's work, after the failure memory is
// consulted.
func (r *Reconciler) desireDriver(ctx context.Context, unit *unitshape.Unit, d *Desired, opts Options) error {
	dc, err := ParseDriverConfig(d.Config)
	if err != nil {
		return blocked{err.Error()}
	}
	if unit.PythonVersion == "" {
		return block("cannot tell the version of Magnum's Python (%s): the driver cannot be activated", unit.Python)
	}
	s := &DriverState{Config: dc, Version: dc.Version}
	s.SiteDir = "/usr/local/lib/python" + unit.PythonVersion + "/dist-packages"
	s.Pth = filepath.Join(s.SiteDir, PthName)
	d.Driver = s
	rec := r.loadDriverRecord()
	s.previous = rec

	if !opts.Force && rec != nil && rec.Key == dc.key() && rec.Python == unit.PythonVersion &&
		rec.Magnum == unit.MagnumVersion && !r.marked(driverPending) && r.driverIntact(rec, s) {
		s.Converged = true
		s.Source, s.Dir, s.Package, s.sha256 = rec.Source, rec.Dir, rec.Package, rec.SHA256
	} else {
		if !opts.DryRun {
			r.mark(driverPending, true)
		}
		if err := r.resolveDriver(ctx, unit, s, opts); err != nil {
			return err
		}
	}

	both := append([]string{}, unitshape.Services...)
	if s.Source == SourceApt {
		if _, err := os.Lstat(s.Pth); err == nil {
			d.Absent = append(d.Absent, files.File{Path: s.Pth, Restarts: both})
		}
		d.Stamps = append(d.Stamps, dpkgList(s.Package))
	} else {
		// The site directory exists on most units; when it does not, the
		// charm creates it (and removal removes it again if empty).
		for _, dir := range []string{filepath.Dir(s.SiteDir), s.SiteDir} {
			if _, err := os.Stat(dir); err != nil {
				d.Dirs = append(d.Dirs, files.Dir{Path: dir, Mode: 0o755, Owner: "root", Group: "root"})
			}
		}
		d.Files = append(d.Files, files.File{Path: s.Pth, Content: pthContent(s.Dir), Mode: 0o644,
			Owner: "root", Group: "root", Restarts: both})
	}
	// A Python upgrade moves the site directory: the old activation goes.
	if rec != nil && rec.SiteDir != "" && rec.SiteDir != s.SiteDir {
		old := filepath.Join(rec.SiteDir, PthName)
		if _, err := os.Lstat(old); err == nil {
			d.Absent = append(d.Absent, files.File{Path: old, Restarts: both})
		}
	}
	return nil
}

// driverIntact is the cheap check: what was installed and proved is still
// there as it was (the package not reinstalled; the version directory's
// every entry with the same inode, size and times). It runs no program.
// The activation is not part of it: the .pth is a planned file like any
// other, so a removed or edited one is written back by the plan (and the
// services restart onto it) without re-installing or re-proving a driver
// that did not change.
func (r *Reconciler) driverIntact(rec *driverRecord, s *DriverState) bool {
	if rec.SiteDir != s.SiteDir {
		return false
	}
	if rec.Source == SourceApt {
		fi, err := os.Stat(dpkgList(rec.Package))
		return err == nil && fi.ModTime().Equal(rec.ListMtime)
	}
	if rec.Dir == "" {
		return false
	}
	fp, err := driver.Fingerprint(rec.Dir)
	return err == nil && fp == rec.Fingerprint
}

// dpkgList is dpkg's list of a package's files: dpkg rewrites it whenever
// it installs the package, so its mtime says when that last happened.
func dpkgList(pkg string) string {
	return "/var/lib/dpkg/info/" + pkg + ".list"
}

// resolveDriver is the full path: find the artifact, check it against the
// options and Magnum's Python, and say where it will be installed.
func (r *Reconciler) resolveDriver(ctx context.Context, unit *unitshape.Unit, s *DriverState, opts Options) error {
	dc := s.Config
	s.Source = dc.Source
	if s.Source == SourceApt {
		return r.resolveApt(ctx, s)
	}
	var path, from string
	if s.Source != SourceIndex {
		p, err := r.Juju.ResourceGet(ctx, "driver")
		var empty bool
		if err == nil {
			fi, serr := os.Stat(p)
			empty = serr == nil && fi.Size() == 0
		}
		switch {
		case err != nil && !errors.Is(err, hooktool.ErrResourceNotFound):
			return fmt.Errorf("resource-get driver: %w", err)
		case err == nil && !empty:
			path, from, s.Source = p, "the driver resource", SourceResource
		case s.Source == SourceResource && empty:
			return block("the driver resource is empty: %s", r.attachDriverHint(dc.Version))
		case s.Source == SourceResource:
			return block("no driver resource: %s", r.attachDriverHint(dc.Version))
		default:
			s.Source = SourceIndex
		}
	}
	if s.Source == SourceIndex {
		r.logf("driver: fetch %s %s from %s", driver.DistName, dc.Version, redact.String(dc.IndexURL))
		client, err := indexHTTPClient()
		if err != nil {
			return block("%v", err)
		}
		p, temp, err := fetchWheel(ctx, client, dc.IndexURL, dc.Version, filepath.Join(r.StateDir, wheelCacheDir), opts.DryRun)
		if temp {
			defer os.Remove(p)
		}
		if err != nil {
			msg := fmt.Sprintf("driver from the index: %v", err)
			if dc.Source == SourceAuto {
				msg += fmt.Sprintf("; or attach the wheel: juju attach-resource %s driver=magnum_capi_helm-%s-py3-none-any.whl", r.app(), dc.Version)
			}
			return blocked{msg}
		}
		path, from = p, "the index's wheel"
	}
	r.logf("driver: inspect %s", from)
	a, err := driver.Inspect(path)
	if err != nil {
		return block("%s: %v", from, err)
	}
	if a.Version != dc.Version {
		return block("%s is %s %s, but driver-version is %s: attach the %s wheel or set driver-version=%s",
			from, a.Name, a.Version, dc.Version, dc.Version, a.Version)
	}
	interp, err := driver.Discover(ctx, unit.Python, "magnum", ServicesEnv(unit))
	if err != nil {
		return block("run Magnum's Python as magnum: %v", err)
	}
	if interp.MagnumError != "" {
		return block("Magnum's Python %s cannot import magnum: %s", unit.Python, interp.MagnumError)
	}
	if !contains(interp.SiteDirs, s.SiteDir) {
		return block("Magnum's Python %s does not read .pth files from %s (its site directories: %s)",
			unit.Python, s.SiteDir, strings.Join(interp.SiteDirs, ", "))
	}
	if ok, err := interp.RequiresPythonOK(a.RequiresPython); err == nil && !ok {
		return block("%s %s requires Python %s; Magnum runs %s", a.Name, a.Version, a.RequiresPython, interp.FullVersion)
	}
	interp.Hide = []string{DriverRoot}
	unmet, err := driver.CheckRequirements(ctx, interp, a.Requirements())
	if err != nil {
		return err
	}
	if len(unmet) > 0 && a.Kind == driver.KindWheelhouse {
		if b, werr := a.WithDeps(unmet); werr == nil {
			if unmet, err = driver.CheckRequirements(ctx, interp, b.Requirements()); err != nil {
				return err
			}
			a = b
		}
	}
	if len(unmet) > 0 {
		var names []string
		for _, u := range unmet {
			names = append(names, u.String())
		}
		return block("%s %s needs %s, which Magnum's Python does not have; the charm installs no dependencies: install them from the distro or attach a wheelhouse with them",
			a.Name, a.Version, strings.Join(names, ", "))
	}
	shadows, err := driver.Shadowed(ctx, interp, a.TopLevel())
	if err != nil {
		return err
	}
	if len(shadows) > 0 {
		var names []string
		for _, sh := range shadows {
			names = append(names, sh.String())
		}
		return block("%s: %s %s ships top-level %s, which Magnum's Python already has: installing it would shadow that for every service on the unit",
			from, a.Name, a.Version, strings.Join(names, "; "))
	}
	s.artifact = a
	s.sha256 = a.SHA256
	s.Dir = filepath.Join(DriverRoot, a.DirName())
	s.prove = true
	return nil
}

func (r *Reconciler) attachDriverHint(version string) string {
	return fmt.Sprintf("juju attach-resource %s driver=magnum_capi_helm-%s-py3-none-any.whl (or set driver-source=index or apt)", r.app(), version)
}

// resolveApt checks what apt has and would do, without doing it.
func (r *Reconciler) resolveApt(ctx context.Context, s *DriverState) error {
	dc := s.Config
	s.Package = dc.AptPackage
	if dc.AptSource != "" && (s.previous == nil || !contains(s.previous.AptSources, dc.AptSource)) {
		if _, err := exec.LookPath("add-apt-repository"); err != nil {
			return block("driver-apt-source is set but add-apt-repository is not installed on this unit: install software-properties-common, or add the archive by hand and unset driver-apt-source")
		}
		s.aptSource = true
	}
	installed, err := dpkgVersion(ctx, s.Package)
	if err != nil {
		return err
	}
	if installed != "" && upstreamVersion(installed) == dc.Version {
		s.prove = true
		return nil
	}
	if s.aptSource {
		// The archive is not there yet: what it offers is known only
		// after adding it. stage checks the candidate again.
		s.aptInstall, s.prove = true, true
		s.restartReason = "apt-get install " + s.Package
		return nil
	}
	candidate, err := aptCandidate(ctx, s.Package)
	if err != nil {
		return err
	}
	if err := checkCandidate(s.Package, candidate, installed, dc.Version); err != nil {
		return err
	}
	s.aptInstall, s.prove = true, true
	s.restartReason = "apt-get install " + s.Package
	return nil
}

func checkCandidate(pkg, candidate, installed, want string) error {
	switch {
	case candidate == "":
		return block("apt has no candidate for %s: set driver-apt-source (e.g. ppa:canonical-openstack/magnum-capi-helm) or driver-source=resource", pkg)
	case upstreamVersion(candidate) != want:
		have := ""
		if installed != "" {
			have = fmt.Sprintf(" (%s is installed)", installed)
		}
		return block("apt would install %s %s%s, but driver-version is %s: set driver-version=%s or use driver-source=resource",
			pkg, candidate, have, want, upstreamVersion(candidate))
	}
	return nil
}

// upstreamVersion strips a Debian version's epoch and revision:
// "1:1.2.0-3" -> "1.2.0".
func upstreamVersion(v string) string {
	if i := strings.Index(v, ":"); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndex(v, "-"); i >= 0 {
		v = v[:i]
	}
	return v
}

// dpkgVersion returns the installed version of pkg, or "" if it is not
// installed.
func dpkgVersion(ctx context.Context, pkg string) (string, error) {
	res, err := command.Run(ctx, command.Cmd{Argv: []string{"dpkg-query", "-W", "-f", "${db:Status-Abbrev}|${Version}", pkg}})
	if err != nil {
		if res.ExitCode == 1 {
			return "", nil // unknown package
		}
		return "", fmt.Errorf("dpkg-query %s: %w", pkg, err)
	}
	status, version, _ := strings.Cut(string(res.Stdout), "|")
	if !strings.HasPrefix(status, "ii") {
		return "", nil
	}
	return strings.TrimSpace(version), nil
}

// aptCandidate returns the version apt-get install would install.
func aptCandidate(ctx context.Context, pkg string) (string, error) {
	res, err := command.Run(ctx, command.Cmd{Argv: []string{"apt-cache", "policy", pkg}, Env: aptEnv()})
	if err != nil {
		return "", fmt.Errorf("apt-cache policy %s: %w", pkg, err)
	}
	return parseCandidate(string(res.Stdout)), nil
}

func parseCandidate(policy string) string {
	for _, line := range strings.Split(policy, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok {
			v = strings.TrimSpace(v)
			if v == "(none)" {
				return ""
			}
			return v
		}
	}
	return ""
}

func aptEnv() []string {
	env := []string{"DEBIAN_FRONTEND=noninteractive", "LANG=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	if len(env) == 2 {
		env = append(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return env
}

func apt(ctx context.Context, argv ...string) error {
	_, err := command.Run(ctx, command.Cmd{Argv: argv, Env: aptEnv(), Timeout: 15 * time.Minute})
	if err != nil {
		// A private archive's URL carries credentials, in the argv and
		// in what apt prints about it.
		return errors.New(redact.Text(fmt.Sprintf("%s: %v", strings.Join(argv, " "), err)))
	}
	return nil
}

// stageDriver installs what resolveDriver chose: the version directory, or
// the package. The activation itself is a planned file; the services are
// not touched here.
func (r *Reconciler) stageDriver(ctx context.Context, s *DriverState) error {
	if s == nil || s.Converged {
		return nil
	}
	if s.Source == SourceApt {
		if s.aptSource {
			r.logf("driver: add-apt-repository %s", redact.Text(s.Config.AptSource))
			if err := apt(ctx, "add-apt-repository", "-y", s.Config.AptSource); err != nil {
				return block("driver-apt-source: %v", err)
			}
			if err := apt(ctx, "apt-get", "update", "-q"); err != nil {
				return block("driver-apt-source: %v", err)
			}
			if s.aptInstall {
				installed, _ := dpkgVersion(ctx, s.Package)
				candidate, err := aptCandidate(ctx, s.Package)
				if err != nil {
					return err
				}
				if err := checkCandidate(s.Package, candidate, installed, s.Version); err != nil {
					return err
				}
			}
		}
		if s.aptInstall {
			before, _ := dpkgVersion(ctx, s.Package)
			r.logf("driver: apt-get install %s", s.Package)
			if err := apt(ctx, "apt-get", "install", "-y", "-q", s.Package); err != nil {
				return block("driver-source=apt: %v", err)
			}
			s.installedApt = before == ""
			got, err := dpkgVersion(ctx, s.Package)
			if err != nil {
				return err
			}
			if upstreamVersion(got) != s.Version {
				return block("apt installed %s %s, but driver-version is %s", s.Package, got, s.Version)
			}
		}
		return nil
	}
	if _, err := os.Lstat(s.Dir); err != nil {
		s.installedDir = true
	}
	r.logf("driver: install %s %s into %s", s.artifact.Name, s.artifact.Version, s.Dir)
	if err := mkdirOwned(InstallRoot); err != nil {
		return err
	}
	dir, err := driver.Install(s.artifact, DriverRoot)
	if err != nil {
		return block("%v", err)
	}
	if dir != s.Dir {
		return fmt.Errorf("driver installed into %s, expected %s", dir, s.Dir)
	}
	return nil
}

// mkdirOwned creates a charm-owned directory, root:root 0755.
func mkdirOwned(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		return os.Lchown(dir, 0, 0)
	}
	return nil
}

// proveDriver loads the driver as user magnum in a fresh interpreter, with
// the activation as the plan left it, before any service restarts.
func (r *Reconciler) proveDriver(ctx context.Context, unit *unitshape.Unit, s *DriverState) error {
	if s == nil || !s.prove {
		return nil
	}
	interp := &driver.Interpreter{Python: unit.Python}
	r.logf("driver: prove %s %s as magnum", driver.DistName, s.Version)
	p, err := driver.Prove(ctx, interp, "magnum", ServicesEnv(unit), s.Version, s.ProveDir())
	if err != nil {
		return err
	}
	s.proof = p
	return nil
}

// unstageDriver undoes stage after a failed proof: a directory installed by
// this hook goes, and so does a package this hook installed.
func (r *Reconciler) unstageDriver(ctx context.Context, s *DriverState) {
	if s == nil {
		return
	}
	if s.installedDir && s.Dir != "" {
		_ = os.RemoveAll(s.Dir)
	}
	if s.installedApt {
		if err := apt(ctx, "apt-get", "remove", "-y", "-q", s.Package); err != nil {
			r.logf("driver: %v", err)
		}
	}
}

// commitDriver records what is now installed and proved, keeps one
// previous version directory and removes the others.
func (r *Reconciler) commitDriver(ctx context.Context, unit *unitshape.Unit, s *DriverState) error {
	if s == nil || s.Converged {
		return nil
	}
	old := s.previous
	rec := &driverRecord{Key: s.Config.key(), Source: s.Source, Version: s.Version, SHA256: s.sha256,
		Dir: s.Dir, SiteDir: s.SiteDir, Python: unit.PythonVersion, Magnum: unit.MagnumVersion, Package: s.Package, ProofFile: s.proof.File}
	if old != nil {
		rec.AptInstalled, rec.AptSources = old.AptInstalled, old.AptSources
		switch {
		case old.Dir != "" && old.Dir != s.Dir:
			rec.Previous = old.Dir
		case old.Previous != s.Dir:
			rec.Previous = old.Previous
		}
	}
	if s.installedApt && !contains(rec.AptInstalled, s.Package) {
		rec.AptInstalled = append(rec.AptInstalled, s.Package)
	}
	if s.aptSource && !contains(rec.AptSources, s.Config.AptSource) {
		rec.AptSources = append(rec.AptSources, s.Config.AptSource)
	}
	if s.Source == SourceApt {
		fi, err := os.Stat(dpkgList(s.Package))
		if err != nil {
			return fmt.Errorf("driver: %w", err)
		}
		rec.ListMtime = fi.ModTime()
	} else {
		fp, err := driver.Fingerprint(s.Dir)
		if err != nil {
			return err
		}
		rec.Fingerprint = fp
	}
	if removed, err := driver.Prune(DriverRoot, rec.Dir, rec.Previous); err != nil {
		r.logf("driver: %v", err)
	} else if len(removed) > 0 {
		r.logf("driver: removed %s", strings.Join(removed, ", "))
	}
	if err := r.saveDriverRecord(rec); err != nil {
		return err
	}
	r.mark(driverPending, false)
	_ = r.Juju.ApplicationVersionSet(ctx, s.Version)
	return nil
}

// removeDriver runs during removal, after the activation is gone: it
// removes the packages the charm installed and what the charm put in its
// install tree. It returns the packages it removed: the services must
// restart without them.
func (r *Reconciler) removeDriver(ctx context.Context, res *Removal) ([]string, error) {
	var did []string
	if rec := r.loadDriverRecord(); rec != nil {
		for _, pkg := range rec.AptInstalled {
			if v, _ := dpkgVersion(ctx, pkg); v == "" {
				continue
			}
			r.logf("apt-get remove %s (the charm installed it)", pkg)
			if err := apt(ctx, "apt-get", "remove", "-y", "-q", pkg); err != nil {
				return did, err
			}
			did = append(did, "apt-get remove "+pkg)
			res.Changed = true
		}
	}
	return did, r.removeInstallTree(res)
}

// installTree is the charm's install tree as removal sees it.
func (r *Reconciler) installTree() string {
	if r.installRoot != "" {
		return r.installRoot
	}
	return InstallRoot
}

// marked reports whether the state directory holds the marker name.
func (r *Reconciler) marked(name string) bool {
	_, err := os.Stat(filepath.Join(r.StateDir, name))
	return err == nil
}

// mark sets or clears a marker in the state directory.
func (r *Reconciler) mark(name string, on bool) {
	p := filepath.Join(r.StateDir, name)
	if !on {
		_ = os.Remove(p)
		return
	}
	if os.MkdirAll(r.StateDir, 0o700) == nil {
		_ = os.WriteFile(p, nil, 0o600)
	}
}
