package files

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
)

// me is the owner and group a test can give files: root as root (the
// charm's case), the current user otherwise.
func me(t *testing.T) (owner, group string) {
	t.Helper()
	u, err := user.Current()
	require.NoError(t, err)
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	require.NoError(t, err)
	return u.Username, g.Name
}

func asRoot(t *testing.T) bool { t.Helper(); return os.Geteuid() == 0 }

func needRoot(t *testing.T) {
	t.Helper()
	if !asRoot(t) {
		t.Skip("changing a file's owner needs root")
	}
}

func ownerOf(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

func assertOwnedByMe(t *testing.T, path string) {
	t.Helper()
	uid, gid := ownerOf(t, path)
	if asRoot(t) {
		assert.Equal(t, [2]int{0, 0}, [2]int{uid, gid}, "%s is root:root", path)
	} else {
		assert.Equal(t, [2]int{os.Geteuid(), os.Getegid()}, [2]int{uid, gid})
	}
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

func put(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode))
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	st, err := Read(filepath.Join(dir, "absent"))
	require.NoError(t, err)
	assert.Equal(t, Stat{}, st)

	p := filepath.Join(dir, "f")
	put(t, p, "x=1\n", 0o640)
	st, err = Read(p)
	require.NoError(t, err)
	assert.Equal(t, Stat{Exists: true, Content: []byte("x=1\n"), Mode: 0o640, UID: os.Geteuid(), GID: os.Getegid()}, st)

	st, err = Read(dir)
	require.NoError(t, err)
	assert.True(t, st.Exists)
	assert.True(t, st.IsDir)
	assert.Nil(t, st.Content)
}

func TestDiffFile(t *testing.T) {
	owner, group := me(t)
	dir := t.TempDir()
	want := func(path string) File {
		return File{Path: path, Content: []byte("[capi_helm]\nx = 1\n"), Mode: 0o640, Owner: owner, Group: group,
			Secret: true, Restarts: []string{"magnum-api", "magnum-conductor"}, UnitFile: true}
	}
	asWrite := func(f File, why string) *plan.Change {
		return &plan.Change{Kind: plan.Write, Path: f.Path, Content: f.Content, Mode: f.Mode, Owner: f.Owner, Group: f.Group,
			Secret: f.Secret, Why: why, Restarts: f.Restarts, UnitFile: f.UnitFile}
	}

	t.Run("absent", func(t *testing.T) {
		f := want(filepath.Join(dir, "absent.conf"))
		c, err := DiffFile(f)
		require.NoError(t, err)
		assert.Equal(t, asWrite(f, "absent"), c)
	})
	t.Run("content differs", func(t *testing.T) {
		f := want(filepath.Join(dir, "differs.conf"))
		put(t, f.Path, "[capi_helm]\nx = 2\n", 0o640)
		c, err := DiffFile(f)
		require.NoError(t, err)
		assert.Equal(t, asWrite(f, "content differs"), c)
	})
	t.Run("mode only", func(t *testing.T) {
		f := want(filepath.Join(dir, "mode.conf"))
		put(t, f.Path, string(f.Content), 0o644)
		c, err := DiffFile(f)
		require.NoError(t, err)
		require.NotNil(t, c)
		assert.Equal(t, plan.Chmod, c.Kind)
		assert.Equal(t, "was "+owner+":"+group+" 0644", c.Why)
		assert.Equal(t, os.FileMode(0o640), c.Mode)
		assert.Nil(t, c.Restarts, "owner and mode do not change what a service reads")
		assert.False(t, c.UnitFile, "no daemon-reload for a mode")
	})
	t.Run("owner only", func(t *testing.T) {
		needRoot(t)
		f := want(filepath.Join(dir, "owner.conf"))
		put(t, f.Path, string(f.Content), 0o640)
		require.NoError(t, os.Lchown(f.Path, 1, 1))
		c, err := DiffFile(f)
		require.NoError(t, err)
		require.NotNil(t, c)
		assert.Equal(t, plan.Chmod, c.Kind)
		assert.Regexp(t, `^was (daemon|1):(daemon|1) 0640$`, c.Why)
		assert.Nil(t, c.Restarts)
		assert.False(t, c.UnitFile)
	})
	t.Run("equal", func(t *testing.T) {
		f := want(filepath.Join(dir, "equal.conf"))
		put(t, f.Path, string(f.Content), 0o640)
		c, err := DiffFile(f)
		require.NoError(t, err)
		assert.Nil(t, c)
	})
	t.Run("a directory where a file is wanted", func(t *testing.T) {
		f := want(filepath.Join(dir, "isdir.conf"))
		require.NoError(t, os.Mkdir(f.Path, 0o755))
		c, err := DiffFile(f)
		assert.EqualError(t, err, f.Path+" is a directory")
		assert.Nil(t, c)
	})
	t.Run("unknown owner", func(t *testing.T) {
		f := want(filepath.Join(dir, "nobody.conf"))
		f.Owner = "no-such-user-magnum-capi-graft"
		_, err := DiffFile(f)
		assert.ErrorContains(t, err, `look up "no-such-user-magnum-capi-graft"`)
	})
}

