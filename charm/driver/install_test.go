package driver

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func inspectGood(t *testing.T, w testWheel) *Artifact {
	t.Helper()
	a, err := inspectBytes(t, w.build(t))
	require.NoError(t, err)
	return a
}

func TestInstallVerifiesAndPublishes(t *testing.T) {
	// A strict umask must not leave files magnum cannot read.
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	a := inspectGood(t, testWheel{})
	root := filepath.Join(t.TempDir(), "driver")
	dir, err := Install(a, root)
	require.NoError(t, err)

	assert.Regexp(t, regexp.MustCompile(`/magnum-capi-helm-1\.2\.0-[0-9a-f]{12}$`), dir)
	assert.Equal(t, filepath.Join(root, a.DirName()), dir)
	got, err := os.ReadFile(filepath.Join(dir, "magnum_capi_helm", "driver.py"))
	require.NoError(t, err)
	assert.Equal(t, driverModule, string(got))
	for p, want := range map[string]os.FileMode{
		root: 0o755, dir: 0o755,
		filepath.Join(dir, "magnum_capi_helm", "common"):                 0o755,
		filepath.Join(dir, "magnum_capi_helm", "common", "x.py"):         0o644,
		filepath.Join(dir, "magnum_capi_helm-1.2.0.dist-info", "RECORD"): 0o644,
	} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode().Perm(), p)
	}
	assert.NoError(t, VerifyInstalled(dir))

	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no staging directory is left behind")
}

func TestInstallIsIdempotent(t *testing.T) {
	a := inspectGood(t, testWheel{})
	root := t.TempDir()
	dir, err := Install(a, root)
	require.NoError(t, err)
	before, err := os.Stat(filepath.Join(dir, "magnum_capi_helm", "driver.py"))
	require.NoError(t, err)

	again, err := Install(a, root)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	after, err := os.Stat(filepath.Join(dir, "magnum_capi_helm", "driver.py"))
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "a verified install is reused, not rewritten")
}

func TestVerifyInstalledDetectsTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(dir string) error
		want   string
	}{
		{"edited", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "magnum_capi_helm", "driver.py"), []byte("import os; os.system('x')\n"), 0o644)
		}, "magnum_capi_helm/driver.py: size mismatch"},
		{"same size edit", func(dir string) error {
			p := filepath.Join(dir, "magnum_capi_helm", "common", "x.py")
			return os.WriteFile(p, []byte("X = 2\n"), 0o644)
		}, "magnum_capi_helm/common/x.py: sha256 mismatch"},
		{"removed", func(dir string) error {
			return os.Remove(filepath.Join(dir, "magnum_capi_helm", "common", "x.py"))
		}, "magnum_capi_helm/common/x.py is missing"},
		{"added", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "magnum_capi_helm", "sitecustomize.py"), nil, 0o644)
		}, "magnum_capi_helm/sitecustomize.py is not listed in RECORD"},
		{"chmod", func(dir string) error {
			return os.Chmod(filepath.Join(dir, "magnum_capi_helm", "driver.py"), 0o666)
		}, "magnum_capi_helm/driver.py has mode -rw-rw-rw-, want -rw-r--r--"},
		{"symlink", func(dir string) error {
			return os.Symlink("/etc/passwd", filepath.Join(dir, "magnum_capi_helm", "link"))
		}, "magnum_capi_helm/link is not a regular file"},
		{"whole dir gone", func(dir string) error { return os.RemoveAll(dir) }, "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := inspectGood(t, testWheel{})
			root := t.TempDir()
			dir, err := Install(a, root)
			require.NoError(t, err)
			fp, err := Fingerprint(dir)
			require.NoError(t, err)

			require.NoError(t, tc.tamper(dir))
			err = VerifyInstalled(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			fp2, err := Fingerprint(dir)
			if err == nil {
				assert.NotEqual(t, fp, fp2, "the cheap check notices too")
			}

			// Installing again repairs it in place.
			again, err := Install(a, root)
			require.NoError(t, err)
			assert.Equal(t, dir, again)
			assert.NoError(t, VerifyInstalled(dir))
		})
	}
}

