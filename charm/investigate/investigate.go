// Package investigate is the runbook's Step 1 done by the charm: a structured
// report of how Magnum really runs on this unit, read from the live system
// before (or after) anything is grafted. It changes nothing. Unlike the
// reconcile, it may take its time: it runs each init script's show-args and
// asks Magnum's own interpreter, as user magnum, where Magnum lives.
package investigate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Service is the report for one Magnum service.
type Service struct {
	UnitFile   string   `json:"unit-file"`
	ExecStart  string   `json:"exec-start"`
	DropIns    []string `json:"drop-ins"`
	Shape      string   `json:"shape"`
	InitScript string   `json:"init-script,omitempty"`
	// FinalCommand is what the init script's show-args prints: the command
	// line the script builds.
	FinalCommand string `json:"final-command,omitempty"`
	DefaultFile  string `json:"default-file,omitempty"`
	// DefaultKeys are the variables the sourced defaults files set, by
	// file (openstack, magnum-conductor) and variable (daemon-args), in
	// the lower-case, hyphenated form action results allow.
	DefaultKeys map[string]map[string]string `json:"default-keys,omitempty"`
	// DefaultUnkeyed lists, by file, the assignments that have no key
	// of their own in DefaultKeys, as written: an append (NAME+=...), a
	// name that does not map to an action-set key (_TMP), a name that
	// differs from an earlier one only in case. action-set refuses the
	// whole call on one bad key, so they are listed, never keyed.
	DefaultUnkeyed map[string][]string `json:"default-unkeyed,omitempty"`
	MainPID        uint32              `json:"main-pid"`
	Cmdline        string              `json:"cmdline"`
	Enabled        string              `json:"enabled"`
	Masked         bool                `json:"masked"`
	Active         string              `json:"active"`
	ConfD          string              `json:"conf-d"`
	PATH           string              `json:"path"`
	Helm           string              `json:"helm"`
}

// Report is the whole investigation.
type Report struct {
	Services          map[string]Service `json:"services"`
	Python            string             `json:"python"`
	PythonVersion     string             `json:"python-version"`
	MagnumVersion     string             `json:"magnum-version"`
	MagnumModule      string             `json:"magnum-module"`
	ImportPath        []string           `json:"import-path"`
	ExternallyManaged bool               `json:"pep668"`
	Notes             []string           `json:"notes,omitempty"`
}

