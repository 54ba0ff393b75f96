// Package collision finds the Magnum drivers that claim the cluster types
// k8s_capi_helm_v1 claims, as Magnum's own loader sees them, says which one
// Magnum picks, and what to set so that it picks ours.
//
// Magnum's loader (magnum/drivers/common/driver.py, Driver: Debian
// bookworm's Magnum 15.0.1 and trixie's 20.0.0 alike):
//   - load_entry_points() iterates every entry point of group
//     magnum.drivers (pkg_resources.iter_entry_points on 15,
//     importlib_metadata.entry_points on 20, so sys.path order), skips those
//     named in [drivers] disabled_drivers, and imports each (one import
//     error breaks every lookup);
//   - get_drivers() instantiates each class and, for every
//     (server_type, os, coe) it provides, sets definitions[tuple] to that
//     entry point: the LAST one loaded wins, silently;
//   - get_driver(server_type, os, coe) returns the winner (on 20 also
//     refusing a beta driver not in [drivers] enabled_beta_drivers); from
//     Magnum 18 (2024.1) it takes a driver_name, which the API fills from
//     the image's magnum_driver property when a cluster template is made
//     (magnum/api/controllers/v1/cluster_template.py: post;
//     magnum/api/validation.py: enforce_driver_supported), and then loads
//     that entry point by name (stevedore DriverManager) whatever claims
//     the tuple.
//
// The probe runs those very functions, in Magnum's interpreter, as user
// magnum, with the service's configuration arguments (as confprobe does):
// it lists every claimant with disabled_drivers overridden to none, then
// asks get_drivers and get_driver under the real configuration.
package collision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Ours is the entry point this charm installs.
const Ours = confd.OwnDriver

// Timeout bounds one probe: it imports Magnum and every driver.
const Timeout = 60 * time.Second

// script is the probe. Its one argument is a JSON request: the service's
// configuration arguments, its prog name, and the entry point that is ours.
const script = `
import inspect, json, sys
req = json.loads(sys.argv[1])
out = {}

def describe(ep, cls):
    d = {"name": ep.name}
    value = getattr(ep, "value", None)
    if value is None:
        value = ep.module_name + (":" + ".".join(ep.attrs) if ep.attrs else "")
    d["value"] = value
    dist = getattr(ep, "dist", None)
    if dist is not None:
        name = getattr(dist, "project_name", None)
        if name is None:
            name = dist.metadata["Name"]
        d["dist"], d["version"] = name, str(dist.version)
        loc = getattr(dist, "location", None)
        if loc is None:
            try:
                loc = str(dist.locate_file(""))
            except Exception:
                loc = ""
        d["location"] = loc
    module = sys.modules.get(getattr(cls, "__module__", ""), None)
    d["module_file"] = getattr(module, "__file__", "") or ""
    d["beta"] = bool(getattr(cls, "beta", False))
    try:
        d["provides"] = [[p["server_type"], p["os"], p["coe"]] for p in cls().provides]
    except Exception as e:
        d["error"] = "%s: %s" % (type(e).__name__, e)
    return d

try:
    import magnum.conf
    CONF = magnum.conf.CONF
    CONF(args=req["args"], project="magnum", prog=req["prog"], validate_default_values=False)
    from magnum.drivers.common import driver as mdriver
    out["loader"] = mdriver.__file__
    out["disabled"] = list(CONF.drivers.disabled_drivers or [])
    out["enabled_beta"] = list(getattr(CONF.drivers, "enabled_beta_drivers", None) or [])
    out["driver_name_arg"] = "driver_name" in inspect.signature(mdriver.Driver.get_driver).parameters
    claims = []
    CONF.set_override("disabled_drivers", [], group="drivers")
    try:
        for ep, cls in mdriver.Driver.load_entry_points():
            claims.append(describe(ep, cls))
    except Exception as e:
        out["load_error"] = "%s: %s" % (type(e).__name__, e)
    CONF.clear_override("disabled_drivers", group="drivers")
    out["claims"] = claims
    mdriver.Driver.definitions = None
    winners = {}
    try:
        for t, info in mdriver.Driver.get_drivers().items():
            winners["/".join(t)] = info["entry_point_name"]
    except Exception as e:
        out["get_drivers_error"] = "%s: %s" % (type(e).__name__, e)
    out["winners"] = winners
    ours = set()
    for c in claims:
        if c["name"] == req["ours"]:
            ours.update(tuple(p) for p in c.get("provides", []))
    returned = {}
    for t in sorted(ours):
        try:
            d = mdriver.Driver.get_driver(*t)
            cls = d if isinstance(d, type) else type(d)
            returned["/".join(t)] = "%s.%s" % (cls.__module__, cls.__qualname__)
        except Exception as e:
            returned["/".join(t)] = "error: %s: %s" % (type(e).__name__, e)
    out["returned"] = returned
except BaseException as e:
    out = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
`

