// Package wiring makes each Magnum service read /etc/magnum/magnum.conf.d with
// --config-dir, the way its real shape allows, and states the promise the
// live process's command line must then keep. It writes nothing itself: it
// returns desired files for the plan and checks for the verifier.
//
// Ways to wire (field-notes §3):
//   - default-file: the openstack-pkg-tools init script sources
//     /etc/default/NAME after building DAEMON_ARGS, so a managed block there
//     appends --config-dir and keeps the script's log file, syslog and umask
//     handling. Under uwsgi the app only sees --pyargv, so the block sets
//     PYARGV instead.
//   - systemd-override: a drop-in resets ExecStart and runs the binary
//     directly with --config-file, --config-dir and --log-file.
//   - default-dirs: nothing to write. Without --config-dir on its command
//     line oslo.config already reads /etc/magnum/magnum.conf.d, but BEFORE
//     magnum.conf, so magnum.conf wins on keys set in both (the reconcile
//     checks for such keys).
//   - none: the operator wires the services.
package wiring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

const (
	MagnumConf = "/etc/magnum/magnum.conf"
	ConfDir    = "/etc/magnum/magnum.conf.d"
	DropInName = unitshape.OwnDropIn

	configFileArg = "--config-file=" + MagnumConf
	configDirArg  = "--config-dir=" + ConfDir
	beginMark     = "# BEGIN magnum-capi-graft"
	endMark       = "# END magnum-capi-graft"
)

// Mode is the service-wiring config option.
type Mode string

const (
	Auto            Mode = "auto"
	DefaultFile     Mode = "default-file"
	SystemdOverride Mode = "systemd-override"
	None            Mode = "none"
)

// ParseMode validates the service-wiring option.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Auto, DefaultFile, SystemdOverride, None:
		return m, nil
	}
	return "", fmt.Errorf("service-wiring %q is not one of auto, default-file, systemd-override, none", s)
}

// Method is the way one service ends up wired.
type Method string

const (
	ByDefaultFile     Method = "default-file"
	BySystemdOverride Method = "systemd-override"
	ByDefaultDirs     Method = "default-dirs"
	ByNone            Method = "none"
	// ByPaused: the service is masked; its wiring is left as it is.
	ByPaused Method = "paused"
)

// Wiring is one service's desired wiring.
type Wiring struct {
	Service string
	Method  Method
	// Dirs must exist (a drop-in directory).
	Dirs []files.Dir
	// Files must exist with this content.
	Files []files.File
	// Absent must not exist (the other method's file, after a switch);
	// taking one away restarts the service.
	Absent []files.File
}

// Where the files the charm wires with live. Variables only so that tests
// can point them into a temporary directory; the charm never changes them.
var (
	defaultDir = "/etc/default"
	unitDir    = "/etc/systemd/system"
)

// DefaultFilePath is the /etc/default file for a service.
func DefaultFilePath(svc string) string { return defaultDir + "/" + svc }

// DropInPath is the charm's systemd drop-in for a service.
func DropInPath(svc string) string {
	return unitDir + "/" + svc + ".service.d/" + DropInName
}

// Extra is what the wiring carries for a service besides conf.d: the
// model's proxy as its environment (charm/proxyenv says which lines).
type Extra struct {
	// BlockLines go into the managed block of /etc/default/NAME, after the
	// line that wires conf.d (if any). For a service wired by default-dirs
	// they make a block of their own: its init script sources the file
	// too.
	BlockLines []string
	// ServiceLines go into the [Service] section of the charm's drop-in
	// (systemd-override only).
	ServiceLines []string
}

// Desire computes the wiring of one service. priorExisted tells whether a
// path existed before the charm first changed it (from the footprint), so a
// default file the charm created is removed, not left empty.
func Desire(svc *unitshape.Service, mode Mode, priorExisted func(string) bool) (Wiring, error) {
	return DesireWith(svc, mode, priorExisted, Extra{})
}

