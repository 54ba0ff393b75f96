package fakejuju

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Paths is where the fake unit agent keeps things. The defaults follow a real
// machine unit's layout so that the test bed looks like a Juju machine.
type Paths struct {
	Unit        string
	AgentDir    string
	ToolsDir    string
	CharmDir    string
	State       string
	MachineLock string
}

// OperationLock is the lock that lets one operation (hook, action,
// juju-exec) run on the unit at a time.
func (p Paths) OperationLock() string { return filepath.Join(p.AgentDir, "operation.lock") }

// AgentSocket is the unit's hook tool socket (JUJU_AGENT_SOCKET_ADDRESS;
// juju/juju internal/worker/uniter/paths.go: <agent dir>/agent.socket).
func (p Paths) AgentSocket() string { return filepath.Join(p.AgentDir, "agent.socket") }

// RunSocket is the unit's juju-exec socket (paths.go: <agent dir>/run.socket).
func (p Paths) RunSocket() string { return filepath.Join(p.AgentDir, "run.socket") }

// ResourcesDir is where the unit agent puts resources (paths.go:
// <agent dir>/resources).
func (p Paths) ResourcesDir() string { return filepath.Join(p.AgentDir, "resources") }

// unitTag turns "app/0" into "unit-app-0", Juju's directory naming.
func unitTag(unit string) string {
	return "unit-" + strings.ReplaceAll(unit, "/", "-")
}

// PathsFromEnv resolves paths from FAKEJUJU_* variables, falling back to the
// hook environment's JUJU_UNIT_NAME and JUJU_CHARM_DIR, then to the layout
// of DefaultUnit under /var/lib/juju.
func PathsFromEnv(env func(string) string) Paths {
	return resolvePaths(env, Paths{})
}

// resolvePaths fills every field of override that is empty.
func resolvePaths(env func(string) string, p Paths) Paths {
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	p.Unit = pick(p.Unit, env("FAKEJUJU_UNIT"), env("JUJU_UNIT_NAME"), DefaultUnit)
	tag := unitTag(p.Unit)
	p.AgentDir = pick(p.AgentDir, env("FAKEJUJU_AGENT_DIR"), filepath.Join("/var/lib/juju/agents", tag))
	p.ToolsDir = pick(p.ToolsDir, env("FAKEJUJU_TOOLS_DIR"), filepath.Join("/var/lib/juju/tools", tag))
	p.CharmDir = pick(p.CharmDir, env("FAKEJUJU_CHARM_DIR"), env("JUJU_CHARM_DIR"), filepath.Join(p.AgentDir, "charm"))
	p.State = pick(p.State, env("FAKEJUJU_STATE"), filepath.Join(p.AgentDir, "fakejuju-state.json"))
	p.MachineLock = pick(p.MachineLock, env("FAKEJUJU_MACHINE_LOCK"), filepath.Join(p.AgentDir, "machine-lock"))
	return p
}

// Main runs the fake as the program named by argv[0]: one of the fake's
// hook tools when called by a tool's name (the in-process Runner does), or
// otherwise the fakejuju command with one of the operator's subcommands.
// The unit agent's side (hooks, actions, juju-exec with Juju's own code)
// is testbed/juju's fakejuju, which hands these subcommands to Main. It
// returns the exit code.
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	if len(argv) == 0 {
		fmt.Fprintln(stderr, "ERROR no command")
		return 2
	}
	name := filepath.Base(argv[0])
	if _, ok := tools[name]; ok {
		c := &toolCtx{name: name, statePath: PathsFromEnv(env).State, env: env, stdin: stdin, stdout: stdout, stderr: stderr}
		return runTool(c, argv[1:])
	}
	if len(argv) < 2 {
		fmt.Fprint(stderr, mainUsage)
		return 2
	}
	sub, args := argv[1], argv[2:]
	if _, ok := tools[sub]; ok {
		c := &toolCtx{name: sub, statePath: PathsFromEnv(env).State, env: env, stdin: stdin, stdout: stdout, stderr: stderr}
		return runTool(c, args)
	}
	a := &agent{sub: sub, stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	switch sub {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, mainUsage)
		return 0
	}
	cmds := map[string]func([]string) error{
		"init":            a.init,
		"config":          a.config,
		"model-config":    a.modelConfig,
		"add-secret":      a.addSecret,
		"update-secret":   a.updateSecret,
		"grant-secret":    a.grantSecret,
		"revoke-secret":   a.grantSecret,
		"attach-resource": a.attachResource,
		"detach-resource": a.attachResource,
		"show-state":      a.showState,
	}
	cmd, ok := cmds[sub]
	if !ok {
		fmt.Fprintf(stderr, "ERROR unrecognized command: fakejuju %s\n", sub)
		return 2
	}
	return report(stderr, cmd(args))
}

