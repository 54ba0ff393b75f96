//go:build integration

package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
)

// TestSmokeTestAgainstTheContractServer runs the charm's smoke-test action
// through the fake agent against the contract server serving inside the
// box, as an operator would run it against their cloud: the credentials in a
// granted secret, with the server's CA as its cacert. The server holds the
// cluster in CREATE_IN_PROGRESS for a while. The action's outcome and the
// server's records must tell the same story: one template and one cluster
// created from the given resources, the cluster watched until
// CREATE_COMPLETE, then the cluster and the template deleted, nothing left.
func TestSmokeTestAgainstTheContractServer(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	const hold = 20 * time.Second
	conn, err := u.box.StartFakeCloud(u.ctx, artifacts.FakeCloud, "--hold", hold.String())
	require.NoError(t, err)

	// juju add-secret smoke-creds auth-url=... cacert#file=ca.pem
	args := []string{"add-secret", "--grant"}
	for k, v := range conn.SecretContent(nil) {
		if k != "cacert" {
			args = append(args, k+"="+v)
		}
	}
	args = append(args, "cacert#file="+conn.CAFile)
	out, err := u.box.Fake(u.ctx, args...)
	require.NoError(t, err)
	params := conn.SmokeTestParams()
	params["credentials"] = strings.TrimSpace(out)
	params["timeout"] = "5m"

	start := time.Now()
	res := u.action("smoke-test", params)
	t.Logf("smoke-test took %s; phases %v", time.Since(start).Round(time.Second), res.Results["phases"])

	require.Equal(t, "completed", res.Status, "message: %s\nlogs:\n%s", res.Message, strings.Join(res.Logs, "\n"))
	r := res.Results
	assert.Equal(t, fakecloud.CreateComplete, r["status"])
	assert.Equal(t, "false", r["kept"])
	clusterName, _ := r["cluster-name"].(string)
	templateName, _ := r["template-name"].(string)
	clusterUUID, _ := r["cluster-uuid"].(string)
	require.NotEmpty(t, clusterName)
	require.NotEmpty(t, clusterUUID)
	assert.Equal(t, clusterName+"-tpl", templateName)
	phases, _ := r["phases"].(map[string]any)
	waited, err := time.ParseDuration(str(phases["wait"]))
	require.NoError(t, err, "phases: %v", phases)
	// The action looks at the cluster at once, after 10 s and after 25 s,
	// so it finds it complete about 25 s into a 20 s hold; the second of
	// slack covers the rounding of the reported phase time.
	assert.GreaterOrEqual(t, waited, hold-time.Second, "the action waited out the server's hold")
	logs := strings.Join(res.Logs, "\n")
	assert.Contains(t, logs, "cluster "+clusterName+": CREATE_IN_PROGRESS after")
	assert.Contains(t, logs, "cluster "+clusterName+": deleted after")
	whole, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(whole), conn.Password, "the password is in no action output")

	rec, err := u.box.FakeCloudRecords()
	require.NoError(t, err)
	lines := strings.Join(rec.Lines(), "\n")
	tpls := rec.Matching("POST", "/magnum/v1/clustertemplates")
	require.Len(t, tpls, 1, lines)
	assert.Equal(t, 201, tpls[0].Status)
	assert.Equal(t, templateName, tpls[0].Body["name"])
	assert.Equal(t, fakecloud.ImageID, tpls[0].Body["image_id"], "the image was resolved by name")
	assert.Equal(t, fakecloud.ExternalNetworkID, tpls[0].Body["external_network_id"])
	assert.Equal(t, conn.Keypair, tpls[0].Body["keypair_id"])
	assert.Equal(t, map[string]any{"kube_tag": conn.KubeTag}, tpls[0].Body["labels"])

	clusters := rec.Matching("POST", "/magnum/v1/clusters")
	require.Len(t, clusters, 1, lines)
	assert.Equal(t, 202, clusters[0].Status)
	assert.Equal(t, clusterName, clusters[0].Body["name"])
	templateUUID, _ := clusters[0].Body["cluster_template_id"].(string)
	require.NotEmpty(t, templateUUID)

	// Watched while held, until the one look that found it complete.
	var held, complete []fakecloud.Request
	for _, q := range rec.Matching("GET", "/magnum/v1/clusters/"+clusterUUID) {
		switch q.ClusterStatus {
		case fakecloud.CreateInProgress:
			held = append(held, q)
		case fakecloud.CreateComplete:
			complete = append(complete, q)
		}
	}
	assert.NotEmpty(t, held, lines)
	require.Len(t, complete, 1, lines)
	assert.GreaterOrEqual(t, complete[0].Time.Sub(clusters[0].Time), hold)

	// Deleted: the cluster, gone (404) before the template was touched.
	delCluster := rec.Matching("DELETE", "/magnum/v1/clusters/"+clusterUUID)
	require.Len(t, delCluster, 1, lines)
	assert.Equal(t, 204, delCluster[0].Status)
	delTemplate := rec.Matching("DELETE", "/magnum/v1/clustertemplates/"+templateUUID)
	require.Len(t, delTemplate, 1, lines)
	assert.Equal(t, 204, delTemplate[0].Status)
	var goneAt time.Time
	for _, q := range rec.Matching("GET", "/magnum/v1/clusters/"+clusterUUID) {
		if q.Status == 404 {
			goneAt = q.Time
		}
	}
	require.False(t, goneAt.IsZero(), "the cluster's GET answered 404 at last:\n%s", lines)
	assert.False(t, delTemplate[0].Time.Before(goneAt))
	assert.Empty(t, rec.Templates)
	assert.Empty(t, rec.Clusters)

	for _, q := range rec.Requests {
		if strings.HasPrefix(q.Path, "/magnum/") {
			assert.Equal(t, "container-infra latest", q.APIVersion, q.Line())
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