// Claim is one installed magnum.drivers entry point, in load order.
type Claim struct {
	Name       string `json:"name"`
	Value      string `json:"value"`
	Dist       string `json:"dist,omitempty"`
	Version    string `json:"version,omitempty"`
	Location   string `json:"location,omitempty"`
	ModuleFile string `json:"module_file,omitempty"`
	Beta       bool   `json:"beta,omitempty"`
	// Provides are its cluster types as server_type/os/coe.
	Provides []string `json:"-"`
	// Error is why its class could not be instantiated.
	Error string `json:"error,omitempty"`
}

// Report is what the probe found, as Magnum's loader sees it.
type Report struct {
	// Loader is the file of Magnum's driver.py the probe ran.
	Loader string
	// Disabled and EnabledBeta are [drivers] disabled_drivers and
	// enabled_beta_drivers as the service's configuration resolves them.
	Disabled    []string
	EnabledBeta []string
	// DriverNameArg: get_driver takes a driver_name (Magnum 18 and later),
	// so the image property magnum_driver selects a driver.
	DriverNameArg bool
	// Claims are every installed entry point, disabled ones included, in
	// the loader's order.
	Claims []Claim
	// LoadError is why the loader stopped (an entry point that does not
	// import); it breaks every driver lookup.
	LoadError string
	// Winners maps each cluster type to the entry point get_drivers picks
	// under the real configuration.
	Winners map[string]string
	// Returned maps each of our cluster types to the class get_driver
	// returns (module.qualname), or "error: ..." when it raises.
	Returned map[string]string
}

// Runner runs a program; command.Run on the unit, something that runs it
// elsewhere (a box) in tests.
type Runner func(ctx context.Context, c command.Cmd) (command.Result, error)

// Probe runs the probe in python as user with env (the services' PATH and
// HOME) and the configuration arguments of a service's live command line
// (wiring.ConfigArgs). run nil is command.Run.
func Probe(ctx context.Context, run Runner, python, user string, env, cmdline []string) (Report, error) {
	if run == nil {
		run = command.Run
	}
	args, prog := wiring.ConfigArgs(cmdline)
	if args == nil {
		args = []string{}
	}
	if prog == "" {
		prog = "magnum-conductor"
	}
	req, err := json.Marshal(map[string]any{"args": args, "prog": prog, "ours": Ours})
	if err != nil {
		return Report{}, err
	}
	res, err := run(ctx, command.Cmd{Argv: []string{python, "-B", "-c", script, string(req)},
		User: user, Env: env, Dir: "/", Timeout: Timeout})
	if err != nil {
		return Report{}, fmt.Errorf("driver collision probe as %s: %w", user, err)
	}
	return Parse(res.Stdout)
}