func TestDiffDir(t *testing.T) {
	owner, group := me(t)
	dir := t.TempDir()
	d := func(name string) Dir {
		return Dir{Path: filepath.Join(dir, name), Mode: 0o750, Owner: owner, Group: group}
	}

	c, err := DiffDir(d("absent"))
	require.NoError(t, err)
	assert.Equal(t, &plan.Change{Kind: plan.Mkdir, Path: filepath.Join(dir, "absent"), Mode: 0o750 | os.ModeDir,
		Owner: owner, Group: group, Why: "absent"}, c)

	want := d("mode")
	require.NoError(t, os.Mkdir(want.Path, 0o700))
	require.NoError(t, os.Chmod(want.Path, 0o700))
	c, err = DiffDir(want)
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, plan.Chmod, c.Kind)
	assert.Equal(t, "was "+owner+":"+group+" 0700", c.Why)
	assert.Nil(t, c.Restarts)

	want = d("equal")
	require.NoError(t, os.Mkdir(want.Path, 0o750))
	require.NoError(t, os.Chmod(want.Path, 0o750))
	c, err = DiffDir(want)
	require.NoError(t, err)
	assert.Nil(t, c)

	want = d("file")
	put(t, want.Path, "", 0o644)
	_, err = DiffDir(want)
	assert.EqualError(t, err, want.Path+" exists and is not a directory")

	if asRoot(t) {
		want = d("owner")
		require.NoError(t, os.Mkdir(want.Path, 0o750))
		require.NoError(t, os.Chmod(want.Path, 0o750))
		require.NoError(t, os.Lchown(want.Path, 1, 0))
		c, err = DiffDir(want)
		require.NoError(t, err)
		require.NotNil(t, c)
		assert.Equal(t, plan.Chmod, c.Kind)
	}
}

