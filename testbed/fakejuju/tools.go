package fakejuju

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// The error texts below are Juju's own, so that the charm's error mapping is
// tested against what a real unit agent prints. Sources (juju/juju unless
// noted): worker/uniter/runner/jujuc/*.go for usage errors; "not running an
// action" from worker/uniter/runner/context/context.go; secret not found from
// state/secrets.go (errors.NotFoundf("secret %q", uri.String())) and
// "permission denied" (apiservererrors.ErrPerm) from the secretsmanager
// facade; resource-get's not-found text as recorded in canonical/operator's
// test harness and its security-event spec (OP067).

const notInAction = "not running an action"

// toolCtx is one hook tool invocation.
type toolCtx struct {
	name           string
	statePath      string
	env            func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

type toolFunc func(c *toolCtx, args []string) error

var tools = map[string]toolFunc{
	"config-get":              configGet,
	"secret-get":              secretGet,
	"status-set":              statusSet,
	"status-get":              statusGet,
	"application-version-set": applicationVersionSet,
	"juju-log":                jujuLog,
	"is-leader":               isLeader,
	"action-get":              actionGet,
	"action-set":              actionSet,
	"action-fail":             actionFail,
	"action-log":              actionLog,
	"resource-get":            resourceGet,
	"relation-ids":            relationIDs,
	"relation-list":           relationList,
	"relation-get":            relationGet,
	"relation-set":            relationSet,
}

var toolUsage = map[string]string{
	"config-get":              "[options] [<key>]",
	"secret-get":              "[options] <ID> [key]",
	"status-set":              "[options] <maintenance | blocked | waiting | active> [message]",
	"status-get":              "[options] [--include-data] [--application]",
	"application-version-set": "<new-version>",
	"juju-log":                "[options] <message>",
	"is-leader":               "[options]",
	"action-get":              "[options] [<key>[.<key>.<key>...]]",
	"action-set":              "<key>=<value> [<key>=<value> ...]",
	"action-fail":             "[\"<failure message>\"]",
	"action-log":              "<message>",
	"resource-get":            "<resource name>",
	"relation-ids":            "[options] <name>",
	"relation-list":           "[options]",
	"relation-get":            "[options] <key> <unit id>",
	"relation-set":            "[options] key=value [key=value ...]",
}

// ToolUsage returns a tool's usage line, and whether the fake provides it.
func ToolUsage(name string) (string, bool) {
	u, ok := toolUsage[name]
	return u, ok
}

// ToolNames lists the hook tools the fake provides.
func ToolNames() []string {
	var names []string
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// runTool runs one hook tool and reports as juju/cmd does: "ERROR <msg>" on
// stderr, exit 2 for usage errors and 1 for runtime errors.
func runTool(c *toolCtx, args []string) int {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" {
			fmt.Fprintf(c.stdout, "Usage: %s %s\n", c.name, toolUsage[c.name])
			return 0
		}
	}
	err := tools[c.name](c, args)
	if err == nil {
		return 0
	}
	fmt.Fprintf(c.stderr, "ERROR %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func (c *toolCtx) load() (*State, error) { return Load(c.statePath) }

func (c *toolCtx) update(fn func(*State) error) error { return Update(c.statePath, fn) }

func configGet(c *toolCtx, argv []string) error {
	fs := withFormat(map[string]bool{"a": false, "all": false})
	fs.aliases["all"] = "a"
	p, err := fs.parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "smart", "smart", "json", "yaml")
	if err != nil {
		return err
	}
	all := p.bools["a"]
	key := ""
	if len(p.args) > 0 {
		key = p.args[0]
		if key != "" && all {
			return usagef("cannot use argument --all together with key %q", key)
		}
		if err := checkEmpty(p.args[1:]); err != nil {
			return err
		}
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	if key != "" {
		return writeValue(c.stdout, f, st.Config[key])
	}
	settings := map[string]any{}
	for k, v := range st.Config {
		if v != nil || all {
			settings[k] = v
		}
	}
	return writeValue(c.stdout, f, settings)
}

func secretGet(c *toolCtx, argv []string) error {
	p, err := withFormat(map[string]bool{"label": true, "peek": false, "refresh": false}).parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "yaml", "yaml", "json")
	if err != nil {
		return err
	}
	args := p.args
	id := ""
	if len(args) > 0 {
		var ok bool
		if id, ok = ParseSecretURI(args[0]); !ok {
			return usagef("secret URI %q not valid", args[0])
		}
		args = args[1:]
	}
	label := p.values["label"]
	if id == "" && label == "" {
		return usagef("require either a secret URI or label")
	}
	peek, refresh := p.bools["peek"], p.bools["refresh"]
	if peek && refresh {
		return usagef("specify one of --peek or --refresh but not both")
	}
	key := ""
	if len(args) > 0 {
		key = args[0]
		if err := checkEmpty(args[1:]); err != nil {
			return err
		}
	}
	var content map[string]string
	err = c.update(func(st *State) (err error) {
		if id == "" {
			// The fake keeps no consumer labels.
			return fmt.Errorf("consumer label %q not found", label)
		}
		content, err = st.ReadSecret(id, refresh, peek)
		return err
	})
	if err != nil {
		return err
	}
	if key != "" {
		v, ok := content[key]
		if !ok {
			return fmt.Errorf("secret key value %q not found", key)
		}
		return writeValue(c.stdout, f, v)
	}
	if content == nil {
		content = map[string]string{}
	}
	return writeValue(c.stdout, f, content)
}

var validStatus = []string{"maintenance", "blocked", "waiting", "active"}

func statusSet(c *toolCtx, argv []string) error {
	p, err := flagSet{flags: map[string]bool{"application": false}}.parse(argv)
	if err != nil {
		return err
	}
	if len(p.args) < 1 {
		return usagef("invalid args, require <status> [message]")
	}
	valid := false
	for _, s := range validStatus {
		valid = valid || s == p.args[0]
	}
	if !valid {
		return usagef("invalid status %q, expected one of %v", p.args[0], validStatus)
	}
	entry := StatusEntry{Status: p.args[0]}
	if len(p.args) > 1 {
		entry.Message = p.args[1]
		if err := checkEmpty(p.args[2:]); err != nil {
			return err
		}
	}
	return c.update(func(st *State) error {
		return st.SetStatus(entry, p.bools["application"])
	})
}

func statusGet(c *toolCtx, argv []string) error {
	p, err := withFormat(map[string]bool{"include-data": false, "application": false}).parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "smart", "smart", "json", "yaml")
	if err != nil {
		return err
	}
	if err := checkEmpty(p.args); err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	entry := st.Status
	if p.bools["application"] {
		if entry, err = st.AppStatus(); err != nil {
			return fmt.Errorf("finding application status: %w", err)
		}
	}
	if !p.bools["include-data"] {
		return writeValue(c.stdout, f, entry.Status)
	}
	return writeValue(c.stdout, f, map[string]any{
		"status": entry.Status, "message": entry.Message, "status-data": map[string]any{},
	})
}

