package artifact

import (
	"context"
	"slices"
	"strings"
)

// List is the graft's artifacts in the order they are staged; each step of
// the life runs over all of them.
type List []Artifact

// Desire is what the artifacts want of the unit as far as their records
// say (Artifact.Desire), together.
func (l List) Desire(c *Context) (Part, error) {
	var all Part
	for _, a := range l {
		part, err := a.Desire(c)
		if err != nil {
			return Part{}, err
		}
		all.Add(part)
	}
	return all, nil
}

// Resolve resolves every artifact (Artifact.Resolve) and returns what they
// add to the plan, together.
func (l List) Resolve(ctx context.Context, c *Context) (Part, error) {
	var all Part
	for _, a := range l.unconverged() {
		part, err := a.Resolve(ctx, c)
		if err != nil {
			return Part{}, err
		}
		all.Add(part)
	}
	return all, nil
}

// Stage stages each artifact in order, stopping at the first error; a dry
// run stages nothing.
func (l List) Stage(ctx context.Context, c *Context) error {
	if c.DryRun {
		return nil
	}
	for _, a := range l.unconverged() {
		if err := a.Stage(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Prove proves each artifact; it returns the one that failed.
func (l List) Prove(ctx context.Context, c *Context) (Artifact, error) {
	for _, a := range l {
		if err := a.Prove(ctx, c); err != nil {
			return a, err
		}
	}
	return nil, nil
}

// Unstage undoes every artifact's staging.
func (l List) Unstage(ctx context.Context, c *Context) {
	for _, a := range l {
		a.Unstage(ctx, c)
	}
}

// Commit records each artifact, in the reverse of the staging order: an
// artifact staged earlier (helm) may find at its commit that the services
// changed under it, and the later ones (the driver) are recorded all the
// same.
func (l List) Commit(ctx context.Context, c *Context) error {
	todo := l.unconverged()
	for i := len(todo) - 1; i >= 0; i-- {
		if err := todo[i].Commit(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Summary is the artifacts' part of the status, joined by " + ", last
// staged first: a list is staged in the order the artifacts depend on each
// other (helm before the driver that runs it), and the status names the
// operator's choice, the driver, first.
func (l List) Summary() string {
	parts := make([]string, 0, len(l))
	for _, a := range slices.Backward(l) {
		parts = append(parts, a.Summary())
	}
	return strings.Join(parts, " + ")
}

// Converged reports whether every artifact's record holds, so that Stage
// installs nothing.
func (l List) Converged() bool { return len(l.unconverged()) == 0 }

// unconverged are the artifacts whose record does not hold.
func (l List) unconverged() List {
	var todo List
	for _, a := range l {
		if !a.Converged() {
			todo = append(todo, a)
		}
	}
	return todo
}