const mainUsage = `Usage: fakejuju COMMAND [ARGS...]   (or run as a hook tool name)

The operator's side (what an operator would do with the juju CLI):
  init [--principal U] [--model M] [--leader=BOOL] [--force]
  config K=V ... [--reset K ...]
  model-config K=V ...                           juju-https-proxy, https-proxy, ...
  add-secret [--grant] K=V|K#file=PATH ...       prints secret:<id>
  update-secret URI K=V|K#file=PATH ...          prints the new revision
  grant-secret URI | revoke-secret URI
  attach-resource NAME=PATH                      empty PATH: 0-byte placeholder
  detach-resource NAME
  show-state

Every command takes --unit, --agent-dir, --tools-dir, --charm-dir and --state
(defaults from FAKEJUJU_UNIT, FAKEJUJU_AGENT_DIR, FAKEJUJU_TOOLS_DIR,
FAKEJUJU_CHARM_DIR, FAKEJUJU_STATE, then /var/lib/juju/{agents,tools}/unit-<app>-<n>).
The unit agent's side (hook, action, agent, install-tools, and juju-exec)
is the test bed's own fakejuju, built from testbed/juju with Juju's code.
`

// report prints an error as Juju's commands do and turns it into an exit
// code: 2 for usage errors, 1 otherwise.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee *exitCode
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "ERROR %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// exitCode passes a child's exit code through report unchanged.
type exitCode struct{ code int }

func (e *exitCode) Error() string { return fmt.Sprintf("exit status %d", e.code) }

type agent struct {
	sub            string
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string
}

// flags returns a flag set with the path flags every subcommand takes, and a
// function that resolves the paths once the flags are parsed.
func (a *agent) flags(name string) (*pflag.FlagSet, func() Paths) {
	fs := pflag.NewFlagSet("fakejuju "+name, pflag.ContinueOnError)
	fs.SetOutput(a.stderr)
	var p Paths
	fs.StringVar(&p.Unit, "unit", "", "unit name (default $FAKEJUJU_UNIT or "+DefaultUnit+")")
	fs.StringVar(&p.AgentDir, "agent-dir", "", "unit agent directory")
	fs.StringVar(&p.ToolsDir, "tools-dir", "", "hook tools directory")
	fs.StringVar(&p.CharmDir, "charm-dir", "", "charm directory")
	fs.StringVar(&p.State, "state", "", "state file")
	return fs, func() Paths { return resolvePaths(a.env, p) }
}

func parseFlags(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		// pflag has printed the usage; asking for it is not an error.
		return &exitCode{0}
	}
	if err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// configOption is one option of the charm's config.yaml.
type configOption struct {
	Type    string `yaml:"type"`
	Default any    `yaml:"default"`
}

