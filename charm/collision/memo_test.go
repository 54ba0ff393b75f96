package collision

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fingerprint stays the same while nothing the loader reads changes,
// and changes with a distribution installed, a .pth file, a conf.d file's
// content, the command line or the graft's own state.
func TestFingerprintFollowsWhatTheLoaderReads(t *testing.T) {
	root := t.TempDir()
	site, confDir := filepath.Join(root, "site"), filepath.Join(root, "conf.d")
	require.NoError(t, os.MkdirAll(site, 0o755))
	require.NoError(t, os.MkdirAll(confDir, 0o755))
	conf := filepath.Join(root, "magnum.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[DEFAULT]\n"), 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(site, old, old))
	in := FingerprintInput{SiteDirs: []string{site}, ConfigFiles: []string{conf}, ConfigDirs: []string{confDir},
		Cmdline: []string{"/usr/bin/magnum-conductor"}, Extra: "desired-1"}
	fp := Fingerprint(in)
	assert.Equal(t, fp, Fingerprint(in), "nothing changed")

	changes := []struct {
		name string
		do   func()
	}{
		{"a distribution installed", func() {
			require.NoError(t, os.Mkdir(filepath.Join(site, "rival-1.0.dist-info"), 0o755))
		}},
		{"a distribution upgraded", func() {
			require.NoError(t, os.Rename(filepath.Join(site, "rival-1.0.dist-info"), filepath.Join(site, "rival-1.1.dist-info")))
		}},
		{"a .pth file's content", func() {
			require.NoError(t, os.WriteFile(filepath.Join(site, "graft.pth"), []byte("/opt/x\n"), 0o644))
			require.NoError(t, os.Chtimes(site, old, old))
		}},
		{"disabled_drivers in conf.d", func() {
			require.NoError(t, os.WriteFile(filepath.Join(confDir, "99-capi.conf"), []byte("[drivers]\ndisabled_drivers = x\n"), 0o644))
		}},
		{"the same file's content again", func() {
			require.NoError(t, os.WriteFile(filepath.Join(confDir, "99-capi.conf"), []byte("[drivers]\ndisabled_drivers = y\n"), 0o644))
			require.NoError(t, os.Chtimes(confDir, old, old))
		}},
		{"magnum.conf", func() { require.NoError(t, os.WriteFile(conf, []byte("[drivers]\n"), 0o644)) }},
		{"the command line", func() { in.Cmdline = append(in.Cmdline, "--config-dir="+confDir) }},
		{"the graft", func() { in.Extra = "desired-2" }},
	}
	for _, c := range changes {
		c.do()
		next := Fingerprint(in)
		assert.NotEqual(t, fp, next, c.name)
		fp = next
	}
}

func TestConfigPaths(t *testing.T) {
	f, d := ConfigPaths([]string{"/usr/bin/python3", "/usr/bin/magnum-conductor", "--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d", "--log-file=/var/log/magnum/c.log"})
	assert.Equal(t, []string{"/etc/magnum/magnum.conf"}, f)
	assert.Equal(t, []string{"/etc/magnum/magnum.conf.d"}, d)
	f, d = ConfigPaths(nil)
	assert.Equal(t, []string{"/etc/magnum/magnum.conf"}, f, "oslo.config's defaults")
	assert.Equal(t, []string{"/etc/magnum/magnum.conf.d"}, d)
}

// A .pth removed and put back as it was (the watcher's re-graft) leaves the
// loader's answer as it was: the fingerprint too, although the directory's
// mtime changed.
func TestFingerprintIgnoresAFileRemovedAndPutBack(t *testing.T) {
	site := t.TempDir()
	pth := filepath.Join(site, "graft.pth")
	require.NoError(t, os.WriteFile(pth, []byte("/opt/x\n"), 0o644))
	status := filepath.Join(t.TempDir(), "status") // as dpkg's, a file
	require.NoError(t, os.WriteFile(status, []byte("Package: magnum-common\n"), 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(site, old, old))
	in := FingerprintInput{SiteDirs: []string{site, status}}
	fp := Fingerprint(in)

	require.NoError(t, os.Remove(pth))
	assert.NotEqual(t, fp, Fingerprint(in), "the .pth gone")
	require.NoError(t, os.WriteFile(pth, []byte("/opt/x\n"), 0o644))
	fi, err := os.Stat(site)
	require.NoError(t, err)
	require.True(t, fi.ModTime().After(old), "the directory's mtime changed")
	assert.Equal(t, fp, Fingerprint(in))
}

// dpkg's status counts by its content: a reinstall at the same version
// rewrites it as it was (a new file, a new mtime) and leaves the
// fingerprint as it was; another version changes it. Its digest is read
// only when its stat changed.
func TestFingerprintReadsDpkgStatusByContent(t *testing.T) {
	status := filepath.Join(t.TempDir(), "status")
	write := func(content string, mtime time.Time) {
		t.Helper()
		tmp := status + "-new"
		require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
		require.NoError(t, os.Chtimes(tmp, mtime, mtime))
		require.NoError(t, os.Rename(tmp, status)) // as dpkg's writedb does
	}
	write("Package: magnum-common\nVersion: 15.0.1-4\n", time.Now().Add(-time.Hour))
	d := Digest(status, FileDigest{})
	require.NotEmpty(t, d.SHA256)
	fp := func(d FileDigest) string {
		return Fingerprint(FingerprintInput{SiteDirs: []string{status}, Digests: map[string]string{status: d.SHA256}})
	}
	before := fp(d)

	write("Package: magnum-common\nVersion: 15.0.1-4\n", time.Now())
	again := Digest(status, d)
	assert.NotEqual(t, d.Stat, again.Stat, "dpkg rewrote it")
	assert.Equal(t, before, fp(again), "the same content: the same fingerprint")

	write("Package: magnum-common\nVersion: 15.0.2-1\n", time.Now().Add(time.Second))
	upgraded := Digest(status, again)
	assert.NotEqual(t, before, fp(upgraded), "another version")

	// The same stat: the digest is not read again (a made-up one is kept).
	kept := FileDigest{Stat: upgraded.Stat, SHA256: "kept"}
	assert.Equal(t, kept, Digest(status, kept))
	assert.Equal(t, FileDigest{}, Digest(filepath.Join(t.TempDir(), "absent"), kept), "no file, no digest")
	// Without a digest the file counts by its stat, as before.
	assert.NotEqual(t, Fingerprint(FingerprintInput{SiteDirs: []string{status}}), fp(upgraded))
}
