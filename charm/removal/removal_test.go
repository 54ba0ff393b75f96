package removal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/plan"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd/systemdtest"
)

// removalBed is a unit in a temporary directory: the charm's state, its
// install tree and the files a graft touches all live under root.
type removalBed struct {
	t     *testing.T
	root  string
	r     *Remover
	units *systemdtest.Fake
	log   []string
}

func newRemovalBed(t *testing.T) *removalBed {
	t.Helper()
	b := &removalBed{t: t, root: t.TempDir(), units: systemdtest.New()}
	b.r = &Remover{State: state.Dir(b.path("/var/lib/magnum-capi-graft")),
		Systemd:     func(context.Context) (systemd.Controller, error) { return b.units, nil },
		InstallRoot: b.path(InstallRoot), Log: func(s string) { b.log = append(b.log, s) }}
	return b
}

func (b *removalBed) path(p string) string { return filepath.Join(b.root, p) }

// graft applies changes the way a hook does: footprint first, then the
// write (the changes restart nothing, so no service is touched).
func (b *removalBed) graft(changes ...plan.Change) {
	b.t.Helper()
	fp, err := b.r.State.Footprint()
	require.NoError(b.t, err)
	made := map[string]bool{}
	for _, c := range changes {
		// The unit's own directories (/etc/magnum, /usr/bin, ...) are
		// there before the charm; those the changes make are not.
		if !made[filepath.Dir(c.Path)] {
			require.NoError(b.t, os.MkdirAll(filepath.Dir(c.Path), 0o755))
		}
		if c.Kind == plan.Mkdir {
			made[c.Path] = true
		}
		require.NoError(b.t, fp.Remember(c.Path))
		require.NoError(b.t, files.Apply(c))
		require.NoError(b.t, fp.Confirm(c.Path))
	}
}

func (b *removalBed) remove() *Removal {
	b.t.Helper()
	res, err := b.r.Remove(context.Background())
	require.NoError(b.t, err, "removal must not fail on content that is not the charm's")
	return res
}

// write puts a file there as someone other than the charm would.
func (b *removalBed) write(p, content string) {
	b.t.Helper()
	require.NoError(b.t, os.MkdirAll(filepath.Dir(b.path(p)), 0o755))
	require.NoError(b.t, os.WriteFile(b.path(p), []byte(content), 0o644))
}

func (b *removalBed) read(p string) string {
	b.t.Helper()
	data, err := os.ReadFile(b.path(p))
	require.NoError(b.t, err)
	return string(data)
}

func mkdir(p string, mode os.FileMode) plan.Change {
	return plan.Change{Kind: plan.Mkdir, Path: p, Mode: mode | os.ModeDir, Owner: "root", Group: "root"}
}

func write(p, content string) plan.Change {
	return plan.Change{Kind: plan.Write, Path: p, Content: []byte(content), Mode: 0o644, Owner: "root", Group: "root"}
}

// apiBlock is the managed block the wiring appends to /etc/default/magnum-api.
const apiBlock = "# BEGIN magnum-capi-graft: make magnum-api read /etc/magnum/magnum.conf.d (removed with the charm)\n" +
	`PYARGV="${PYARGV:+$PYARGV }--config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d"` + "\n" +
	"# END magnum-capi-graft\n"