// charmConfig reads the options the charm declares; ok is false when the
// charm directory has no config.yaml, and then every value is a string.
func charmConfig(charmDir string) (opts map[string]configOption, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(charmDir, "config.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var doc struct {
		Options map[string]configOption `yaml:"options"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false, fmt.Errorf("cannot parse config.yaml: %w", err)
	}
	return doc.Options, true, nil
}

// init creates the state file, with config defaults from the charm's
// config.yaml as Juju applies them at deploy time.
func (a *agent) init(args []string) error {
	fs, paths := a.flags("init")
	principal := fs.String("principal", "magnum/0", "principal unit")
	model := fs.String("model", "openstack", "model name")
	leader := fs.Bool("leader", true, "whether this unit is the leader")
	force := fs.Bool("force", false, "replace an existing state file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkEmpty(fs.Args()); err != nil {
		return err
	}
	p := paths()
	if _, err := os.Stat(p.State); err == nil && !*force {
		return fmt.Errorf("state %s already exists (use --force to replace it)", p.State)
	}
	st := NewState(p.Unit)
	st.Principal, st.Model, st.Leader = *principal, *model, *leader
	opts, _, err := charmConfig(p.CharmDir)
	if err != nil {
		return err
	}
	for k, o := range opts {
		st.Config[k] = o.Default
	}
	if err := os.MkdirAll(filepath.Dir(p.State), 0o755); err != nil {
		return fmt.Errorf("cannot create state directory: %w", err)
	}
	return Create(p.State, st)
}

// modelConfig sets model config keys the hook environment carries (the
// proxy settings: see State.ModelConfig); an empty value unsets a key.
func (a *agent) modelConfig(args []string) error {
	fs, paths := a.flags("model-config")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	values := map[string]string{}
	for _, kv := range fs.Args() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usagef("expected K=V, got %q", kv)
		}
		values[k] = v
	}
	return Update(paths().State, func(st *State) error {
		if st.ModelConfig == nil {
			st.ModelConfig = map[string]string{}
		}
		for k, v := range values {
			if v == "" {
				delete(st.ModelConfig, k)
			} else {
				st.ModelConfig[k] = v
			}
		}
		return nil
	})
}

func (a *agent) config(args []string) error {
	fs, paths := a.flags("config")
	resets := fs.StringArray("reset", nil, "option to reset to its default (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p := paths()
	opts, typed, err := charmConfig(p.CharmDir)
	if err != nil {
		return err
	}
	values := map[string]any{}
	for _, kv := range fs.Args() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usagef("expected K=V, got %q", kv)
		}
		o, known := opts[k]
		if typed && !known {
			return fmt.Errorf("unknown option %q", k)
		}
		if values[k], err = convertOption(o.Type, v); err != nil {
			return fmt.Errorf("option %q: %w", k, err)
		}
	}
	return Update(p.State, func(st *State) error {
		for _, k := range *resets {
			st.Config[k] = nil
			if o, ok := opts[k]; ok {
				st.Config[k] = o.Default
			}
		}
		for k, v := range values {
			st.Config[k] = v
		}
		return nil
	})
}

func convertOption(typ, v string) (any, error) {
	switch typ {
	case "int":
		return strconv.Atoi(v)
	case "float":
		return strconv.ParseFloat(v, 64)
	case "boolean":
		return strconv.ParseBool(v)
	case "secret":
		// As juju/charm's config.go (secretC.Coerce) checks a secret
		// option: empty, or any URL whose scheme is secret. Whether the ID
		// is real is only found out by secret-get.
		if u, err := url.Parse(v); v != "" && (err != nil || u.Scheme != "secret") {
			return nil, fmt.Errorf("%q is not a secret URI", v)
		}
	}
	return v, nil
}

// secretContent parses `juju add-secret` style content: key=value or
// key#file=path.
func secretContent(args []string) (map[string]string, error) {
	content := map[string]string{}
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usagef("expected key=value or key#file=path, got %q", kv)
		}
		if key, ok := strings.CutSuffix(k, "#file"); ok {
			data, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("cannot read secret file for key %q: %w", key, err)
			}
			k, v = key, string(data)
		}
		content[k] = v
	}
	if len(content) == 0 {
		return nil, usagef("missing secret content")
	}
	return content, nil
}

func (a *agent) addSecret(args []string) error {
	fs, paths := a.flags("add-secret")
	grant := fs.Bool("grant", false, "also grant the secret to the application")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	content, err := secretContent(fs.Args())
	if err != nil {
		return err
	}
	var uri string
	err = Update(paths().State, func(st *State) error {
		uri = st.AddSecret(content)
		return st.GrantSecret(uri, *grant)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, uri)
	return nil
}

func (a *agent) updateSecret(args []string) error {
	fs, paths := a.flags("update-secret")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("update-secret needs a secret URI and content")
	}
	content, err := secretContent(fs.Args()[1:])
	if err != nil {
		return err
	}
	rev, err := AddSecretRevision(paths().State, fs.Arg(0), content)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, rev)
	return nil
}

func (a *agent) grantSecret(args []string) error {
	fs, paths := a.flags(a.sub)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("%s needs exactly one secret URI", a.sub)
	}
	return Update(paths().State, func(st *State) error {
		return st.GrantSecret(fs.Arg(0), a.sub == "grant-secret")
	})
}

func (a *agent) attachResource(args []string) error {
	fs, paths := a.flags(a.sub)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("%s needs exactly one argument", a.sub)
	}
	return Update(paths().State, func(st *State) error {
		if st.Resources == nil {
			st.Resources = map[string]string{}
		}
		if a.sub == "detach-resource" {
			delete(st.Resources, fs.Arg(0))
			return nil
		}
		name, path, ok := strings.Cut(fs.Arg(0), "=")
		if !ok {
			return usagef("expected NAME=PATH, got %q", fs.Arg(0))
		}
		if path != "" {
			abs, err := filepath.Abs(path)
			if err != nil {
				return err
			}
			path = abs
		}
		st.Resources[name] = path
		return nil
	})
}

func (a *agent) showState(args []string) error {
	fs, paths := a.flags("show-state")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := Load(paths().State)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s\n", b)
	return nil
}