func TestVerifyInstalledToleratesBytecode(t *testing.T) {
	a := inspectGood(t, testWheel{})
	dir, err := Install(a, t.TempDir())
	require.NoError(t, err)
	cache := filepath.Join(dir, "magnum_capi_helm", "__pycache__")
	require.NoError(t, os.Mkdir(cache, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(cache, "driver.cpython-313.pyc"), []byte("pyc"), 0o644))
	assert.NoError(t, VerifyInstalled(dir))

	// Anything else in a cache directory is still a stranger.
	require.NoError(t, os.WriteFile(filepath.Join(cache, "evil.py"), nil, 0o644))
	assert.ErrorContains(t, VerifyInstalled(dir), "__pycache__/evil.py is not listed in RECORD")

	// Bytecode a wheel ships and records is checked like any other file.
	shipped := "magnum_capi_helm/__pycache__/x.cpython-313.pyc"
	a = inspectGood(t, testWheel{files: map[string]string{
		"magnum_capi_helm/__init__.py": "",
		"magnum_capi_helm/driver.py":   driverModule,
		shipped:                        "pyc",
	}})
	dir, err = Install(a, t.TempDir())
	require.NoError(t, err)
	require.NoError(t, VerifyInstalled(dir))
	require.NoError(t, os.Remove(filepath.Join(dir, shipped)))
	assert.ErrorContains(t, VerifyInstalled(dir), shipped+" is missing")
}

func TestRecordSizeIsBounded(t *testing.T) {
	bomb := func(lines []string) []string {
		return append(lines, "magnum_capi_helm/big.bin,sha256="+strings.Repeat("A", 43)+",99999999999")
	}
	_, err := inspectBytes(t, testWheel{record: bomb}.build(t))
	assert.ErrorContains(t, err, "is more than a driver file can be")
}

func TestFingerprintIsStableAndSeesTouches(t *testing.T) {
	a := inspectGood(t, testWheel{})
	dir, err := Install(a, t.TempDir())
	require.NoError(t, err)
	fp1, err := Fingerprint(dir)
	require.NoError(t, err)
	fp2, err := Fingerprint(dir)
	require.NoError(t, err)
	assert.Equal(t, fp1, fp2)

	// Rewriting a file with identical bytes and restoring its mtime still
	// changes its ctime.
	p := filepath.Join(dir, "magnum_capi_helm", "driver.py")
	fi, err := os.Stat(p)
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, os.WriteFile(p, []byte(driverModule), 0o644))
	require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	fp3, err := Fingerprint(dir)
	require.NoError(t, err)
	assert.NotEqual(t, fp1, fp3)
	assert.NoError(t, VerifyInstalled(dir), "content is unchanged; only the cheap check moved")
}

func TestInstallRefusesChangedResource(t *testing.T) {
	a := inspectGood(t, testWheel{})
	require.NoError(t, os.WriteFile(a.Path, testWheel{version: "1.3.0"}.build(t), 0o644))
	root := t.TempDir()
	_, err := Install(a, root)
	assert.ErrorContains(t, err, "changed since it was inspected")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestInstallWheelhouseDeps(t *testing.T) {
	drv := testWheel{requires: []string{"capi-extra>=1.0"}}.build(t)
	extra := testWheel{name: "capi-extra", version: "1.1.0", files: map[string]string{"capi_extra/__init__.py": "E = 1\n"}, entryPoints: "-"}.build(t)
	a, err := inspectBytes(t, tarball(t, map[string][]byte{
		"magnum_capi_helm-1.2.0-py3-none-any.whl": drv,
		"capi_extra-1.1.0-py3-none-any.whl":       extra,
	}))
	require.NoError(t, err)
	root := t.TempDir()

	// Without WithDeps only the driver is installed.
	plain, err := Install(a, root)
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(plain, "capi_extra", "__init__.py"))
	assert.FileExists(t, filepath.Join(plain, "magnum_capi_helm", "driver.py"))

	b, err := a.WithDeps([]Unmet{{Requirement: "capi-extra>=1.0", Name: "capi-extra", Spec: ">=1.0"}})
	require.NoError(t, err)
	withDeps, err := Install(b, root)
	require.NoError(t, err)
	assert.NotEqual(t, plain, withDeps)
	assert.FileExists(t, filepath.Join(withDeps, "capi_extra", "__init__.py"))
	assert.FileExists(t, filepath.Join(withDeps, "capi_extra-1.1.0.dist-info", "RECORD"))
	assert.NoError(t, VerifyInstalled(withDeps))

	// Both RECORDs count: a file of the dependency is checked as well.
	require.NoError(t, os.WriteFile(filepath.Join(withDeps, "capi_extra", "__init__.py"), []byte("E = 2\n"), 0o644))
	assert.ErrorContains(t, VerifyInstalled(withDeps), "capi_extra/__init__.py: sha256 mismatch")
}

func TestInstallRefusesRelativeRoot(t *testing.T) {
	a := inspectGood(t, testWheel{})
	_, err := Install(a, "relative/root")
	assert.ErrorContains(t, err, "is not absolute")
}
