package hooks

import (
	"fmt"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/watcher"
)

// stoppedHint ends the status while the watcher's re-grafts are stopped.
const stoppedHint = "automatic re-grafts stopped after %d failures in a row: fix the cause, then change the config or run the regraft action"

// watcherStopped reports whether the watcher's re-grafts are stopped. A
// re-graft the watcher asks for then is refused, whatever the watcher
// believes: the record decides (see state.RegraftFailures).
func (rt *Runtime) watcherStopped() (watcher.Failures, bool) {
	f, err := watcher.LoadFailures(rt.State)
	return f, err == nil && f.Stopped()
}

// noteRegraft keeps the record of the watcher's failed re-grafts after a
// reconcile that ended with status and message, and returns the message to
// show. A forced hook (config or secret change, charm upgrade, the regraft
// action) starts the count again, and so does any reconcile that ends
// active. The watcher's own re-graft adds a failure when it ends blocked,
// and its hook then fails (the error), which is how the watcher hears of it.
// Waiting (a paused principal) is neither.
func (rt *Runtime) noteRegraft(ev Event, force bool, status hooktool.Status, message string) (string, error) {
	if force || status == hooktool.Active {
		_, _ = watcher.ClearFailures(rt.State)
		return message, nil
	}
	if status != hooktool.Blocked {
		return message, nil
	}
	var f watcher.Failures
	var err error
	if ev.FromWatcher {
		if f, err = watcher.RecordFailure(rt.State, message, time.Now()); err != nil {
			return message, err
		}
		err = fmt.Errorf("re-graft ended blocked (%d in a row): %s", f.Count, message)
	} else if f, err = watcher.LoadFailures(rt.State); err != nil {
		return message, nil
	}
	if f.Stopped() {
		message += "; " + fmt.Sprintf(stoppedHint, f.Count)
	}
	return message, err
}