// Someone else's file in a directory the charm created (an operator's
// override.conf in a drop-in directory, a site file in conf.d, a package in
// the /usr/local site directory): the charm's own files go, the directory
// and the other file stay, the status says so, and the services restart
// once onto what is left.
func TestRemovalKeepsOthersFilesInDirectoriesItCreated(t *testing.T) {
	b := newRemovalBed(t)
	confD, dropIns := b.path("/etc/magnum/magnum.conf.d"), b.path("/etc/systemd/system/magnum-api.service.d")
	pyLib := b.path("/usr/local/lib/python3.11")
	site := pyLib + "/dist-packages"
	b.graft(mkdir(confD, 0o750), write(confD+"/99-capi.conf", "[capi_helm]\n"),
		mkdir(dropIns, 0o755), write(dropIns+"/50-magnum-capi-graft.conf", "[Service]\nExecStart=\n"),
		mkdir(pyLib, 0o755), mkdir(site, 0o755), write(site+"/magnum-capi-graft.pth", "/opt/x\n"))
	b.write("/etc/magnum/magnum.conf.d/50-site.conf", "[DEFAULT]\n# the site's own\n")
	b.write("/etc/systemd/system/magnum-api.service.d/override.conf", "[Service]\nEnvironment=SITE=1\n")
	b.write("/usr/local/lib/python3.11/dist-packages/site_tool.py", "print('mine')\n")

	res := b.remove()

	for _, gone := range []string{confD + "/99-capi.conf", dropIns + "/50-magnum-capi-graft.conf", site + "/magnum-capi-graft.pth"} {
		assert.NoFileExists(t, gone)
	}
	assert.Equal(t, "[DEFAULT]\n# the site's own\n", b.read("/etc/magnum/magnum.conf.d/50-site.conf"))
	assert.Equal(t, "[Service]\nEnvironment=SITE=1\n", b.read("/etc/systemd/system/magnum-api.service.d/override.conf"))
	assert.Equal(t, "print('mine')\n", b.read("/usr/local/lib/python3.11/dist-packages/site_tool.py"))
	kept := strings.Join(res.Kept, "\n")
	assert.Contains(t, kept, confD+" (holds 50-site.conf")
	assert.Contains(t, kept, dropIns+" (holds override.conf")
	assert.Contains(t, kept, site+" (holds site_tool.py")
	assert.NotContains(t, kept, pyLib+" (", "a directory kept only for a kept directory is not said twice")
	assert.True(t, res.Changed)
	assert.Equal(t, []string{"magnum-api.service", "magnum-conductor.service"}, b.units.Restarts, "each service restarts once")
	assert.NoDirExists(t, string(b.r.State))
}

