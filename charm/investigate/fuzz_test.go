package investigate

import (
	"encoding/json"
	"testing"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// FuzzShellKeys: whatever an /etc/default file holds, investigate's report
// of it is something action-set accepts: one odd line must never cost the
// action all its results.
func FuzzShellKeys(f *testing.F) {
	f.Add([]byte(hostileDefaults))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, unkeyed := parseShellKeys(data)
		s := Service{DefaultKeys: map[string]map[string]string{"magnum-api": keys},
			DefaultUnkeyed: map[string][]string{"magnum-api": unkeyed}}
		b, err := json.Marshal(map[string]any{"services": map[string]Service{"magnum-api": s}})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if _, err := hooktool.FlattenActionResults(m); err != nil {
			t.Fatalf("action-set would refuse the report: %v", err)
		}
	})
}
