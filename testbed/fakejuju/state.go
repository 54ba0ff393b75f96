// Package fakejuju is a fake Juju unit agent at the command-line level: the
// hook tools (config-get, secret-get, status-set, ...) with Juju's syntax,
// JSON output, error texts and exit codes, backed by one JSON state file.
// The charm's real hooktool.Juju runs against it unchanged, in process for
// unit tests (NewRunner) or as a multi-call binary in the test bed, where it
// also plays the uniter: running hooks, actions and juju-exec under a machine
// lock.
package fakejuju

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
)

// State is everything the fake unit agent knows: inputs a test sets up and
// outputs the charm produced through hook tools.
type State struct {
	// Unit is this unit's name, e.g. "magnum-capi-graft/0".
	Unit string `json:"unit"`
	// Principal is the principal unit this subordinate is attached to.
	Principal string `json:"principal-unit"`
	Model     string `json:"model"`
	ModelUUID string `json:"model-uuid"`
	Leader    bool   `json:"leader"`
	// Config holds option values as config-get prints them. A secret-type
	// option holds the string "secret:<id>"; an option with no value is nil.
	Config map[string]any `json:"config"`
	// Secrets are keyed by bare secret ID (no "secret:" prefix).
	Secrets map[string]*Secret `json:"secrets"`
	// Resources maps a resource name to the file resource-get returns. A
	// name that is absent was never attached; an empty path is Charmhub's
	// 0-byte placeholder, which the fake materialises as an empty file.
	Resources map[string]string `json:"resources"`
	// ModelConfig holds the model's settings hooks see, by Juju's model
	// config keys: juju-http-proxy, juju-https-proxy, juju-no-proxy (the
	// JUJU_CHARM_*_PROXY variables) and the legacy http-proxy, https-proxy,
	// no-proxy (http_proxy and friends).
	ModelConfig map[string]string `json:"model-config"`
	// Action is the action being (or last) run, nil outside actions.
	Action *Action `json:"action,omitempty"`
	// ActionsRun counts the actions queued so far: Juju's action ids are
	// numbers.
	ActionsRun int `json:"actions-run"`
	// Relations are the relations the unit is in, by id (relations.go).
	Relations []*Relation `json:"relations,omitempty"`

	// Outputs.
	Status             StatusEntry       `json:"status"`
	StatusHistory      []StatusEntry     `json:"status-history"`
	ApplicationStatus  *StatusEntry      `json:"application-status,omitempty"`
	ApplicationVersion string            `json:"application-version"`
	Logs               []LogEntry        `json:"logs"`
	ActionResults      map[string]string `json:"action-results"`
	ActionFailed       bool              `json:"action-failed"`
	ActionMessage      string            `json:"action-message"`
	ActionLogs         []string          `json:"action-logs"`

	// Sensitive lists strings a test declares secret, beyond those the
	// fake finds itself (see secretMaterial): no output may hold them.
	Sensitive []string `json:"sensitive,omitempty"`
	// Leaks records every output the fake refused because it held secret
	// material: where, and whose, never the secret.
	Leaks []string `json:"leaks,omitempty"`
}

// Secret is one secret the unit may read.
type Secret struct {
	// Granted is whether `juju grant-secret` gave this application access.
	Granted   bool       `json:"granted"`
	Revisions []Revision `json:"revisions"`
	// Tracked is the revision the unit is tracking; 0 until its first read.
	Tracked int `json:"tracked"`
}

// Revision is one revision of a secret's content.
type Revision struct {
	Revision int               `json:"revision"`
	Content  map[string]string `json:"content"`
}

// Action is a running action: its name, UUID and parameters. Action tools
// work only when the caller's JUJU_ACTION_UUID equals UUID, so a hook that
// runs beside a parallel action cannot read its parameters.
type Action struct {
	Name   string         `json:"name"`
	UUID   string         `json:"uuid"`
	Params map[string]any `json:"params"`
}

