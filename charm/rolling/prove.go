package rolling

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/apiprobe"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// APIService is the service whose answers prove a unit serves again
// before it hands the turn on.
const APIService = "magnum-api"

// apiAnswerTimeout bounds the wait for a restarted magnum-api to answer:
// Debian's uWSGI magnum-api needs about 20 s to load on a quiet unit.
const apiAnswerTimeout = 3 * time.Minute

// Proof is what a unit that restarted under a turn reads to prove it
// serves. Cmdline and Answers are nil in a hook (systemd.Cmdline,
// apiprobe.Answers); a test fakes them.
type Proof struct {
	Units   unitshape.UnitReader
	Wirings []wiring.Wiring
	// Cmdline reads a process's live command line.
	Cmdline func(pid uint32) ([]string, error)
	// Answers proves that magnum-api (its main process pid) answers HTTP
	// within timeout.
	Answers func(ctx context.Context, pid int, timeout time.Duration) error
	// Log, when set, hears that magnum-api answers.
	Log func(string)
}

// Serving is the last proof of a unit that restarted services under a
// turn (restarted, in order), after they settled: each runs with a live
// command line that keeps its wiring's promise, and magnum-api answers
// HTTP again, as haproxy will ask it. A unit that fails it rolls back and
// stops the roll, as a canary does.
func (pr Proof) Serving(ctx context.Context, restarted []string) error {
	cmdline := pr.Cmdline
	if cmdline == nil {
		cmdline = systemd.Cmdline
	}
	var api systemd.Unit
	for _, svc := range restarted {
		u, err := pr.Units.Unit(ctx, svc+".service")
		if err != nil {
			return err
		}
		if svc == APIService {
			api = u
		}
		i := slices.IndexFunc(pr.Wirings, func(w wiring.Wiring) bool { return w.Service == svc })
		if i < 0 {
			continue
		}
		if err := wiring.CheckRestarted(pr.Wirings[i], u, cmdline); err != nil {
			return err
		}
	}
	if api.Name == "" {
		return nil
	}
	answers := pr.Answers
	if answers == nil {
		answers = apiprobe.Answers
	}
	if err := answers(ctx, int(api.MainPID), apiAnswerTimeout); err != nil {
		return fmt.Errorf("%s does not answer HTTP after its restart: %w", APIService, err)
	}
	if pr.Log != nil {
		pr.Log(APIService + " answers HTTP")
	}
	return nil
}
