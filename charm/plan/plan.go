// Package plan holds the reconcile's plan as a value: the list of changes a
// hook will make to the unit, computed from desired and observed state before
// anything is touched. The same value is what a dry run prints, what the
// regraft action reports and what apply executes, so what an operator reads
// is what happens. An empty plan is a converged unit: no writes, no restarts.
package plan

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind is what a change does to a path.
type Kind string

const (
	Mkdir  Kind = "mkdir"
	Write  Kind = "write"
	Chmod  Kind = "chmod" // owner or mode only; content is already right
	Remove Kind = "remove"
	Rmdir  Kind = "rmdir"
	// Restore puts back what was there before the charm came.
	Restore Kind = "restore"
	// Symlink makes Path a symbolic link to Target, replacing whatever
	// file or link is there.
	Symlink Kind = "symlink"
)

// Change is one change to the unit's file system.
type Change struct {
	Kind    Kind
	Path    string
	Content []byte
	Mode    os.FileMode
	Owner   string
	Group   string
	// Target is where a Symlink change points.
	Target string
	// Secret content is never printed, logged or reported.
	Secret bool
	// Why says what differs between desired and observed.
	Why string
	// Restarts names the services that read this path.
	Restarts []string
	// UnitFile marks systemd unit files and drop-ins: a daemon-reload must
	// follow before any restart.
	UnitFile bool
	// Scratch marks a Remove of a leftover of the charm's own interrupted
	// write: nothing to remember for removal, nothing to put back.
	Scratch bool `json:",omitempty"`
	// ReadAtStart marks a file its services read only when they start
	// (charm/readings).
	ReadAtStart bool `json:",omitempty"`
	// Mtime, when set, is given to a written file: its bytes are the very
	// bytes the services that read it run on, read from a file of that
	// mtime (Spare).
	Mtime time.Time `json:",omitzero"`
	// Spared are the services Spare took out of Restarts.
	Spared []string `json:",omitempty"`
}

func (c Change) String() string {
	s := fmt.Sprintf("%s %s", c.Kind, c.Path)
	if c.Kind == Mkdir || c.Kind == Write || c.Kind == Chmod {
		s += fmt.Sprintf(" %s:%s %04o", c.Owner, c.Group, c.Mode.Perm())
	}
	if c.Kind == Symlink {
		s += " -> " + c.Target
	}
	if c.Why != "" {
		s += " (" + c.Why + ")"
	}
	return s
}

// Restart is a service that must restart, and why.
type Restart struct {
	Service string
	Because []string
}

// Plan is everything a hook will do.
type Plan struct {
	Changes []Change
	// Reload is set when a unit file or drop-in changes.
	Reload bool
	// Restarts lists each service at most once, in restart order.
	Restarts []Restart
	// Skipped lists restarts the plan will not do, and why (a masked or
	// stopped service): they are part of the truth an operator reads.
	Skipped []string
}

// Add appends a change and folds its effects into the plan.
func (p *Plan) Add(c Change) {
	p.Changes = append(p.Changes, c)
	if c.UnitFile {
		p.Reload = true
	}
	for _, svc := range c.Restarts {
		p.NeedRestart(svc, c.Path)
	}
}

// Spare takes svcs out of the restarts change i asks for, with the other
// reasons given for the same file, and gives the file mtime: those
// services run on the bytes it writes (charm/readings).
func (p *Plan) Spare(i int, svcs []string, mtime time.Time, because ...string) {
	c := &p.Changes[i]
	// A copy: the change shares its list with the desired file's.
	c.Restarts = slices.DeleteFunc(slices.Clone(c.Restarts), func(s string) bool { return slices.Contains(svcs, s) })
	c.Spared, c.Mtime = svcs, mtime
	c.Why += "; " + strings.Join(svcs, " and ") + " run on these bytes since they started: no restart, mtime kept"
	because = append(because, c.Path)
	for j := range p.Restarts {
		if slices.Contains(svcs, p.Restarts[j].Service) {
			p.Restarts[j].Because = slices.DeleteFunc(p.Restarts[j].Because, func(r string) bool { return slices.Contains(because, r) })
		}
	}
	p.Restarts = slices.DeleteFunc(p.Restarts, func(r Restart) bool { return len(r.Because) == 0 })
}

// NeedRestart records that svc must restart because of reason.
func (p *Plan) NeedRestart(svc, reason string) {
	for i := range p.Restarts {
		if p.Restarts[i].Service == svc {
			for _, r := range p.Restarts[i].Because {
				if r == reason {
					return
				}
			}
			p.Restarts[i].Because = append(p.Restarts[i].Because, reason)
			return
		}
	}
	p.Restarts = append(p.Restarts, Restart{Service: svc, Because: []string{reason}})
}

// Order sorts restarts into the given service order.
func (p *Plan) Order(services []string) {
	rank := map[string]int{}
	for i, s := range services {
		rank[s] = i
	}
	sort.SliceStable(p.Restarts, func(i, j int) bool {
		return rank[p.Restarts[i].Service] < rank[p.Restarts[j].Service]
	})
}

// Changed reports whether the plan changes path.
func (p *Plan) Changed(path string) bool {
	return slices.ContainsFunc(p.Changes, func(c Change) bool { return c.Path == path })
}

// Restarting reports whether the plan restarts svc.
func (p *Plan) Restarting(svc string) bool {
	return slices.ContainsFunc(p.Restarts, func(r Restart) bool { return r.Service == svc })
}

// Empty reports a converged unit: nothing to write, reload or restart.
func (p *Plan) Empty() bool {
	return len(p.Changes) == 0 && !p.Reload && len(p.Restarts) == 0
}

// Lines renders the plan for people, one step per line.
func (p *Plan) Lines() []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.String())
	}
	if p.Reload {
		out = append(out, "daemon-reload")
	}
	for _, r := range p.Restarts {
		out = append(out, fmt.Sprintf("restart %s (%s)", r.Service, strings.Join(r.Because, ", ")))
	}
	for _, s := range p.Skipped {
		out = append(out, "skip "+s)
	}
	return out
}

func (p *Plan) String() string {
	if p.Empty() && len(p.Skipped) == 0 {
		return "nothing to do: the unit is converged\n"
	}
	return strings.Join(p.Lines(), "\n") + "\n"
}