// The charm's block in a file others share (/etc/default/magnum-X): removal
// takes out the block and nothing else, so a line an operator added after
// the graft stays, before or after the block, whoever created the file; a
// file nobody touched is put back byte for byte.
func TestRemovalTakesOnlyItsBlockOutOfASharedFile(t *testing.T) {
	const site = "# site settings\nUSE_SYSLOG=no\n"
	const added = "export SITE_MARK=kept\n"
	for _, tc := range []struct {
		name   string
		before *string // nil: no file before the graft
		edit   func(b *removalBed, p string)
		want   *string // nil: no file after removal
		kept   bool
	}{
		{name: "line appended after the block", before: ptr(site),
			edit: func(b *removalBed, p string) { b.write(p, b.read(p)+added) },
			want: ptr(site + added), kept: true},
		{name: "line appended, then re-grafted (block moved to the end)", before: ptr(site),
			edit: func(b *removalBed, p string) {
				b.write(p, b.read(p)+added)
				b.graft(write(b.path(p), site+added+apiBlock))
			},
			want: ptr(site + added), kept: true},
		{name: "a site line changed", before: ptr(site),
			edit: func(b *removalBed, p string) { b.write(p, strings.Replace(b.read(p), "=no", "=yes", 1)) },
			want: ptr("# site settings\nUSE_SYSLOG=yes\n"), kept: true},
		{name: "created by the charm, line added", before: nil,
			edit: func(b *removalBed, p string) { b.write(p, b.read(p)+added) },
			want: ptr(added), kept: true},
		{name: "untouched, no newline at the end before", before: ptr("USE_SYSLOG=no"),
			want: ptr("USE_SYSLOG=no")},
		{name: "untouched", before: ptr(site), want: ptr(site)},
		{name: "created by the charm, untouched", before: nil, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newRemovalBed(t)
			const p = "/etc/default/magnum-api"
			content := apiBlock
			if tc.before != nil {
				b.write(p, *tc.before)
				content = *tc.before
				if !strings.HasSuffix(content, "\n") {
					content += "\n"
				}
				content += apiBlock
			}
			b.graft(write(b.path(p), content))
			if tc.edit != nil {
				tc.edit(b, p)
			}
			res := b.remove()
			if tc.want == nil {
				assert.NoFileExists(t, b.path(p))
			} else {
				assert.Equal(t, *tc.want, b.read(p))
			}
			if tc.kept {
				assert.Contains(t, strings.Join(res.Kept, "\n"), b.path(p)+" (")
			} else {
				assert.Empty(t, res.Kept)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// A whole file the charm wrote (99-capi.conf, the kubeconfig, its drop-in,
// the .pth, the watcher's unit) is removed, or put back as it was before the
// charm, only while it holds what the charm wrote; changed since, it is
// someone else's and stays as it is.
func TestRemovalKeepsAFileChangedSinceTheCharmWroteIt(t *testing.T) {
	b := newRemovalBed(t)
	conf, kube, pth := b.path("/etc/magnum/magnum.conf.d/99-capi.conf"), b.path("/etc/magnum/kubeconfig"), b.path("/usr/local/lib/site/x.pth")
	handGraft := "apiVersion: v1 # the hand graft's\n"
	b.write("/etc/magnum/kubeconfig", handGraft)
	b.write("/etc/default/openstack", "USE_SYSLOG=no\n")
	b.graft(mkdir(filepath.Dir(conf), 0o750), write(conf, "[capi_helm]\n"), write(kube, "apiVersion: v1 # the charm's\n"),
		write(b.path("/etc/default/openstack"), "USE_SYSLOG=yes\n"), write(pth, "/opt/x\n"))
	b.write("/etc/magnum/magnum.conf.d/99-capi.conf", "[capi_helm]\nnamespace_prefix = mine\n")
	b.write("/etc/magnum/kubeconfig", "apiVersion: v1 # the operator's, after the graft\n")
	require.NoError(t, os.Remove(pth))

	res := b.remove()

	assert.Equal(t, "[capi_helm]\nnamespace_prefix = mine\n", b.read("/etc/magnum/magnum.conf.d/99-capi.conf"))
	assert.Equal(t, "apiVersion: v1 # the operator's, after the graft\n", b.read("/etc/magnum/kubeconfig"))
	assert.Equal(t, "USE_SYSLOG=no\n", b.read("/etc/default/openstack"), "a file nobody touched since is put back")
	assert.NoFileExists(t, pth)
	kept := strings.Join(res.Kept, "\n")
	assert.Contains(t, kept, conf+" (changed since the charm wrote it")
	assert.Contains(t, kept, kube+" (changed since the charm wrote it")
	assert.NotContains(t, kept, filepath.Dir(conf)+" (", "its only other content is already named")
	assert.NotContains(t, kept, "openstack")
}

// The charm's install tree: the driver's version directories and helm go;
// an operator's file there stays, and so does the tree that holds it.
// The charm's state directory likewise.
func TestRemovalLeavesOthersInTheInstallTreeAndStateDirectory(t *testing.T) {
	b := newRemovalBed(t)
	b.graft(write(b.path("/etc/magnum/kubeconfig"), "x"))
	version := DriverRoot + "/magnum-capi-helm-1.4.0-0123456789ab"
	b.write(version+"/magnum_capi_helm/__init__.py", "")
	b.write(version+"/magnum_capi_helm/__pycache__/__init__.cpython-311.pyc", "")
	b.write(DriverRoot+"/.staging-123/magnum_capi_helm/driver.py", "")
	b.write(HelmBinary, "\x7fELF")
	b.write(InstallRoot+"/NOTES", "the site's own notes\n")
	b.write(HelmDir+"/plugins.txt", "the site's own\n")
	stateDir := strings.TrimPrefix(string(b.r.State), b.root)
	for _, f := range []string{"driver.json", "helm.json", "preflight.json", "failed", "driver.pending", "inputs.json",
		state.RegraftFailures, "wheels/magnum_capi_helm-1.4.0-py3-none-any.whl", "footprint.json.AbCdEfGhIjKl~"} {
		b.write(stateDir+"/"+f, "{}")
	}
	b.write(stateDir+"/NOTES", "the site's own\n")

	res := b.remove()

	assert.NoDirExists(t, b.path(DriverRoot))
	assert.NoFileExists(t, b.path(HelmBinary))
	assert.Equal(t, "the site's own notes\n", b.read(InstallRoot+"/NOTES"))
	assert.Equal(t, "the site's own\n", b.read(HelmDir+"/plugins.txt"))
	entries, err := os.ReadDir(string(b.r.State))
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the operator's file stays in the state directory")
	assert.Equal(t, "NOTES", entries[0].Name())
	kept := strings.Join(res.Kept, "\n")
	assert.Contains(t, kept, b.path(InstallRoot)+" (holds NOTES")
	assert.Contains(t, kept, b.path(HelmDir)+" (holds plugins.txt")
	assert.Contains(t, kept, string(b.r.State)+" (holds NOTES")
}

// Juju 4.0 may run relation-broken alone, or stop and remove after it: the
// first removal does everything, the later ones find nothing to do, change
// nothing and restart nothing.
func TestRemovalIsCompleteOnceAndIdempotent(t *testing.T) {
	b := newRemovalBed(t)
	confD := b.path("/etc/magnum/magnum.conf.d")
	b.graft(mkdir(confD, 0o750), write(confD+"/99-capi.conf", "[capi_helm]\n"),
		write(b.path("/etc/default/magnum-api"), apiBlock))
	b.write("/etc/magnum/magnum.conf.d/50-site.conf", "x\n")
	b.write(InstallRoot+"/NOTES", "x\n")
	b.write(HelmBinary, "\x7fELF")

	first := b.remove()
	require.True(t, first.Changed)
	require.NotEmpty(t, first.Kept)
	assert.NoFileExists(t, b.path("/etc/default/magnum-api"))
	restarts := len(b.units.Restarts)

	for _, hook := range []string{"stop", "remove"} {
		res := b.remove()
		assert.False(t, res.Changed, hook)
		assert.Empty(t, res.Plan.Changes, hook)
		assert.Len(t, b.units.Restarts, restarts, "%s restarted a service", hook)
	}
	assert.Equal(t, "x\n", b.read("/etc/magnum/magnum.conf.d/50-site.conf"))
	assert.Equal(t, "x\n", b.read(InstallRoot+"/NOTES"))
}

// helm's link: removed while it is the charm's; a package's helm that has
// taken its place since stays.
func TestRemovalLeavesAHelmAPackagePutInPlaceOfTheLink(t *testing.T) {
	b := newRemovalBed(t)
	link, mine := b.path("/usr/bin/helm"), b.path("/usr/bin/helm-mine")
	b.graft(plan.Change{Kind: plan.Symlink, Path: link, Target: HelmBinary},
		plan.Change{Kind: plan.Symlink, Path: mine, Target: HelmBinary})
	require.NoError(t, os.Remove(link))
	b.write("/usr/bin/helm", "\x7fELF the package's")

	res := b.remove()

	assert.Equal(t, "\x7fELF the package's", b.read("/usr/bin/helm"))
	_, err := os.Lstat(mine)
	assert.True(t, os.IsNotExist(err), "the charm's own link goes")
	assert.Contains(t, strings.Join(res.Kept, "\n"), link+" (changed since the charm wrote it")
}

// A directory the charm made that someone replaced with a file: what was
// under it cannot be there, the file is not the charm's, and removal goes
// on without it.
func TestRemovalWhereADirectoryBecameAFile(t *testing.T) {
	b := newRemovalBed(t)
	dropIns := b.path("/etc/systemd/system/magnum-api.service.d")
	b.graft(mkdir(dropIns, 0o755), write(dropIns+"/50-magnum-capi-graft.conf", "[Service]\n"))
	b.write(HelmBinary, "\x7fELF")
	b.write(DriverRoot+"/magnum-capi-helm-1.4.0-0123456789ab/x.py", "")
	for _, d := range []string{dropIns, b.path(HelmDir), b.path(DriverRoot)} {
		require.NoError(t, os.RemoveAll(d))
		require.NoError(t, os.WriteFile(d, []byte("someone's\n"), 0o644))
	}

	res := b.remove()

	kept := strings.Join(res.Kept, "\n")
	assert.Contains(t, kept, dropIns+" (changed since the charm wrote it")
	assert.Contains(t, kept, b.path(HelmDir)+" (not a directory any more")
	assert.Contains(t, kept, b.path(DriverRoot)+" (not a directory any more")
	for _, d := range []string{dropIns, b.path(HelmDir), b.path(DriverRoot)} {
		got, err := os.ReadFile(d)
		require.NoError(t, err)
		assert.Equal(t, "someone's\n", string(got))
	}
}

// A service that does not come back after removal's restart is said in the
// status, not retried: the hook succeeds. One that systemd's Restart=
// brings back within the settle window is no problem.
func TestRemovalSaysAServiceThatDidNotStartAgain(t *testing.T) {
	for _, recovers := range []bool{false, true} {
		b := newRemovalBed(t)
		b.units.Failing = map[string]bool{"magnum-api.service": true}
		b.units.Recovers = recovers
		b.graft(write(b.path("/etc/magnum/kubeconfig"), "x"))
		res := b.remove()
		assert.Equal(t, []string{"magnum-api.service", "magnum-conductor.service"}, b.units.Restarts)
		if recovers {
			assert.Empty(t, res.Problems)
			assert.Equal(t, "graft removed", res.Message())
		} else {
			assert.Equal(t, []string{"magnum-api did not start again after the removal: magnum-api.service failed (failed)"}, res.Problems)
			assert.Equal(t, "graft removed; magnum-api did not start again after the removal: magnum-api.service failed (failed)", res.Message())
		}
		assert.NoDirExists(t, string(b.r.State), "nothing is left for a retry to do")
	}
}

// Where the artifacts put things in the install tree, as paths the bed
// maps under its root.
const (
	InstallRoot = artifact.InstallRoot
	DriverRoot  = InstallRoot + "/driver"
	HelmDir     = InstallRoot + "/helm"
	HelmBinary  = HelmDir + "/helm"
)
