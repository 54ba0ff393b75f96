package hooktool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// Juju implements Tools by running Juju's hook tools through a Runner. It
// holds no state of its own: every call is one tool run, so the charm always
// sees what the unit agent says now. Every text it hands Juju (status, log,
// action results, failure message) has the credentials of any URL in it
// redacted (package redact): the last line of defence, not the first.
type Juju struct {
	r Runner
}

var _ Tools = (*Juju)(nil)

// New returns Tools that run hook tools through r. In a hook r is an
// ExecRunner; in tests it is the fake Juju's in-process runner.
func New(r Runner) *Juju {
	return &Juju{r: r}
}

// decodeOutput decodes a hook tool's JSON output; Juju's null (nothing to
// say) is empty, never nil.
func decodeOutput[T any](out []byte, tool string, empty T) (T, error) {
	if bytes.Equal(bytes.TrimSpace(out), []byte("null")) {
		return empty, nil
	}
	v := empty
	if err := json.Unmarshal(out, &v); err != nil {
		return v, fmt.Errorf("%s output: %w", tool, err)
	}
	return v, nil
}

// ConfigGet implements Tools.
func (j *Juju) ConfigGet(ctx context.Context) (map[string]any, error) {
	out, err := j.r.Run(ctx, []string{"config-get", "--format=json", "--all"})
	if err != nil {
		return nil, fmt.Errorf("cannot read charm config: %w", err)
	}
	cfg, err := decodeOutput(out, "config-get", map[string]any{})
	if err != nil {
		return nil, fmt.Errorf("cannot read charm config: %w", err)
	}
	return cfg, nil
}

// SecretGet implements Tools. Nothing the secret holds may reach an error:
// errors end up in juju debug-log and in status messages, which many people
// can read. That is why decoding failures are reported without the decoder's
// error, whose text can quote the input.
func (j *Juju) SecretGet(ctx context.Context, id string, mode SecretGetMode) (map[string]string, error) {
	argv := []string{"secret-get", id, "--format=json"}
	switch mode {
	case SecretCurrent:
	case SecretRefresh:
		argv = append(argv, "--refresh")
	case SecretPeek:
		argv = append(argv, "--peek")
	default:
		return nil, fmt.Errorf("cannot read secret %s: unknown mode %d", id, mode)
	}
	out, err := j.r.Run(ctx, argv)
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			msg := ee.Message()
			switch {
			case ee.Code == 2 && strings.HasPrefix(msg, "secret URI ") && strings.HasSuffix(msg, " not valid"):
				return nil, fmt.Errorf("cannot read secret %s: %w: %w", id, ErrSecretURIInvalid, err)
			case strings.Contains(msg, "permission denied"), strings.Contains(msg, "not granted"):
				return nil, fmt.Errorf("cannot read secret %s: %w: %w", id, ErrSecretAccess, err)
			case strings.Contains(msg, "not found"):
				return nil, fmt.Errorf("cannot read secret %s: %w: %w", id, ErrSecretNotFound, err)
			}
		}
		return nil, fmt.Errorf("cannot read secret %s: %w", id, err)
	}
	var content map[string]string
	if json.Unmarshal(out, &content) != nil || content == nil {
		return nil, fmt.Errorf("cannot read secret %s: secret-get did not print a JSON object of strings", id)
	}
	return content, nil
}

// StatusSet implements Tools. The message is always passed, even when empty,
// so that an old message never lingers: status-set keeps nothing from the
// previous status, but a missing argument would read as "no message" only
// by accident of Juju's current parser.
func (j *Juju) StatusSet(ctx context.Context, status Status, message string) error {
	if _, err := j.r.Run(ctx, []string{"status-set", string(status), redact.Text(message)}); err != nil {
		return fmt.Errorf("cannot set status %s: %w", status, err)
	}
	return nil
}

// ApplicationVersionSet implements Tools.
func (j *Juju) ApplicationVersionSet(ctx context.Context, version string) error {
	if _, err := j.r.Run(ctx, []string{"application-version-set", version}); err != nil {
		return fmt.Errorf("cannot set application version: %w", err)
	}
	return nil
}

// Log implements Tools. The "--" keeps a message that starts with a dash
// from being read as a flag.
func (j *Juju) Log(ctx context.Context, level Level, message string) error {
	if _, err := j.r.Run(ctx, []string{"juju-log", "-l", string(level), "--", redact.Text(message)}); err != nil {
		return fmt.Errorf("cannot write to the Juju log: %w", err)
	}
	return nil
}