// DesireWith is Desire with what else the wiring carries.
func DesireWith(svc *unitshape.Service, mode Mode, priorExisted func(string) bool, extra Extra) (Wiring, error) {
	w := Wiring{Service: svc.Name}
	method, err := Choose(svc, mode)
	if err != nil {
		return w, err
	}
	w.Method = method

	defPath := DefaultFilePath(svc.Name)
	current, err := files.ReadFile(defPath, files.MaxTextFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return w, fmt.Errorf("read %s: %w", defPath, err)
	}
	rest := StripBlock(current)
	var blk []byte
	switch {
	case method == ByDefaultFile:
		blk = block(svc, extra.BlockLines)
	case method == ByDefaultDirs && len(extra.BlockLines) > 0 && svc.DefaultFile != "":
		blk = envBlock(svc, extra.BlockLines)
	}
	switch {
	case blk != nil:
		content := append([]byte{}, rest...)
		if len(content) > 0 && content[len(content)-1] != '\n' {
			// The block must start a line of its own: joined to a last
			// line without a newline it is a shell syntax error, and the
			// init script fails to start the service.
			content = append(content, '\n')
		}
		w.Files = append(w.Files, files.File{Path: defPath, Content: append(content, blk...),
			Mode: fileMode(defPath, 0o644), Owner: "root", Group: "root", Restarts: []string{svc.Name}})
	case current == nil || bytes.Equal(rest, current):
		// Nothing there, or no block of ours: nothing to undo, and an
		// operator's (even empty) file is not ours to remove.
	case len(bytes.TrimSpace(rest)) == 0 && !priorExisted(defPath):
		w.Absent = append(w.Absent, files.File{Path: defPath, Restarts: []string{svc.Name}})
	default:
		w.Files = append(w.Files, files.File{Path: defPath, Content: rest,
			Mode: fileMode(defPath, 0o644), Owner: "root", Group: "root", Restarts: []string{svc.Name}})
	}

	dropIn := DropInPath(svc.Name)
	if method == BySystemdOverride {
		content, err := overrideDropIn(svc)
		if err != nil {
			return w, err
		}
		// unit.Serialize ends with the [Service] section, so the lines
		// belong to it.
		for _, l := range extra.ServiceLines {
			content = append(content, l+"\n"...)
		}
		w.Dirs = append(w.Dirs, files.Dir{Path: filepath.Dir(dropIn), Mode: 0o755, Owner: "root", Group: "root"})
		w.Files = append(w.Files, files.File{Path: dropIn, Content: content, Mode: 0o644,
			Owner: "root", Group: "root", Restarts: []string{svc.Name}, UnitFile: true})
	} else if _, err := os.Lstat(dropIn); err == nil {
		w.Absent = append(w.Absent, files.File{Path: dropIn, Restarts: []string{svc.Name}, UnitFile: true})
	}
	return w, nil
}

// fileMode keeps the mode of an existing file: the charm adds a block to a
// file it does not own and must not change who may read it.
func fileMode(path string, def os.FileMode) os.FileMode {
	if fi, err := os.Stat(path); err == nil {
		return fi.Mode().Perm()
	}
	return def
}

// Choose is how mode wires the service as observed.
func Choose(svc *unitshape.Service, mode Mode) (Method, error) {
	if mode == None {
		return ByNone, nil
	}
	switch svc.Shape {
	case unitshape.Missing, unitshape.Unknown:
		return "", fmt.Errorf("cannot wire %s: %s", svc.Name, svc.Why)
	}
	switch mode {
	case Auto:
		switch svc.Shape {
		case unitshape.InitScript:
			if svc.DefaultFile == "" {
				return "", fmt.Errorf("cannot wire %s: %s does not source /etc/default/%s; set service-wiring=systemd-override", svc.Name, svc.InitScript, svc.Name)
			}
			return ByDefaultFile, nil
		case unitshape.InitScriptUWSGI:
			return ByDefaultDirs, nil
		case unitshape.Direct:
			return BySystemdOverride, nil
		}
	case DefaultFile:
		switch {
		case svc.DefaultFile == "":
			return "", fmt.Errorf("service-wiring=default-file: %s does not run an init script that sources /etc/default/%s", svc.Name, svc.Name)
		case svc.Shape == unitshape.InitScriptUWSGI && !svc.PyArgv:
			return "", fmt.Errorf("service-wiring=default-file: %s runs uwsgi and %s does not pass PYARGV", svc.Name, svc.InitScript)
		}
		return ByDefaultFile, nil
	case SystemdOverride:
		if svc.Shape == unitshape.InitScriptUWSGI {
			return "", fmt.Errorf("service-wiring=systemd-override: %s runs under uwsgi, which a drop-in cannot reproduce; use auto or default-file", svc.Name)
		}
		return BySystemdOverride, nil
	}
	return "", fmt.Errorf("service-wiring %q is not known", mode)
}

// block is the managed block appended to /etc/default/NAME, with the extra
// lines after the one that wires conf.d.
func block(svc *unitshape.Service, extra []string) []byte {
	var line string
	if svc.Shape == unitshape.InitScriptUWSGI {
		// uwsgi hands --pyargv to the app as sys.argv; magnum's wsgi app
		// parses it, so conf.d is read after magnum.conf and wins.
		line = fmt.Sprintf(`PYARGV="${PYARGV:+$PYARGV }%s %s"`, configFileArg, configDirArg)
	} else {
		// The script has already put --config-file=magnum.conf into
		// DAEMON_ARGS, so conf.d is read after it and wins.
		line = fmt.Sprintf(`DAEMON_ARGS="${DAEMON_ARGS} %s"`, configDirArg)
	}
	lines := append([]string{line}, extra...)
	return []byte(fmt.Sprintf("%s: make %s read %s (removed with the charm)\n%s\n%s\n",
		beginMark, svc.Name, ConfDir, strings.Join(lines, "\n"), endMark))
}

