package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
)

// DefaultPython is the interpreter Magnum's packaged services run under
// (their scripts start with #!/usr/bin/python3), so it is the one whose
// facts matter.
const DefaultPython = "/usr/bin/python3"

const pythonTimeout = 60 * time.Second

// Interpreter is Magnum's Python as one run of it reported, plus how to run
// it again (Python, User, Env).
type Interpreter struct {
	Python string   `json:"-"`
	User   string   `json:"-"`
	Env    []string `json:"-"`
	// Hide lists directories CheckRequirements drops from sys.path before it
	// looks, normally the install root: a driver version that is already
	// active, with anything installed beside it, must not satisfy its
	// successor's requirements.
	Hide []string `json:"-"`

	Executable  string   `json:"executable"`
	Version     string   `json:"version"`      // major.minor, e.g. "3.13"
	FullVersion string   `json:"full_version"` // e.g. "3.13.5"
	SysPath     []string `json:"sys_path"`
	// SiteDirs is site.getsitepackages(): the directories whose .pth files
	// Python processes at start-up.
	SiteDirs []string `json:"site_dirs"`
	// UserSite is the per-user site directory if user site directories are
	// enabled for the user the facts were gathered as.
	UserSite string `json:"user_site"`
	// SiteDir is where the driver's .pth belongs: the first site directory
	// under /usr/local (which no package owns, so no upgrade removes the
	// file) that is on sys.path, or that does not exist yet and can be
	// created. "" if there is none.
	SiteDir       string `json:"site_dir"`
	SiteDirExists bool   `json:"site_dir_exists"`
	Stdlib        string `json:"stdlib"`
	// ExternallyManaged is PEP 668's marker: pip would refuse to install.
	ExternallyManaged bool `json:"externally_managed"`
	// MagnumVersion and MagnumFile locate Magnum; MagnumError says why not.
	MagnumVersion string `json:"magnum_version"`
	MagnumFile    string `json:"magnum_file"`
	MagnumError   string `json:"magnum_error"`
	// Packaging is the version of an importable `packaging`, or "".
	Packaging string `json:"packaging"`
}

const discoverScript = `
import json, os, site, sys, sysconfig, platform
out = {"executable": sys.executable, "version": "%d.%d" % sys.version_info[:2],
       "full_version": platform.python_version(), "sys_path": sys.path}
dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
out["site_dirs"] = dirs
out["user_site"] = site.getusersitepackages() if site.ENABLE_USER_SITE else ""
stdlib = sysconfig.get_path("stdlib")
out["stdlib"] = stdlib
out["externally_managed"] = os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED"))
def creatable(d):
    while not os.path.exists(d):
        d = os.path.dirname(d)
    return os.path.isdir(d) and os.access(d, os.W_OK | os.X_OK)
out["site_dir"], out["site_dir_exists"] = "", False
for d in dirs:
    if not (d == "/usr/local" or d.startswith("/usr/local/")):
        continue
    if os.path.isdir(d) and d in sys.path:
        out["site_dir"], out["site_dir_exists"] = d, True
        break
    if not os.path.exists(d) and creatable(d):
        out["site_dir"] = d
        break
try:
    from importlib import metadata
    out["magnum_version"] = metadata.version("magnum")
    import importlib.util
    spec = importlib.util.find_spec("magnum")
    out["magnum_file"] = (spec.origin or "") if spec else ""
except Exception as e:
    out["magnum_error"] = "%s: %s" % (type(e).__name__, e)
try:
    import packaging, packaging.requirements, packaging.markers, packaging.specifiers
    out["packaging"] = getattr(packaging, "__version__", "unknown")
except Exception:
    out["packaging"] = ""
print(json.dumps(out))
`

// Discover runs python (DefaultPython if "") once, as user with env (see
// command.Cmd), and reports its facts. Magnum not being importable is not
// an error here: MagnumError says so and the caller decides.
func Discover(ctx context.Context, python, user string, env []string) (*Interpreter, error) {
	if python == "" {
		python = DefaultPython
	}
	in := &Interpreter{Python: python, User: user, Env: env}
	if err := runPython(ctx, python, user, env, discoverScript, nil, nil, in); err != nil {
		return nil, fmt.Errorf("discover Python %s: %w", python, err)
	}
	return in, nil
}

// Unmet is a requirement Magnum's interpreter does not satisfy.
type Unmet struct {
	Requirement string // as in Requires-Dist
	Name        string
	Spec        string // the version specifier needed, "" for any
	Found       string // the installed version, "" if none
	Reason      string // set when the requirement could not be evaluated
}

// String is clipped: a hostile wheel's Requires-Dist can be megabytes, and
// this ends in a status.
func (u Unmet) String() string {
	switch {
	case u.Reason != "":
		return fmt.Sprintf("%s: %s", clip(u.Requirement), u.Reason) // Reason is a parser error, clipped already
	case u.Found == "":
		return fmt.Sprintf("%s%s (not installed)", clip(u.Name), clip(u.Spec))
	}
	return fmt.Sprintf("%s%s (found %s)", clip(u.Name), clip(u.Spec), clip(u.Found))
}

