package driver

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testWheel describes a wheel to build. Zero values give a good
// magnum-capi-helm 1.2.0 wheel.
type testWheel struct {
	name, version string
	files         map[string]string // package files, path -> content
	requires      []string
	entryPoints   string // entry_points.txt; "-" for none
	tag           string
	purelib       string
	// record edits the RECORD lines before it is written; unrecorded adds
	// files to the zip after RECORD was computed.
	record     func(lines []string) []string
	unrecorded map[string]string
	symlink    string // a zip entry with symlink mode
}

const driverModule = `
class Driver(object):
    provides = [{"server_type": "vm", "os": "ubuntu", "coe": "kubernetes"}]
`

func (w testWheel) build(t testing.TB) []byte {
	t.Helper()
	if w.name == "" {
		w.name = "magnum-capi-helm"
	}
	if w.version == "" {
		w.version = "1.2.0"
	}
	if w.files == nil {
		w.files = map[string]string{
			"magnum_capi_helm/__init__.py": "",
			"magnum_capi_helm/driver.py":   driverModule,
			"magnum_capi_helm/common/x.py": "X = 1\n",
		}
	}
	if w.entryPoints == "" {
		w.entryPoints = "[magnum.drivers]\nk8s_capi_helm_v1 = magnum_capi_helm.driver:Driver\n"
	}
	if w.tag == "" {
		w.tag = "py3-none-any"
	}
	if w.purelib == "" {
		w.purelib = "true"
	}
	distInfo := strings.NewReplacer("-", "_", ".", "_").Replace(w.name) + "-" + w.version + ".dist-info"
	files := make(map[string]string)
	for k, v := range w.files {
		files[k] = v
	}
	md := "Metadata-Version: 2.1\nName: " + w.name + "\nVersion: " + w.version + "\nSummary: test\n"
	for _, r := range w.requires {
		md += "Requires-Dist: " + r + "\n"
	}
	md += "\nLong description.\n\nRequires-Dist: not-a-header\n"
	files[distInfo+"/METADATA"] = md
	files[distInfo+"/WHEEL"] = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: " + w.purelib + "\nTag: " + w.tag + "\n"
	if w.entryPoints != "-" {
		files[distInfo+"/entry_points.txt"] = w.entryPoints
	}
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		sum := sha256.Sum256([]byte(files[name]))
		lines = append(lines, fmt.Sprintf("%s,sha256=%s,%d", name, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[name])))
	}
	lines = append(lines, distInfo+"/RECORD,,")
	if w.record != nil {
		lines = w.record(lines)
	}
	files[distInfo+"/RECORD"] = strings.Join(lines, "\n") + "\n"
	for k, v := range w.unrecorded {
		files[k] = v
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f, err := zw.Create(name)
		require.NoError(t, err)
		_, err = f.Write([]byte(files[name]))
		require.NoError(t, err)
	}
	if w.symlink != "" {
		h := &zip.FileHeader{Name: w.symlink, Method: zip.Store}
		h.SetMode(fs.ModeSymlink | 0o777)
		f, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = f.Write([]byte("/etc/passwd"))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// tarball builds a gzipped tarball of the given members.
func tarball(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(members[n])), Typeflag: tar.TypeReg}))
		_, err := tw.Write(members[n])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// writeResource stores data under the name Juju gives the driver resource,
// whatever it holds.
func writeResource(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "magnum-capi-helm.whl")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func inspectBytes(t *testing.T, data []byte) (*Artifact, error) {
	t.Helper()
	return Inspect(writeResource(t, data))
}
