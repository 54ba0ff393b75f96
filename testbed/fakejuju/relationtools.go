package fakejuju

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// The relation hook tools, with the syntax, defaults and errors of Juju's
// jujuc/relation-ids.go, relation-list.go, relation-get.go and
// relation-set.go. What a relation hook runs for (its relation, remote unit
// and application) comes from the hook's environment, which the uniter
// sets from the same facts its tools use (HookContext.HookVars).

// hookRelation is the relation of the running relation hook, or nil.
func (c *toolCtx) hookRelation(st *State) *Relation {
	v := c.env("JUJU_RELATION_ID")
	if v == "" {
		return nil
	}
	r, err := st.RelationByName(v)
	if err != nil {
		return nil
	}
	return r
}

// relationFlags are the flags every relation tool but relation-ids takes:
// -r/--relation, and --app.
func relationFlags(more map[string]bool) flagSet {
	fs := withFormat(map[string]bool{"r": true, "app": false})
	fs.aliases["relation"] = "r"
	for k, v := range more {
		fs.flags[k] = v
	}
	return fs
}

// relationID resolves -r as jujuc's relationIdValue does: the hook's
// relation by default, else the relation the flag names, which must exist
// (a usage error naming the flag, as gnuflag reports a Set error). Without
// either it is nil.
func (c *toolCtx) relationID(p *parsed, st *State) (*Relation, error) {
	r := c.hookRelation(st)
	if v, ok := p.values["r"]; ok {
		var err error
		if r, err = st.RelationByName(v); err != nil {
			return nil, usagef("invalid value %q for option %s: %v", v, p.spelled["r"], err)
		}
	}
	return r, nil
}

func relationIDs(c *toolCtx, argv []string) error {
	p, err := withFormat(nil).parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "smart", "smart", "json", "yaml")
	if err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	name := ""
	if r := c.hookRelation(st); r != nil {
		name = r.Endpoint
	}
	args := p.args
	if len(args) > 0 {
		name, args = args[0], args[1:]
	} else if name == "" {
		return usagef("no endpoint name specified")
	}
	if err := checkEmpty(args); err != nil {
		return err
	}
	return writeValue(c.stdout, f, st.RelationIDs(name))
}

func relationList(c *toolCtx, argv []string) error {
	p, err := relationFlags(nil).parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "smart", "smart", "json", "yaml")
	if err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	r, err := c.relationID(p, st)
	if err != nil {
		return err
	}
	if r == nil {
		return usagef("no relation id specified")
	}
	if err := checkEmpty(p.args); err != nil {
		return err
	}
	if p.bools["app"] {
		return writeValue(c.stdout, f, r.RemoteApplication)
	}
	members := append([]string{}, r.Members...)
	return writeValue(c.stdout, f, members)
}

func relationGet(c *toolCtx, argv []string) error {
	p, err := relationFlags(nil).parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "smart", "smart", "json", "yaml")
	if err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	r, err := c.relationID(p, st)
	if err != nil {
		return err
	}
	if r == nil {
		return usagef("no relation id specified")
	}
	args := p.args
	key := ""
	if len(args) > 0 {
		if key = args[0]; key == "-" {
			key = ""
		}
		args = args[1:]
	}
	app := p.bools["app"]
	name, app, err := c.unitOrApp(&args, app)
	if err != nil {
		return err
	}
	if err := checkEmpty(args); err != nil {
		return err
	}

	var settings map[string]string
	switch {
	case name == st.Unit:
		settings = st.LocalUnitSettings(r)
	case name == st.app() && st.Leader:
		// Only the leader reads its application's settings from its
		// own hook context; the others ask the controller.
		settings, err = st.LocalAppSettings(r)
	case app:
		settings, err = st.RemoteAppSettings(r, name)
	default:
		settings, err = st.RemoteUnitSettings(r, name)
	}
	if err != nil {
		return err
	}
	if key == "" {
		return writeValue(c.stdout, f, settings)
	}
	if v, ok := settings[key]; ok {
		return writeValue(c.stdout, f, v)
	}
	return writeValue(c.stdout, f, nil)
}

// unitOrApp is relation-get's determineUnitOrAppName: the unit or
// application named after the key, or the hook's remote unit, or its
// remote application (which then reads application settings).
func (c *toolCtx) unitOrApp(args *[]string, app bool) (string, bool, error) {
	if len(*args) > 0 {
		given := (*args)[0]
		*args = (*args)[1:]
		if app {
			if validApp.MatchString(given) {
				return given, true, nil
			}
			if validUnit.MatchString(given) {
				unitApp, _, _ := strings.Cut(given, "/")
				return unitApp, true, nil
			}
			// Juju lets a name that is neither through here, and the
			// controller refuses it.
			return given, true, nil
		}
		if !validUnit.MatchString(given) {
			if validApp.MatchString(given) {
				return "", false, usagef("expected unit name, got application name %q", given)
			}
			return "", false, usagef("invalid unit name %q", given)
		}
		return given, false, nil
	}
	remoteUnit, remoteApp := c.env("JUJU_REMOTE_UNIT"), c.env("JUJU_REMOTE_APP")
	if app {
		if remoteApp == "" {
			return "", false, usagef("no unit or application specified")
		}
		return remoteApp, true, nil
	}
	if remoteUnit != "" {
		return remoteUnit, false, nil
	}
	if remoteApp != "" {
		return remoteApp, true, nil
	}
	return "", false, usagef("no unit or application specified")
}

func relationSet(c *toolCtx, argv []string) error {
	p, err := relationFlags(map[string]bool{"file": true}).parse(argv)
	if err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	r, err := c.relationID(p, st)
	if err != nil {
		return err
	}
	if r == nil {
		return usagef("no relation id specified")
	}
	values, err := parseKeyValues(p.args)
	if err != nil {
		return err
	}
	// relation-set's --format is deprecated and ignored; Juju says so
	// without a newline.
	if _, ok := p.values["format"]; ok {
		fmt.Fprintf(c.stderr, "--format flag deprecated for command %q", c.name)
	}
	if file, ok := p.values["file"]; ok && file != "" {
		fromFile, err := c.settingsFile(file)
		if err != nil {
			return err
		}
		for k, v := range values {
			fromFile[k] = v
		}
		values = fromFile
	}
	app := p.bools["app"]
	return c.update(func(st *State) error {
		r, err := st.Relation(r.ID)
		if err != nil {
			return err
		}
		return st.SetRelationSettings(r, app, values)
	})
}

// parseKeyValues is juju/utils keyvalues.Parse with empty values allowed,
// as relation-set calls it: key and value are trimmed, an empty argument
// is skipped, and a key may be given once.
func parseKeyValues(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range args {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usagef("expected \"key=value\", got %q", kv)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" {
			return nil, usagef("expected \"key=value\", got \"%s=%s\"", k, v)
		}
		if _, dup := out[k]; dup {
			return nil, usagef("key %q specified more than once", k)
		}
		out[k] = v
	}
	return out, nil
}

// settingsFile reads relation-set --file: a YAML map, "-" for stdin.
func (c *toolCtx) settingsFile(path string) (map[string]string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(c.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	settings := map[string]string{}
	if err := yaml.Unmarshal(data, &settings); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return settings, nil
}
