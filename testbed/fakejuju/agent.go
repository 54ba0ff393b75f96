package fakejuju

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

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

// Main runs the fake as the program named by argv[0]: a hook tool when
// called through one of the symlinks install-tools makes, juju-exec, or
// otherwise the fakejuju command with a subcommand. It returns the exit code.
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	if len(argv) == 0 {
		fmt.Fprintln(stderr, "ERROR no command")
		return 2
	}
	name := filepath.Base(argv[0])
	if _, ok := tools[name]; ok {
		c := &toolCtx{name: name, statePath: PathsFromEnv(env).State, env: env, stdout: stdout, stderr: stderr}
		return runTool(c, argv[1:])
	}
	if name == "juju-exec" {
		return report(stderr, jujuExec(argv[1:], stdin, stdout, stderr, env))
	}
	if len(argv) < 2 {
		fmt.Fprint(stderr, mainUsage)
		return 2
	}
	sub, args := argv[1], argv[2:]
	if _, ok := tools[sub]; ok {
		c := &toolCtx{name: sub, statePath: PathsFromEnv(env).State, env: env, stdout: stdout, stderr: stderr}
		return runTool(c, args)
	}
	a := &agent{stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	switch sub {
	case "juju-exec":
		return report(stderr, jujuExec(args, stdin, stdout, stderr, env))
	case "hook":
		return a.hook(args)
	case "action":
		return a.action(args)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, mainUsage)
		return 0
	}
	cmds := map[string]func([]string) error{
		"install-tools":   a.installTools,
		"init":            a.init,
		"config":          a.config,
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
	a.sub = sub
	return report(stderr, cmd(args))
}

