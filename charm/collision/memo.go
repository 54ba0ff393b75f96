package collision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// The probe imports Magnum and every driver as magnum, which costs a
// second or two of CPU: too much for every converged hook (update-status
// and the watcher's re-grafts must stay cheap), while the answer changes
// only when what the loader reads changes. A reconcile therefore computes
// a Fingerprint of that, cheaply (stat calls and a few small files), and
// probes only when it differs from the last probe's.
//
// What Magnum's loader reads (see the package comment): the entry points
// of the distributions on the interpreter's sys.path (*.dist-info and
// *.egg-info directories, .pth files adding directories: the names of all
// entries of the site directories, so a package installed, removed or
// upgraded to another version changes them), and [drivers] disabled_drivers
// and enabled_beta_drivers from the service's configuration files. The
// directory of a distribution upgraded in place by dpkg keeps its name but
// dpkg's status file changes, so that is read too. The names, not the
// directory's mtime: a file removed and put back as it was (the watcher's
// re-graft of a deleted .pth) leaves the loader's answer as it was, and
// must not cost a probe. Likewise dpkg's status file is read for its
// content, not its mtime: every dpkg run rewrites it, and a package
// reinstalled at the version it had (apt-get install --reinstall, which
// the principal's tooling does) leaves the same content, the same
// distributions, and the loader's answer as it was. Its digest is kept
// with the record under the file's stat, so a hook reads the file only
// after dpkg replaced it.

// FingerprintInput is what the fingerprint is computed from.
type FingerprintInput struct {
	// SiteDirs are the interpreter's site directories (SiteDirs).
	SiteDirs []string
	// ConfigFiles and ConfigDirs are the service's configuration, as its
	// live command line names it (or Magnum's defaults).
	ConfigFiles, ConfigDirs []string
	// Cmdline is the service's live command line.
	Cmdline []string
	// Extra is anything else the caller knows changes the answer (the
	// graft's own desired state: the driver it activates).
	Extra string
	// Digests are the content digests of files among SiteDirs (dpkg's
	// status), which then count by their content rather than their stat.
	Digests map[string]string
}

// SiteDirs are what the fingerprint stats: the interpreter's site
// directories in sys.path order (unitshape.SiteDirs, Debian's and
// Ubuntu's site.getsitepackages()), and dpkg's status file.
func SiteDirs(pythonVersion string) []string {
	return append(unitshape.SiteDirs(pythonVersion), DpkgStatus)
}

// Fingerprint identifies what the loader would read. It never fails: a
// path it cannot read is part of the fingerprint as such.
func Fingerprint(in FingerprintInput) string {
	h := sha256.New()
	stat := func(p string) {
		fi, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(h, "%s: absent\x00", p)
			return
		}
		fmt.Fprintf(h, "%s: %d %d %o\x00", p, fi.ModTime().UnixNano(), fi.Size(), fi.Mode())
	}
	for _, d := range in.SiteDirs {
		if digest, ok := in.Digests[d]; ok && digest != "" {
			fmt.Fprintf(h, "%s: sha256 %s\x00", d, digest)
			continue
		}
		entries(h, d, stat)
		// .pth files add directories: their content says which.
		pths, _ := filepath.Glob(filepath.Join(d, "*.pth"))
		for _, p := range pths {
			content(h, p)
		}
	}
	for _, f := range in.ConfigFiles {
		content(h, f)
	}
	for _, d := range in.ConfigDirs {
		stat(d)
		confs, _ := filepath.Glob(filepath.Join(d, "*.conf"))
		sort.Strings(confs)
		for _, c := range confs {
			content(h, c)
		}
	}
	for _, a := range in.Cmdline {
		fmt.Fprintf(h, "arg %s\x00", a)
	}
	fmt.Fprintf(h, "extra %s\x00", in.Extra)
	return hex.EncodeToString(h.Sum(nil))
}

// entries adds the sorted names in directory d, or stats d when it is not
// a directory that can be listed (dpkg's status file is a file).
func entries(h io.Writer, d string, stat func(string)) {
	f, err := os.Open(d)
	if err != nil {
		stat(d)
		return
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		stat(d)
		return
	}
	sort.Strings(names)
	fmt.Fprintf(h, "%s: %d entries\x00%s\x00", d, len(names), strings.Join(names, "\x00"))
}

func content(h interface{ Write([]byte) (int, error) }, p string) {
	b, err := files.ReadFile(p, files.MaxTextFile)
	switch {
	case err == nil:
		fmt.Fprintf(h, "%s: %d\x00", p, len(b))
		_, _ = h.Write(b)
	case os.IsNotExist(err):
		fmt.Fprintf(h, "%s: absent\x00", p)
	default:
		fmt.Fprintf(h, "%s: unreadable\x00", p)
	}
}

