// Package artifact is the one life of everything the graft installs on the
// unit besides its files: the driver (charm/driver) and helm (charm/helm).
// Each is desired, resolved, staged, proved, committed (or unstaged when
// the graft fails) and, on removal, removed; the reconcile runs that life
// over a list of artifacts and owns no artifact's details.
//
// Desire is a value: it reads the charm's options and the artifact's record
// of the last install and stats what that record names, and runs nothing
// and fetches nothing, so the desired state can be printed, hashed and
// compared. What costs (resource-get, an index download, running Magnum's
// Python) is Resolve's, and what it finds is kept apart from the desired
// state, in the Part it returns; installing is Stage's.
package artifact

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// InstallRoot is the charm's own tree: one directory per artifact.
// Removal deletes what the charm put there, and the tree once nothing else
// is in it.
const InstallRoot = "/opt/magnum-capi-graft"

// Artifact is one thing the graft installs.
type Artifact interface {
	// Desire says what the artifact wants of the unit as far as that is
	// known without staging. It changes nothing and runs nothing. A
	// recorded install that is intact makes the artifact converged.
	Desire(c *Context) (Part, error)
	// Converged reports that Desire found the recorded install intact:
	// Resolve, Stage and Commit then have nothing to do, and List does
	// not run them.
	Converged() bool
	// Resolve finds and checks the artifact (resource-get, an index,
	// Magnum's Python) without installing anything, and returns what the
	// plan must add (the activation) and what it resolved to (Keys). A
	// dry run stops here, and the memory of a failed graft is consulted
	// with what it returns.
	Resolve(ctx context.Context, c *Context) (Part, error)
	// Stage installs what Resolve found where the plan will activate it,
	// touching no file the services read.
	Stage(ctx context.Context, c *Context) error
	// Prove checks, with the plan's files in place and before any service
	// restarts, that the services will load it. Any error means they
	// would not: the graft is rolled back and the failure remembered.
	Prove(ctx context.Context, c *Context) error
	// Unstage undoes Stage after a failed proof or restart.
	Unstage(ctx context.Context, c *Context)
	// Commit records what is now installed and proved.
	Commit(ctx context.Context, c *Context) error
	// Remove takes off what the charm installed, during removal, after
	// the activation is gone.
	Remove(ctx context.Context, c *Context) (Removed, error)
	// Summary is the artifact's part of the status.
	Summary() string
}

// Context is what an artifact's life needs from the reconcile.
type Context struct {
	Juju  hooktool.Tools
	State state.Dir
	// Unit is the unit as last observed.
	Unit *unitshape.Unit
	// App names the application in the commands a blocked status gives.
	App string
	// Proxy is the model's proxy, for downloads.
	Proxy proxy.Settings
	Log   func(string)
	// Force re-reads and re-proves everything, trusting no record (the
	// regraft action, a config change). DryRun changes nothing.
	Force, DryRun bool
	// InstallRoot is where the charm's tree is (InstallRoot unless a test
	// points it elsewhere).
	InstallRoot string
}

// Root is the install tree.
func (c *Context) Root() string {
	if c.InstallRoot != "" {
		return c.InstallRoot
	}
	return InstallRoot
}

// MarkPending sets the artifact's marker of an install attempt not yet
// committed (a dry run attempts nothing): while it is there, the
// artifact's cheap check does not trust its record.
func (c *Context) MarkPending(marker string) error {
	if c.DryRun {
		return nil
	}
	return c.State.Mark(marker, true)
}

// Logf logs a progress line.
func (c *Context) Logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(fmt.Sprintf(format, args...))
	}
}

// Part is what an artifact adds to the desired state (from Desire) or to
// the plan (from Stage).
type Part struct {
	Dirs   []files.Dir
	Files  []files.File
	Absent []files.File
	Links  []files.Symlink
	// Stamps are files whose change since a service started means that
	// service must restart (a package the artifact comes from).
	Stamps []string
	// Restart says why the services must restart though no file of
	// theirs changes (a package upgraded under them).
	Restart []string
	// Watch lists paths whose change undoes the artifact (for the
	// watcher).
	Watch []string
	// Keys identify what the artifacts resolved to (a wheel's sha256),
	// for the hash the memory of a failed graft is kept under.
	Keys []string
}

// Add appends o's files, links and stamps to p.
func (p *Part) Add(o Part) {
	p.Dirs = append(p.Dirs, o.Dirs...)
	p.Files = append(p.Files, o.Files...)
	p.Absent = append(p.Absent, o.Absent...)
	p.Links = append(p.Links, o.Links...)
	p.Stamps = append(p.Stamps, o.Stamps...)
	p.Restart = append(p.Restart, o.Restart...)
	p.Watch = append(p.Watch, o.Watch...)
	p.Keys = append(p.Keys, o.Keys...)
}

// Removed is what an artifact's removal did.
type Removed struct {
	// Did lists what was done that the services must restart without
	// ("apt-get remove X").
	Did []string
	// Changed says anything was taken off.
	Changed bool
	// Dirs are the artifact's directories to remove once empty, deepest
	// first: the reconcile says what keeps one.
	Dirs []string
}

// MkdirRoot creates a charm-owned directory, root:root 0755.
func MkdirRoot(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		return os.Lchown(dir, 0, 0)
	}
	return nil
}

// BlockedError is a problem a human must fix (an attached resource that is
// not a driver, a helm that does not run): the reconcile stops before
// changing anything and says it as a blocked status. It is
// controller-runtime's TerminalError (pkg/reconcile,
// reconcile.TerminalError): any other error is one Juju retries.
type BlockedError struct{ Msg string }

func (b *BlockedError) Error() string { return b.Msg }

// IsBlocked reports whether err is a problem a human must fix.
func IsBlocked(err error) bool {
	var b *BlockedError
	return errors.As(err, &b)
}

// Blocked says a problem a human must fix.
func Blocked(format string, args ...any) error {
	return &BlockedError{fmt.Sprintf(format, args...)}
}
