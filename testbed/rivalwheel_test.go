package testbed

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rival's wheel is a wheel: every member is in RECORD with its digest
// and size, and the entry points name the rival's classes.
func TestRivalWheelRecord(t *testing.T) {
	w, err := RivalWheel(t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, "testbed_rival_driver-1.0.0-py3-none-any.whl", filepath.Base(w))
	zr, err := zip.OpenReader(w)
	require.NoError(t, err)
	defer zr.Close()
	members := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(r)
		r.Close()
		require.NoError(t, err)
		members[f.Name] = data
	}
	const distInfo = "testbed_rival_driver-1.0.0.dist-info"
	record := string(members[distInfo+"/RECORD"])
	for name, data := range members {
		if name == distInfo+"/RECORD" {
			assert.Contains(t, record, name+",,\n")
			continue
		}
		sum := sha256.Sum256(data)
		assert.Contains(t, record, fmt.Sprintf("%s,sha256=%s,%d\n", name, base64.RawURLEncoding.EncodeToString(sum[:]), len(data)))
	}
	assert.Equal(t, "[magnum.drivers]\n"+
		"k8s_cluster_api_ubuntu = testbed_rival_driver.driver:UbuntuDriver\n"+
		"k8s_cluster_api_flatcar = testbed_rival_driver.driver:FlatcarDriver\n"+
		"k8s_cluster_api_debian = testbed_rival_driver.driver:DebianDriver\n", string(members[distInfo+"/entry_points.txt"]))
}

// Unpacked beside a stand-in for Magnum's abstract Driver (the same shape:
// an ABCMeta class whose provides and other methods are abstract), the
// host's python3 finds the entry points with importlib.metadata, and each
// class instantiates and claims what RivalEntryPoints says.
func TestRivalWheelLoads(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on this machine")
	}
	w, err := RivalWheel(t.TempDir())
	require.NoError(t, err)
	site := t.TempDir()
	zr, err := zip.OpenReader(w)
	require.NoError(t, err)
	defer zr.Close()
	for _, f := range zr.File {
		r, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(r)
		r.Close()
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(site, filepath.Dir(f.Name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(site, f.Name), data, 0o644))
	}
	stub := map[string]string{
		"magnum/__init__.py":                "",
		"magnum/drivers/__init__.py":        "",
		"magnum/drivers/common/__init__.py": "",
		"magnum/drivers/common/driver.py": "import abc\n\nclass Driver(object, metaclass=abc.ABCMeta):\n" +
			"    @property\n    @abc.abstractmethod\n    def provides(self):\n        raise NotImplementedError\n\n" +
			"    @abc.abstractmethod\n    def create_cluster(self, context, cluster, timeout):\n        raise NotImplementedError\n",
	}
	for name, content := range stub {
		require.NoError(t, os.MkdirAll(filepath.Join(site, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(site, name), []byte(content), 0o644))
	}
	script := `
import json
from importlib import metadata
eps = metadata.entry_points()
eps = eps.select(group="magnum.drivers") if hasattr(eps, "select") else eps.get("magnum.drivers", ())
out = {}
for ep in eps:
    cls = ep.load()
    out[ep.name] = ["/".join((p["server_type"], p["os"], p["coe"])) for p in cls().provides]
print(json.dumps(out))
`
	cmd := exec.Command(python, "-B", "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); exec(sys.argv[2])", site, script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var got map[string][]string
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(string(out))), &got), "%s", out)
	want := map[string][]string{}
	for _, ep := range RivalEntryPoints {
		want[ep.Name] = []string{ep.Claims}
	}
	assert.Equal(t, want, got)
}