// hidePrelude reads the request from stdin and takes the hidden
// directories off sys.path.
const hidePrelude = `
req = json.load(sys.stdin)
hide = [h.rstrip("/") for h in req["hide"]]
def hidden(p):
    a = os.path.abspath(p) if p else p
    return any(a == h or a.startswith(h + "/") for h in hide)
sys.path[:] = [p for p in sys.path if not hidden(p)]
`

const requirementsScript = `
import json, os, platform, sys
from importlib import metadata` + hidePrelude + `def fmt(info):
    v = "%d.%d.%d" % tuple(info[:3])
    if info.releaselevel != "final":
        v += info.releaselevel[0] + str(info.serial)
    return v
out = {"env": {
    "implementation_name": sys.implementation.name,
    "implementation_version": fmt(sys.implementation.version),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}, "found": {}, "results": None}
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
for name in req["names"]:
    out["found"][name] = version(name)
try:
    if req["no_packaging"]:
        raise ImportError("disabled")
    from packaging.requirements import Requirement
    results = []
    for r in req["reqs"]:
        item = {}
        try:
            q = Requirement(r)
            if q.marker is not None and not q.marker.evaluate({"extra": ""}):
                item["skip"] = True
            else:
                found = version(q.name)
                item["found"] = found
                item["ok"] = found is not None and q.specifier.contains(found, prereleases=True)
        except Exception as e:
            item["error"] = "%s: %s" % (type(e).__name__, e)
        results.append(item)
    out["results"] = results
except ImportError:
    pass
print(json.dumps(out))
`

// Shadow is a top-level name a wheel ships that Magnum's Python already
// imports from elsewhere.
type Shadow struct {
	Name  string
	Where string   // where Python finds it now
	Dists []string // the installed distributions that provide it, if known
}

func (s Shadow) String() string {
	if len(s.Dists) > 0 {
		return fmt.Sprintf("%s (from %s, %s)", s.Name, strings.Join(s.Dists, ", "), s.Where)
	}
	return fmt.Sprintf("%s (%s)", s.Name, s.Where)
}

// shadowScript finds each top-level name as `import name` would, with the
// hidden directories (the charm's own install root) off sys.path, and the
// distributions that provide it. find_spec of a top-level name runs no
// module code; names are identifiers only (checked before), so no parent
// package is imported either.
const shadowScript = `
import json, os, sys, importlib.util
from importlib import metadata` + hidePrelude + `importlib.invalidate_caches()
def providers():
    try:
        return metadata.packages_distributions()
    except AttributeError:
        # Python < 3.10: the same from top_level.txt and RECORD.
        pd = {}
        for d in metadata.distributions():
            names = set((d.read_text("top_level.txt") or "").split())
            for f in d.files or []:
                parts = f.parts
                if len(parts) > 1 or parts[0].endswith(".py"):
                    names.add(parts[0].split(".")[0])
            for n in names:
                pd.setdefault(n, []).append(d.metadata["Name"])
        return pd
pd = providers()
out = {}
for name in req["names"]:
    spec = None
    if name in sys.builtin_module_names:
        out[name] = {"where": "built-in", "dists": []}
        continue
    try:
        spec = importlib.util.find_spec(name)
    except Exception as e:
        out[name] = {"where": "%s: %s" % (type(e).__name__, e), "dists": pd.get(name, [])}
        continue
    if spec is None:
        continue
    where = spec.origin if spec.origin not in (None, "namespace") else ", ".join(spec.submodule_search_locations or [])
    if where and where.endswith("/__init__.py"):
        where = where[:-len("/__init__.py")]
    out[name] = {"where": where or "?", "dists": pd.get(name, [])}
print(json.dumps({"found": out}))
`

// Shadowed asks Magnum's interpreter (as interp.User with interp.Env, the
// install root hidden as for CheckRequirements) which of the top-level
// names an artifact ships (name -> distribution, see Artifact.TopLevel) it
// already imports from elsewhere: the stdlib, magnum, oslo.*,
// keystoneauth1, any package of the distro's. The driver's directory comes
// before the distro's on sys.path, so a wheel shipping such a name would
// replace that module for every OpenStack service on the unit; the answer
// comes from the interpreter itself, not a list, because only it knows
// what it provides. A name provided only by the same distribution (an
// apt-installed copy of the driver) is no shadow: it is the same code.
func Shadowed(ctx context.Context, interp *Interpreter, names map[string]string) ([]Shadow, error) {
	in := map[string]any{"names": slices.Sorted(maps.Keys(names)), "hide": append([]string{}, interp.Hide...)}
	var out struct {
		Found map[string]struct {
			Where string   `json:"where"`
			Dists []string `json:"dists"`
		} `json:"found"`
	}
	if err := runPython(ctx, interp.Python, interp.User, interp.Env, shadowScript, nil, in, &out); err != nil {
		return nil, fmt.Errorf("check the driver's top-level names: %w", err)
	}
	var shadows []Shadow
	for _, name := range slices.Sorted(maps.Keys(out.Found)) {
		f := out.Found[name]
		same := len(f.Dists) > 0
		for _, d := range f.Dists {
			same = same && normalizeName(d) == names[name]
		}
		if same {
			continue
		}
		shadows = append(shadows, Shadow{Name: name, Where: f.Where, Dists: f.Dists})
	}
	return shadows, nil
}

