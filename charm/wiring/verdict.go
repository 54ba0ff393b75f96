package wiring

import (
	"fmt"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// Verdict is how Magnum's live services keep their wirings' promises.
type Verdict struct {
	// ReadBy says how each service reads conf.d: "api (default-dirs)".
	ReadBy []string
	// Broken lists the services whose live process does not keep the
	// promise, with why.
	Broken []string
	// Waiting lists the services that cannot say yet: masked (paused) or
	// not running.
	Waiting []string
}

// Judge checks each service's live command line against its wiring
// (Check); wirings and services are in the same order. A service for
// which pending is true restarts soon (a dry run's plan says so), so its
// live command line is not held to the promise yet.
func Judge(wirings []Wiring, services []unitshape.Service, pending func(svc string) bool) Verdict {
	var v Verdict
	for i, w := range wirings {
		svc := services[i]
		v.ReadBy = append(v.ReadBy, fmt.Sprintf("%s (%s)", strings.TrimPrefix(svc.Name, "magnum-"), w.Method))
		switch {
		case svc.Masked():
			v.Waiting = append(v.Waiting, svc.Name+" is masked (paused)")
		case !svc.Running():
			v.Waiting = append(v.Waiting, svc.Name+" is not running")
		case pending(svc.Name):
		default:
			if err := Check(w.Method, svc.Cmdline); err != nil {
				v.Broken = append(v.Broken, fmt.Sprintf("%s: %v", svc.Name, err))
			}
		}
	}
	return v
}

// Serving reports whether any of the services restarting says yes to serves
// the graft now: running, not masked, with a live command line that keeps
// its wiring's promise. wirings and services are in the same order. Only
// the restart of such a service takes a rolling restart's turn: a unit
// whose services are down, or were unwired under the charm (the principal
// reinstalled, the machine rebooted into an unwired unit), serves no graft
// to keep up.
func Serving(wirings []Wiring, services []unitshape.Service, restarting func(svc string) bool) bool {
	for i, svc := range services {
		if i < len(wirings) && restarting(svc.Name) && svc.Running() && !svc.Masked() &&
			Check(wirings[i].Method, svc.Cmdline) == nil {
			return true
		}
	}
	return false
}

// CheckRestarted checks the unit of a service the charm just restarted:
// running, with a live command line (read by cmdline) that keeps w's
// promise.
func CheckRestarted(w Wiring, u systemd.Unit, cmdline func(pid uint32) ([]string, error)) error {
	if !u.Running() {
		return fmt.Errorf("%s is %s/%s after its restart", w.Service, u.ActiveState, u.SubState)
	}
	live, err := cmdline(u.MainPID)
	if err == nil {
		err = Check(w.Method, live)
	}
	if err != nil {
		return fmt.Errorf("%s does not keep the wiring's promise (%s) after its restart: %w", w.Service, w.Method, err)
	}
	return nil
}
