package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tarball(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range members {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestHelmFromResource(t *testing.T) {
	elf := []byte("\x7fELF\x02\x01\x01 helm")
	got, err := helmFromResource(elf)
	require.NoError(t, err)
	assert.Equal(t, elf, got)

	got, err = helmFromResource(tarball(t, map[string][]byte{"linux-amd64/helm": elf, "linux-amd64/LICENSE": []byte("Apache")}))
	require.NoError(t, err)
	assert.Equal(t, elf, got)

	_, err = helmFromResource(tarball(t, map[string][]byte{"linux-amd64/LICENSE": []byte("Apache")}))
	assert.ErrorContains(t, err, "no linux-amd64/helm in the tarball (it holds linux-amd64/LICENSE)")
	_, err = helmFromResource(tarball(t, map[string][]byte{"linux-amd64/helm": []byte("#!/bin/sh\necho v3\n")}))
	assert.ErrorContains(t, err, "is not a Linux binary")
	_, err = helmFromResource(tarball(t, map[string][]byte{"a/b/c/helm": elf}))
	assert.ErrorContains(t, err, "no linux-amd64/helm")
	_, err = helmFromResource([]byte("PK\x03\x04 a zip"))
	assert.ErrorContains(t, err, "neither a helm release tarball")
}

// TestHelmFromResourceRefusesOversize: a binary over the limit is refused by
// name, never cut to the limit and installed.
func TestHelmFromResourceRefusesOversize(t *testing.T) {
	old := maxHelmSize
	maxHelmSize = 1 << 10
	t.Cleanup(func() { maxHelmSize = old })
	big := append([]byte("\x7fELF\x02\x01\x01"), bytes.Repeat([]byte{0}, 2<<10)...)
	_, err := helmFromResource(tarball(t, map[string][]byte{"linux-amd64/helm": big}))
	assert.EqualError(t, err, "linux-amd64/helm in the tarball is larger than 1 KiB")

	// What comes before helm is unpacked only to be skipped: bounded too.
	_, err = helmFromResource(tarball(t, map[string][]byte{"linux-amd64/LICENSE": make([]byte, maxHelmTarExtra+(2<<10))}))
	assert.EqualError(t, err, "read tarball: too large: unpacks to more than 16385 KiB")
	many := map[string][]byte{}
	for i := range maxHelmTarMembers + 1 {
		many[fmt.Sprintf("a/%03d", i)] = nil
	}
	_, err = helmFromResource(tarball(t, many))
	assert.EqualError(t, err, "the tarball holds more than 64 files before linux-amd64/helm")
}
