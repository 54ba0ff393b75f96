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

// Only the restart of a service that serves the graft now takes a turn.
func TestServing(t *testing.T) {
	running := systemd.Unit{ActiveState: "active", MainPID: 42}
	kept := []string{"/usr/bin/python3", "/usr/bin/magnum-conductor", configFileArg, configDirArg}
	unwired := []string{"/usr/bin/python3", "/usr/bin/magnum-conductor", configFileArg}
	ws := []Wiring{{Service: "magnum-api", Method: ByDefaultFile}, {Service: "magnum-conductor", Method: ByDefaultFile}}
	svcs := []unitshape.Service{{Name: "magnum-api", Unit: systemd.Unit{ActiveState: "inactive"}},
		{Name: "magnum-conductor", Unit: running, Cmdline: kept}}
	only := func(name string) func(string) bool { return func(s string) bool { return s == name } }

	assert.True(t, Serving(ws, svcs, only("magnum-conductor")))
	assert.False(t, Serving(ws, svcs, only("magnum-api")), "a stopped service serves nothing")
	svcs[1].Cmdline = unwired
	assert.False(t, Serving(ws, svcs, only("magnum-conductor")), "an unwired service serves no graft")
	svcs[1].Cmdline, svcs[1].LoadState = kept, "masked"
	assert.False(t, Serving(ws, svcs, only("magnum-conductor")), "a masked service is not restarted")
}

// A restarted service must run and keep the promise.
func TestCheckRestarted(t *testing.T) {
	w := Wiring{Service: "magnum-conductor", Method: ByDefaultFile}
	live := func(argv ...string) func(uint32) ([]string, error) {
		return func(uint32) ([]string, error) { return argv, nil }
	}
	running := systemd.Unit{ActiveState: "active", SubState: "running", MainPID: 42}
	assert.NoError(t, CheckRestarted(w, running, live("/usr/bin/python3", "/usr/bin/magnum-conductor", configFileArg, configDirArg)))
	assert.EqualError(t, CheckRestarted(w, running, live("/usr/bin/python3", "/usr/bin/magnum-conductor", configFileArg)),
		"magnum-conductor does not keep the wiring's promise (default-file) after its restart: live command line lacks "+configDirArg)
	assert.EqualError(t, CheckRestarted(w, systemd.Unit{ActiveState: "failed", SubState: "failed"}, live()),
		"magnum-conductor is failed/failed after its restart")
}
