package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPthContentIsReadBackByOnePath(t *testing.T) {
	b := string(PthContent("/opt/magnum-capi-graft/driver/magnum-capi-helm-1.2.0-0123456789ab"))
	var paths []string
	for _, l := range strings.Split(b, "\n") {
		if len(l) > 0 && l[0] != '#' {
			paths = append(paths, l)
		}
	}
	assert.Equal(t, []string{"/opt/magnum-capi-graft/driver/magnum-capi-helm-1.2.0-0123456789ab"}, paths)
}

func TestPruneKeepsActiveAndPrevious(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		d, err := Install(inspectGood(t, testWheel{version: v}), root)
		require.NoError(t, err)
		dirs = append(dirs, d)
	}
	leftover := filepath.Join(root, stagingPrefix+"123")
	require.NoError(t, os.Mkdir(leftover, 0o700))
	foreign := filepath.Join(root, "operator-notes")
	require.NoError(t, os.Mkdir(foreign, 0o755))

	removed, err := Prune(root, dirs[3], dirs[1])
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{dirs[0], dirs[2], leftover}, removed)
	assert.DirExists(t, dirs[3])
	assert.DirExists(t, dirs[1])
	assert.NoDirExists(t, dirs[0])
	assert.NoDirExists(t, dirs[2])
	assert.NoDirExists(t, leftover)
	assert.DirExists(t, foreign, "names Install never makes are not pruned")

	removed, err = Prune(filepath.Join(root, "absent"), "", "")
	require.NoError(t, err)
	assert.Empty(t, removed)
}