// envBlock is the managed block of a service that reads conf.d by itself
// (default-dirs): only the extra lines.
func envBlock(svc *unitshape.Service, lines []string) []byte {
	return []byte(fmt.Sprintf("%s: the environment of %s (removed with the charm)\n%s\n%s\n",
		beginMark, svc.Name, strings.Join(lines, "\n"), endMark))
}

// StripBlock removes the charm's block from a file's content.
func StripBlock(content []byte) []byte {
	if content == nil {
		return nil
	}
	start := bytes.Index(content, []byte(beginMark))
	if start < 0 {
		return content
	}
	end := bytes.Index(content[start:], []byte(endMark))
	if end < 0 {
		return content
	}
	end += start + len(endMark)
	if end < len(content) && content[end] == '\n' {
		end++
	}
	out := append([]byte{}, content[:start]...)
	return append(out, content[end:]...)
}

// overrideDropIn renders the drop-in that resets ExecStart.
func overrideDropIn(svc *unitshape.Service) ([]byte, error) {
	var cmd string
	switch svc.Shape {
	case unitshape.Direct:
		orig, err := unitshape.OriginalExecStart(svc)
		if err != nil {
			return nil, err
		}
		cmd = orig
		if !strings.Contains(cmd, "--config-file") {
			cmd += " " + configFileArg
		}
		cmd += " " + configDirArg
	case unitshape.InitScript:
		// The runbook's way: run the binary the script would have run, with
		// the log file the script would have added.
		cmd = fmt.Sprintf("%s %s %s --log-file=/var/log/magnum/%s.log", svc.Daemon, configFileArg, configDirArg, svc.Name)
	default:
		return nil, fmt.Errorf("cannot override %s of shape %s", svc.Name, svc.Shape)
	}
	opts := []*unit.UnitOption{
		unit.NewUnitOption("Service", "ExecStart", ""),
		unit.NewUnitOption("Service", "ExecStart", cmd),
	}
	var buf bytes.Buffer
	buf.WriteString("# Managed by the magnum-capi-graft charm: makes " + svc.Name + " read " + ConfDir + ".\n")
	b, err := io.ReadAll(unit.Serialize(opts))
	if err != nil {
		return nil, err
	}
	buf.Write(b)
	return buf.Bytes(), nil
}

// Check verifies a service's live command line keeps the wiring's promise.
func Check(method Method, cmdline []string) error {
	if len(cmdline) == 0 {
		return errors.New("not running")
	}
	args, _ := ConfigArgs(cmdline)
	switch method {
	case ByDefaultFile, BySystemdOverride:
		fileAt, dirAt := index(args, configFileArg), index(args, configDirArg)
		switch {
		case dirAt < 0:
			return fmt.Errorf("live command line lacks %s", configDirArg)
		case fileAt > dirAt:
			return fmt.Errorf("live command line reads conf.d before magnum.conf")
		}
	case ByDefaultDirs:
		for _, a := range args {
			if strings.HasPrefix(a, "--config-dir=") {
				return fmt.Errorf("live command line names its own %s, so the default conf.d is not read", a)
			}
		}
	}
	return nil
}

// ConfigArgs returns the configuration arguments oslo.config in the service
// sees on a live command line, in order and as --config-file=X and
// --config-dir=Y, and the prog name it uses for its default files. Under
// uwsgi the app sees only what --pyargv carries (sys.argv = [uwsgi, words]).
// The wiring's check, the oslo.config probe and investigate all read command
// lines through this one function.
func ConfigArgs(cmdline []string) (args []string, prog string) {
	if len(cmdline) == 0 {
		return nil, ""
	}
	prog = filepath.Base(cmdline[0])
	if len(cmdline) > 1 && strings.HasPrefix(prog, "python") {
		prog = filepath.Base(cmdline[1])
	}
	scan := cmdline
	for i, a := range cmdline {
		if a == "--pyargv" && i+1 < len(cmdline) {
			scan = strings.Fields(cmdline[i+1])
		}
	}
	for i := 0; i < len(scan); i++ {
		a := scan[i]
		switch {
		case strings.HasPrefix(a, "--config-file=") || strings.HasPrefix(a, "--config-dir="):
			args = append(args, a)
		case (a == "--config-file" || a == "--config-dir") && i+1 < len(scan):
			args = append(args, a+"="+scan[i+1])
			i++
		}
	}
	return args, prog
}

func index(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
