//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
)

// smokeTest runs the smoke-test action as the README says, against the
// contract server (testbed/fakecloud) serving on the Magnum machine at conn: the
// cloud's credentials in a granted secret (the password and the CA from
// files), the action on the leader. The server holds the cluster in
// CREATE_IN_PROGRESS a while; its records must show one template and one
// cluster created, watched until complete, and both deleted.
func (o *operator) smokeTest(work string, conn fakecloud.Connection) {
	t := o.t
	ca, err := o.box.ReadFile(conn.CAFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(work, "ca.pem"), ca, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(work, "password"), []byte(conn.Password), 0o600))

	// The README's command: the password and the CA from files, the
	// optional keys only when the cloud has them.
	c := conn.SecretContent(nil)
	args := []string{"add-secret", "openstack-creds", "auth-url=" + c["auth-url"], "username=" + c["username"],
		"password#file=password", "project-name=" + c["project-name"], "user-domain-name=" + c["user-domain-name"],
		"project-domain-name=" + c["project-domain-name"]}
	for _, k := range []string{"region-name", "interface"} {
		if c[k] != "" {
			args = append(args, k+"="+c[k])
		}
	}
	uri := strings.TrimSpace(o.run(append(args, "cacert#file=ca.pem")...))
	require.Regexp(t, `^secret:[a-z0-9]+$`, uri)
	o.run("grant-secret", "openstack-creds", app)

	params := []string{"credentials=" + uri, "timeout=5m"}
	p := conn.SmokeTestParams()
	pkeys := make([]string, 0, len(p))
	for k := range p {
		pkeys = append(pkeys, k)
	}
	sort.Strings(pkeys)
	for _, k := range pkeys {
		params = append(params, k+"="+p[k].(string))
	}
	start := time.Now()
	out, err := o.juju.Run(o.ctx, append([]string{"run", app + "/leader", "smoke-test"}, append(params, "--format=json")...)...)
	logf("e2e: smoke-test took %s", time.Since(start).Round(time.Second))
	assert.NotContains(t, out, conn.Password, "the password is in the action's output")
	var tasks map[string]struct {
		Status  string         `json:"status"`
		Message string         `json:"message"`
		Results map[string]any `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &tasks), "juju run smoke-test: %v\n%s", err, out)
	require.Len(t, tasks, 1, out)
	for unit, task := range tasks {
		assert.Equal(t, o.unit, unit, "the leader is the one unit")
		require.Equal(t, "completed", task.Status, "%s: %v", task.Message, task.Results)
		assert.Equal(t, fakecloud.CreateComplete, task.Results["status"])
		assert.Equal(t, "false", task.Results["kept"])
	}

	rec, err := o.box.FakeCloudRecords()
	require.NoError(t, err)
	lines := strings.Join(rec.Lines(), "\n")
	assert.Len(t, rec.Matching("POST", "/magnum/v1/clustertemplates"), 1, lines)
	clusters := rec.Matching("POST", "/magnum/v1/clusters")
	require.Len(t, clusters, 1, lines)
	var held, deleted int
	for _, q := range rec.Requests {
		switch {
		case q.ClusterStatus == fakecloud.CreateInProgress:
			held++
		case q.Method == "DELETE" && q.Status == 204:
			deleted++
		}
	}
	assert.NotZero(t, held, "the cluster was never seen in progress:\n%s", lines)
	assert.Equal(t, 2, deleted, "the cluster and the template deleted:\n%s", lines)
	assert.Empty(t, rec.Templates, "templates left")
	assert.Empty(t, rec.Clusters, "clusters left")
}
