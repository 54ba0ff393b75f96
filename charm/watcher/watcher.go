package watcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// Defaults for Config.
const (
	// DefaultDebounce is short: a change of the principal's that comes
	// in steps (a file, then a daemon-reload, then a restart) is one
	// re-graft as long as each step follows the last within it, and a
	// restart in progress, however slow its stop, holds re-grafts until
	// it ends (scheduler.Moving), so the debounce need not cover a
	// service's stop.
	DefaultDebounce    = 500 * time.Millisecond
	DefaultMinInterval = 30 * time.Second
	// DefaultTriggerTimeout is far longer than any operation of the unit
	// agent: juju-exec queues behind whatever the agent runs (a smoke-test
	// action may take an hour), and killing it would not unqueue the
	// command (the agent runs it anyway), so the watcher waits; a day
	// catches only a wedged agent.
	DefaultTriggerTimeout = 24 * time.Hour
	// DefaultBusyAfter is how long a trigger may take before the watcher
	// says (log, state.RegraftTrigger) that it waits for the unit agent.
	DefaultBusyAfter = 30 * time.Second
	DefaultEchoGrace = time.Second
	// DefaultJujuExec is where the machine agent installs juju-exec, used
	// when it is not on PATH (systemd gives services a short PATH).
	DefaultJujuExec = "/usr/bin/juju-exec"
	// FromWatcherFlag tells the update-status hook that the watcher runs
	// it: such a hook records how its re-graft ended (see state.RegraftFailures) and
	// exits non-zero when it failed. Juju's own update-status has no
	// arguments.
	FromWatcherFlag = "--from-watcher"
	// maxLoggedReasons keeps a log line readable when a package upgrade
	// touches everything at once.
	maxLoggedReasons = 8
	// tidyDelay is how long after the last activity the watcher gives its
	// unused memory back.
	tidyDelay = 5 * time.Second
)

// Trigger runs one re-graft. reasons say what changed, for logging. changed
// is whether the re-graft changed anything on the unit (wrote a watched file
// or restarted a service); a trigger that cannot tell says true.
type Trigger func(ctx context.Context, reasons []string) (changed bool, err error)

// ChangedLine starts the line the update-status hook run by the watcher
// prints on its stdout, which juju-exec hands back: "...=true" when its
// re-graft changed something on the unit (or tried to, and put it back),
// "...=false" when the unit was already as wanted. The watcher needs it to
// tell the echo of its own re-graft from a real change made meanwhile.
const ChangedLine = "magnum-capi-graft: re-graft changed the unit="

// Config is the watcher's configuration. Zero durations mean the defaults.
type Config struct {
	// WatchList is the path of the watch list the charm saves.
	WatchList string
	// Unit is the Juju unit name (e.g. "magnum-capi-graft/0") the default
	// trigger runs the hook for.
	Unit string
	// JujuExec is the juju-exec binary; empty means PATH, then
	// DefaultJujuExec.
	JujuExec string
	// Debounce is how long events must be quiet before a re-graft.
	Debounce time.Duration
	// MinInterval is the least time between the end of one re-graft and the
	// start of the next.
	MinInterval time.Duration
	// TriggerTimeout bounds one re-graft, including juju-exec's wait for the
	// unit agent's other operations and the machine lock.
	TriggerTimeout time.Duration
	// BusyAfter is when a trigger still running is reported as waiting.
	BusyAfter time.Duration
	// EchoGrace is how long after a re-graft events are still taken as its
	// echo: D-Bus signals sent just before the hook exited may arrive just
	// after.
	EchoGrace time.Duration
	// DpkgStatus is dpkg's status file; empty means DefaultDpkgStatus.
	DpkgStatus string
	// Trigger runs the re-graft; nil means `juju-exec <Unit>
	// hooks/update-status --from-watcher`, which runs the charm's reconcile
	// in hook context.
	Trigger Trigger
	// Stderr receives the log; nil means os.Stderr (the journal).
	Stderr io.Writer

	// dial connects to systemd; tests replace it.
	dial func(ctx context.Context) (signalSource, error)
	// freeMemory and tidyDelay: see the run loop; tests replace them.
	freeMemory func()
	tidyDelay  time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if !filepath.IsAbs(c.WatchList) {
		return c, fmt.Errorf("watch list path %q must be absolute", c.WatchList)
	}
	c.WatchList = filepath.Clean(c.WatchList)
	setDefault(&c.Debounce, DefaultDebounce)
	setDefault(&c.MinInterval, DefaultMinInterval)
	setDefault(&c.TriggerTimeout, DefaultTriggerTimeout)
	setDefault(&c.BusyAfter, DefaultBusyAfter)
	setDefault(&c.EchoGrace, DefaultEchoGrace)
	if c.DpkgStatus == "" {
		c.DpkgStatus = DefaultDpkgStatus
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.dial == nil {
		c.dial = dialSystemd
	}
	if c.freeMemory == nil {
		c.freeMemory = debug.FreeOSMemory
	}
	setDefault(&c.tidyDelay, tidyDelay)
	if c.Trigger == nil {
		if c.Unit == "" {
			return c, errors.New("a Juju unit name is needed to run its hook")
		}
		if c.JujuExec == "" {
			c.JujuExec = FindJujuExec()
		}
		c.Trigger = jujuExecTrigger(c.JujuExec, c.Unit, c.TriggerTimeout)
	}
	return c, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// jujuExecTrigger runs the charm's update-status hook for the unit through
// juju-exec: in hook context, under the machine lock, like any hook. juju-exec
// sets no JUJU_DISPATCH_PATH, which is why the charm's hooks/update-status is,
// like dispatch, a symlink to the binary, which then reads the event from the
// path it was started as.
func jujuExecTrigger(jujuExec, unit string, timeout time.Duration) Trigger {
	return func(ctx context.Context, _ []string) (bool, error) {
		res, err := command.Run(ctx, command.Cmd{
			Argv:    JujuExecArgv(jujuExec, unit),
			Timeout: timeout,
		})
		return changedFromOutput(res.Stdout), err
	}
}

// changedFromOutput reads the hook's ChangedLine; without one (juju-exec
// failed before the hook, or an older charm binary ran it) the re-graft may
// have changed anything.
func changedFromOutput(stdout []byte) bool {
	changed := true
	for _, line := range strings.Split(string(stdout), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), ChangedLine); ok {
			changed = v != "false"
		}
	}
	return changed
}

