package driver

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scaleBounds shrinks the work bounds for a test, so that the shapes of
// the slowest hostile resources can be built small.
func scaleBounds(t *testing.T, unpacked, inflated int64) {
	oldU, oldI, oldA := maxUnpacked, maxInflated, maxArtifactSize
	maxUnpacked, maxInflated = unpacked, inflated
	t.Cleanup(func() { maxUnpacked, maxInflated, maxArtifactSize = oldU, oldI, oldA })
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
func zeroWheel(t testing.TB, name string, n int) []byte {
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

// worstResource is the resource that costs Inspect the most work within the
// bounds: nearly maxArtifactSize to read and hash, a tarball that unpacks to
// nearly maxUnpacked (its first part stored, so it weighs what it unpacks
// to, its second a run of zeros compressed hard; gzip's multistream lets
// the two be one stream), and wheels that inflate to nearly maxInflated in
// all, each of their files verified against RECORD.
func worstResource(tb testing.TB) []byte {
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	put := func(name string, size int64, data []byte) {
		require.NoError(tb, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}))
		if data == nil {
			data = make([]byte, size)
		}
		_, err := tw.Write(data)
		require.NoError(tb, err)
	}
	driver := testWheel{}.build(tb)
	put("magnum_capi_helm-1.2.0-py3-none-any.whl", int64(len(driver)), driver)
	perWheel := maxInflated / 16
	for i, inflated := 0, int64(0); inflated+perWheel <= maxInflated-perWheel/2; i++ {
		w := zeroWheel(tb, fmt.Sprintf("dep%d", i), int(perWheel))
		put(fmt.Sprintf("dep%d-1.0-py3-none-any.whl", i), int64(len(w)), w)
		inflated += perWheel
	}
	stored := maxArtifactSize - maxArtifactSize/32
	put("pad/stored", stored-int64(tarball.Len())-1024, nil)
	split := tarball.Len()
	put("pad/zeros", maxUnpacked-int64(split)-maxUnpacked/32, nil)
	require.NoError(tb, tw.Close())

	var out bytes.Buffer
	for i, part := range [][]byte{tarball.Bytes()[:split], tarball.Bytes()[split:]} {
		level := gzip.NoCompression
		if i == 1 {
			level = gzip.BestCompression
		}
		gz, err := gzip.NewWriterLevel(&out, level)
		require.NoError(tb, err)
		_, err = gz.Write(part)
		require.NoError(tb, err)
		require.NoError(tb, gz.Close())
	}
	return out.Bytes()
}

// BenchmarkInspectWorstResource measures the slowest hostile resource the
// bounds let through, inspected whole (its wheels all verified). The
// README's bound on a hook's time quotes it: `go test -run '^$' -bench
// InspectWorstResource -benchtime 3x ./charm/driver`.
func BenchmarkInspectWorstResource(b *testing.B) {
	p := filepath.Join(b.TempDir(), "resource")
	require.NoError(b, os.WriteFile(p, worstResource(b), 0o644))
	b.ResetTimer()
	for range b.N {
		a, err := Inspect(p)
		require.NoError(b, err)
		require.Len(b, a.Extras, 15)
	}
}

// TestWorstResourceIsWithinTheBounds: the resource the benchmark times is
// the worst the bounds allow, and it is accepted (a little more of any of
// its parts would be refused: see the tests above), built here at an
// eighth of the real bounds.
func TestWorstResourceIsWithinTheBounds(t *testing.T) {
	scaleBounds(t, maxUnpacked/8, maxInflated/8)
	maxArtifactSize /= 8
	data := worstResource(t)
	assert.Greater(t, int64(len(data)), maxArtifactSize*15/16, "reads and hashes nearly all it may")
	a, err := inspectBytes(t, data)
	require.NoError(t, err)
	assert.Len(t, a.Extras, 15, "inflates nearly all it may")
}
