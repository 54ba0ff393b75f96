package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// fakeSystemd is systemd as the reconcile's unit tests see it: every
// service runs, every call is recorded, and a test decides which restarts
// fail and how.
type fakeSystemd struct {
	reloads  int
	restarts []string
	// failing services fail their restart (the service's own doing), and
	// settle afterwards only if recovers.
	failing  map[string]bool
	recovers bool
	// broken is the error every call that changes something returns from
	// the first failing call on: systemd unreachable.
	broken error
	// brokenAfter lets that many restarts succeed before broken applies.
	brokenAfter int
	// unitErr is what reading a unit returns (nil: the unit).
	unitErr error
}

func newFakeSystemd() *fakeSystemd { return &fakeSystemd{failing: map[string]bool{}} }

var _ Systemd = (*fakeSystemd)(nil)

// errDBus is what a lost D-Bus connection looks like to a caller.
var errDBus = errors.New("read unix @->/run/systemd/private: read: connection reset by peer")

func (f *fakeSystemd) Unit(_ context.Context, name string) (systemd.Unit, error) {
	if f.unitErr != nil {
		return systemd.Unit{}, fmt.Errorf("read %s: %w", name, f.unitErr)
	}
	return systemd.Unit{Name: name, LoadState: "loaded", ActiveState: "active", MainPID: 42}, nil
}

func (f *fakeSystemd) DaemonReload(context.Context) error {
	f.reloads++
	return nil
}

func (f *fakeSystemd) Restart(_ context.Context, name string, _ time.Duration) (systemd.Unit, error) {
	if f.broken != nil && len(f.restarts) >= f.brokenAfter {
		return systemd.Unit{}, fmt.Errorf("restart %s: %w", name, f.broken)
	}
	f.restarts = append(f.restarts, name)
	if f.failing[name] {
		return systemd.Unit{Name: name, ActiveState: "active", MainPID: 44},
			&systemd.StartFailure{Err: fmt.Errorf("%s restarted by itself (main PID 43 -> 44): it is failing", name)}
	}
	return systemd.Unit{Name: name, ActiveState: "active", MainPID: 43}, nil
}

func (f *fakeSystemd) Settle(_ context.Context, name string, _ time.Duration) (systemd.Unit, error) {
	if f.failing[name] && !f.recovers {
		return systemd.Unit{Name: name, ActiveState: "failed"}, &systemd.StartFailure{Err: fmt.Errorf("%s failed (failed)", name)}
	}
	return systemd.Unit{Name: name, ActiveState: "active", MainPID: 44}, nil
}

func (f *fakeSystemd) RestartNoSettle(context.Context, string) error { return nil }
func (f *fakeSystemd) Enable(context.Context, string) error          { return nil }
func (f *fakeSystemd) Stop(context.Context, string) error            { return nil }
func (f *fakeSystemd) Disable(context.Context, string) error         { return nil }
func (f *fakeSystemd) Close()                                        {}

func (f *fakeSystemd) JournalTail(_ context.Context, unit string, _ int) string {
	return unit + ": ERROR magnum [-] bad value for [capi_helm] namespace_prefix"
}
