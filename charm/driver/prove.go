package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
)

// Proof is what a fresh Magnum interpreter loaded for the driver's entry
// point.
type Proof struct {
	Python  string // the interpreter's version
	Value   string // the entry point, e.g. magnum_capi_helm.driver:Driver
	Dist    string // the distribution that provides it
	Version string // that distribution's version
	File    string // the imported module's __file__
	Object  string // the loaded object, module.qualname
}

const proveScript = `
import json, sys
from importlib import metadata
group, name = sys.argv[1], sys.argv[2]
out = {"python": sys.version.split()[0]}
try:
    eps = metadata.entry_points()
    if hasattr(eps, "select"):
        found = list(eps.select(group=group, name=name))
    else:
        found = [e for e in eps.get(group, ()) if e.name == name]
    if not found:
        raise LookupError("no entry point %s in group %s on sys.path" % (name, group))
    ep = found[0]
    out["value"] = ep.value
    dist = getattr(ep, "dist", None)
    if dist is not None:
        out["dist"], out["version"] = dist.metadata["Name"], dist.version
    obj = ep.load()
    module = sys.modules[ep.value.split(":")[0].strip()]
    out["file"] = getattr(module, "__file__", None) or ""
    out["object"] = "%s.%s" % (getattr(obj, "__module__", "?"), getattr(obj, "__qualname__", type(obj).__name__))
    if "version" not in out:
        out["dist"], out["version"] = sys.argv[3], metadata.version(sys.argv[3])
except BaseException as e:
    out = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
`

// Prove starts a fresh interpreter (interp.Python) as user with env, the
// way Magnum's services start, so the site directories' .pth files apply as
// they will for Magnum; resolves the entry point magnum.drivers
// k8s_capi_helm_v1 through importlib.metadata, as Magnum's driver lookup
// does; and loads it, importing the driver module and everything it
// imports. It fails if the distribution's version is not wantVersion or
// (when wantDir != "") the module was not imported from under wantDir:
// an older copy elsewhere on sys.path (such as Debian's
// python3-magnum-capi-helm) must not pass for the one just installed.
func Prove(ctx context.Context, interp *Interpreter, user string, env []string, wantVersion, wantDir string) (Proof, error) {
	var out struct {
		Python  string `json:"python"`
		Value   string `json:"value"`
		Dist    string `json:"dist"`
		Version string `json:"version"`
		File    string `json:"file"`
		Object  string `json:"object"`
	}
	args := []string{EntryPointGroup, EntryPointName, DistName}
	if err := runPython(ctx, interp.Python, user, env, proveScript, args, nil, &out); err != nil {
		return Proof{}, fmt.Errorf("prove driver as %s: %w", userName(user), err)
	}
	p := Proof(out)
	if wantVersion != "" && p.Version != wantVersion {
		return p, fmt.Errorf("prove driver as %s: %s resolves to %s %s (%s), want %s", userName(user), EntryPointName, p.Dist, p.Version, p.File, wantVersion)
	}
	if wantDir != "" && !under(p.File, wantDir) {
		return p, fmt.Errorf("prove driver as %s: %s was imported from %s, not from %s", userName(user), p.Value, p.File, wantDir)
	}
	return p, nil
}

func userName(user string) string {
	if user == "" {
		return "the charm's user"
	}
	return user
}

func under(file, dir string) bool {
	if !filepath.IsAbs(file) {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(file))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// DriverList is what `magnum-driver-manage list-drivers --details` said.
type DriverList struct {
	// Supported is false when this Magnum's list-drivers cannot list
	// drivers that are not Heat drivers (2023.x crashes on
	// get_template_definition); nothing else below is then known.
	Supported bool
	Reason    string
	// Listed says whether k8s_capi_helm_v1 appears; Provides holds its
	// server_type/os/coe triples.
	Listed   bool
	Provides []string
	Names    []string
}

// ListDrivers runs `magnum-driver-manage list-drivers --details` as user
// with env, the way an operator would check by hand. The program is looked
// up on env's PATH (the services' PATH), not the charm's.
func ListDrivers(ctx context.Context, user string, env []string) (DriverList, error) {
	prog, err := lookPath("magnum-driver-manage", env)
	if err != nil {
		return DriverList{}, fmt.Errorf("list Magnum drivers: %w", err)
	}
	res, err := command.Run(ctx, command.Cmd{
		Argv:    []string{prog, "list-drivers", "--details", "-f", "json"},
		User:    user,
		Env:     env,
		Dir:     "/",
		Timeout: 60 * time.Second,
	})
	if err != nil {
		text := string(res.Stdout) + string(res.Stderr)
		if strings.Contains(text, "get_template_definition") {
			return DriverList{Reason: "this Magnum's magnum-driver-manage cannot list non-Heat drivers (get_template_definition)"}, nil
		}
		return DriverList{}, fmt.Errorf("list Magnum drivers as %s: %w", userName(user), err)
	}
	return parseDriverList(res.Stdout)
}

// parseDriverList reads cliff's JSON output, or its table output should an
// older cliff ignore -f.
func parseDriverList(out []byte) (DriverList, error) {
	var rows []map[string]string
	if err := json.Unmarshal(out, &rows); err != nil {
		rows = nil
		var header []string
		for _, line := range strings.Split(string(out), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "|") {
				continue
			}
			var cells []string
			for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
				cells = append(cells, strings.TrimSpace(c))
			}
			if header == nil {
				header = cells
				continue
			}
			row := make(map[string]string)
			for i, h := range header {
				if i < len(cells) {
					row[h] = cells[i]
				}
			}
			rows = append(rows, row)
		}
		if header == nil {
			return DriverList{}, fmt.Errorf("list Magnum drivers: unrecognised output %q", command.Tail(out, 1))
		}
	}
	l := DriverList{Supported: true}
	seen := make(map[string]bool)
	for _, row := range rows {
		name := row["Name"]
		if !seen[name] {
			seen[name] = true
			l.Names = append(l.Names, name)
		}
		if name == EntryPointName {
			l.Listed = true
			if row["Server_Type"] != "" {
				l.Provides = append(l.Provides, row["Server_Type"]+"/"+row["OS"]+"/"+row["COE"])
			}
		}
	}
	return l, nil
}

// lookPath finds name on the PATH in env (the charm's own PATH when env is
// nil), since os/exec would search the charm's PATH either way.
func lookPath(name string, env []string) (string, error) {
	if env == nil {
		return exec.LookPath(name)
	}
	var path string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH %q", name, path)
}
