// Package watcher is the graft's watchdog on the unit. Juju gives a
// subordinate no hook when its principal is upgraded, reconfigured or
// paused, and update-status only comes every five minutes, so the charm
// installs a small service (the charm binary run as `magnum-capi-graft
// watch`) that notices drift and runs the charm's reconcile in hook context
// through `juju-exec -u <unit> -- hooks/update-status --from-watcher`.
//
// It listens rather than polls: systemd's D-Bus signals for restarts of the
// watched units, enable/disable/mask and daemon-reload, and inotify on the
// parent directories of the watched paths. Events are debounced, rate
// limited, and the echo of its own re-graft is ignored; see scheduler.
//
// The charm tells it what to watch with a WatchList saved to a file, which
// the watcher also watches, and keeps the count of re-grafts that failed in
// a row in a record beside it (state.RegraftFailures): the watcher stops while the
// record says MaxFailures and starts again when a hook removes it.
package watcher