// JujuExecArgv is the juju-exec command line that runs the update-status hook
// for the watcher. Juju parses juju-exec's flags with gnuflag and
// interspersed flags allowed (juju/juju cmd/jujud/run/run.go, RunCommand;
// juju/cmd's SuperCommand), so without the bare "--" our --from-watcher
// would be read as one of juju-exec's own flags and refused ("option provided
// but not defined", exit 2). After "--", juju-exec joins the words with
// utils.CommandString and runs them with /bin/bash -s in the charm
// directory; these are fixed words, nothing to quote. -u names the unit
// explicitly rather than letting juju-exec guess it from the first word.
func JujuExecArgv(jujuExec, unit string) []string {
	return []string{jujuExec, "-u", unit, "--", "hooks/update-status", FromWatcherFlag}
}

// Run watches until ctx is done, re-grafting when the watched paths, units
// or packages change. It returns nil when ctx ends, and an error when a
// source of events fails (the D-Bus connection is lost, inotify breaks):
// systemd then restarts the watcher, which is simpler and safer than
// patching a half-broken state back together.
func Run(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return fmt.Errorf("watcher: %w", err)
	}
	w := &watcher{
		cfg:   cfg,
		log:   log.New(cfg.Stderr, "", 0),
		sched: newScheduler(cfg.Debounce, cfg.MinInterval, cfg.EchoGrace),
		state: state.Dir(filepath.Dir(cfg.WatchList)),
	}
	w.failures = w.state.Path(state.RegraftFailures)
	return w.run(ctx)
}

type watcher struct {
	cfg   Config
	log   *log.Logger
	sched *scheduler
	// state is the charm's state directory, beside the watch list:
	// failures is the path of its record of failed re-grafts, and record
	// what the watcher's own record of its triggers holds now.
	state    state.Dir
	failures string
	record   TriggerRecord

	list  WatchList
	ino   *inotify
	sys   signalSource
	units map[dbus.ObjectPath]string
	pkgs  map[string]pkgState
}