func applicationVersionSet(c *toolCtx, argv []string) error {
	p, err := flagSet{}.parse(argv)
	if err != nil {
		return err
	}
	if len(p.args) < 1 {
		return usagef("no version specified")
	}
	if err := checkEmpty(p.args[1:]); err != nil {
		return err
	}
	return c.update(func(st *State) error {
		st.ApplicationVersion = p.args[0]
		return nil
	})
}

// logLevels are the levels loggo.ParseLevel accepts, mapped to the names
// juju debug-log shows.
var logLevels = map[string]string{
	"TRACE": "TRACE", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING",
	"WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL",
}

func jujuLog(c *toolCtx, argv []string) error {
	fs := flagSet{
		flags:   map[string]bool{"debug": false, "l": true, "format": true},
		aliases: map[string]string{"log-level": "l"},
	}
	p, err := fs.parse(argv)
	if err != nil {
		return err
	}
	if len(p.args) == 0 {
		return usagef("no message specified")
	}
	if p.values["format"] != "" {
		fmt.Fprintf(c.stderr, "--format flag deprecated for command %q", c.name)
	}
	level, warning := "INFO", ""
	if p.bools["debug"] {
		level = "DEBUG"
	} else if l, ok := p.values["l"]; ok && l != "" {
		if known, ok := logLevels[strings.ToUpper(l)]; ok {
			level = known
		} else {
			// Juju logs a warning and carries on at INFO.
			warning = fmt.Sprintf("Specified log level of %q is not valid", l)
		}
	}
	return c.update(func(st *State) error {
		if warning != "" {
			st.AddLog("WARNING", warning)
		}
		st.AddLog(level, strings.Join(p.args, " "))
		return nil
	})
}

