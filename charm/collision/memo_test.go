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
