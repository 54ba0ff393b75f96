// Package systemdtest is systemd as unit tests see it: every service runs,
// every call is recorded, and a test decides which restarts fail and how.
package systemdtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// Fake is the unit's systemd.
type Fake struct {
	Reloads  int
	Restarts []string
	// Failing services fail their restart (the service's own doing), and
	// settle afterwards only if Recovers.
	Failing  map[string]bool
	Recovers bool
	// Broken is the error restarts return once BrokenAfter restarts have
	// succeeded: systemd unreachable.
	Broken      error
	BrokenAfter int
	// UnitErr is what reading a unit returns (nil: the unit).
	UnitErr error
}

// New is a systemd whose every service runs.
func New() *Fake { return &Fake{Failing: map[string]bool{}} }

var _ systemd.Controller = (*Fake)(nil)

// ErrDBus is what a lost D-Bus connection looks like to a caller.
var ErrDBus = errors.New("read unix @->/run/systemd/private: read: connection reset by peer")

func (f *Fake) Unit(_ context.Context, name string) (systemd.Unit, error) {
	if f.UnitErr != nil {
		return systemd.Unit{}, fmt.Errorf("read %s: %w", name, f.UnitErr)
	}
	return systemd.Unit{Name: name, LoadState: "loaded", ActiveState: "active", MainPID: 42}, nil
}

func (f *Fake) DaemonReload(context.Context) error {
	f.Reloads++
	return nil
}

func (f *Fake) Restart(_ context.Context, name string, _ time.Duration) (systemd.Unit, error) {
	if f.Broken != nil && len(f.Restarts) >= f.BrokenAfter {
		return systemd.Unit{}, fmt.Errorf("restart %s: %w", name, f.Broken)
	}
	f.Restarts = append(f.Restarts, name)
	if f.Failing[name] {
		return systemd.Unit{Name: name, ActiveState: "active", MainPID: 44},
			&systemd.StartFailure{Err: fmt.Errorf("%s restarted by itself (main PID 43 -> 44): it is failing", name)}
	}
	return systemd.Unit{Name: name, ActiveState: "active", MainPID: 43}, nil
}

func (f *Fake) Settle(_ context.Context, name string, _ time.Duration) (systemd.Unit, error) {
	if f.Failing[name] && !f.Recovers {
		return systemd.Unit{Name: name, ActiveState: "failed"}, &systemd.StartFailure{Err: fmt.Errorf("%s failed (failed)", name)}
	}
	return systemd.Unit{Name: name, ActiveState: "active", MainPID: 44}, nil
}

func (f *Fake) RestartNoSettle(context.Context, string) error { return nil }
func (f *Fake) Enable(context.Context, string) error          { return nil }
func (f *Fake) Stop(context.Context, string) error            { return nil }
func (f *Fake) Disable(context.Context, string) error         { return nil }
func (f *Fake) Close()                                        {}

func (f *Fake) JournalTail(_ context.Context, unit string, _ int) string {
	return unit + ": ERROR magnum [-] bad value for [capi_helm] namespace_prefix"
}
