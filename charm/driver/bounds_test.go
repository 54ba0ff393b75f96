package driver

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scaleBounds shrinks the work bounds for a test, so that the shapes of
// the slowest hostile resources can be built small.
func scaleBounds(t *testing.T, unpacked, inflated int64) {
	oldU, oldI := maxUnpacked, maxInflated
	maxUnpacked, maxInflated = unpacked, inflated
	t.Cleanup(func() { maxUnpacked, maxInflated = oldU, oldI })
}

// bomb is a tar.gz whose members unpack to far more than they weigh:
// members of zeros first, then the good driver wheel.
func bomb(t *testing.T, zeros int, each int, wheel []byte) []byte {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	tw := tar.NewWriter(gz)
	block := make([]byte, 1<<20)
	for i := range zeros {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("pad/%03d", i), Mode: 0o644, Size: int64(each), Typeflag: tar.TypeReg}))
		for left := each; left > 0; left -= len(block) {
			_, err := tw.Write(block[:min(left, len(block))])
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "magnum_capi_helm-1.2.0-py3-none-any.whl", Mode: 0o644, Size: int64(len(wheel)), Typeflag: tar.TypeReg}))
	_, err = tw.Write(wheel)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// TestTarballUnpackingIsBounded: members that are not wheels are still
// decompressed to be skipped; what the whole tarball unpacks to is bounded.
func TestTarballUnpackingIsBounded(t *testing.T) {
	scaleBounds(t, 8<<20, 64<<20)
	wheel := testWheel{}.build(t)
	_, err := inspectBytes(t, bomb(t, 4, 1<<20, wheel))
	require.NoError(t, err, "within the bound")
	_, err = inspectBytes(t, bomb(t, 16, 1<<20, wheel))
	assert.ErrorContains(t, err, "too large: unpacks to more than 8 MiB")
}

// zeroWheel is a wheel (a zip) holding one recorded file of n zeros.
func zeroWheel(t *testing.T, name string, n int) []byte {
	content := string(make([]byte, n))
	return testWheel{name: name, version: "1.0", entryPoints: "-",
		files: map[string]string{name + "/__init__.py": "", name + "/zeros.bin": content}}.build(t)
}

// TestWheelhouseInflationIsBounded: every wheel of a wheelhouse is verified
// (inflated and hashed); what all of them inflate to is bounded together,
// not wheel by wheel.
func TestWheelhouseInflationIsBounded(t *testing.T) {
	scaleBounds(t, 64<<20, 8<<20)
	members := map[string][]byte{"magnum_capi_helm-1.2.0-py3-none-any.whl": testWheel{}.build(t)}
	for i := range 3 {
		name := fmt.Sprintf("dep%d", i)
		members[name+"-1.0-py3-none-any.whl"] = zeroWheel(t, name, 2<<20)
	}
	_, err := inspectBytes(t, tarball(t, members))
	require.NoError(t, err, "within the bound")
	for i := 3; i < 6; i++ {
		name := fmt.Sprintf("dep%d", i)
		members[name+"-1.0-py3-none-any.whl"] = zeroWheel(t, name, 2<<20)
	}
	_, err = inspectBytes(t, tarball(t, members))
	assert.ErrorContains(t, err, "the wheels unpack to more than 8 MiB")
}

// TestZipDirectoryIsBoundedBeforeItIsRead: a zip whose central directory
// claims more entries than a wheel can have is refused before it is parsed
// (parsing allocates per entry).
func TestZipDirectoryIsBoundedBeforeItIsRead(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range maxWheelFiles + 1 {
		_, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("x/%d", i), Method: zip.Store})
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	_, err := inspectBytes(t, buf.Bytes())
	assert.ErrorContains(t, err, fmt.Sprintf("more than %d files", maxWheelFiles))
}