// forceGoSpecifiers makes CheckRequirements ignore `packaging`, so tests
// exercise the Go fallback on hosts that have it.
var forceGoSpecifiers = false

// CheckRequirements checks, in one run of Magnum's interpreter (as
// interp.User with interp.Env), that every requirement in reqs whose
// environment marker holds is installed at a satisfying version. Markers
// are evaluated with extra == "": the charm installs no extras. It uses
// `packaging` when Python can import it (so the answer is the one pip would
// give), and otherwise evaluates markers and PEP 440 specifiers in Go from
// the versions Python reports.
func CheckRequirements(ctx context.Context, interp *Interpreter, reqs []string) ([]Unmet, error) {
	parsed := make([]requirement, len(reqs))
	parseErrs := make([]error, len(reqs))
	var names []string
	for i, r := range reqs {
		parsed[i], parseErrs[i] = parseRequirement(r)
		if parseErrs[i] == nil {
			names = append(names, parsed[i].Name)
		}
	}
	// JSON null is not a list: send empty lists, never nil slices.
	in := map[string]any{
		"reqs":         append([]string{}, reqs...),
		"names":        append([]string{}, names...),
		"hide":         append([]string{}, interp.Hide...),
		"no_packaging": forceGoSpecifiers,
	}
	var out struct {
		Env     map[string]string  `json:"env"`
		Found   map[string]*string `json:"found"`
		Results []struct {
			Skip  bool    `json:"skip"`
			Found *string `json:"found"`
			OK    bool    `json:"ok"`
			Error string  `json:"error"`
		} `json:"results"`
	}
	if err := runPython(ctx, interp.Python, interp.User, interp.Env, requirementsScript, nil, in, &out); err != nil {
		return nil, fmt.Errorf("check driver requirements: %w", err)
	}
	var unmet []Unmet
	for i, r := range reqs {
		p := parsed[i]
		u := Unmet{Requirement: r, Name: p.Name, Spec: p.Spec}
		if out.Results != nil && i < len(out.Results) && out.Results[i].Error == "" {
			res := out.Results[i]
			if res.Skip || res.OK {
				continue
			}
			if res.Found != nil {
				u.Found = *res.Found
			}
			unmet = append(unmet, u)
			continue
		}
		if parseErrs[i] != nil {
			u.Reason = parseErrs[i].Error()
			unmet = append(unmet, u)
			continue
		}
		if p.Marker != "" {
			ok, err := evalMarker(p.Marker, out.Env)
			if err != nil {
				u.Reason = err.Error()
				unmet = append(unmet, u)
				continue
			}
			if !ok {
				continue
			}
		}
		found := out.Found[p.Name]
		if found == nil {
			unmet = append(unmet, u)
			continue
		}
		u.Found = *found
		ok, err := specifierContains(p.Spec, *found)
		if err != nil {
			u.Reason = err.Error()
		}
		if !ok {
			unmet = append(unmet, u)
		}
	}
	return unmet, nil
}

// RequiresPythonOK reports whether the interpreter satisfies a wheel's
// Requires-Python ("" always does).
func (in *Interpreter) RequiresPythonOK(spec string) (bool, error) {
	return specifierContains(strings.Join(strings.Fields(spec), ""), in.FullVersion)
}

// runPython runs a script with `python -B -c`, feeding stdin as JSON and
// decoding the last line of stdout as JSON into out. -B keeps the run from
// writing bytecode into directories it imports from; the working directory
// is / so that nothing in the charm's directory shadows a module. A script
// reports failure by printing {"error": "..."}; a crash is reported by the
// last line of Python's stderr, which is the exception.
func runPython(ctx context.Context, python, user string, env []string, script string, args []string, stdin any, out any) error {
	c := command.Cmd{
		Argv:    append([]string{python, "-B", "-c", script}, args...),
		Env:     env,
		User:    user,
		Dir:     "/",
		Timeout: pythonTimeout,
	}
	if stdin != nil {
		data, err := json.Marshal(stdin)
		if err != nil {
			return err
		}
		c.Stdin = data
	}
	res, err := command.Run(ctx, c)
	if err != nil {
		if line := lastLine(res.Stderr); line != "" {
			return fmt.Errorf("%s: %s", python, line)
		}
		return err
	}
	line := lastLine(res.Stdout)
	var failure struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &failure); err != nil {
		return fmt.Errorf("%s printed no result: %q", python, command.Tail(res.Stdout, 1))
	}
	if failure.Error != "" {
		return errors.New(failure.Error)
	}
	if err := json.Unmarshal([]byte(line), out); err != nil {
		return fmt.Errorf("decode result from %s: %w", python, err)
	}
	return nil
}

func lastLine(out []byte) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return strings.TrimSpace(string(lines[len(lines)-1]))
}
