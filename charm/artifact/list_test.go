package artifact

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step records the life steps run on it into a shared log.
type step struct {
	Artifact
	name      string
	fail      string
	converged bool
	log       *[]string
}

func (s *step) do(what string) error {
	*s.log = append(*s.log, what+" "+s.name)
	if s.fail == what {
		return errors.New(s.name + " cannot " + what)
	}
	return nil
}
func (s *step) Desire(*Context) (Part, error) { return Part{Keys: []string{s.name}}, s.do("desire") }
func (s *step) Resolve(context.Context, *Context) (Part, error) {
	return Part{Keys: []string{s.name}}, s.do("resolve")
}
func (s *step) Converged() bool                        { return s.converged }
func (s *step) Stage(context.Context, *Context) error  { return s.do("stage") }
func (s *step) Prove(context.Context, *Context) error  { return s.do("prove") }
func (s *step) Unstage(context.Context, *Context)      { _ = s.do("unstage") }
func (s *step) Commit(context.Context, *Context) error { return s.do("commit") }
func (s *step) Summary() string                        { return s.name + " 1.0" }

// Every step runs in the staging order, commits in the reverse, and the
// first failure stops the step and names the artifact.
func TestListRunsTheLifeOverEveryArtifact(t *testing.T) {
	var log []string
	helm, drv := &step{name: "helm", log: &log}, &step{name: "driver", log: &log}
	l := List{helm, drv}
	ctx, c := context.Background(), &Context{}
	part, err := l.Desire(c)
	require.NoError(t, err)
	assert.Equal(t, []string{"helm", "driver"}, part.Keys)
	part, err = l.Resolve(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"helm", "driver"}, part.Keys)
	require.NoError(t, l.Stage(ctx, c))
	a, err := l.Prove(ctx, c)
	require.NoError(t, err)
	assert.Nil(t, a)
	require.NoError(t, l.Commit(ctx, c))
	l.Unstage(ctx, c)
	assert.Equal(t, []string{"desire helm", "desire driver", "resolve helm", "resolve driver", "stage helm", "stage driver",
		"prove helm", "prove driver", "commit driver", "commit helm", "unstage helm", "unstage driver"}, log)

	log, helm.fail = nil, "stage"
	assert.EqualError(t, l.Stage(ctx, c), "helm cannot stage")
	helm.fail, drv.fail = "", "prove"
	a, err = l.Prove(ctx, c)
	assert.EqualError(t, err, "driver cannot prove")
	assert.Same(t, drv, a)
	assert.Equal(t, []string{"stage helm", "prove helm", "prove driver"}, log)
}

// A converged artifact (its record holds) is not resolved, staged or
// committed, but still proved; a dry run stages nothing.
func TestListSkipsConvergedArtifacts(t *testing.T) {
	var log []string
	helm, drv := &step{name: "helm", converged: true, log: &log}, &step{name: "driver", log: &log}
	l := List{helm, drv}
	ctx, c := context.Background(), &Context{}
	part, err := l.Resolve(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"driver"}, part.Keys)
	require.NoError(t, l.Stage(ctx, c))
	_, err = l.Prove(ctx, c)
	require.NoError(t, err)
	require.NoError(t, l.Commit(ctx, c))
	require.NoError(t, l.Stage(ctx, &Context{DryRun: true}))
	assert.Equal(t, []string{"resolve driver", "stage driver", "prove helm", "prove driver", "commit driver"}, log)
}

// The status names the driver (staged last) before helm.
func TestListSummary(t *testing.T) {
	var log []string
	assert.Equal(t, "driver 1.0 + helm 1.0", List{&step{name: "helm", log: &log}, &step{name: "driver", log: &log}}.Summary())
	assert.Equal(t, "driver 1.0", List{&step{name: "driver", log: &log}}.Summary())
	assert.Empty(t, List{}.Summary())
}

// A list is converged when every artifact's record holds.
func TestListConverged(t *testing.T) {
	var log []string
	helm, drv := &step{name: "helm", converged: true, log: &log}, &step{name: "driver", converged: true, log: &log}
	assert.True(t, List{helm, drv}.Converged())
	assert.True(t, List{}.Converged())
	drv.converged = false
	assert.False(t, List{helm, drv}.Converged())
}