// Run investigates the unit.
func Run(ctx context.Context, sd *systemd.Manager) (*Report, error) {
	unit, err := unitshape.Observe(ctx, sd)
	if err != nil {
		return nil, err
	}
	rep := &Report{Services: map[string]Service{}, Python: unit.Python, PythonVersion: unit.PythonVersion,
		MagnumVersion: unit.MagnumVersion, ExternallyManaged: unit.ExternallyManaged}
	for _, svc := range unit.Services {
		s := Service{
			UnitFile:   svc.FragmentPath,
			ExecStart:  strings.Join(svc.ExecStart, " "),
			DropIns:    svc.DropInPaths,
			Shape:      string(svc.Shape),
			InitScript: svc.InitScript,
			MainPID:    svc.MainPID,
			Cmdline:    strings.Join(svc.Cmdline, " "),
			Enabled:    svc.UnitFileState,
			Masked:     svc.Masked(),
			Active:     svc.ActiveState + "/" + svc.SubState,
			PATH:       svc.PATH,
			Helm:       findOnPath("helm", svc.PATH),
		}
		if s.DropIns == nil {
			s.DropIns = []string{}
		}
		if svc.InitScript != "" {
			// show-args runs the script's own logic (sourcing
			// /etc/default), so it is the truth about what it would run.
			s.FinalCommand, _ = command.Output(ctx, command.Cmd{Argv: []string{svc.InitScript, "show-args"}, Timeout: 10 * time.Second})
		}
		for _, p := range []string{"/etc/default/openstack", wiring.DefaultFilePath(svc.Name)} {
			keys, unkeyed := shellKeys(p)
			if keys == nil {
				continue
			}
			if s.DefaultKeys == nil {
				s.DefaultKeys = map[string]map[string]string{}
				s.DefaultFile = wiring.DefaultFilePath(svc.Name)
			}
			s.DefaultKeys[filepath.Base(p)] = keys
			if len(unkeyed) > 0 {
				if s.DefaultUnkeyed == nil {
					s.DefaultUnkeyed = map[string][]string{}
				}
				s.DefaultUnkeyed[filepath.Base(p)] = unkeyed
			}
		}
		s.ConfD = confDReading(svc.Cmdline)
		rep.Services[svc.Name] = s
	}
	// Ask Magnum's interpreter, as the services' user, where Magnum is.
	out, err := command.Output(ctx, command.Cmd{
		Argv: []string{unit.Python, "-c", "import json, sys, magnum; print(json.dumps({'file': magnum.__file__, 'path': sys.path}))"},
		User: "magnum", Env: []string{"PATH=/sbin:/usr/sbin:/bin:/usr/bin", "HOME=/var/lib/magnum", "LANG=C.UTF-8"},
		Dir: "/", Timeout: 20 * time.Second,
	})
	if err != nil {
		rep.Notes = append(rep.Notes, "import magnum as user magnum failed: "+err.Error())
	} else {
		var py struct {
			File string   `json:"file"`
			Path []string `json:"path"`
		}
		if json.Unmarshal([]byte(out), &py) == nil {
			rep.MagnumModule, rep.ImportPath = py.File, py.Path
		}
	}
	return rep, nil
}

// confDReading says whether, and in which order, a live command line makes
// oslo.config read /etc/magnum/magnum.conf.d.
func confDReading(cmdline []string) string {
	if len(cmdline) == 0 {
		return "not running"
	}
	args, _ := wiring.ConfigArgs(cmdline)
	file, dir := -1, -1
	for i, a := range args {
		if strings.HasPrefix(a, "--config-file=") {
			file = i
		} else {
			dir = i
		}
	}
	_, err := os.Stat(wiring.ConfDir)
	switch {
	case dir >= 0 && file >= 0 && dir > file:
		return "explicit --config-dir after --config-file: conf.d wins over magnum.conf"
	case dir >= 0:
		return "explicit --config-dir: conf.d read"
	case err == nil:
		return "default config dirs: conf.d read before magnum.conf (magnum.conf wins on shared keys)"
	default:
		return "not read: " + wiring.ConfDir + " does not exist"
	}
}

// assignment is a shell variable assignment, with export or bash's +=.
var assignment = regexp.MustCompile(`^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)(\+?)=(.*)$`)

// shellKeys returns the variables a sourced shell file assigns (nil if the
// file cannot be read), keyed by name in the lower-case, hyphenated form
// action results allow, values as written (the last assignment wins, as in
// the shell). An assignment with no such key of its own is returned in
// unkeyed as written: see Service.DefaultUnkeyed.
func shellKeys(path string) (keys map[string]string, unkeyed []string) {
	data, err := files.ReadFile(path, files.MaxTextFile)
	if err != nil {
		return nil, nil
	}
	keys, unkeyed = parseShellKeys(data)
	return keys, unkeyed
}

// parseShellKeys is shellKeys on a file's content.
func parseShellKeys(data []byte) (keys map[string]string, unkeyed []string) {
	keys = map[string]string{}
	owner := map[string]string{} // key -> the variable name that has it
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := assignment.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, appends, value := m[1], m[2] != "", m[3]
		key := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if o, taken := owner[key]; appends || !hooktool.ValidActionKey(key) || (taken && o != name) {
			unkeyed = append(unkeyed, line)
			continue
		}
		owner[key] = name
		keys[key] = value
	}
	return keys, unkeyed
}

func findOnPath(prog, path string) string {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, prog)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return "not found"
}
