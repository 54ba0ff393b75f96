package fakejuju

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// What the unit agent does behind each hook tool, as methods on the state.
// Two front ends share them: the fake's own tools (tools.go: Juju's syntax
// re-implemented, for in-process unit tests) and Juju's own hook-tool code
// in the test bed (testbed/juju: a jujuc.Context over this state). Keeping
// the behaviour here means the two can differ only in parsing and
// formatting, which is exactly what testbed/juju's agreement test compares.

// ErrNotInAction is the uniter's error for action tools run outside an
// action (juju/juju internal/worker/uniter/runner/context/context.go,
// HookContext.ActionParams and friends).
var ErrNotInAction = errors.New(notInAction)

// ErrNotLeader is the uniter's error for leader-only calls
// (internal/worker/uniter/runner/context, ErrIsNotLeader).
var ErrNotLeader = errors.New("this unit is not the leader")

// ReadSecret returns the content of a secret the unit reads, as the
// secretsmanager facade hands it over: a first read or refresh starts
// tracking the latest revision, peek reads the latest once, and otherwise
// the tracked revision is read. Errors are Juju's texts: not found
// (state/secrets.go, errors.NotFoundf("secret %q", uri)) and the facade's
// "permission denied" (apiservererrors.ErrPerm) for a secret not granted.
func (s *State) ReadSecret(uri string, refresh, peek bool) (map[string]string, error) {
	id, ok := ParseSecretURI(uri)
	if !ok {
		return nil, fmt.Errorf("secret URI %q not valid", uri)
	}
	sec := s.Secrets[id]
	if sec == nil || len(sec.Revisions) == 0 {
		return nil, fmt.Errorf("secret %q not found", "secret:"+id)
	}
	if !sec.Granted {
		return nil, errors.New("permission denied")
	}
	latest := sec.latest()
	rev := sec.Tracked
	if sec.Tracked == 0 || refresh {
		sec.Tracked = latest
		rev = latest
	}
	if peek {
		rev = latest
	}
	content, ok := sec.revision(rev)
	if !ok {
		return nil, fmt.Errorf("secret %q not found", "secret:"+id)
	}
	return copyContent(content), nil
}

// SetStatus sets the unit's workload status, or the application's when
// application is set, which only the leader may do.
func (s *State) SetStatus(entry StatusEntry, application bool) error {
	if application {
		if !s.Leader {
			return ErrNotLeader
		}
		s.ApplicationStatus = &entry
		return nil
	}
	s.Status = entry
	s.StatusHistory = append(s.StatusHistory, entry)
	return nil
}

// AppStatus is the application's status as the leader reads it.
func (s *State) AppStatus() (StatusEntry, error) {
	if !s.Leader {
		return StatusEntry{}, ErrNotLeader
	}
	if s.ApplicationStatus == nil {
		return StatusEntry{Status: "unknown"}, nil
	}
	return *s.ApplicationStatus, nil
}

// AddLog records one juju-log line at a level as juju debug-log names it.
func (s *State) AddLog(level, message string) {
	s.Logs = append(s.Logs, LogEntry{Level: level, Message: message})
}

// RunningAction returns the action the caller runs in: uuid is the
// caller's JUJU_ACTION_UUID, so a hook that runs beside an action (no UUID,
// or another one) gets ErrNotInAction, as a real hook would.
func (s *State) RunningAction(uuid string) (*Action, error) {
	if s.Action == nil || s.Action.UUID != uuid {
		return nil, ErrNotInAction
	}
	return s.Action, nil
}

// SetActionResult records one action-set key (dotted for nesting) and value.
func (s *State) SetActionResult(key, value string) {
	if s.ActionResults == nil {
		s.ActionResults = map[string]string{}
	}
	s.ActionResults[key] = value
}

// FailAction marks the running action failed with message.
func (s *State) FailAction(message string) {
	s.ActionFailed = true
	s.ActionMessage = message
}

// LogAction records one action-log line.
func (s *State) LogAction(message string) {
	s.ActionLogs = append(s.ActionLogs, message)
}

// ResourceNotFound is the error resource-get prints for a resource nobody
// attached: the controller's answer relayed by the unit agent.
func (s *State) ResourceNotFound(name string) error {
	app, _, _ := strings.Cut(s.Unit, "/")
	return fmt.Errorf("could not download resource: HTTP request failed: Get https://10.0.0.10:17070/model/%s/units/unit-%s/resources/%s: resource#%s/%s not found",
		s.ModelUUID, strings.ReplaceAll(s.Unit, "/", "-"), name, app, name)
}

// DownloadResource is the unit agent's side of resource-get: it puts the
// resource attached as name where Juju's uniter does,
// <resources dir>/<filename the charm's metadata declares> (juju/juju
// internal/worker/uniter/runner/context/resources/context.go,
// DownloadResource: filepath.Join(ResourcesDir, remote.Path)), rewriting it
// only when the content differs, and returns that path. resourcesDir is
// <agent dir>/resources on a machine (uniter.NewPaths). A resource attached
// with an empty path is Charmhub's 0-byte placeholder. filename is the
// name from metadata.yaml; empty means the resource's own name.
func (s *State) DownloadResource(resourcesDir, name, filename string) (string, error) {
	src, ok := s.Resources[name]
	if !ok {
		return "", s.ResourceNotFound(name)
	}
	if filename == "" {
		filename = name
	}
	var content []byte
	if src != "" {
		var err error
		if content, err = os.ReadFile(src); err != nil {
			return "", fmt.Errorf("could not download resource: %w", err)
		}
	}
	target := filepath.Join(resourcesDir, filename)
	if have, err := os.ReadFile(target); err == nil && bytes.Equal(have, content) {
		return target, nil
	}
	// As Juju does: the directory 0755, the file created (or truncated) in
	// place with os.Create.
	if err := os.MkdirAll(resourcesDir, 0o755); err != nil {
		return "", fmt.Errorf("could not create resource dir: %w", err)
	}
	f, err := os.Create(target)
	if err != nil {
		return "", fmt.Errorf("could not create new file for resource: %w", err)
	}
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("could not write resource to file: %w", err)
	}
	return target, nil
}

// ResourceFilename reads the filename the charm declares for a resource in
// its metadata.yaml; "" when the charm or the resource is not there.
func ResourceFilename(charmDir, name string) string {
	data, err := os.ReadFile(filepath.Join(charmDir, "metadata.yaml"))
	if err != nil {
		return ""
	}
	var meta struct {
		Resources map[string]struct {
			Filename string `yaml:"filename"`
		} `yaml:"resources"`
	}
	if yaml.Unmarshal(data, &meta) != nil {
		return ""
	}
	return meta.Resources[name].Filename
}