const mainUsage = `Usage: fakejuju COMMAND [ARGS...]   (or run as a hook tool name)

Agent side:
  install-tools DIR [--target PATH]   symlink the hook tools and juju-exec into DIR
  hook NAME [--env K=V ...]           run dispatch for hook NAME under the machine lock
  action NAME [--params JSON] [--parallel]
                                      run dispatch for action NAME, print its outcome
  juju-exec UNIT COMMAND [ARGS...]    run COMMAND in hook context under the machine lock

Model side (what an operator would do with the juju CLI):
  init [--principal U] [--model M] [--leader=BOOL] [--force]
  config K=V ... [--reset K ...]
  add-secret [--grant] K=V|K#file=PATH ...       prints secret:<id>
  update-secret URI K=V|K#file=PATH ...          prints the new revision
  grant-secret URI | revoke-secret URI
  attach-resource NAME=PATH                      empty PATH: 0-byte placeholder
  detach-resource NAME
  show-state

Every command takes --unit, --agent-dir, --tools-dir, --charm-dir and --state
(defaults from FAKEJUJU_UNIT, FAKEJUJU_AGENT_DIR, FAKEJUJU_TOOLS_DIR,
FAKEJUJU_CHARM_DIR, FAKEJUJU_STATE, then /var/lib/juju/{agents,tools}/unit-<app>-<n>).
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

func (a *agent) installTools(args []string) error {
	fs, _ := a.flags("install-tools")
	target := fs.String("target", "", "file the links point to (default this program)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("install-tools needs exactly one directory")
	}
	dir := fs.Arg(0)
	if *target == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("cannot find this program: %w", err)
		}
		if *target, err = filepath.EvalSymlinks(exe); err != nil {
			return fmt.Errorf("cannot find this program: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot install tools: %w", err)
	}
	for _, name := range ToolNames() {
		link := filepath.Join(dir, name)
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot install %s: %w", name, err)
		}
		if err := os.Symlink(*target, link); err != nil {
			return fmt.Errorf("cannot install %s: %w", name, err)
		}
	}
	return nil
}

// hookEnv is the environment Juju's uniter gives a hook on a machine: no
// inherited variables (jujud runs under systemd, with no HOME), the tools
// directory first on PATH, and the JUJU_* context. FAKEJUJU_STATE tells the
// tools where the state is. Callers add the hook- or action-specific
// variables; extras ("K=V") override or extend the result.
func hookEnv(p Paths, st *State, kind string, extras ...string) []string {
	env := []string{
		"PATH=" + p.ToolsDir + ":/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8",
		"DEBIAN_FRONTEND=noninteractive",
		"APT_LISTCHANGES_FRONTEND=none",
		"CHARM_DIR=" + p.CharmDir,
		"JUJU_CHARM_DIR=" + p.CharmDir,
		"JUJU_CONTEXT_ID=" + p.Unit + "-" + kind + "-" + randomHex(8),
		"JUJU_UNIT_NAME=" + p.Unit,
		"JUJU_PRINCIPAL_UNIT=" + st.Principal,
		"JUJU_MODEL_NAME=" + st.Model,
		"JUJU_MODEL_UUID=" + st.ModelUUID,
		"JUJU_VERSION=3.6.0",
		"FAKEJUJU_STATE=" + p.State,
	}
	for _, kv := range extras {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range env {
			if strings.HasPrefix(old, k+"=") {
				env[i], replaced = kv, true
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("fakejuju: crypto/rand: %v", err))
	}
	return fmt.Sprintf("%x", b)
}

func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// lookPath finds a command on the hook's PATH rather than on ours: the hook
// must see exactly what a real hook would.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		f := filepath.Join(dir, name)
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

// runInContext runs argv in the charm directory with env, holding the
// machine lock when lockPath is set, as the uniter does for hooks and
// juju-exec. It returns the program's exit code.
func runInContext(p Paths, argv, env []string, lockPath string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if lockPath != "" {
		release, err := flock(lockPath, syscall.LOCK_EX)
		if err != nil {
			return 0, fmt.Errorf("cannot acquire machine lock: %w", err)
		}
		defer release()
	}
	prog, err := lookPath(argv[0], env)
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(context.Background(), prog, argv[1:]...)
	cmd.Dir = p.CharmDir
	cmd.Env = env
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code > 0 {
			return code, nil
		}
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot run %s: %w", argv[0], err)
	}
	return 0, nil
}

func (a *agent) hook(args []string) int {
	fs, paths := a.flags("hook")
	extras := fs.StringArray("env", nil, "extra hook environment variable K=V (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return report(a.stderr, err)
	}
	if fs.NArg() != 1 {
		return report(a.stderr, usagef("hook needs exactly one hook name"))
	}
	name := fs.Arg(0)
	p := paths()
	st, err := Load(p.State)
	if err != nil {
		return report(a.stderr, err)
	}
	for _, kv := range *extras {
		if !strings.Contains(kv, "=") {
			return report(a.stderr, usagef("--env %q is not K=V", kv))
		}
	}
	env := hookEnv(p, st, name, append([]string{"JUJU_DISPATCH_PATH=hooks/" + name, "JUJU_HOOK_NAME=" + name}, *extras...)...)
	code, err := runInContext(p, []string{filepath.Join(p.CharmDir, "dispatch")}, env, p.MachineLock, nil, a.stdout, a.stderr)
	if err != nil {
		return report(a.stderr, err)
	}
	return code
}

// Outcome is what `fakejuju action` prints: the action's end state as
// `juju run` would report it.
type Outcome struct {
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Results    map[string]any `json:"results"`
	Logs       []string       `json:"logs"`
	ReturnCode int            `json:"return-code"`
}

func (a *agent) action(args []string) int {
	fs, paths := a.flags("action")
	paramsJSON := fs.String("params", "{}", "action parameters as a JSON object")
	parallel := fs.Bool("parallel", false, "do not take the machine lock (actions.yaml parallel: true)")
	if err := parseFlags(fs, args); err != nil {
		return report(a.stderr, err)
	}
	if fs.NArg() != 1 {
		return report(a.stderr, usagef("action needs exactly one action name"))
	}
	name := fs.Arg(0)
	var params map[string]any
	if err := json.Unmarshal([]byte(*paramsJSON), &params); err != nil || params == nil {
		return report(a.stderr, usagef("--params must be a JSON object"))
	}
	p := paths()
	uuid := newUUID()
	var st *State
	err := Update(p.State, func(s *State) error {
		s.Action = &Action{Name: name, UUID: uuid, Params: params}
		s.ActionResults = map[string]string{}
		s.ActionFailed = false
		s.ActionMessage = ""
		s.ActionLogs = nil
		st = s
		return nil
	})
	if err != nil {
		return report(a.stderr, err)
	}
	env := hookEnv(p, st, name, "JUJU_DISPATCH_PATH=actions/"+name, "JUJU_ACTION_NAME="+name, "JUJU_ACTION_UUID="+uuid)
	lockPath := p.MachineLock
	if *parallel {
		lockPath = ""
	}
	// The action's own output goes to stderr: stdout carries the outcome.
	code, err := runInContext(p, []string{filepath.Join(p.CharmDir, "dispatch")}, env, lockPath, nil, a.stderr, a.stderr)
	if err != nil {
		return report(a.stderr, err)
	}
	if st, err = Load(p.State); err != nil {
		return report(a.stderr, err)
	}
	out := Outcome{Status: "completed", Message: st.ActionMessage, Results: st.ResultsTree(), Logs: st.ActionLogs, ReturnCode: code}
	if out.Logs == nil {
		out.Logs = []string{}
	}
	// Juju fails an action that called action-fail or exited non-zero.
	if st.ActionFailed || code != 0 {
		out.Status = "failed"
		if out.Message == "" {
			out.Message = fmt.Sprintf("exit status %d", code)
		}
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(a.stdout, "%s\n", b)
	if out.Status != "completed" {
		return 1
	}
	return 0
}

// jujuExec is `juju-exec UNIT COMMAND [ARGS...]`: COMMAND runs in the unit's
// hook context (same environment as a hook but, as with the real juju-exec,
// no JUJU_DISPATCH_PATH or JUJU_HOOK_NAME) under the machine lock. Unlike the
// real one, which hands COMMAND to a shell, it takes an argv.
func jujuExec(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) error {
	unit := ""
	if len(args) > 1 && (args[0] == "-u" || args[0] == "--unit") {
		args = args[1:]
	}
	if len(args) > 0 {
		unit, args = args[0], args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if unit == "" || len(args) == 0 {
		return usagef("usage: juju-exec UNIT COMMAND [ARGS...]")
	}
	p := resolvePaths(env, Paths{Unit: unit})
	st, err := Load(p.State)
	if err != nil {
		return err
	}
	if st.Unit != unit {
		return fmt.Errorf("unit %q not found on this machine", unit)
	}
	code, err := runInContext(p, args, hookEnv(p, st, "run-commands"), p.MachineLock, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitCode{code}
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
		if _, ok := ParseSecretURI(v); !ok {
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
