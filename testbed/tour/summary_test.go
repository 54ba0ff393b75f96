package tour

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

func pass(ev string) map[string]any { return map[string]any{"pass": "true", "evidence": ev} }
func fail(ev string) map[string]any { return map[string]any{"pass": "false", "evidence": ev} }

// verified is a verify outcome where every check the summary reads passed.
func verified() *testbed.ActionOutcome {
	return &testbed.ActionOutcome{Status: "completed", Results: map[string]any{
		"converged": pass("no pending changes"),
		"management-cluster": map[string]any{
			"connection":                          pass("pass: https://127.0.0.1:6443/readyz ok"),
			"api-infrastructure-cluster-x-k8s-io": pass("pass: infrastructure.cluster.x-k8s.io/v1alpha6 serves OpenStackCluster"),
			"rbac-create-namespaces":              pass("pass: identity may create namespaces in all namespaces"),
		},
		"driver": map[string]any{
			"entry-point":  pass("magnum.drivers:k8s_capi_helm_v1 loads Driver from magnum-capi-helm 1.2.0 at /opt/x/driver.py"),
			"list-drivers": pass("magnum-driver-manage list-drivers as magnum lists k8s_capi_helm_v1"),
		},
		"helm":             pass("/usr/bin/helm version --short as magnum: v3.17.3"),
		"magnum-api":       map[string]any{"running": pass("active/running"), "wiring": pass("default-dirs: uwsgi"), "conf-d": pass("all 2 keys")},
		"magnum-conductor": map[string]any{"running": pass("active/running"), "wiring": pass("default-file: --config-dir"), "conf-d": pass("all 2 keys")},
		"watcher":          pass("magnum-capi-graft-watcher running"),
	}}
}

func goodReport() *Report {
	return &Report{
		Driver:         DriverInfo{Version: "1.2.0", Package: "python3-magnum-capi-helm 1.2.0-3", Wheel: "magnum_capi_helm-1.2.0-py3-none-any.whl"},
		Config:         map[string]string{"driver-version": "1.2.0"},
		Investigate:    &testbed.ActionOutcome{Status: "completed", Results: map[string]any{"magnum-version": "20.0.0"}},
		KubeconfigFile: "/etc/magnum/kubeconfig root:magnum 640",
		Verify:         verified(),
		VerifyAfter:    verified(),
		Repairs: []Repair{{Disruption: "wiring deleted", Repaired: true, Seconds: 6.2, StoppingSeconds: 1.1, ServiceStarts: 3,
			CharmRestarts: []string{"restart magnum-conductor (wiring)"}, Regrafts: 1,
			CharmLog:   []string{"INFO write /etc/default/magnum-conductor", "INFO restart magnum-conductor (wiring)"},
			WatcherLog: []string{"re-graft succeeded in 3.1s; changed: /etc/default/magnum-conductor"}}},
		SmokeTest: &testbed.ActionOutcome{Status: "completed", Results: map[string]any{"status": "CREATE_COMPLETE", "kept": "false",
			"cluster-name": "smoke-1", "template-name": "smoke-1-tpl", "phases": map[string]any{"wait": "1s"}}},
	}
}

func byStep(lines []Line) map[string]Line {
	m := map[string]Line{}
	for _, l := range lines {
		k := l.Step
		if k == "keep" {
			k = l.Title
		}
		m[k] = l
	}
	return m
}

func TestSummaryAllDone(t *testing.T) {
	lines := Summarize(goodReport())
	require.Len(t, lines, 10, "eight runbook steps, one repair, verify after")
	for _, l := range lines {
		assert.True(t, l.Done, "%s %s: %s", l.Step, l.Title, l.Evidence)
		assert.NotEmpty(t, l.How, l.Title)
		assert.NotEmpty(t, l.Evidence, l.Title)
	}
	s := byStep(lines)
	assert.Contains(t, s["2"].Evidence, "infrastructure.cluster.x-k8s.io/v1alpha6 serves OpenStackCluster")
	assert.Contains(t, s["3"].Evidence, "magnum-capi-helm 1.2.0 at /opt/x/driver.py")
	assert.Contains(t, s["7"].How, "proves nothing")
	after := s["After: wiring deleted"].Evidence
	assert.Contains(t, after, "converged 6.2 s after the disruption began (1.1 s of it systemd stopping")
	assert.Contains(t, after, "3 service starts: 2 by the disruption, 1 by the charm (restart magnum-conductor);")
	assert.Contains(t, after, "last: re-graft succeeded in 3.1s; repaired by the charm: INFO write")

	var out bytes.Buffer
	Print(&out, lines, 40)
	assert.Equal(t, len(lines), strings.Count(out.String(), "\n"), "one line per step:\n%s", out.String())
}

// Every line can say "not done": a failed check, a relabelled driver, no
// smoke test, a repair that did not converge.
func TestSummaryNotDone(t *testing.T) {
	r := goodReport()
	r.Verify.Results["magnum-conductor"].(map[string]any)["wiring"] = fail("default-file: no --config-dir on the live command line")
	delete(r.Verify.Results["driver"].(map[string]any), "list-drivers")
	r.Driver.Relabelled = true
	r.SmokeTest = nil
	r.Repairs = append(r.Repairs, Repair{Disruption: "packages reinstalled", Repaired: true, Seconds: 8, ServiceStarts: 2, Regrafts: 1})
	r.Repairs[0] = Repair{Disruption: "wiring deleted", Error: "not converged 1m30s after the disruption"}
	r.VerifyAfter.Results["watcher"] = fail("re-grafts stopped after 2 failures in a row")
	s := byStep(Summarize(r))
	for _, step := range []string{"3", "6", "7", "8", "After: wiring deleted", "Still true after the repairs"} {
		assert.False(t, s[step].Done, step)
	}
	for _, step := range []string{"1", "2", "4", "5", "After: packages reinstalled"} {
		assert.True(t, s[step].Done, step)
	}
	assert.Contains(t, s["6"].Evidence, "FAILED: conductor: default-file: no --config-dir")
	assert.Contains(t, s["7"].Evidence, "driver.list-drivers: not reported")
	assert.Equal(t, "not run (no contract server given)", s["8"].Evidence)
	assert.Equal(t, "not repaired: not converged 1m30s after the disruption", s["After: wiring deleted"].Evidence)
	// A disruption that needed no repair is done, and says so.
	assert.True(t, s["After: packages reinstalled"].Done)
	assert.Contains(t, s["After: packages reinstalled"].Evidence, "2 service starts: 2 by the disruption, 0 by the charm (nothing); 1 watcher re-graft(s), last: nothing; nothing to repair: the charm changed nothing")

	var out bytes.Buffer
	Print(&out, Summarize(r), 0)
	assert.Contains(t, out.String(), "NOT DONE")
}