// Record is the last probe's analysis and what it was run on.
type Record struct {
	Fingerprint string    `json:"fingerprint"`
	Probed      time.Time `json:"probed,omitzero"`
	Analysis    Analysis  `json:"analysis"`
	// Error is why the probe could not run (then it runs again next time).
	Error string `json:"error,omitempty"`
	// Dpkg is the digest of dpkg's status file the fingerprint was
	// computed from.
	Dpkg FileDigest `json:"dpkg,omitzero"`
}

// FileDigest is a file's content digest and the stat it was read at.
type FileDigest struct {
	Stat   string `json:"stat"`
	SHA256 string `json:"sha256"`
}

// DpkgStatus is dpkg's status file.
const DpkgStatus = "/var/lib/dpkg/status"

// Digest returns the digest of the file at p, reading it only when its
// stamp (files.Stamp: inode, size, mtime, ctime) differs from prev's: dpkg
// replaces its status file by renaming a new one over it (lib/dpkg/dump.c,
// writedb, through atomic_file_commit), so new content always comes with
// a new inode and mtime. A file that cannot be read has no digest.
func Digest(p string, prev FileDigest) FileDigest {
	var b strings.Builder
	if _, err := files.StampPath(&b, p); err != nil {
		return FileDigest{}
	}
	stat := b.String()
	if stat == prev.Stat && prev.SHA256 != "" {
		return prev
	}
	f, err := os.Open(p)
	if err != nil {
		return FileDigest{}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return FileDigest{}
	}
	return FileDigest{Stat: stat, SHA256: hex.EncodeToString(h.Sum(nil))}
}

// ConfigPaths are the configuration files and directories oslo.config
// reads for a live command line (wiring.ConfigArgs), or Magnum's defaults
// (/etc/magnum/magnum.conf and /etc/magnum/magnum.conf.d: oslo.config's
// find_config_files and find_config_dirs for project magnum) when it names
// none.
func ConfigPaths(cmdline []string) (configFiles, configDirs []string) {
	args, _ := wiring.ConfigArgs(cmdline)
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--config-file="); ok {
			configFiles = append(configFiles, v)
		} else if v, ok := strings.CutPrefix(a, "--config-dir="); ok {
			configDirs = append(configDirs, v)
		}
	}
	if len(configFiles) == 0 {
		configFiles = []string{wiring.MagnumConf}
	}
	if len(configDirs) == 0 {
		configDirs = []string{wiring.ConfDir}
	}
	return configFiles, configDirs
}

// Remembered probes Magnum's driver loader as magnum with the conductor's
// live arguments, or returns the last probe (kept in the state directory)
// when nothing it reads has changed since (Fingerprint) and fresh is
// false. extra is what else changes the answer (the graft's desired
// state). It keeps what it probed; the error says only that the last probe
// could not be read or this one kept (the next hook then probes again).
func Remembered(ctx context.Context, st state.Dir, run Runner, unit *unitshape.Unit, extra string, fresh bool) (Record, error) {
	var cmdline []string
	if svc := unit.Service("magnum-conductor"); svc != nil && svc.Running() {
		cmdline = svc.Cmdline
	}
	cfgFiles, cfgDirs := ConfigPaths(cmdline)
	prev, loadErr := state.Get[Record](st, state.Collision)
	dpkg := Digest(DpkgStatus, prev.Dpkg)
	fp := Fingerprint(FingerprintInput{SiteDirs: SiteDirs(unit.PythonVersion),
		ConfigFiles: cfgFiles, ConfigDirs: cfgDirs, Cmdline: cmdline, Extra: extra + "\x00" + unit.Python,
		Digests: map[string]string{DpkgStatus: dpkg.SHA256}})
	if !fresh && prev.Fingerprint == fp && prev.Error == "" {
		if prev.Dpkg == dpkg || loadErr != nil {
			return prev, loadErr
		}
		// dpkg rewrote its status to the same content: no probe, but
		// the new stat is kept so the next hook need not read it.
		prev.Dpkg = dpkg
		return prev, st.Save(state.Collision, prev)
	}
	rec := Record{Fingerprint: fp, Probed: time.Now(), Dpkg: dpkg}
	rep, err := Probe(ctx, run, unit.Python, "magnum", unit.ServicesEnv(), cmdline)
	if err != nil {
		rec.Error = err.Error()
	} else {
		rec.Analysis = Analyse(rep)
	}
	return rec, errors.Join(loadErr, st.Save(state.Collision, rec))
}
