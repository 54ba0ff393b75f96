package files

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	link := filepath.Join(dir, "zero")
	require.NoError(t, os.Symlink("/dev/zero", link))
	for path, what := range map[string]string{
		fifo: "a FIFO", "/dev/zero": "a character device", link: "a character device", dir: "a directory",
	} {
		_, err := ReadFile(path, 1<<20)
		assert.ErrorIs(t, err, ErrNotRegular, path)
		assert.ErrorContains(t, err, path+": not a regular file ("+what+")")
	}

	_, err := ReadFile(filepath.Join(dir, "absent"), 10)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadFileLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte("0123456789"), 0o600))
	data, err := ReadFile(p, 10)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(data))
	_, err = ReadFile(p, 9)
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.EqualError(t, err, p+": too large: larger than 9 bytes")

	// /proc files say size 0 and still have content: the limit holds on
	// what is read, not on what stat says.
	data, err = ReadFile("/proc/self/cmdline", 1<<20)
	require.NoError(t, err)
	assert.NotEmpty(t, data)
	_, err = ReadFile("/proc/self/environ", 1)
	assert.True(t, errors.Is(err, ErrTooLarge) || len(os.Environ()) == 0, "%v", err)

	// A sparse file larger than the limit is refused without being read.
	big := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(1<<40))
	require.NoError(t, f.Close())
	_, err = ReadFile(big, MaxManagedFile)
	assert.EqualError(t, err, big+": too large: larger than 256 MiB")
}

// TestReadSeesOneFile: Read observes a path once. A regular file replaced
// by a link to another file between its Lstat and its read must not be
// reported as a regular file holding the link target's content (item 9 of
// the hardening issue).
func TestReadSeesOneFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	put(t, p, "mine\n", 0o644)
	other := filepath.Join(dir, "secret")
	put(t, other, "someone else's secret\n", 0o600)

	betweenLstatAndRead = func() {
		betweenLstatAndRead = nil
		require.NoError(t, os.Remove(p))
		require.NoError(t, os.Symlink(other, p))
	}
	t.Cleanup(func() { betweenLstatAndRead = nil })
	st, err := Read(p)
	require.NoError(t, err)
	assert.NotContains(t, string(st.Content), "secret")
	assert.Equal(t, Stat{Exists: true, Mode: 0o777, UID: os.Geteuid(), GID: os.Getegid(), Link: other}, st,
		"the path is observed as it is now: a link")

	// A FIFO at a managed path is observed, never opened.
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	st, err = Read(fifo)
	require.NoError(t, err)
	assert.True(t, st.Exists)
	assert.Nil(t, st.Content)
}
