// Package state is the charm's state directory: every file the charm keeps
// between hooks, named here and nowhere else, and the one way each is read
// and written (a bounded read; MkdirAll, JSON and an atomic root-only write).
// It lives outside the charm directory, so a charm upgrade keeps it, and
// removal deletes exactly the files listed in Files.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

// DefaultDir is where a unit keeps its state.
const DefaultDir = "/var/lib/magnum-capi-graft"

// The files in the state directory, and who writes each.
const (
	// Footprint is what was at each path before the charm changed it
	// (reconcile; removal works from it).
	Footprint = "footprint.json"
	// Driver and Helm record what the last successful reconcile installed
	// and proved (reconcile).
	Driver = "driver.json"
	Helm   = "helm.json"
	// DriverPending and HelmPending are markers of an install attempt not
	// yet committed (reconcile).
	DriverPending = "driver.pending"
	HelmPending   = "helm.pending"
	// Failure remembers a graft that made a service fail (reconcile).
	Failure = "failed"
	// Preflight is the last preflight of the management cluster
	// (reconcile).
	Preflight = "preflight.json"
	// WatchList is what the watcher watches (reconcile writes it as a
	// desired file; the watcher reads it).
	WatchList = "watch.json"
	// RegraftFailures counts the watcher's re-grafts that ended blocked
	// in a row (hooks write it; the watcher reads it).
	RegraftFailures = "regraft-failures.json"
	// RegraftTrigger is the watcher's own record of its last trigger.
	RegraftTrigger = "regraft-trigger.json"
	// RemovalRestarts remembers restarts removal could not do yet.
	RemovalRestarts = "removal-restarts.json"
	// Inputs is what config-get and secret-get last said (hooks); it holds
	// secret content.
	Inputs = "inputs.json"
	// ModelProxyEnv is where earlier releases kept the model's proxy as
	// Magnum's services' environment when a proxy URL carries
	// credentials; it now lives in /etc/magnum (proxyenv.EnvFile), and
	// reconcile removes this one.
	ModelProxyEnv = "model-proxy.env"
	// ChartCheck is the last chart preflight and the history of its
	// failures (reconcile).
	ChartCheck = "chart.json"
	// Collision is the last driver-collision probe and what it was run
	// on (reconcile).
	Collision = "collision.json"
	// Glance is what the last converged reconcile observed, for the next
	// update-status to glance at (charm/glance; hooks).
	Glance = "glance.json"
	// Readings is what each Magnum service read, when it started, of the
	// files it reads only then (charm/readings; reconcile).
	Readings = "readings.json"
	// WheelCache is the directory of driver wheels fetched from an index.
	WheelCache = "wheels"
)

// Files lists every file above: removal deletes exactly these (and the
// leftovers of their interrupted writes), and the wheel cache.
var Files = []string{Footprint, Driver, Helm, DriverPending, HelmPending, Failure, Preflight, WatchList,
	RegraftFailures, RegraftTrigger, RemovalRestarts, Inputs, ModelProxyEnv, ChartCheck, Collision, Glance, Readings}

// maxFile bounds what Load reads. The footprint is the largest: it holds
// the files the charm replaced as they were (a helm binary among them).
const maxFile = files.MaxManagedFile + files.MaxTextFile

// Dir is a state directory.
type Dir string

// Path is where the file name is kept.
func (d Dir) Path(name string) string { return filepath.Join(string(d), name) }

// Read returns a file's bytes; a missing file is an error that
// errors.Is(err, fs.ErrNotExist) recognises.
func (d Dir) Read(name string) ([]byte, error) {
	return files.ReadFile(d.Path(name), maxFile)
}

// Load decodes a JSON file into v. A missing file leaves v as it is and
// returns an error fs.ErrNotExist matches.
func (d Dir) Load(name string, v any) error {
	b, err := d.Read(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("cannot parse %s: %w", d.Path(name), err)
	}
	return nil
}

// Get decodes a JSON file into a T; a missing file is T's zero value.
func Get[T any](d Dir, name string) (T, error) {
	var v T
	err := d.Load(name, &v)
	if errors.Is(err, fs.ErrNotExist) {
		var zero T
		return zero, nil
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// Save writes v as JSON.
func (d Dir) Save(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot save %s: %w", name, err)
	}
	return d.Write(name, append(b, '\n'))
}

// Write writes a file atomically, root-only (several hold secrets): a
// reader, or a hook killed half-way, sees the old file or the new one.
func (d Dir) Write(name string, b []byte) error {
	p := d.Path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("cannot save %s: %w", name, err)
	}
	if err := osutil.AtomicWriteFile(p, b, 0o600, 0); err != nil {
		return fmt.Errorf("cannot save %s: %w", name, err)
	}
	return nil
}

// Remove deletes a file; it reports whether there was one.
func (d Dir) Remove(name string) (bool, error) {
	err := os.Remove(d.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot remove %s: %w", name, err)
	}
	return true, nil
}

// Mark sets or clears a marker, an empty file whose presence is the fact.
func (d Dir) Mark(name string, on bool) error {
	if !on {
		_, err := d.Remove(name)
		return err
	}
	return d.Write(name, nil)
}

// Marked reports whether the marker is set.
func (d Dir) Marked(name string) bool {
	_, err := os.Lstat(d.Path(name))
	return err == nil
}

// Footprint loads the footprint, which saves itself here.
func (d Dir) Footprint() (*files.Footprint, error) {
	return files.LoadFootprint(d, Footprint)
}
