// Package unitshape observes the principal unit as it really is: how each
// Magnum service is started (unit file, drop-ins, init script, uwsgi or the
// binary itself), what it is running right now, and Magnum's interpreter and
// version. Every hook reads it, so it reads files and D-Bus only: running the
// init script's show-args costs more than a whole converged hook may, and is
// left to the investigate action.
package unitshape

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// Services are the Magnum services the graft wires, in restart order.
var Services = []string{"magnum-api", "magnum-conductor"}

// OwnDropIn is the file name of the charm's systemd drop-in. It sorts before
// an operator's override.conf, so an operator's own override still has the
// last word.
const OwnDropIn = "50-magnum-capi-graft.conf"

// Shape is how a service's ExecStart reaches the Magnum process.
type Shape string

const (
	// InitScript: ExecStart=/etc/init.d/NAME systemd-start, an
	// openstack-pkg-tools script that sources /etc/default/NAME and execs
	// the Magnum binary with DAEMON_ARGS (Debian and Ubuntu packages).
	InitScript Shape = "init-script"
	// InitScriptUWSGI: the same script running the service under uwsgi
	// (Debian's magnum-api); the app sees only --pyargv arguments.
	InitScriptUWSGI Shape = "init-script-uwsgi"
	// Direct: ExecStart runs the Magnum binary itself.
	Direct Shape = "direct"
	// Unknown: anything else. The graft reports it and does not guess.
	Unknown Shape = "unknown"
	// Missing: no such unit on this machine.
	Missing Shape = "missing"
)

// Service is one Magnum service as observed.
type Service struct {
	Name string // magnum-api
	systemd.Unit
	Shape Shape
	// Why explains an Unknown or Missing shape.
	Why string
	// InitScript is the script ExecStart runs, for the init-script shapes.
	InitScript string
	// DefaultFile is the /etc/default file the init script sources ("" if
	// it sources none).
	DefaultFile string
	// PyArgv reports whether the script passes $PYARGV to uwsgi.
	PyArgv bool
	// Daemon is the program the service finally runs (the binary, or uwsgi).
	Daemon string
	// Cmdline is the live command line of the main process (nil if none).
	Cmdline []string
	// PATH is the search path the live process runs with, or the one the
	// init script sets when the service is not running.
	PATH string
	// Proxy is the proxy the live process hands its children, as Go
	// programs such as helm read it from their environment
	// (golang.org/x/net/http/httpproxy: FromEnvironment takes
	// HTTPS_PROXY, else https_proxy, and the same for HTTP_PROXY and
	// NO_PROXY); zero when it carries none or is not running.
	Proxy proxy.Settings `json:"-"` // may carry credentials: never reported
}

// Unit is the principal unit as observed.
type Unit struct {
	Services []Service
	// Python is Magnum's interpreter (from the shebang of magnum-conductor).
	Python string
	// PythonVersion is major.minor of that interpreter, e.g. "3.11".
	PythonVersion string
	// MagnumVersion is the installed Magnum's version ("" when not found).
	MagnumVersion string
	// MagnumDir is the directory holding Magnum's package metadata.
	MagnumDir string
	// ExternallyManaged reports PEP 668's marker in the interpreter's stdlib.
	ExternallyManaged bool
}

// NoneInstalled reports that none of Magnum's services is installed.
func (u *Unit) NoneInstalled() bool {
	return !slices.ContainsFunc(u.Services, func(s Service) bool { return s.Shape != Missing })
}

// Service returns the named service.
func (u *Unit) Service(name string) *Service {
	for i := range u.Services {
		if u.Services[i].Name == name {
			return &u.Services[i]
		}
	}
	return nil
}

// Deferred says why a restart of the service named waits ("" when it can
// be done now, or the unit has no such service): a masked (paused) or
// stopped service reads the graft when it starts.
func (u *Unit) Deferred(name string) string {
	switch svc := u.Service(name); {
	case svc == nil:
		return ""
	case svc.Masked():
		return "masked (paused); it reads the graft when resumed"
	case !svc.Running():
		return "not running; it reads the graft when started"
	}
	return ""
}

// Root is the file system root observed; tests of the pure parts use a
// directory, the charm uses "/".
type Root string

func (r Root) path(p string) string { return filepath.Join(string(r), p) }

// UnitReader reads one systemd unit's state (systemd.Manager does).
type UnitReader interface {
	Unit(ctx context.Context, name string) (systemd.Unit, error)
}

// ReadAhead has sd read Magnum's services at once, as Observe asks for
// them, and the units named by more (the watcher's, for the end of the
// hook) with them (systemd.Manager.ReadAhead). A converged hook then makes
// one round trip to systemd. A reader that cannot read ahead reads each
// unit when asked.
func ReadAhead(sd UnitReader, more ...string) {
	if m, ok := sd.(interface{ ReadAhead(...string) }); ok {
		var names []string
		for _, s := range Services {
			names = append(names, s+".service")
		}
		m.ReadAhead(append(names, more...)...)
	}
}

