package wiring

import (
	"fmt"
	"strings"

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