// IsLeader implements Tools.
func (j *Juju) IsLeader(ctx context.Context) (bool, error) {
	out, err := j.r.Run(ctx, []string{"is-leader", "--format=json"})
	if err != nil {
		return false, fmt.Errorf("cannot check leadership: %w", err)
	}
	var leader bool
	if err := json.Unmarshal(out, &leader); err != nil {
		return false, fmt.Errorf("cannot check leadership: is-leader output: %w", err)
	}
	return leader, nil
}

// ActionGet implements Tools.
func (j *Juju) ActionGet(ctx context.Context) (map[string]any, error) {
	out, err := j.r.Run(ctx, []string{"action-get", "--format=json"})
	if err != nil {
		return nil, fmt.Errorf("cannot read action parameters: %w", err)
	}
	params, err := decodeOutput(out, "action-get", map[string]any{})
	if err != nil {
		return nil, fmt.Errorf("cannot read action parameters: %w", err)
	}
	return params, nil
}

// actionKeyRule is Juju's rule for each dot-separated segment of an
// action-set key (worker/uniter/runner/jujuc/action-set.go).
var actionKeyRule = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`) })

// reservedActionKeys are keys Juju keeps for itself: it reports an action's
// own stdout and stderr under them.
var reservedActionKeys = map[string]bool{
	"stdout": true, "stdout-encoding": true, "stderr": true, "stderr-encoding": true,
}

// ValidActionKey reports whether action-set accepts k as one segment of a
// result key.
func ValidActionKey(k string) bool {
	return actionKeyRule().MatchString(k) && !reservedActionKeys[k]
}

// ActionSet implements Tools. Keys are checked here, before anything runs,
// because action-set rejects the whole call on one bad key: checking first
// turns a programming error into ErrBadActionKey instead of a lost result.
func (j *Juju) ActionSet(ctx context.Context, results map[string]any) error {
	pairs, err := FlattenActionResults(results)
	if err != nil {
		return fmt.Errorf("cannot set action results: %w", err)
	}
	if len(pairs) == 0 {
		return nil
	}
	if _, err := j.r.Run(ctx, append([]string{"action-set"}, pairs...)); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code == 2 {
			return fmt.Errorf("cannot set action results: %w: %w", ErrBadActionKey, err)
		}
		return fmt.Errorf("cannot set action results: %w", err)
	}
	return nil
}

// FlattenActionResults turns a results map into action-set's key=value
// arguments, sorted by key. Nested maps become dotted keys. Strings are
// passed as they are, numbers and booleans in their usual text form, nil as
// an empty string, and anything else (slices, structs) as JSON so that it
// reaches the operator intact.
func FlattenActionResults(results map[string]any) ([]string, error) {
	flat := map[string]string{}
	if err := flatten("", results, flat); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, k+"="+redact.Text(flat[k]))
	}
	return pairs, nil
}

func flatten(prefix string, m map[string]any, out map[string]string) error {
	for k, v := range m {
		if !actionKeyRule().MatchString(k) {
			return fmt.Errorf("%w: key %q must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens", ErrBadActionKey, k)
		}
		if reservedActionKeys[k] {
			return fmt.Errorf("%w: key %q is reserved by Juju", ErrBadActionKey, k)
		}
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			if err := flatten(key, v, out); err != nil {
				return err
			}
		case map[string]string:
			sub := make(map[string]any, len(v))
			for sk, sv := range v {
				sub[sk] = sv
			}
			if err := flatten(key, sub, out); err != nil {
				return err
			}
		default:
			s, err := formatActionValue(v)
			if err != nil {
				return fmt.Errorf("action result %q: %w", key, err)
			}
			out[key] = s
		}
	}
	return nil
}

func formatActionValue(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case fmt.Stringer:
		return v.String(), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ActionFail implements Tools.
func (j *Juju) ActionFail(ctx context.Context, message string) error {
	if _, err := j.r.Run(ctx, []string{"action-fail", redact.Text(message)}); err != nil {
		return fmt.Errorf("cannot fail action: %w", err)
	}
	return nil
}

// ActionLog implements Tools.
func (j *Juju) ActionLog(ctx context.Context, message string) error {
	if _, err := j.r.Run(ctx, []string{"action-log", redact.Text(message)}); err != nil {
		return fmt.Errorf("cannot log action progress: %w", err)
	}
	return nil
}

// ResourceGet implements Tools. resource-get prints the path with no
// newline, but a wrapper or a future Juju may add one, so output is trimmed.
// A 0-byte file (Charmhub's placeholder for a resource nobody uploaded) is
// returned like any other: judging content is the caller's job.
func (j *Juju) ResourceGet(ctx context.Context, name string) (string, error) {
	out, err := j.r.Run(ctx, []string{"resource-get", name})
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code == 1 && strings.Contains(ee.Message(), "not found") {
			return "", fmt.Errorf("cannot get resource %q: %w: %w", name, ErrResourceNotFound, err)
		}
		return "", fmt.Errorf("cannot get resource %q: %w", name, err)
	}
	path := strings.TrimSpace(string(out))
	if path == "" {
		return "", fmt.Errorf("cannot get resource %q: resource-get printed no path", name)
	}
	return path, nil
}

// ExitError is a hook tool that exited non-zero. Juju's tools print
// "ERROR <message>" on stderr and exit 1 for a runtime failure or 2 for a
// usage error; Stderr keeps all of it so that callers can tell errors apart
// by Juju's own words.
type ExitError struct {
	Tool   string
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	if msg := e.Message(); msg != "" {
		return fmt.Sprintf("%s: exit status %d: %s", e.Tool, e.Code, msg)
	}
	return fmt.Sprintf("%s: exit status %d", e.Tool, e.Code)
}

// Message is Juju's error message: the last "ERROR ..." line of stderr
// without its prefix, or all of stderr on one line when there is none (a
// tool may print warnings before its error).
func (e *ExitError) Message() string {
	lines := strings.Split(strings.TrimSpace(e.Stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "ERROR "); ok {
			return msg
		}
	}
	return strings.Join(strings.Fields(e.Stderr), " ")
}

// DefaultTimeout bounds one hook tool run. Tools are quick calls to the unit
// agent, but the agent waits on the controller, and a hook holds the machine
// lock: a wedged controller must fail the hook, not hang the machine.
const DefaultTimeout = 2 * time.Minute

// ResourceGetTimeout bounds resource-get, which may download a large file
// from the controller (and the controller from Charmhub) on first use.
const ResourceGetTimeout = 30 * time.Minute

// MaxToolOutput bounds what the charm reads of a hook tool's output. The
// largest is secret-get's, and Juju refuses secret content over 1 MB
// (core/secrets/createsecret.go, maxContentSizeBytes).
const MaxToolOutput = 16 << 20

// limitedBuffer keeps at most max bytes and remembers that there was more.
// Passing max kills the tool (overflow), which would otherwise block on a
// pipe nobody reads until its deadline.
type limitedBuffer struct {
	// buf is a field, not embedded: an embedded bytes.Buffer's ReadFrom
	// would let io.Copy bypass Write and its limit.
	buf      bytes.Buffer
	max      int
	over     bool
	overflow func()
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		if !b.over {
			b.over = true
			b.overflow()
		}
		return 0, errors.New("too much output")
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *limitedBuffer) String() string { return b.buf.String() }

// ExecRunner is the real Runner: it runs the tool from PATH (Juju puts its
// tools directory first on a hook's PATH) with no stdin and the hook's own
// environment.
type ExecRunner struct {
	// Timeout overrides DefaultTimeout (and ResourceGetTimeout) when set.
	Timeout time.Duration
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("hook tool: empty argv")
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
		if argv[0] == "resource-get" {
			timeout = ResourceGetTimeout
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	stdout, stderr := &limitedBuffer{max: MaxToolOutput, overflow: cancel}, &limitedBuffer{max: MaxToolOutput, overflow: cancel}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// A tool that forks a child holding our pipes must not keep us waiting
	// after the tool itself is gone.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if stdout.over || stderr.over {
		return nil, fmt.Errorf("%s: printed more than %d MiB", argv[0], MaxToolOutput>>20)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: no answer within %s: %w", argv[0], timeout, ctxErr)
		}
		return nil, fmt.Errorf("%s: %w", argv[0], ctxErr)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if code < 0 {
			// Killed by a signal: Juju would report the hook as failed, so
			// report the tool as a runtime failure.
			code = 1
		}
		return stdout.Bytes(), &ExitError{Tool: argv[0], Code: code, Stderr: stderr.String()}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	return stdout.Bytes(), nil
}