// Observe reads the unit.
func Observe(ctx context.Context, sd UnitReader) (*Unit, error) {
	u := &Unit{}
	for _, name := range Services {
		unit, err := sd.Unit(ctx, name+".service")
		if err != nil {
			return nil, err
		}
		svc := Service{Name: name, Unit: unit}
		if svc.HasOwnDropIn() {
			// The charm's own drop-in replaces ExecStart: the shape is
			// what the unit is without it, or the graft would feed back
			// into its own observation.
			if exec, err := OriginalExecStart(&svc); err == nil {
				svc.ExecStart = strings.Fields(strings.TrimLeft(exec, "-@:+!"))
			}
		}
		Classify(Root("/"), &svc)
		if unit.Running() {
			svc.Cmdline, _ = systemd.Cmdline(unit.MainPID)
			if env, err := systemd.Environ(unit.MainPID); err == nil {
				svc.PATH = env["PATH"]
				svc.Proxy = goProxy(env)
			}
		}
		if svc.PATH == "" && svc.InitScript != "" {
			svc.PATH = scriptPATH(Root("/"), svc.InitScript)
		}
		u.Services = append(u.Services, svc)
	}
	observePython(Root("/"), u)
	return u, nil
}

// goProxy reads an environment's proxy variables as httpproxy's
// FromEnvironment does: the upper-case name first, the lower-case one
// when that is empty.
func goProxy(env map[string]string) proxy.Settings {
	either := func(upper, lower string) string {
		if v := env[upper]; v != "" {
			return v
		}
		return env[lower]
	}
	return proxy.Settings{HTTP: either("HTTP_PROXY", "http_proxy"), HTTPS: either("HTTPS_PROXY", "https_proxy"),
		NoProxy: either("NO_PROXY", "no_proxy")}
}

var (
	sourcesDefault = regexp.MustCompile(`(?m)^\s*\[ -r /etc/default/\$\{?NAME\}? \] && \. /etc/default/\$\{?NAME\}?\s*$`)
	uwsgiApp       = regexp.MustCompile(`(?m)^UWSGI_INI_APP=(\S+)\s*$`)
	uwsgiPort      = regexp.MustCompile(`(?m)^UWSGI_PORT=\S+`)
	scriptPath     = regexp.MustCompile(`(?m)^PATH=(\S+)\s*$`)
)

// Classify decides a service's shape from its unit and the files it names.
func Classify(root Root, svc *Service) {
	switch {
	case svc.LoadState == "not-found" || (svc.FragmentPath == "" && svc.LoadState != "masked"):
		svc.Shape, svc.Why = Missing, svc.Name+".service is not installed"
		return
	case len(svc.ExecStart) == 0:
		if svc.Masked() {
			svc.Shape, svc.Why = Unknown, svc.Name+" is masked; its ExecStart cannot be read"
		} else {
			svc.Shape, svc.Why = Unknown, svc.Name+" has no ExecStart"
		}
		return
	}
	argv := svc.ExecStart
	switch {
	case len(argv) == 2 && argv[1] == "systemd-start" && strings.HasPrefix(argv[0], "/etc/init.d/"):
		classifyInitScript(root, svc, argv[0])
	case strings.HasPrefix(argv[0], "/etc/init.d/"):
		// Its base name is the service's, but it is not the binary: e.g. a
		// unit systemd-sysv-generator made from the script (".. start").
		svc.Shape = Unknown
		svc.Why = fmt.Sprintf("%s runs %q, an init script not started with systemd-start (a unit generated from a SysV script?), which is neither an openstack-pkg-tools unit nor %s", svc.Name, strings.Join(argv, " "), svc.Name)
	case filepath.Base(argv[0]) == svc.Name:
		svc.Shape, svc.Daemon = Direct, argv[0]
	case len(argv) > 1 && strings.HasPrefix(filepath.Base(argv[0]), "python3") && filepath.Base(argv[1]) == svc.Name:
		svc.Shape, svc.Daemon = Direct, argv[1]
	default:
		svc.Shape = Unknown
		svc.Why = fmt.Sprintf("%s runs %q, which is neither an openstack-pkg-tools init script nor %s", svc.Name, strings.Join(argv, " "), svc.Name)
	}
}

func classifyInitScript(root Root, svc *Service, script string) {
	svc.InitScript = script
	text, err := files.ReadFile(root.path(script), files.MaxTextFile)
	if err != nil {
		svc.Shape, svc.Why = Unknown, fmt.Sprintf("%s runs %s, which cannot be read: %v", svc.Name, script, err)
		return
	}
	if !bytes.Contains(text, []byte("systemd-start)")) {
		svc.Shape, svc.Why = Unknown, fmt.Sprintf("%s has no systemd-start verb", script)
		return
	}
	if sourcesDefault.Match(text) {
		svc.DefaultFile = "/etc/default/" + filepath.Base(script)
	}
	svc.PyArgv = bytes.Contains(text, []byte(`--pyargv "${PYARGV}"`))
	// The script runs uwsgi when it names a WSGI app that exists (its own
	// test), and the Magnum binary otherwise.
	if m := uwsgiApp.FindSubmatch(text); m != nil && uwsgiPort.Match(text) {
		if _, err := os.Stat(root.path(string(m[1]))); err == nil {
			svc.Shape, svc.Daemon = InitScriptUWSGI, "uwsgi"
			return
		}
	}
	svc.Shape, svc.Daemon = InitScript, "/usr/bin/"+filepath.Base(script)
}