func (w *watcher) run(ctx context.Context) error {
	ino, err := newInotify()
	if err != nil {
		return err
	}
	defer ino.Close()
	w.ino = ino

	list, err := Load(w.cfg.WatchList)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Keep watching the file: the charm's next save fixes it.
		w.log.Printf("watch list unusable, watching only for a new one: %v", err)
	}
	sys, err := w.cfg.dial(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	w.sys = sys
	if err := w.setList(ctx, list); err != nil {
		return err
	}
	w.log.Printf("watching %d paths, %d units and %d packages from %s",
		len(w.list.Paths), len(w.list.Units), len(w.list.Packages), w.cfg.WatchList)
	w.readFailures()
	if w.record, err = LoadTrigger(w.state); err != nil {
		w.log.Printf("%v", err)
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// busy fires when a trigger has run for BusyAfter.
	busy := time.NewTimer(time.Hour)
	busy.Stop()
	var before Failures // the charm's record when the trigger started
	// tidy gives the heap back to the kernel once things are quiet again
	// (tidyDelay after the last activity). Only activity arms it: it is not
	// a polling loop.
	tidy := time.NewTimer(time.Hour)
	tidy.Stop()
	var done chan triggerResult // non-nil while a re-graft runs
	var reasons []string
	var started time.Time
	active := true // start-up allocated too
	for {
		if at, ok := w.sched.Next(); ok && done == nil {
			timer.Reset(time.Until(at))
		} else {
			timer.Stop()
		}
		if active {
			tidy.Reset(w.cfg.tidyDelay)
		}
		active = true
		select {
		case <-tidy.C:
			// A burst of D-Bus signals (every unit's changes arrive on
			// systemd's private socket) or a re-graft grows the heap, and
			// Go returns the pages only slowly: return them now, so that
			// the idle watcher costs the unit little memory.
			w.cfg.freeMemory()
			active = false

		case <-ctx.Done():
			if done != nil {
				// The trigger runs under ctx, so it is being killed; wait
				// for it rather than leave its process behind.
				<-done
			}
			return nil

		case batch := <-ino.events:
			changed, err := ino.Handle(batch)
			if err != nil {
				return err
			}
			w.pathsChanged(ctx, time.Now(), changed)

		case err := <-ino.errs:
			return err

		case sig, ok := <-sys.Signals():
			if !ok {
				return errors.New("connection to systemd lost")
			}
			if unit, moving := unitTransition(sig, w.units); unit != "" {
				w.sched.Moving(unit, moving)
			}
			if reason, ok := classifySignal(sig, w.units); ok {
				w.sched.Event(time.Now(), reason)
			}

		case <-timer.C:
			now := time.Now()
			if reasons = w.sched.Start(now); reasons == nil {
				continue
			}
			started = now
			before, _ = LoadFailures(w.state)
			done = make(chan triggerResult, 1)
			go func(done chan<- triggerResult, reasons []string) {
				changed, err := w.cfg.Trigger(ctx, reasons)
				done <- triggerResult{changed, err}
			}(done, reasons)
			busy.Reset(w.cfg.BusyAfter)

		case <-busy.C:
			if done == nil {
				continue
			}
			w.saveRecord(TriggerRecord{Outcome: TriggerWaiting, Started: started, Failed: w.record.Failed,
				Reason: "waiting for the unit agent since " + started.UTC().Format(time.RFC3339)})
			w.log.Printf("re-graft not finished after %s: waiting for the unit agent, which runs one operation at a time (an action such as smoke-test may hold it)", w.cfg.BusyAfter)

		case res := <-done:
			done = nil
			busy.Stop()
			now := time.Now()
			err := res.err
			w.sched.Done(now, err, res.changed)
			took := now.Sub(started).Round(100 * time.Millisecond)
			w.triggerEnded(now, started, before, reasons, err)
			if err == nil && !res.changed {
				w.log.Printf("re-graft succeeded in %s, nothing to change; changed: %s", took, summary(reasons))
			} else if err == nil {
				w.log.Printf("re-graft succeeded in %s; changed: %s", took, summary(reasons))
			} else {
				w.log.Printf("re-graft failed in %s (%d in a row); changed: %s: %v",
					took, w.sched.Failures(), summary(reasons), err)
			}
			// The hook has just written or removed the charm's record:
			// inotify says so in order with every other change (the next
			// re-graft is a minute away after a failure), so it is not
			// acted on here.
		}
	}
}

// triggerResult is how a trigger ended.
type triggerResult struct {
	changed bool
	err     error
}

// triggerEnded records how a trigger ended. A failure the hook recorded in
// the charm's record (it ran and ended blocked) is the charm's to handle;
// any other failure never reached the hook or the hook could not say why,
// so the change it was for is still unrepaired: it is retried after the
// backoff, and counted for verify.
func (w *watcher) triggerEnded(now, started time.Time, before Failures, reasons []string, err error) {
	r := TriggerRecord{Outcome: TriggerOK, Started: started, Ended: now}
	switch {
	case err == nil:
	case w.hookRecorded(before):
		r.Outcome, r.Reason = TriggerBlocked, "the hook ended blocked (see "+state.RegraftFailures+")"
	default:
		r.Outcome, r.Reason, r.Failed = TriggerFailed, clip(err.Error()), w.record.Failed+1
		w.sched.Retry(now, reasons)
	}
	w.saveRecord(r)
}

// hookRecorded reports whether the charm's record of failures changed
// since before: the hook ran and recorded its blocked ending.
func (w *watcher) hookRecorded(before Failures) bool {
	after, err := LoadFailures(w.state)
	return err == nil && after.Count > 0 && (after.Count != before.Count || !after.Since.Equal(before.Since) || after.Reason != before.Reason)
}

// saveRecord keeps r as the trigger record; a failure to write it is
// logged, as the record only informs.
func (w *watcher) saveRecord(r TriggerRecord) {
	w.record = r
	if err := w.state.Save(state.RegraftTrigger, r); err != nil {
		w.log.Printf("cannot save the trigger record: %v", err)
	}
}

// pathsChanged sorts the watched paths that changed into watch list
// reloads, package checks and plain path events.
func (w *watcher) pathsChanged(ctx context.Context, now time.Time, changed []string) {
	listWritten := false
	for _, p := range changed {
		switch {
		case p == w.cfg.WatchList:
			listWritten = true
		case p == w.failures:
			w.readFailures()
		case p == w.cfg.DpkgStatus && len(w.list.Packages) > 0:
			w.packagesChanged(now)
		}
		if w.isListed(p) {
			w.sched.Event(now, "path "+p)
		}
	}
	if listWritten {
		w.listWritten(ctx)
	}
}

func (w *watcher) isListed(p string) bool {
	for _, l := range w.list.Paths {
		if l == p {
			return true
		}
	}
	return false
}

// packagesChanged compares the watched packages with what dpkg says now.
func (w *watcher) packagesChanged(now time.Time) {
	states, err := packageStates(w.cfg.DpkgStatus, w.list.Packages)
	if err != nil {
		// Cannot tell what changed: assume something did.
		w.log.Printf("%v", err)
		w.sched.Event(now, "path "+w.cfg.DpkgStatus)
		return
	}
	for _, r := range packageChanges(w.pkgs, states) {
		w.sched.Event(now, r)
	}
	w.pkgs = states
	w.holdForDpkg()
}

// holdForDpkg holds re-grafts while dpkg is half way through a watched
// package, and says so once.
func (w *watcher) holdForDpkg() {
	busy := busyPackages(w.pkgs)
	if len(busy) > 0 && !w.sched.held {
		w.log.Printf("waiting for dpkg to finish with %s", strings.Join(busy, ", "))
	}
	w.sched.Hold(len(busy) > 0)
}

// summary renders reasons for one log line.
func summary(reasons []string) string {
	if len(reasons) > maxLoggedReasons {
		return fmt.Sprintf("%s and %d more", strings.Join(reasons[:maxLoggedReasons], ", "), len(reasons)-maxLoggedReasons)
	}
	return strings.Join(reasons, ", ")
}

// listWritten reloads the watch list after the file was written.
func (w *watcher) listWritten(ctx context.Context) {
	list, err := Load(w.cfg.WatchList)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The charm is being removed, or is replacing the file: keep
		// watching what we have.
		return
	case err != nil:
		w.log.Printf("keeping the previous watch list: %v", err)
		return
	}
	if !list.Equal(w.list) {
		if err := w.setList(ctx, list); err != nil {
			w.log.Printf("applying the new watch list: %v", err)
		} else {
			w.log.Printf("watch list changed: now %d paths, %d units and %d packages",
				len(w.list.Paths), len(w.list.Units), len(w.list.Packages))
		}
	}
}

