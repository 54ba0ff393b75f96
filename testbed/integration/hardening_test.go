//go:build integration

package integration

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// TestHostileInputsOnARealUnit: on a real Magnum unit, a FIFO named as the
// kubeconfig's certificate-authority blocks the hook at once and changes
// nothing (it must not hang a hook holding the machine lock); the leftover
// of a write a killed hook never finished is removed by the next hook; and
// removal still leaves the unit exactly as it was (the leftover was never
// the charm's to put back). The fake Juju's leak check runs as in every
// box test.
func TestHostileInputsOnARealUnit(t *testing.T) {
	u := bootRelabelled140(t, "bookworm")
	pristine := u.manifest()
	u.graft()
	u.requireStatus("active", "conf.d read by")

	stale := kubeFile + ".BCDFGHJKLM01~"
	writeFile(t, u, stale, "apiVersion: v1\nusers: [half", 0o640)
	u.hook("update-status")
	u.requireStatus("active", "conf.d read by")
	_, err := os.Stat(u.box.Path(stale))
	assert.True(t, os.IsNotExist(err), "a killed write's leftover outlived the next hook")

	good, err := os.ReadFile(u.box.Path(testbed.ManagementKubeconfig))
	require.NoError(t, err)
	u.run("mkfifo", "/root/ca.fifo")
	fifo := regexp.MustCompile(`certificate-authority-data: \S+`).ReplaceAll(good, []byte("certificate-authority: /root/ca.fifo"))
	require.NotEqual(t, good, fifo)
	writeFile(t, u, "/root/fifo.kubeconfig", string(fifo), 0o600)
	before := u.manifest()
	_, err = u.box.Fake(u.ctx, "update-secret", u.secret, "kubeconfig#file=/root/fifo.kubeconfig")
	require.NoError(t, err)
	// A deadline only so that a hang fails the test instead of stalling it.
	ctx, cancel := context.WithTimeout(u.ctx, 5*time.Minute)
	defer cancel()
	require.NoError(t, u.box.Hook(ctx, "secret-changed", "JUJU_SECRET_ID="+u.secret))
	u.requireStatus("blocked", "kubeconfig: certificate-authority is not a regular file on the unit")
	requireSame(t, before, u.manifest(), "a kubeconfig naming a FIFO")

	writeFile(t, u, "/root/good.kubeconfig", string(good), 0o600)
	_, err = u.box.Fake(u.ctx, "update-secret", u.secret, "kubeconfig#file=/root/good.kubeconfig")
	require.NoError(t, err)
	u.hook("secret-changed", "JUJU_SECRET_ID="+u.secret)
	u.requireStatus("active", "conf.d read by")

	u.removeCharm()
	u.run("rm", "-f", "/root/ca.fifo", "/root/fifo.kubeconfig", "/root/good.kubeconfig")
	requireSame(t, pristine, u.manifest(), "removal")
}
