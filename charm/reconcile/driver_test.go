package reconcile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDriverConfig(t *testing.T) {
	dc, err := ParseDriverConfig(Config{Raw: map[string]any{}, DriverVersion: "1.4.0"})
	require.NoError(t, err)
	assert.Equal(t, DriverConfig{Source: SourceAuto, Version: "1.4.0", IndexURL: "https://pypi.org/simple",
		AptPackage: "python3-magnum-capi-helm"}, dc)

	dc, err = ParseDriverConfig(Config{DriverVersion: "1.2.0", Raw: map[string]any{
		"driver-source": "apt", "pip-index-url": "https://mirror.example/pypi/simple/",
		"driver-apt-package": "python3-magnum-capi-helm", "driver-apt-source": "ppa:canonical-openstack/magnum-capi-helm"}})
	require.NoError(t, err)
	assert.Equal(t, SourceApt, dc.Source)
	assert.Equal(t, "https://mirror.example/pypi/simple", dc.IndexURL)
	assert.Equal(t, "ppa:canonical-openstack/magnum-capi-helm", dc.AptSource)

	for _, tc := range []struct {
		key, value, want string
	}{
		{"driver-source", "pip", `driver-source "pip" is not one of auto, resource, index, apt`},
		{"pip-index-url", "http://pypi.org/simple", "pip-index-url must be an https URL"},
		{"pip-index-url", "pypi.org", "pip-index-url must be an https URL"},
		{"pip-index-url", "https://pypi.org/simple?x=1", "pip-index-url must be an https URL"},
		{"driver-apt-package", "Python3 Magnum", "is not a Debian package name"},
		{"driver-apt-package", "-oAPT::foo", "is not a Debian package name"},
		{"driver-apt-source", "--yes", "driver-apt-source must be one line"},
		{"driver-apt-source", "ppa:x/y\ndeb http://evil/ x main", "driver-apt-source must be one line"},
	} {
		_, err := ParseDriverConfig(Config{DriverVersion: "1.4.0", Raw: map[string]any{tc.key: tc.value}})
		assert.ErrorContains(t, err, tc.want, "%s=%q", tc.key, tc.value)
	}
}

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.0-3": "1.2.0", "1:1.2.0-3": "1.2.0", "1.2.0": "1.2.0", "1.3.0-0ubuntu1~cloud0": "1.3.0",
		"1.2.0+dfsg-1-2": "1.2.0+dfsg-1",
	} {
		assert.Equal(t, want, upstreamVersion(in), in)
	}
}

func TestParseCandidate(t *testing.T) {
	assert.Equal(t, "1.2.0-3", parseCandidate(`python3-magnum-capi-helm:
  Installed: (none)
  Candidate: 1.2.0-3
  Version table:
     1.2.0-3 500
        500 http://mirror.example/debian trixie/main amd64 Packages
`))
	assert.Equal(t, "", parseCandidate("python3-magnum-capi-helm:\n  Installed: (none)\n  Candidate: (none)\n"))
	assert.Equal(t, "", parseCandidate(""))
	assert.NoError(t, checkCandidate("p", "1.2.0-3", "", "1.2.0"))
	assert.ErrorContains(t, checkCandidate("p", "", "", "1.2.0"), "apt has no candidate for p")
	assert.ErrorContains(t, checkCandidate("p", "1.2.0-3", "1.1.0-1", "1.4.0"),
		"apt would install p 1.2.0-3 (1.1.0-1 is installed), but driver-version is 1.4.0: set driver-version=1.2.0")
}

func TestPthContentIsReadBackByOnePath(t *testing.T) {
	b := string(pthContent("/opt/magnum-capi-graft/driver/magnum-capi-helm-1.2.0-0123456789ab"))
	var paths []string
	for _, l := range bytes.Split([]byte(b), []byte("\n")) {
		if len(l) > 0 && l[0] != '#' {
			paths = append(paths, string(l))
		}
	}
	assert.Equal(t, []string{"/opt/magnum-capi-graft/driver/magnum-capi-helm-1.2.0-0123456789ab"}, paths)
}

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

func TestParseDpkgSearch(t *testing.T) {
	assert.Equal(t, "helm", parseDpkgSearch("helm: /usr/bin/helm\n", "/usr/bin/helm"))
	assert.Equal(t, "a", parseDpkgSearch("a, b: /usr/bin/helm\n", "/usr/bin/helm"))
	assert.Equal(t, "", parseDpkgSearch("diversion by x from: /usr/bin/helm\n", "/usr/bin/helm"))
	assert.Equal(t, "", parseDpkgSearch("helm: /usr/bin/helm-other\n", "/usr/bin/helm"))
	assert.Equal(t, "", parseDpkgSearch("", "/usr/bin/helm"))
}

func TestModelProxy(t *testing.T) {
	none, err := modelProxy("", "")
	require.NoError(t, err)
	assert.Nil(t, none)

	_, err = modelProxy("http://user:secret@%zz", "")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")

	proxy, err := modelProxy("squid.internal:3128", "10.0.0.0/8,.corp.example,pypi.mirror,192.168.1.5,*.svc:8443")
	require.NoError(t, err)
	use := func(rawURL string) string {
		u, err := url.Parse(rawURL)
		require.NoError(t, err)
		p, err := proxy(&http.Request{URL: u})
		require.NoError(t, err)
		if p == nil {
			return "direct"
		}
		return p.String()
	}
	assert.Equal(t, "http://squid.internal:3128", use("https://pypi.org/simple/"))
	assert.Equal(t, "direct", use("https://127.0.0.1:8443/"))
	assert.Equal(t, "direct", use("https://localhost/"))
	assert.Equal(t, "direct", use("https://10.1.2.3/simple/"))
	assert.Equal(t, "direct", use("https://pkgs.corp.example/"))
	assert.Equal(t, "http://squid.internal:3128", use("https://corp.example/"), ".corp.example matches subdomains only")
	assert.Equal(t, "direct", use("https://pypi.mirror/"))
	assert.Equal(t, "direct", use("https://a.pypi.mirror/"))
	assert.Equal(t, "direct", use("https://192.168.1.5/"))
	assert.Equal(t, "direct", use("https://x.svc:8443/"))
	assert.Equal(t, "http://squid.internal:3128", use("https://x.svc/"), "the port must match")
}