// readFailures stops or restarts re-grafting as the charm's record of
// failures says, and logs when that changes.
func (w *watcher) readFailures() {
	f, err := LoadFailures(w.state)
	if err != nil {
		// A record the watcher cannot read stops nothing: the hook that
		// runs next rewrites or removes it.
		w.log.Printf("%v", err)
		return
	}
	switch {
	case f.Stopped() && !w.sched.Stopped():
		w.log.Printf("re-grafts stopped: %d failed in a row since %s, last: %s; they start again after a config change or the regraft action",
			f.Count, f.Since.Format(time.RFC3339), f.Reason)
	case !f.Stopped() && w.sched.Stopped():
		w.log.Printf("re-graft failures cleared by the charm: re-grafting again")
	}
	w.sched.Stop(f.Stopped())
}

// setList makes the event sources follow list.
func (w *watcher) setList(ctx context.Context, list WatchList) error {
	w.list = list
	paths := append([]string{w.cfg.WatchList, w.failures}, list.Paths...)
	if len(list.Packages) > 0 {
		paths = append(paths, w.cfg.DpkgStatus)
	}
	if err := w.ino.Set(sortedSet(paths)); err != nil {
		return err
	}
	if err := w.sys.SetUnits(ctx, list.Units); err != nil {
		return err
	}
	w.units = unitPaths(list.Units)
	w.pkgs = nil
	if len(list.Packages) > 0 {
		states, err := packageStates(w.cfg.DpkgStatus, list.Packages)
		if err != nil {
			// Every watched package will then read as changed on dpkg's
			// next write, which errs on the side of re-grafting.
			w.log.Printf("%v", err)
		}
		w.pkgs = states
	}
	w.holdForDpkg()
	return nil
}
