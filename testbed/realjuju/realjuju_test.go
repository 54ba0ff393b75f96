package realjuju

import (
	"archive/zip"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPickPrefixAvoidsTheHostsNetworks(t *testing.T) {
	taken, err := hostPrefixes()
	require.NoError(t, err)
	for seed := uint32(0); seed < 50; seed++ {
		p, err := pickPrefix(seed * 7919)
		require.NoError(t, err)
		assert.Equal(t, 24, p.Bits())
		assert.True(t, netip.MustParsePrefix("10.0.0.0/8").Contains(p.Addr()), p)
		for _, h := range taken {
			assert.False(t, h.Overlaps(p), "%s overlaps the host's %s", p, h)
		}
	}
	n := network{Bridge: "rjuju-x", Prefix: netip.MustParsePrefix("10.201.7.0/24")}
	assert.Equal(t, "10.201.7.1", n.hostAddr().String())
	assert.Equal(t, "10.201.7.3", n.nth(3).String())
	assert.Contains(t, n.networkdFile(n.nth(3)), "Address=10.201.7.3/24\n")
}

func TestPasswdIDs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	require.NoError(t, os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\nubuntu:x:1000:1001::/home/ubuntu:/bin/bash\n"), 0o644))
	uid, gid, err := passwdIDs(p, "ubuntu")
	require.NoError(t, err)
	assert.Equal(t, []int{1000, 1001}, []int{uid, gid})
	_, _, err = passwdIDs(p, "syslog")
	assert.Error(t, err)
}

func TestListedSum(t *testing.T) {
	p := filepath.Join(t.TempDir(), "SHA256SUMS")
	require.NoError(t, os.WriteFile(p, []byte("abc  juju-4.0.15-linux-amd64.tar.zst\ndef  juju-4.0.15/juju\n"), 0o644))
	sum, ok, err := listedSum(p, "juju-4.0.15-linux-amd64.tar.zst")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "abc", sum)
	_, ok, err = listedSum(p, "other.tar.zst")
	require.NoError(t, err)
	assert.False(t, ok)
	_, ok, err = listedSum(filepath.Join(t.TempDir(), "none"), "x")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestUnpackSaysWhenThereIsNoRelease(t *testing.T) {
	_, err := Unpack(t.TempDir())
	assert.ErrorIs(t, err, ErrNoDist)
}

// A subordinate is listed under its principal in `juju status`; Units finds
// it there, on its principal's machine.
func TestStatusUnits(t *testing.T) {
	const out = `{"machines":{"0":{"juju-status":{"current":"started"},"dns-name":"10.201.7.3","ip-addresses":["10.201.7.3"]}},
"applications":{"magnum":{"units":{"magnum/0":{"workload-status":{"current":"active","message":"Magnum"},"juju-status":{"current":"idle"},"machine":"0",
"subordinates":{"magnum-capi-graft/2":{"workload-status":{"current":"blocked","message":"kubeconfig is not set"},"juju-status":{"current":"idle"}}}}}},
"magnum-capi-graft":{"units":null}}}`
	var st Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	units := st.Units("magnum-capi-graft")
	require.Contains(t, units, "magnum-capi-graft/2")
	assert.Equal(t, "0", units["magnum-capi-graft/2"].Machine)
	assert.Equal(t, "blocked: kubeconfig is not set", units["magnum-capi-graft/2"].WorkloadStatus.String())
	assert.Equal(t, []string{"magnum/0"}, st.UnitNames("magnum"))
	id, ok := st.MachineAt("10.201.7.3")
	assert.True(t, ok)
	assert.Equal(t, "0", id)
	_, ok = st.MachineAt("10.201.7.4")
	assert.False(t, ok)
}

func TestStubCharmsKeepDispatchExecutable(t *testing.T) {
	for name, files := range map[string]map[string]charmFile{"juju-controller": ControllerCharm, "magnum": MagnumCharm} {
		p := filepath.Join(t.TempDir(), name+".charm")
		require.NoError(t, WriteCharm(p, files))
		zr, err := zip.OpenReader(p)
		require.NoError(t, err)
		modes := map[string]os.FileMode{}
		for _, f := range zr.File {
			modes[f.Name] = f.Mode().Perm()
		}
		zr.Close()
		assert.Equal(t, os.FileMode(0o755), modes["dispatch"], name)
		assert.Contains(t, modes, "manifest.yaml", name)
		assert.Contains(t, modes, "metadata.yaml", name)
	}
}