// Parse reads the probe's output (its last line).
func Parse(stdout []byte) (Report, error) {
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	var raw struct {
		Error         string            `json:"error"`
		Loader        string            `json:"loader"`
		Disabled      []string          `json:"disabled"`
		EnabledBeta   []string          `json:"enabled_beta"`
		DriverNameArg bool              `json:"driver_name_arg"`
		LoadError     string            `json:"load_error"`
		GetDrivers    string            `json:"get_drivers_error"`
		Winners       map[string]string `json:"winners"`
		Returned      map[string]string `json:"returned"`
		Claims        []struct {
			Claim
			Provides [][]string `json:"provides"`
		} `json:"claims"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &raw); err != nil {
		return Report{}, errors.New("driver collision probe printed no result")
	}
	if raw.Error != "" {
		return Report{}, fmt.Errorf("driver collision probe: %s", raw.Error)
	}
	r := Report{Loader: raw.Loader, Disabled: raw.Disabled, EnabledBeta: raw.EnabledBeta, DriverNameArg: raw.DriverNameArg,
		LoadError: raw.LoadError, Winners: raw.Winners, Returned: raw.Returned}
	if r.LoadError == "" {
		r.LoadError = raw.GetDrivers
	}
	for _, c := range raw.Claims {
		claim := c.Claim
		for _, p := range c.Provides {
			claim.Provides = append(claim.Provides, strings.Join(p, "/"))
		}
		r.Claims = append(r.Claims, claim)
	}
	return r, nil
}

// Collision is one of our cluster types and every entry point that claims
// it.
type Collision struct {
	// Tuple is server_type/os/coe.
	Tuple string
	// Claimants are the entry points that claim it, in load order (ours
	// included), with whether [drivers] disabled_drivers names them.
	Claimants []Claimant
	// Winner is the entry point Magnum picks ("" when none).
	Winner string
}

// Claimant is one entry point claiming a tuple.
type Claimant struct {
	Name     string
	Dist     string
	Disabled bool
}

// Analysis is what the report means for the graft.
type Analysis struct {
	// OurTuples are the cluster types k8s_capi_helm_v1 provides.
	OurTuples []string
	// Collisions are those of OurTuples more than one entry point claims.
	Collisions []Collision
	// OursWins: Magnum picks k8s_capi_helm_v1 for every one of OurTuples.
	OursWins bool
	// Problem is the blocked status text when ours does not win, or Magnum
	// cannot load drivers at all; "" otherwise.
	Problem string
	// Warning: ours wins, but only by load order (another enabled driver
	// claims the same type), which a package install can reverse.
	Warning string
	// DisabledDrivers is the exact disabled-drivers value that makes ours
	// the only enabled claimant ("" when none is needed or it cannot
	// help). It keeps what is disabled already.
	DisabledDrivers string
	// AlsoDisables are the other cluster types the entry points added to
	// DisabledDrivers claim, which disabling them takes away.
	AlsoDisables []string
	// ImageProperty is the image property that selects ours whatever
	// claims the type, on Magnum 18 and later ("" before).
	ImageProperty string
}

// Status is the blocked status of a collision: both drivers and what to
// set.
func (a Analysis) Status() string {
	return fmt.Sprintf("driver collision (%s): %s", Ours, a.Problem)
}

// Analyse reads a report: who claims what k8s_capi_helm_v1 claims, who
// wins, and what to set.
func Analyse(r Report) Analysis {
	var a Analysis
	if r.DriverNameArg {
		a.ImageProperty = "magnum_driver=" + Ours
	}
	disabled := map[string]bool{}
	for _, d := range r.Disabled {
		disabled[d] = true
	}
	ours, problem := ourClaim(r, disabled)
	if problem != "" {
		a.Problem = problem
		return a
	}
	a.OurTuples = ours.Provides
	losers, toDisable := a.collide(r, disabled)
	if len(toDisable) > 0 {
		a.DisabledDrivers = strings.Join(append(slices.Clone(r.Disabled), toDisable...), ",")
		a.AlsoDisables = alsoClaimed(r.Claims, toDisable, a.OurTuples)
	}
	// What get_driver itself hands back is the last word: it can still
	// refuse (a beta winner not enabled, two distributions of one name).
	var refused []string
	for _, t := range a.OurTuples {
		if got, ok := r.Returned[t]; ok && strings.HasPrefix(got, "error: ") {
			refused = append(refused, fmt.Sprintf("get_driver(%s) fails: %s", t, strings.TrimPrefix(got, "error: ")))
		}
	}
	fix := ""
	if a.DisabledDrivers != "" {
		fix = "set disabled-drivers=" + a.DisabledDrivers
		if a.ImageProperty != "" {
			fix += " (or give the images the property " + a.ImageProperty + " before making templates)"
		}
	}
	switch {
	case len(refused) > 0:
		a.OursWins = false
		a.Problem = strings.Join(refused, "; ")
	case !a.OursWins:
		a.Problem = "another Magnum driver wins: " + strings.Join(losers, ", ")
		if fix != "" {
			a.Problem += "; " + fix
		}
	case fix != "":
		a.Warning = fmt.Sprintf("%s wins only by load order over %s; %s", Ours, strings.Join(toDisable, ", "), fix)
	}
	return a
}

// ourClaim is the one claim of k8s_capi_helm_v1 that Magnum can load, or
// the problem that keeps it from loading any.
func ourClaim(r Report, disabled map[string]bool) (Claim, string) {
	var ours []Claim
	for _, c := range r.Claims {
		if c.Name == Ours {
			ours = append(ours, c)
		}
	}
	switch {
	case r.LoadError != "":
		return Claim{}, "Magnum's driver loader fails, so no driver loads: " + r.LoadError
	case len(ours) == 0:
		return Claim{}, "Magnum's loader finds no " + Ours + " entry point"
	case len(ours) > 1:
		var where []string
		for _, c := range ours {
			where = append(where, fmt.Sprintf("%s %s (%s)", c.Dist, c.Version, c.Location))
		}
		return Claim{}, fmt.Sprintf("%d installed distributions provide %s (%s): Magnum cannot load it by name; remove all but one",
			len(ours), Ours, strings.Join(where, ", "))
	case ours[0].Error != "":
		return Claim{}, Ours + " does not instantiate: " + ours[0].Error
	case disabled[Ours]:
		return Claim{}, "[drivers] disabled_drivers names " + Ours + ": remove it there"
	}
	return ours[0], ""
}

// collide finds, for each of our tuples, every claimant and the winner:
// it sets Collisions and OursWins, and returns the tuples ours loses (with
// who wins them) and the enabled rivals to disable.
func (a *Analysis) collide(r Report, disabled map[string]bool) (losers, toDisable []string) {
	a.OursWins = true
	for _, t := range a.OurTuples {
		col := Collision{Tuple: t, Winner: r.Winners[t]}
		for _, c := range r.Claims {
			if slices.Contains(c.Provides, t) {
				col.Claimants = append(col.Claimants, Claimant{Name: c.Name, Dist: c.Dist, Disabled: disabled[c.Name]})
				if c.Name != Ours && !disabled[c.Name] && !slices.Contains(toDisable, c.Name) {
					toDisable = append(toDisable, c.Name)
				}
			}
		}
		if col.Winner != Ours {
			a.OursWins = false
			losers = append(losers, fmt.Sprintf("%s goes to %s", t, orNobody(col.Winner, r.Claims)))
		}
		if len(col.Claimants) > 1 {
			a.Collisions = append(a.Collisions, col)
		}
	}
	return losers, toDisable
}

// alsoClaimed are the cluster types the entry points names claim besides
// ours, which disabling them takes away.
func alsoClaimed(claims []Claim, names, ours []string) []string {
	var also []string
	for _, name := range names {
		for _, c := range claims {
			if c.Name != name {
				continue
			}
			for _, p := range c.Provides {
				if !slices.Contains(ours, p) && !slices.Contains(also, p) {
					also = append(also, p)
				}
			}
		}
	}
	return also
}

// orNobody names an entry point with its distribution.
func orNobody(name string, claims []Claim) string {
	if name == "" {
		return "no driver"
	}
	for _, c := range claims {
		if c.Name == name && c.Dist != "" {
			return fmt.Sprintf("%s (%s %s)", name, c.Dist, c.Version)
		}
	}
	return name
}