// StatusEntry is a workload status as status-set set it.
type StatusEntry struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// LogEntry is one juju-log line.
type LogEntry struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// DefaultUnit is the unit the test bed runs.
const DefaultUnit = "magnum-capi-graft/0"

// NewState returns the state of a freshly deployed subordinate unit: leader,
// status unknown (as Juju shows a unit before its first status-set), no
// config, secrets or resources.
func NewState(unit string) *State {
	if unit == "" {
		unit = DefaultUnit
	}
	return &State{
		Unit:      unit,
		Principal: "magnum/0",
		Model:     "openstack",
		ModelUUID: "5f2a6b1c-8d3e-4f70-9a1b-2c3d4e5f6a7b",
		Leader:    true,
		Config:    map[string]any{},
		Secrets:   map[string]*Secret{},
		Resources: map[string]string{},
		Status:    StatusEntry{Status: "unknown"},
		// Juju's model config defaults for the proxy keys.
		ModelConfig: map[string]string{
			"juju-no-proxy": "127.0.0.1,localhost,::1",
			"no-proxy":      "127.0.0.1,localhost,::1",
		},
	}
}

// secretIDRule is the shape of a Juju secret ID: an xid, 12 bytes in
// lowercase base32hex (github.com/rs/xid, as juju/juju core/secrets
// NewURI makes them and ParseURI checks them).
var secretIDRule = regexp.MustCompile(`^[0-9a-v]{20}$`)

// xidEncoding is xid's alphabet: base32hex, lowercase, no padding.
var xidEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewSecretID returns a fresh secret ID shaped like Juju's.
func NewSecretID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("fakejuju: crypto/rand: %v", err))
	}
	return xidEncoding.EncodeToString(b)
}

// validXID is xid's own check (rs/xid decode): 20 characters of its
// alphabet that decode to 12 bytes and encode back the same, which only
// '0' or 'g' as the last character do (its 4 low bits are padding).
func validXID(id string) bool {
	if !secretIDRule.MatchString(id) {
		return false
	}
	b, err := xidEncoding.DecodeString(id)
	return err == nil && len(b) == 12 && xidEncoding.EncodeToString(b) == id
}

// ParseSecretURI returns the bare ID of a secret given as "secret:<id>",
// "secret://<model-uuid>/<id>" or a bare ID, as Juju's secrets.ParseURI
// accepts them.
func ParseSecretURI(s string) (string, bool) {
	id := s
	if rest, ok := strings.CutPrefix(s, "secret://"); ok {
		_, id, ok = strings.Cut(rest, "/")
		if !ok {
			return "", false
		}
	} else if rest, ok := strings.CutPrefix(s, "secret:"); ok {
		id = rest
	}
	if !validXID(id) {
		return "", false
	}
	return id, true
}

// AddSecret adds a secret with its first revision and returns its URI as
// config shows it ("secret:<id>"). Like `juju add-secret`, the secret is not
// yet granted to the application.
func (s *State) AddSecret(content map[string]string) string {
	id := NewSecretID()
	if s.Secrets == nil {
		s.Secrets = map[string]*Secret{}
	}
	s.Secrets[id] = &Secret{Revisions: []Revision{{Revision: 1, Content: copyContent(content)}}}
	return "secret:" + id
}

// AddSecretRevision adds a new revision (as `juju update-secret` does) and
// returns its number. The unit keeps tracking its old revision until it
// reads with --refresh.
func (s *State) AddSecretRevision(uri string, content map[string]string) (int, error) {
	sec, err := s.secret(uri)
	if err != nil {
		return 0, err
	}
	rev := sec.latest() + 1
	sec.Revisions = append(sec.Revisions, Revision{Revision: rev, Content: copyContent(content)})
	return rev, nil
}

// GrantSecret sets whether the application may read the secret.
func (s *State) GrantSecret(uri string, granted bool) error {
	sec, err := s.secret(uri)
	if err != nil {
		return err
	}
	sec.Granted = granted
	return nil
}