func TestApplyWrites(t *testing.T) {
	owner, group := me(t)
	dir := t.TempDir()

	t.Run("write", func(t *testing.T) {
		p := filepath.Join(dir, "99-capi.conf")
		require.NoError(t, Apply(plan.Change{Kind: plan.Write, Path: p, Content: []byte("a\n"), Mode: 0o640, Owner: owner, Group: group}))
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "a\n", string(b))
		assert.Equal(t, os.FileMode(0o640), modeOf(t, p))
		assertOwnedByMe(t, p)

		// Over an existing file of another mode: the exact mode, whatever
		// the umask, and no temporary file left beside it.
		old := syscall.Umask(0o077)
		defer syscall.Umask(old)
		require.NoError(t, Apply(plan.Change{Kind: plan.Write, Path: p, Content: []byte("b\n"), Mode: 0o644, Owner: owner, Group: group}))
		b, err = os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "b\n", string(b))
		assert.Equal(t, os.FileMode(0o644), modeOf(t, p))
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, ents, 1)

		// A file put back with the bytes the services run on keeps the
		// mtime they read it with (charm/readings).
		then := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
		require.NoError(t, Apply(plan.Change{Kind: plan.Write, Path: p, Content: []byte("b\n"), Mode: 0o644, Owner: owner, Group: group, Mtime: then}))
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.True(t, fi.ModTime().Equal(then), "mtime %s, want %s", fi.ModTime(), then)

		err = Apply(plan.Change{Kind: plan.Write, Path: filepath.Join(dir, "no/such/dir/f"), Content: []byte("x"), Mode: 0o644})
		assert.ErrorContains(t, err, "write "+filepath.Join(dir, "no/such/dir/f")+": ")
	})
	t.Run("write as root chowns", func(t *testing.T) {
		needRoot(t)
		p := filepath.Join(dir, "kubeconfig")
		put(t, p, "old", 0o600)
		require.NoError(t, os.Lchown(p, 1, 1))
		require.NoError(t, Apply(plan.Change{Kind: plan.Write, Path: p, Content: []byte("new"), Mode: 0o640, Owner: "root", Group: "daemon"}))
		uid, gid := ownerOf(t, p)
		assert.Equal(t, [2]int{0, 1}, [2]int{uid, gid})
	})
	t.Run("unknown owner", func(t *testing.T) {
		p := filepath.Join(dir, "unowned")
		err := Apply(plan.Change{Kind: plan.Write, Path: p, Content: []byte("x"), Mode: 0o644, Owner: "no-such-user-magnum-capi-graft"})
		assert.ErrorContains(t, err, "no-such-user-magnum-capi-graft")
		assert.NoFileExists(t, p)
	})
}

func TestApplyDirsModesAndRemovals(t *testing.T) {
	owner, group := me(t)
	dir := t.TempDir()

	t.Run("mkdir", func(t *testing.T) {
		old := syscall.Umask(0o077)
		defer syscall.Umask(old)
		p := filepath.Join(dir, "magnum-api.service.d")
		require.NoError(t, Apply(plan.Change{Kind: plan.Mkdir, Path: p, Mode: 0o755 | os.ModeDir, Owner: owner, Group: group}))
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.True(t, fi.IsDir())
		assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm(), "the exact mode, whatever the umask")
		assertOwnedByMe(t, p)
		assert.ErrorContains(t, Apply(plan.Change{Kind: plan.Mkdir, Path: p, Mode: 0o755 | os.ModeDir, Owner: owner, Group: group}),
			"mkdir "+p+": ")
	})
	t.Run("chmod", func(t *testing.T) {
		p := filepath.Join(dir, "mode")
		put(t, p, "keep", 0o600)
		if asRoot(t) {
			require.NoError(t, os.Lchown(p, 1, 1))
		}
		require.NoError(t, Apply(plan.Change{Kind: plan.Chmod, Path: p, Mode: 0o644, Owner: owner, Group: group}))
		assert.Equal(t, os.FileMode(0o644), modeOf(t, p))
		assertOwnedByMe(t, p)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "keep", string(b), "content untouched")
	})
	t.Run("remove", func(t *testing.T) {
		p := filepath.Join(dir, "gone")
		put(t, p, "x", 0o644)
		require.NoError(t, Apply(plan.Change{Kind: plan.Remove, Path: p}))
		assert.NoFileExists(t, p)
		assert.NoError(t, Apply(plan.Change{Kind: plan.Remove, Path: p}), "removing what is not there is done")
	})
	t.Run("rmdir", func(t *testing.T) {
		p := filepath.Join(dir, "empty.d")
		require.NoError(t, os.Mkdir(p, 0o755))
		require.NoError(t, Apply(plan.Change{Kind: plan.Rmdir, Path: p}))
		assert.NoDirExists(t, p)
		assert.NoError(t, Apply(plan.Change{Kind: plan.Rmdir, Path: p}))

		full := filepath.Join(dir, "full.d")
		require.NoError(t, os.Mkdir(full, 0o755))
		put(t, filepath.Join(full, "override.conf"), "[Service]\n", 0o644)
		assert.ErrorContains(t, Apply(plan.Change{Kind: plan.Rmdir, Path: full}), "rmdir "+full+": ",
			"a directory holding someone else's file is not removed")
		assert.FileExists(t, filepath.Join(full, "override.conf"))
	})
	t.Run("restore is not applied here", func(t *testing.T) {
		assert.EqualError(t, Apply(plan.Change{Kind: plan.Restore, Path: "/x"}), "restore /x: cannot apply restore")
	})
}

