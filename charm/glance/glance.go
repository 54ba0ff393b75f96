// Package glance is how a converged unit's update-status stays cheap
// without trusting what the charm wrote: a full reconcile that found the
// unit converged and active leaves a Sight, the list of what it observed
// (paths, trees, processes); the next update-status stamps them again
// (stat calls and /proc reads, no D-Bus, no program run) and, when nothing
// differs and the inputs from Juju are the same, says the same status
// without reconciling. Anything that differs, any doubt, or the Sight's
// age runs the full reconcile, which keeps a new Sight only when it too
// finds the unit converged.
//
// A stamp (files.Stamp) changes whenever a path is written, replaced,
// chmodded, chowned or removed, and a process's stamp when its service
// restarts (a new pid, or the same pid with another start time), so the
// glance misses only what leaves every stamp as it was: the network (the
// management cluster and the chart repository, whose checks the full
// reconcile repeats every 30 minutes, which Until keeps), and files the
// Sight does not list. Juju's update-status runs every 5 minutes; the
// watcher's re-grafts and every other hook always reconcile in full.
package glance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// MaxAge bounds how long a Sight is trusted, whatever its memos say.
const MaxAge = 30 * time.Minute

// maxTreeEntries bounds one tree's walk: an install tree holds a few
// hundred entries; one that grew past this is reconciled in full.
const maxTreeEntries = 20000

// Sight is what a converged reconcile observed, to be stamped again.
type Sight struct {
	// Paths are stamped as themselves (lstat: a symlink, not its target).
	Paths []string `json:"paths"`
	// Trees are directories stamped with every entry under them.
	Trees []string `json:"trees"`
	// Processes are the services' main processes the reconcile observed
	// running.
	Processes []Process `json:"processes"`
	// Until is when the Sight stops being trusted: the earliest moment a
	// memo of the full reconcile (the preflight, the chart check) would
	// check again.
	Until time.Time `json:"until"`
	// Since is when the reconcile began to observe: a path whose ctime is
	// not before it may have changed after the observation, and the Sight
	// is not kept. A clock that went back before it ends the glance.
	Since time.Time `json:"since"`
}

// Process is one service's main process.
type Process struct {
	Service string `json:"service"`
	PID     uint32 `json:"pid"`
}

// Record is a kept Sight with what was seen, the inputs it was seen with
// and the status the reconcile said.
type Record struct {
	Sight
	// Key is the hash of every stamp.
	Key string `json:"key"`
	// Inputs identifies the inputs from Juju (hooks: a hash of the
	// config and secret content the hook was answered with).
	Inputs  string          `json:"inputs"`
	Status  hooktool.Status `json:"status"`
	Message string          `json:"message"`
}

// coarse is how far a file's ctime may lag the clock: the kernel stamps
// it from the coarse clock (fs/inode.c, current_time(), which reads
// ktime_get_coarse_real_ts64, one scheduler tick behind at most: 10 ms
// at HZ=100).
const coarse = 10 * time.Millisecond

// errChangedSince: a stamp is newer than the observation.
var errChangedSince = errors.New("changed since the observation began")

// Take stamps everything the Sight lists and returns their hash. A path
// whose ctime is not before since (when since is set; less the coarse
// clock's lag) fails it.
func Take(s Sight, since time.Time) (string, error) {
	h := sha256.New()
	newest := time.Time{}
	note := func(t time.Time) {
		if t.After(newest) {
			newest = t
		}
	}
	for _, p := range s.Paths {
		t, err := files.StampPath(h, p)
		if err != nil {
			return "", err
		}
		if t.IsZero() {
			// Absent: had it been removed after the observation began,
			// its directory would say so.
			t = ctimeOf(filepath.Dir(p))
		}
		note(t)
	}
	for _, dir := range s.Trees {
		fmt.Fprintf(h, "tree %q\n", dir)
		var tree bytes.Buffer
		t, err := files.StampTree(&tree, dir, maxTreeEntries)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(h, "absent\n")
			note(ctimeOf(filepath.Dir(dir)))
			continue
		}
		if err != nil {
			return "", err
		}
		note(t)
		h.Write(tree.Bytes())
	}
	for _, p := range s.Processes {
		start, err := startTime(p.PID)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p.Service, err)
		}
		fmt.Fprintf(h, "process %s %d %d\n", p.Service, p.PID, start)
	}
	if !since.IsZero() && !newest.Before(since.Add(-coarse)) {
		return "", errChangedSince
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctimeOf is a path's ctime (zero when it cannot be read).
func ctimeOf(path string) time.Time {
	fi, err := os.Lstat(path)
	if err != nil {
		return time.Time{}
	}
	t, _ := files.Stamp(io.Discard, path, fi)
	return t
}

// startTime is a process's start, in clock ticks after boot: field 22 of
// /proc/PID/stat (proc(5)), which a pid reused by another process cannot
// share. The fields are counted after the last ')', since the command
// name (field 2) may hold spaces and parentheses.
func startTime(pid uint32) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: unreadable stat", pid)
	}
	// After ") " come field 3 (state) onwards; field 22 is the 20th.
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("pid %d: unreadable stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Keep stamps s and keeps it with the inputs and the status said. A Sight
// that cannot be stamped, or that changed since its observation began, is
// not kept (and an older record is forgotten): the next update-status
// reconciles in full.
func Keep(d state.Dir, s Sight, inputs string, status hooktool.Status, message string) error {
	s.Paths, s.Trees = slices.Compact(slices.Sorted(slices.Values(s.Paths))), slices.Compact(slices.Sorted(slices.Values(s.Trees)))
	key, err := Take(s, s.Since)
	if err != nil {
		Forget(d)
		return nil
	}
	rec := Record{Sight: s, Key: key, Inputs: inputs, Status: status, Message: message}
	if old, err := state.Get[Record](d, state.Glance); err == nil && old.Key == key && old.Inputs == inputs &&
		old.Status == status && old.Message == message && old.Until.Equal(s.Until) {
		// The same sight until the same moment (the watcher's echo of
		// a hook, a full reconcile that found nothing new while the
		// same memo governs): no write. A later Until is written, or
		// an expired record would outlive every full reconcile after it.
		return nil
	}
	return d.Save(state.Glance, rec)
}

// Forget drops the record: the next update-status reconciles in full.
func Forget(d state.Dir) {
	_, _ = d.Remove(state.Glance)
}

// Holds returns the kept record when the inputs are the same, now is
// before its Until and every stamp is as it was.
func Holds(d state.Dir, inputs string, now time.Time) (Record, bool) {
	rec, err := state.Get[Record](d, state.Glance)
	if err != nil || rec.Key == "" || rec.Inputs != inputs || !now.Before(rec.Until) || now.Before(rec.Since) {
		return Record{}, false
	}
	key, err := Take(rec.Sight, time.Time{})
	if err != nil || key != rec.Key {
		return Record{}, false
	}
	return rec, true
}

// Digest is a hash of values (the inputs from Juju, in their JSON form).
func Digest(values ...[]byte) string {
	h := sha256.New()
	for _, v := range values {
		fmt.Fprintf(h, "%d:", len(v))
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil))
}