func isLeader(c *toolCtx, argv []string) error {
	p, err := withFormat(nil).parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "smart", "smart", "json", "yaml")
	if err != nil {
		return err
	}
	if err := checkEmpty(p.args); err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	return writeValue(c.stdout, f, st.Leader)
}

func actionGet(c *toolCtx, argv []string) error {
	p, err := withFormat(nil).parse(argv)
	if err != nil {
		return err
	}
	f, err := format(p, "smart", "smart", "json", "yaml")
	if err != nil {
		return err
	}
	var keys []string
	if len(p.args) > 0 {
		if err := checkEmpty(p.args[1:]); err != nil {
			return err
		}
		keys = strings.Split(p.args[0], ".")
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	action, err := st.RunningAction(c.env("JUJU_ACTION_UUID"))
	if err != nil {
		return err
	}
	params := action.Params
	if params == nil {
		params = map[string]any{}
	}
	if len(keys) == 0 {
		return writeValue(c.stdout, f, params)
	}
	var answer any = params
	for _, k := range keys {
		m, ok := answer.(map[string]any)
		if !ok {
			answer = nil
			break
		}
		answer = m[k]
	}
	return writeValue(c.stdout, f, answer)
}

// actionKeyRule is Juju's rule for each segment of an action-set key.
var actionKeyRule = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

var reservedActionKeys = []string{"stdout", "stdout-encoding", "stderr", "stderr-encoding"}

func actionSet(c *toolCtx, argv []string) error {
	p, err := flagSet{}.parse(argv)
	if err != nil {
		return err
	}
	results := map[string]string{}
	for _, arg := range p.args {
		key, value, ok := strings.Cut(arg, "=")
		if !ok {
			return usagef("argument %q must be of the form key...=value", arg)
		}
		for _, seg := range strings.Split(key, ".") {
			if !actionKeyRule.MatchString(seg) {
				return usagef("key %q must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens", seg)
			}
			for _, r := range reservedActionKeys {
				if seg == r {
					return usagef("cannot set reserved action key %q", seg)
				}
			}
		}
		results[key] = value
	}
	return c.update(func(st *State) error {
		if _, err := st.RunningAction(c.env("JUJU_ACTION_UUID")); err != nil {
			return err
		}
		for k, v := range results {
			st.SetActionResult(k, v)
		}
		return nil
	})
}

func actionFail(c *toolCtx, argv []string) error {
	p, err := flagSet{}.parse(argv)
	if err != nil {
		return err
	}
	msg := "action failed without reason given, check action for errors"
	if len(p.args) > 0 {
		msg = p.args[0]
		if err := checkEmpty(p.args[1:]); err != nil {
			return err
		}
	}
	return c.update(func(st *State) error {
		if _, err := st.RunningAction(c.env("JUJU_ACTION_UUID")); err != nil {
			return err
		}
		st.FailAction(msg)
		return nil
	})
}

func actionLog(c *toolCtx, argv []string) error {
	p, err := flagSet{}.parse(argv)
	if err != nil {
		return err
	}
	if len(p.args) == 0 {
		return usagef("no message specified")
	}
	return c.update(func(st *State) error {
		if _, err := st.RunningAction(c.env("JUJU_ACTION_UUID")); err != nil {
			return err
		}
		st.LogAction(strings.Join(p.args, " "))
		return nil
	})
}

func resourceGet(c *toolCtx, argv []string) error {
	p, err := flagSet{}.parse(argv)
	if err != nil {
		return err
	}
	if len(p.args) < 1 {
		return usagef("missing required resource name")
	}
	if err := checkEmpty(p.args[1:]); err != nil {
		return err
	}
	name := p.args[0]
	var path string
	err = c.update(func(st *State) (err error) {
		resources := filepath.Join(filepath.Dir(c.statePath), "resources")
		path, err = st.DownloadResource(resources, name, ResourceFilename(c.env("JUJU_CHARM_DIR"), name))
		return err
	})
	if err != nil {
		return err
	}
	// Juju prints the path with no newline.
	_, err = io.WriteString(c.stdout, path)
	return err
}