func TestPutBack(t *testing.T) {
	dir := t.TempDir()

	t.Run("content and mode", func(t *testing.T) {
		p := filepath.Join(dir, "magnum-api")
		put(t, p, "USE_SYSLOG=yes\n", 0o640)
		if asRoot(t) {
			require.NoError(t, os.Lchown(p, 1, 1))
		}
		before, err := Read(p)
		require.NoError(t, err)
		put(t, p, "USE_SYSLOG=yes\n# BEGIN magnum-capi-graft\n", 0o644)
		if asRoot(t) {
			require.NoError(t, os.Lchown(p, 0, 0))
		}

		require.NoError(t, PutBack(p, before))
		after, err := Read(p)
		require.NoError(t, err)
		assert.Equal(t, before, after)
		assert.Equal(t, "USE_SYSLOG=yes\n", string(after.Content))
		assert.Equal(t, os.FileMode(0o640), after.Mode)
		if asRoot(t) {
			assert.Equal(t, [2]int{1, 1}, [2]int{after.UID, after.GID}, "the owner is put back too")
		}
	})
	t.Run("absence", func(t *testing.T) {
		p := filepath.Join(dir, "created")
		put(t, p, "x", 0o644)
		require.NoError(t, PutBack(p, Stat{}))
		assert.NoFileExists(t, p)
		assert.NoError(t, PutBack(p, Stat{}), "already absent")
	})
	t.Run("a directory", func(t *testing.T) {
		old := syscall.Umask(0o022)
		defer syscall.Umask(old)
		p := filepath.Join(dir, "existed.d")
		require.NoError(t, os.Mkdir(p, 0o775))
		require.NoError(t, os.Chmod(p, 0o775))
		if asRoot(t) {
			require.NoError(t, os.Lchown(p, 1, 1))
		}
		before, err := Read(p)
		require.NoError(t, err)
		require.NoError(t, os.Remove(p))
		require.NoError(t, PutBack(p, before))
		after, err := Read(p)
		require.NoError(t, err)
		assert.Equal(t, before, after)

		// A directory the charm created, now holding someone else's file,
		// is left in place.
		made := filepath.Join(dir, "made.d")
		require.NoError(t, os.Mkdir(made, 0o755))
		put(t, filepath.Join(made, "override.conf"), "", 0o644)
		assert.Error(t, PutBack(made, Stat{}))
		assert.FileExists(t, filepath.Join(made, "override.conf"))
	})
}

func TestFootprintPaths(t *testing.T) {
	fp := &Footprint{Entries: map[string]Stat{}}
	for _, p := range []string{
		"/etc/magnum/magnum.conf.d",
		"/etc/default/magnum-api",
		"/etc/systemd/system/magnum-api.service.d",
		"/etc/magnum/magnum.conf.d/99-capi.conf",
		"/etc/systemd/system/magnum-api.service.d/50-magnum-capi-graft.conf",
		"/etc/magnum/capi",
		"/etc/magnum/capi/kubeconfig",
	} {
		fp.Entries[p] = Stat{}
	}
	got := fp.Paths()
	assert.Equal(t, []string{
		"/etc/systemd/system/magnum-api.service.d/50-magnum-capi-graft.conf",
		"/etc/systemd/system/magnum-api.service.d",
		"/etc/magnum/magnum.conf.d/99-capi.conf",
		"/etc/magnum/capi/kubeconfig",
		"/etc/magnum/magnum.conf.d",
		"/etc/default/magnum-api",
		"/etc/magnum/capi",
	}, got)
	// Whatever the order, a path comes before every directory holding it.
	for i, p := range got {
		for _, q := range got[i+1:] {
			inside := strings.HasPrefix(q, p+"/")
			assert.False(t, inside, "%s restored before %s, which it holds", p, q)
		}
	}
	assert.Empty(t, (&Footprint{Entries: map[string]Stat{}}).Paths())
}
