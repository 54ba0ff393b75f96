package confd

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/ini.v1"
)

func optionNames(typ Type) []string {
	var names []string
	for _, o := range catalogue {
		if o.Type == typ {
			names = append(names, o.Name)
		}
	}
	return names
}

// FuzzValidate drives Validate and Render with arbitrary values. Neither may
// panic; they must agree on what is acceptable; and whatever is accepted must
// render to ASCII that ini.v1 parses back to exactly the values meant, with
// plain strings unchanged.
//
// The seed corpus is in testdata/fuzz/FuzzValidate. Run the fuzzer with
// go test -run '^$' -fuzz FuzzValidate -fuzztime 30s ./charm/confd
func FuzzValidate(f *testing.F) {
	strOpts := optionNames(String)
	listOpts := optionNames(List)
	intOpts := optionNames(Int)
	boolOpts := optionNames(Bool)

	f.Add(uint8(3), uint16(0x0300), "magnum-east", "Ready,Available", `{"Cluster":{"api_version":"cluster.x-k8s.io/v1beta2"}}`, `{"monitoring_enabled":true,"max_node_count":3}`, "/etc/magnum/capi-kubeconfig", 2048.0, true)
	f.Add(uint8(0), uint16(1), "https://example.com/c#a;b", "zone=a, zone=b", "", "", "/etc/magnum/kube", 1.5, false)

	f.Fuzz(func(t *testing.T, ver uint8, pick uint16, s, list, apiResources, labels, kube string, n float64, b bool) {
		version := Versions[int(ver)%len(Versions)]
		if ver == 0xff {
			// Now and then, a driver version the catalogue does not know.
			version = s
		}
		cfg := map[string]any{
			strOpts[int(pick)%len(strOpts)]:       s,
			listOpts[int(pick>>4)%len(listOpts)]:  list,
			intOpts[int(pick>>8)%len(intOpts)]:    n,
			boolOpts[int(pick>>9)%len(boolOpts)]:  b,
			"service-wiring":                      s, // not ours: ignored
			strOpts[int(pick>>12)%len(strOpts)]:   s,
			listOpts[int(pick>>10)%len(listOpts)]: s,
		}
		if pick&0x0100 != 0 {
			cfg["api-resources"] = apiResources
		}
		if pick&0x0200 != 0 {
			cfg["cluster-labels"] = labels
		}
		if pick&0x8000 != 0 {
			// The wrong type for a string option.
			cfg[strOpts[int(pick>>11)%len(strOpts)]] = n
		}

		problems := Check(cfg, version)
		out, err := Render(cfg, version, kube)
		if len(problems) > 0 || checkKubeconfigPath(kube) != "" {
			require.Error(t, err, "Render accepted what Validate refused")
			require.Nil(t, out)
			for _, p := range problems {
				require.NotEmpty(t, p.Option)
				require.NotEmpty(t, p.Message)
			}
			return
		}
		require.NoError(t, err, "Validate accepted but Render refused")

		for i, c := range out {
			require.Less(t, c, byte(0x80), "non-ASCII byte at %d", i)
		}
		require.True(t, bytes.HasPrefix(out, []byte(Header)))
		require.True(t, bytes.HasSuffix(out, []byte("\n")))

		settings, _ := resolve(cfg, version)
		settings = append(settings, setting{Group: GroupCapiHelm, Key: KubeconfigKey, Value: kube})
		parsed, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true}, out)
		require.NoError(t, err)
		total := 0
		for _, sec := range parsed.Sections() {
			total += len(sec.Keys())
		}
		require.Equal(t, len(settings), total, "ini.v1 reads a different number of keys:\n%s", out)
		for _, st := range settings {
			sec, err := parsed.GetSection(st.Group)
			require.NoError(t, err)
			key, err := sec.GetKey(st.Key)
			require.NoError(t, err)
			require.Equal(t, st.Value, key.String(), "[%s] %s in\n%s", st.Group, st.Key, out)
			if o, ok := Lookup(st.Option); ok && o.Type == String {
				require.Equal(t, cfg[o.Name], key.String(), "a plain string must be written unchanged")
			}
		}

		again, err := Render(cfg, version, kube)
		require.NoError(t, err)
		require.Equal(t, out, again)
	})
}
