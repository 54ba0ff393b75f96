package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// fake is the argv of the fake Juju for the box's unit.
func (b *Box) fake(args ...string) []string {
	return append([]string{"env", "FAKEJUJU_UNIT=" + b.UnitName(), FakeJuju}, args...)
}

// Fake runs the fake Juju's operator and agent commands in the box.
func (b *Box) Fake(ctx context.Context, args ...string) (string, error) {
	return b.MustRun(ctx, b.fake(args...)...)
}

// Hook runs one hook through dispatch, as Juju's uniter does. A hook error
// (non-zero exit) is returned as an error with the hook's output.
func (b *Box) Hook(ctx context.Context, name string, env ...string) error {
	return b.RelationHook(ctx, name, nil, env...)
}

// RelationHook runs a hook as Hook does; rh, when not nil, makes it a
// relation hook of that relation and remote unit or application.
func (b *Box) RelationHook(ctx context.Context, name string, rh *fakejuju.RelationHook, env ...string) error {
	args := b.fake("hook", name)
	for _, e := range env {
		args = append(args, "--env", e)
	}
	if rh != nil {
		args = append(args, "--relation", strconv.Itoa(rh.ID))
		for _, f := range [][2]string{{"--remote-unit", rh.RemoteUnit}, {"--remote-app", rh.RemoteApp}, {"--departing-unit", rh.DepartingUnit}} {
			if f[1] != "" {
				args = append(args, f[0], f[1])
			}
		}
	}
	res, err := b.Run(ctx, args...)
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("hook %s exited %d: %s%s", name, res.Code, res.Stdout, res.Stderr)
	}
	return nil
}

// ActionOutcome is what an action ended with.
type ActionOutcome struct {
	Status  string         `json:"status"`
	Message string         `json:"message"`
	Results map[string]any `json:"results"`
	Logs    []string       `json:"logs"`
}

// Action runs an action with params and returns its outcome.
func (b *Box) Action(ctx context.Context, name string, params map[string]any) (*ActionOutcome, error) {
	args := b.fake("action", name)
	if params != nil {
		p, _ := json.Marshal(params)
		args = append(args, "--params", string(p))
	}
	res, err := b.Run(ctx, args...)
	if err != nil {
		return nil, err
	}
	var out ActionOutcome
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		return nil, fmt.Errorf("action %s: %v: %s%s", name, err, res.Stdout, res.Stderr)
	}
	return &out, nil
}

// State reads the fake Juju's state (statuses, logs, results) from the host.
func (b *Box) State() (*fakejuju.State, error) {
	return fakejuju.Load(b.Path(b.StateFile()))
}

// UpdateState changes the fake Juju's state from the host, as the
// controller does.
func (b *Box) UpdateState(fn func(*fakejuju.State) error) error {
	return fakejuju.Update(b.Path(b.StateFile()), fn)
}

// Status is the unit's current workload status.
func (b *Box) Status() (string, string, error) {
	st, err := b.State()
	if err != nil {
		return "", "", err
	}
	return st.Status.Status, st.Status.Message, nil
}

// Service is what a test reads of a running service.
type Service struct {
	MainPID      int
	NRestarts    int
	InvocationID string
	ActiveState  string
	Cmdline      []string
	// Started is when the main process started (zero when not running).
	Started time.Time
}

// Service reads a service's state over systemctl and /proc in the box.
func (b *Box) Service(ctx context.Context, name string) (Service, error) {
	out, err := b.MustRun(ctx, "systemctl", "show", "--timestamp=us+utc",
		"-p", "MainPID,NRestarts,InvocationID,ActiveState,ExecMainStartTimestamp", name)
	if err != nil {
		return Service{}, err
	}
	var s Service
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "MainPID":
			s.MainPID, _ = strconv.Atoi(v)
		case "NRestarts":
			s.NRestarts, _ = strconv.Atoi(v)
		case "InvocationID":
			s.InvocationID = v
		case "ActiveState":
			s.ActiveState = v
		case "ExecMainStartTimestamp":
			s.Started, _ = time.Parse("Mon 2006-01-02 15:04:05.000000 MST", v)
		}
	}
	if s.MainPID != 0 {
		// The box's processes live in its own PID namespace: read /proc
		// from inside it.
		res, err := b.Run(ctx, "cat", fmt.Sprintf("/proc/%d/cmdline", s.MainPID))
		if err == nil && res.Code == 0 {
			s.Cmdline = strings.Split(strings.TrimRight(res.Stdout, "\x00"), "\x00")
		}
	}
	return s, nil
}

// Starts counts how often a unit was started since boot by anyone but
// systemd's own Restart= (journal "Started" lines, less "Scheduled restart
// job" ones): a restart by the charm, a test or a package adds exactly one.
// systemd's own restarts are the principal's: bookworm's uwsgi magnum-api
// can exit at once when it starts while the old instance's workers are
// still being killed, and systemd then starts it again (see
// systemd.Manager.Settle).
func (b *Box) Starts(ctx context.Context, unit string) (int, error) {
	out, err := b.MustRun(ctx, "journalctl", "-u", unit, "-o", "cat", "--no-pager")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "Started "):
			n++
		case strings.Contains(l, ": Scheduled restart job, restart counter is at "):
			n--
		}
	}
	return n, nil
}

// Reloads counts systemd daemon-reloads since boot.
func (b *Box) Reloads(ctx context.Context) (int, error) {
	out, err := b.MustRun(ctx, "journalctl", "_PID=1", "-o", "cat", "--no-pager")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Reloading") {
			n++
		}
	}
	return n, nil
}
