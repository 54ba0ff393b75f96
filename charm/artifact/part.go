package artifact

import (
	"os"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// Paths lists every path the part names.
func (p *Part) Paths() []string {
	var ps []string
	for _, x := range p.Dirs {
		ps = append(ps, x.Path)
	}
	for _, x := range p.Files {
		ps = append(ps, x.Path)
	}
	for _, x := range p.Absent {
		ps = append(ps, x.Path)
	}
	for _, x := range p.Links {
		ps = append(ps, x.Path)
	}
	return ps
}

// Diff adds to pl the changes that make every path of the part as it
// wants it.
func (p *Part) Diff(pl *plan.Plan) error {
	if err := addChanges(pl, p.Dirs, files.DiffDir); err != nil {
		return err
	}
	if err := addChanges(pl, p.Files, files.DiffFile); err != nil {
		return err
	}
	// Leftovers of a write a killed hook never finished: removed, with
	// no restart (no service reads them) and no footprint entry.
	var written []string
	for _, f := range p.Files {
		written = append(written, f.Path)
	}
	for _, l := range p.Links {
		written = append(written, l.Path)
	}
	for _, path := range written {
		stale, err := files.StaleTemps(path)
		if err != nil {
			return err
		}
		for _, s := range stale {
			pl.Add(plan.Change{Kind: plan.Remove, Path: s, Why: "left by an interrupted write", Scratch: true})
		}
	}
	for _, f := range p.Absent {
		if _, err := os.Lstat(f.Path); err == nil {
			pl.Add(plan.Change{Kind: plan.Remove, Path: f.Path, Why: "no longer wanted", Restarts: f.Restarts, UnitFile: f.UnitFile})
		}
	}
	return addChanges(pl, p.Links, files.DiffSymlink)
}

// addChanges adds the change each wanted x needs, if any.
func addChanges[T any](pl *plan.Plan, xs []T, diff func(T) (*plan.Change, error)) error {
	for _, x := range xs {
		c, err := diff(x)
		if err != nil {
			return err
		}
		if c != nil {
			pl.Add(*c)
		}
	}
	return nil
}
