package verify

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSummarySaysWhatACreateMeetsAndWhatFails(t *testing.T) {
	checks := []Check{
		{Name: "driver.collision", Pass: true, Evidence: "Magnum's loader as magnum picks vm/ubuntu/kubernetes: k8s_capi_helm_v1"},
		{Name: "driver.entry-point", Pass: true, Evidence: "magnum.drivers:k8s_capi_helm_v1 loads"},
		{Name: "helm", Pass: true, Evidence: "/usr/bin/helm version v3.17.3"},
		{Name: "magnum-conductor.proxy-env", Pass: true, Evidence: "main PID 7 carries the model's proxy (HTTPS_PROXY)"},
		{Name: "chart", Pass: true, Evidence: "warning: chart: cannot reach https://charts.example"},
		{Name: "management-cluster.readyz", Pass: true, Evidence: "pass: ok"},
		{Name: "compat.report", Pass: true, Evidence: "driver 1.4.0; Cluster API v1beta1; CAPO v1beta1; addons v1alpha1: the driver reads only what is served"},
		{Name: "keystone-ca", Pass: false, Evidence: "https://keystone:5000's certificate does not verify with /etc/ssl/x.pem"},
	}
	s := Summary(checks)
	assert.Contains(t, s, "When a user creates a cluster: the API and the conductor ask Magnum's driver loader")
	assert.Contains(t, s, "picks vm/ubuntu/kubernetes: k8s_capi_helm_v1")
	assert.Contains(t, s, "with the conductor's environment: main PID 7 carries the model's proxy (HTTPS_PROXY)")
	assert.Contains(t, s, "the driver reaches the management cluster (preflight from this unit); driver 1.4.0;")
	assert.Contains(t, s, "What would make it fail: chart: chart: cannot reach https://charts.example; keystone-ca: https://keystone:5000's certificate does not verify")

	checks[4] = Check{Name: "chart", Pass: true, Evidence: "https://charts.example serves openstack-cluster 0.16.0"}
	checks[7] = Check{Name: "keystone-ca", Pass: true, Evidence: "verifies"}
	assert.Contains(t, Summary(checks), "Nothing checked from this unit would make it fail.")
	assert.Contains(t, Summary(nil), "the management cluster was not preflighted (no kubeconfig)")
}
