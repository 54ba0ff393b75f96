package wiring

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// A running service is held to its wiring's promise unless a restart is
// pending; a masked or stopped one is waited for.
func TestJudge(t *testing.T) {
	running := systemd.Unit{ActiveState: "active", MainPID: 42}
	kept := []string{"/usr/bin/python3", "/usr/bin/magnum-conductor", configFileArg, configDirArg}
	broken := []string{"/usr/bin/python3", "/usr/bin/magnum-conductor", configFileArg}
	ws := []Wiring{{Service: "magnum-api", Method: ByDefaultFile}, {Service: "magnum-conductor", Method: ByDefaultFile}}
	none := func(string) bool { return false }

	v := Judge(ws, []unitshape.Service{{Name: "magnum-api", Unit: running, Cmdline: kept}, {Name: "magnum-conductor", Unit: running, Cmdline: kept}}, none)
	assert.Equal(t, Verdict{ReadBy: []string{"api (default-file)", "conductor (default-file)"}}, v)

	svcs := []unitshape.Service{{Name: "magnum-api", Unit: running, Cmdline: broken},
		{Name: "magnum-conductor", Unit: systemd.Unit{LoadState: "masked"}}}
	v = Judge(ws, svcs, none)
	assert.Equal(t, []string{"magnum-api: live command line lacks " + configDirArg}, v.Broken)
	assert.Equal(t, []string{"magnum-conductor is masked (paused)"}, v.Waiting)
	v = Judge(ws, svcs, func(svc string) bool { return svc == "magnum-api" })
	assert.Empty(t, v.Broken, "a restart is pending")

	svcs[1].Unit = systemd.Unit{ActiveState: "inactive"}
	assert.Equal(t, []string{"magnum-conductor is not running"}, Judge(ws, svcs, none).Waiting)
}