func (s *State) secret(uri string) (*Secret, error) {
	id, ok := ParseSecretURI(uri)
	if !ok {
		return nil, fmt.Errorf("secret URI %q not valid", uri)
	}
	sec := s.Secrets[id]
	if sec == nil {
		return nil, fmt.Errorf("secret %q not found", "secret:"+id)
	}
	return sec, nil
}

func (sec *Secret) latest() int {
	latest := 0
	for _, r := range sec.Revisions {
		latest = max(latest, r.Revision)
	}
	return latest
}

func (sec *Secret) revision(n int) (map[string]string, bool) {
	for _, r := range sec.Revisions {
		if r.Revision == n {
			return r.Content, true
		}
	}
	return nil, false
}

func copyContent(c map[string]string) map[string]string {
	out := make(map[string]string, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// ResultsTree nests the flat action results (as action-set received them)
// the way `juju run` shows them: "a.b=c" becomes {"a": {"b": "c"}}.
func (s *State) ResultsTree() map[string]any {
	tree := map[string]any{}
	keys := make([]string, 0, len(s.ActionResults))
	for k := range s.ActionResults {
		keys = append(keys, k)
	}
	// Sorted so that a later, deeper key wins over an earlier scalar the same
	// way every time.
	sort.Strings(keys)
	for _, k := range keys {
		parts := strings.Split(k, ".")
		m := tree
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = s.ActionResults[k]
	}
	return tree
}

// The state file is shared by every tool process a hook starts, and by
// actions running in parallel with hooks. Each access takes an flock on a
// sidecar lock file and a write replaces the state file by rename, so a
// reader never sees half a file and concurrent tools never lose a write.

func lock(path string, how int) (release func(), err error) {
	release, err = flock(path+".lock", how)
	if err != nil {
		return nil, fmt.Errorf("cannot lock fake Juju state: %w", err)
	}
	return release, nil
}

// flock takes an flock(2) on path, creating the file if needed, and waits
// as long as it takes: like Juju's own locks, a holder is expected to finish.
func flock(path string, how int) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func read(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read fake Juju state: %w", err)
	}
	st := &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("cannot read fake Juju state %s: %w", path, err)
	}
	return st, nil
}

func write(path string, st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode fake Juju state: %w", err)
	}
	// The state holds secret content: readable by its owner only.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("cannot write fake Juju state: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("cannot write fake Juju state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write fake Juju state: %w", err)
	}
	return nil
}

// Create writes st as a new state file at path, replacing any old one.
func Create(path string, st *State) error {
	release, err := lock(path, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer release()
	return write(path, st)
}

// Load reads the state file at path.
func Load(path string) (*State, error) {
	release, err := lock(path, syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer release()
	return read(path)
}

// Update reads the state at path, lets fn change it and writes it back,
// holding the lock throughout. If fn fails nothing is written.
func Update(path string, fn func(*State) error) error {
	release, err := lock(path, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer release()
	st, err := read(path)
	if err != nil {
		return err
	}
	before, err := read(path)
	if err != nil {
		return err
	}
	if err := fn(st); err != nil {
		return err
	}
	if leaks := newLeaks(before, st); len(leaks) > 0 {
		// Record the leak, not the output that leaked (see leak.go).
		before.Leaks = append(before.Leaks, leaks...)
		if err := write(path, before); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s", ErrSecretLeak, strings.Join(leaks, "; "))
	}
	return write(path, st)
}

// SetConfig sets one config option in the state file at path.
func SetConfig(path, key string, value any) error {
	return Update(path, func(st *State) error {
		if st.Config == nil {
			st.Config = map[string]any{}
		}
		st.Config[key] = value
		return nil
	})
}

// AddSecretRevision adds a revision to a secret in the state file at path.
func AddSecretRevision(path, uri string, content map[string]string) (int, error) {
	var rev int
	err := Update(path, func(st *State) (err error) {
		rev, err = st.AddSecretRevision(uri, content)
		return err
	})
	return rev, err
}
