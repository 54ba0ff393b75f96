package watcher

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := ParseFlags([]string{"--unit", "magnum-capi-graft/0", "--watch-list", "/var/lib/magnum-capi-graft/watch.json",
		"--debounce", "5s", "--juju-exec", "/snap/bin/juju-exec"}, &bytes.Buffer{}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, "magnum-capi-graft/0", cfg.Unit)
	assert.Equal(t, "/var/lib/magnum-capi-graft/watch.json", cfg.WatchList)
	assert.Equal(t, 5*time.Second, cfg.Debounce)
	assert.Equal(t, DefaultMinInterval, cfg.MinInterval)
	assert.Equal(t, DefaultTriggerTimeout, cfg.TriggerTimeout)
	assert.Equal(t, "/snap/bin/juju-exec", cfg.JujuExec)
	assert.Empty(t, stderr.String())
}

func TestParseFlagsErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no unit":        {"--watch-list", "/w.json"},
		"bad unit":       {"--unit", "magnum-capi-graft", "--watch-list", "/w.json"},
		"no list":        {"--unit", "a/0"},
		"relative list":  {"--unit", "a/0", "--watch-list", "w.json"},
		"zero debounce":  {"--unit", "a/0", "--watch-list", "/w.json", "--debounce", "0s"},
		"bad duration":   {"--unit", "a/0", "--watch-list", "/w.json", "--min-interval", "soon"},
		"stray argument": {"--unit", "a/0", "--watch-list", "/w.json", "extra"},
		"unknown flag":   {"--unit", "a/0", "--watch-list", "/w.json", "--poll", "1s"},
		"relative juju":  {"--unit", "a/0", "--watch-list", "/w.json", "--juju-exec", "juju-exec"},
	} {
		var stderr bytes.Buffer
		var stdout bytes.Buffer
		_, err := ParseFlags(args, &stdout, &stderr)
		assert.Error(t, err, name)
		assert.NotEmpty(t, stderr.String(), name)
		assert.Empty(t, stdout.String(), name)
		assert.Equal(t, 2, Command(args, &bytes.Buffer{}, &bytes.Buffer{}), name)
	}
}

// Help asked for goes to stdout, as Go tools print it.
func TestCommandHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	_, err := ParseFlags([]string{"--help"}, &stdout, &stderr)
	assert.ErrorIs(t, err, pflag.ErrHelp)
	stdout.Reset()
	assert.Equal(t, 0, Command([]string{"--help"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "Usage: magnum-capi-graft watch")
	assert.Contains(t, stdout.String(), "--watch-list")
	assert.Empty(t, stderr.String())
}