func scriptPATH(root Root, script string) string {
	text, err := files.ReadFile(root.path(script), files.MaxTextFile)
	if err != nil {
		return ""
	}
	if m := scriptPath.FindSubmatch(text); m != nil {
		return string(m[1])
	}
	return ""
}

// observePython finds Magnum's interpreter from the shebang of the
// magnum-conductor script, its version from where the interpreter link
// points, and Magnum's version from its package metadata.
func observePython(root Root, u *Unit) {
	u.Python = "/usr/bin/python3"
	if text, err := files.ReadFile(root.path("/usr/bin/magnum-conductor"), files.MaxTextFile); err == nil {
		line, _, _ := strings.Cut(string(text), "\n")
		if strings.HasPrefix(line, "#!") {
			if fields := strings.Fields(strings.TrimPrefix(line, "#!")); len(fields) > 0 {
				u.Python = fields[0]
			}
		}
	}
	target := u.Python
	if t, err := filepath.EvalSymlinks(root.path(u.Python)); err == nil {
		target = t
	}
	if m := regexp.MustCompile(`python(\d+\.\d+)$`).FindStringSubmatch(target); m != nil {
		u.PythonVersion = m[1]
	}
	if u.PythonVersion != "" {
		_, err := os.Stat(root.path("/usr/lib/python" + u.PythonVersion + "/EXTERNALLY-MANAGED"))
		u.ExternallyManaged = err == nil
	}
	for _, dir := range SiteDirs(u.PythonVersion) {
		matches, _ := filepath.Glob(root.path(dir + "/magnum-*.*-info"))
		for _, m := range matches {
			base := filepath.Base(m)
			ver := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(base, "magnum-"), ".egg-info"), ".dist-info")
			if ver != base && ver != "" && ver[0] >= '0' && ver[0] <= '9' {
				u.MagnumVersion, u.MagnumDir = ver, dir
				return
			}
		}
	}
}

// SiteDirs are the Debian/Ubuntu system interpreter's site directories, in
// sys.path order.
func SiteDirs(pyVersion string) []string {
	dirs := []string{"/usr/lib/python3/dist-packages"}
	if pyVersion != "" {
		dirs = append([]string{"/usr/local/lib/python" + pyVersion + "/dist-packages"}, dirs...)
		dirs = append(dirs, "/usr/lib/python"+pyVersion+"/dist-packages")
	}
	return dirs
}

// HasOwnDropIn reports whether the charm's drop-in is in effect.
func (s *Service) HasOwnDropIn() bool {
	for _, p := range s.DropInPaths {
		if filepath.Base(p) == OwnDropIn {
			return true
		}
	}
	return false
}

// OriginalExecStart is the ExecStart a unit has without the charm's drop-in:
// the unit file and every other drop-in, in systemd's order, with an empty
// assignment resetting the list.
func OriginalExecStart(svc *Service) (string, error) {
	paths := []string{svc.FragmentPath}
	for _, p := range svc.DropInPaths {
		if filepath.Base(p) != OwnDropIn {
			paths = append(paths, p)
		}
	}
	var exec string
	for _, p := range paths {
		text, err := files.ReadFile(p, files.MaxTextFile)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", p, err)
		}
		opts, err := unit.DeserializeOptions(bytes.NewReader(text))
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", p, err)
		}
		for _, o := range opts {
			if o.Section == "Service" && o.Name == "ExecStart" {
				exec = o.Value
			}
		}
	}
	if exec == "" {
		return "", fmt.Errorf("%s: no ExecStart in %s", svc.Name, strings.Join(paths, ", "))
	}
	return exec, nil
}

const (
	// DefaultPATH is the search path Magnum's init scripts set; the
	// services' observed PATH is used when there is one.
	DefaultPATH = "/sbin:/usr/sbin:/bin:/usr/bin"
	// MagnumHome is user magnum's home: a writable HOME for helm.
	MagnumHome = "/var/lib/magnum"
)

// ServicesPATH is the search path the services run with: the first one
// observed, or DefaultPATH.
func (u *Unit) ServicesPATH() string {
	if u != nil {
		for _, s := range u.Services {
			if s.PATH != "" {
				return s.PATH
			}
		}
	}
	return DefaultPATH
}

// ServicesEnv is the environment Magnum's services run with, as far as
// proving anything matters: their PATH and user magnum's home.
func (u *Unit) ServicesEnv() []string {
	return []string{"PATH=" + u.ServicesPATH(), "HOME=" + MagnumHome, "LANG=C.UTF-8"}
}
