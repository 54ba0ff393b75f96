package watcher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

// WatchList is what the watcher keeps an eye on. The charm's reconcile writes
// it, because only the reconcile knows which files the graft owns on this
// unit; the watcher reads it at start-up and again whenever the file changes.
type WatchList struct {
	// Paths are files and directories. A change of the path itself
	// (created, deleted, replaced by rename, rewritten, chmod/chown) counts,
	// and so does, for a directory, any change to its direct entries.
	// Missing paths and missing parent directories are fine: their
	// appearance counts too.
	Paths []string `json:"paths"`
	// Units are systemd units whose restarts (ActiveState, SubState or
	// MainPID changes) count, e.g. "magnum-api.service".
	Units []string `json:"units"`
	// Packages are Debian packages whose installed version or status counts,
	// read from dpkg's status database. Name them here rather than listing
	// /var/lib/dpkg/status in Paths: dpkg rewrites that file on every apt
	// run, for every package.
	Packages []string `json:"packages"`
}

var (
	// unitNameRE is deliberately strict: unit names end up in D-Bus object
	// paths and in log lines.
	unitNameRE = regexp.MustCompile(`^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|path|mount|target)$`)
	// packageRE is Debian policy's package name syntax.
	packageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
)

// Normalize returns the list with paths cleaned and every field sorted and
// without duplicates, so that two lists naming the same things are Equal
// and Encode gives the same bytes for them.
func (l WatchList) Normalize() WatchList {
	var n WatchList
	for _, p := range l.Paths {
		n.Paths = append(n.Paths, filepath.Clean(p))
	}
	n.Paths = sortedSet(n.Paths)
	n.Units = sortedSet(slices.Clone(l.Units))
	n.Packages = sortedSet(slices.Clone(l.Packages))
	return n
}

// Validate rejects lists the watcher could not act on safely.
func (l WatchList) Validate() error {
	for _, p := range l.Paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) == "/" {
			return fmt.Errorf("watch list: path %q must be absolute and not the root", p)
		}
	}
	for _, u := range l.Units {
		if !unitNameRE.MatchString(u) {
			return fmt.Errorf("watch list: %q is not a systemd unit name", u)
		}
	}
	for _, p := range l.Packages {
		if !packageRE.MatchString(p) {
			return fmt.Errorf("watch list: %q is not a Debian package name", p)
		}
	}
	return nil
}

// Equal reports whether l and o watch the same things, in any order.
func (l WatchList) Equal(o WatchList) bool {
	a, b := l.Normalize(), o.Normalize()
	return slices.Equal(a.Paths, b.Paths) && slices.Equal(a.Units, b.Units) && slices.Equal(a.Packages, b.Packages)
}

// Load reads and validates a watch list the charm wrote (Encode). A missing file is
// an error that wraps fs.ErrNotExist.
func Load(path string) (WatchList, error) {
	data, err := files.ReadFile(path, files.MaxTextFile)
	if err != nil {
		return WatchList{}, fmt.Errorf("read watch list: %w", err)
	}
	var l WatchList
	dec := json.NewDecoder(bytes.NewReader(data))
	// An unknown field means a newer charm wrote the file; failing loudly
	// beats silently watching less than that charm asked for.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return WatchList{}, fmt.Errorf("parse watch list %s: %w", path, err)
	}
	if err := l.Validate(); err != nil {
		return WatchList{}, fmt.Errorf("%s: %w", path, err)
	}
	return l.Normalize(), nil
}

// Encode renders the list as the charm saves it: validated, normalized, and
// with empty fields as [] rather than null, so that the same list always
// gives the same bytes (the charm's plan then finds it unchanged) and reads
// the same to a human whatever built it.
func (l WatchList) Encode() ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	n := l.Normalize()
	for _, f := range []*[]string{&n.Paths, &n.Units, &n.Packages} {
		if *f == nil {
			*f = []string{}
		}
	}
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode watch list: %w", err)
	}
	return append(data, '\n'), nil
}

// sortedSet sorts s in place and drops duplicates and empty strings.
func sortedSet(s []string) []string {
	s = slices.DeleteFunc(s, func(v string) bool { return strings.TrimSpace(v) == "" })
	slices.Sort(s)
	return slices.Compact(s)
}
