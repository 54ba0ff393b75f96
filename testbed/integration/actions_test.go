//go:build integration

package integration

import (
	"encoding/base64"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// TestSecretRotation: a new secret revision with new content rewrites the
// kubeconfig atomically (root:magnum 0640) and restarts each service once;
// a new revision with the same content restarts nothing.
func TestSecretRotation(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	u.graft()
	u.requireStatus("active", "conf.d read by")
	kc, err := os.ReadFile(u.box.Path(testbed.ManagementKubeconfig))
	require.NoError(t, err)

	// The same credentials, rotated into a new revision in the base64 form
	// (a different document for the unit, the same cluster for Magnum).
	rotated := append([]byte("# rotated\n"), kc...)
	writeFile(t, u, "/root/rotated.b64", base64.StdEncoding.EncodeToString(rotated), 0o600)
	apiStarts, condStarts := u.starts("magnum-api"), u.starts("magnum-conductor")
	_, err = u.box.Fake(u.ctx, "update-secret", u.secret, "kubeconfig-base64#file=/root/rotated.b64")
	require.NoError(t, err)
	u.hook("secret-changed", "JUJU_SECRET_ID="+u.secret)
	u.requireStatus("active", "conf.d read by")
	got, err := os.ReadFile(u.box.Path(kubeFile))
	require.NoError(t, err)
	assert.Equal(t, rotated, got, "the kubeconfig file holds the new revision")
	assert.Equal(t, fmt.Sprintf("0:%d 0640", u.magnumGID()), u.owner(kubeFile))
	assert.Equal(t, apiStarts+1, u.starts("magnum-api"))
	assert.Equal(t, condStarts+1, u.starts("magnum-conductor"))

	// Same content again, as a new revision: nothing to do.
	mtime := u.mtimes(kubeFile)
	_, err = u.box.Fake(u.ctx, "update-secret", u.secret, "kubeconfig-base64#file=/root/rotated.b64")
	require.NoError(t, err)
	u.hook("secret-changed", "JUJU_SECRET_ID="+u.secret)
	u.requireStatus("active", "conf.d read by")
	assert.Equal(t, mtime, u.mtimes(kubeFile))
	assert.Equal(t, apiStarts+1, u.starts("magnum-api"))
	assert.Equal(t, condStarts+1, u.starts("magnum-conductor"))
}

// checkPass reads results[a][b]...["pass"].
func checkPass(t *testing.T, results map[string]any, path ...string) string {
	t.Helper()
	at := results
	for _, p := range path {
		next, ok := at[p].(map[string]any)
		require.True(t, ok, "no check %v in %v", path, results)
		at = next
	}
	s, _ := at["pass"].(string)
	return s
}

// TestVerifyFailsExactlyTheBrokenCheck breaks one condition at a time and
// expects exactly that check to fail. The first is the watcher itself; it
// then stays stopped so that nothing repairs the later breakages.
func TestVerifyFailsExactlyTheBrokenCheck(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	u.graft()
	u.requireStatus("active", "conf.d read by")
	results := u.requireVerified()
	assert.Equal(t, "true", checkPass(t, results, "watcher"))
	u.run("systemctl", "stop", "magnum-capi-graft-watcher")
	out := u.action("verify", nil)
	assert.Equal(t, "failed", out.Status)
	assert.Equal(t, []string{"watcher"}, testbed.FailedChecks(out.Results, ""), "the stopped watcher, and only it, fails")

	for _, tc := range []struct {
		name          string
		breakIt, mend []string
		check         []string
	}{
		{"conductor stopped", []string{"systemctl", "stop", "magnum-conductor"}, []string{"systemctl", "start", "magnum-conductor"},
			[]string{"magnum-conductor", "running"}},
		{"management cluster gone", []string{"systemctl", "stop", "fakek8s"}, nil,
			[]string{"management-cluster", "connection"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u.t = t
			u.run(tc.breakIt...)
			out := u.action("verify", nil)
			assert.Equal(t, "failed", out.Status)
			assert.Equal(t, "false", checkPass(t, out.Results, tc.check...), "%v should fail", tc.check)
			assert.Equal(t, "true", checkPass(t, out.Results, "magnum-api", "running"))
			if tc.mend != nil {
				u.run(tc.mend...)
			}
		})
	}
	u.t = t

	// The driver's activation removed, then helm: each fails its own check.
	t.Run("driver activation removed", func(t *testing.T) {
		u.t = t
		pth := "/usr/local/lib/python3.11/dist-packages/magnum-capi-graft.pth"
		saved, err := os.ReadFile(u.box.Path(pth))
		require.NoError(t, err)
		u.run("rm", pth)
		out := u.action("verify", nil)
		assert.Equal(t, "failed", out.Status)
		assert.Equal(t, "false", checkPass(t, out.Results, "driver", "entry-point"))
		assert.Equal(t, "true", checkPass(t, out.Results, "helm"))
		writeFile(t, u, pth, string(saved), 0o644)
	})
	t.Run("helm removed", func(t *testing.T) {
		u.t = t
		u.run("mv", "/usr/bin/helm", "/root/helm")
		out := u.action("verify", nil)
		assert.Equal(t, "failed", out.Status)
		assert.Equal(t, "false", checkPass(t, out.Results, "helm"))
		assert.Equal(t, "true", checkPass(t, out.Results, "driver", "entry-point"))
		u.run("mv", "/root/helm", "/usr/bin/helm")
	})
	u.t = t

	// The wiring dropped by hand (and the conductor restarted without it).
	t.Run("wiring dropped", func(t *testing.T) {
		u.t = t
		u.run("rm", condDef)
		u.run("systemctl", "restart", "magnum-conductor")
		out := u.action("verify", nil)
		assert.Equal(t, "failed", out.Status)
		assert.Equal(t, "false", checkPass(t, out.Results, "magnum-conductor", "wiring"))
		assert.Equal(t, "false", checkPass(t, out.Results, "converged"))
		assert.Equal(t, "true", checkPass(t, out.Results, "magnum-conductor", "running"))
		assert.Equal(t, "true", checkPass(t, out.Results, "magnum-api", "wiring"))
	})
}
