package plan

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

const (
	api       = "magnum-api"
	conductor = "magnum-conductor"
	confFile  = "/etc/magnum/magnum.conf.d/99-capi.conf"
	kubeFile  = "/etc/magnum/capi/kubeconfig"
	dropIn    = "/etc/systemd/system/magnum-api.service.d/50-magnum-capi-graft.conf"
	defFile   = "/etc/default/magnum-conductor"
)

func TestAddFoldsRestarts(t *testing.T) {
	var p Plan
	p.Add(Change{Kind: Write, Path: confFile, Restarts: []string{api, conductor}})
	assert.False(t, p.Reload, "a config file needs no daemon-reload")
	p.Add(Change{Kind: Write, Path: kubeFile, Restarts: []string{api, conductor}})
	p.Add(Change{Kind: Write, Path: defFile, Restarts: []string{conductor}})
	p.Add(Change{Kind: Mkdir, Path: "/etc/systemd/system/magnum-api.service.d"})
	// The same path twice (e.g. a write then a chmod) is one reason.
	p.Add(Change{Kind: Write, Path: confFile, Restarts: []string{conductor}})

	assert.Len(t, p.Changes, 5, "every change is kept, in order")
	assert.Equal(t, Kind(Mkdir), p.Changes[3].Kind)
	assert.Equal(t, []Restart{
		{Service: api, Because: []string{confFile, kubeFile}},
		{Service: conductor, Because: []string{confFile, kubeFile, defFile}},
	}, p.Restarts, "each service once, each reason once")
	assert.False(t, p.Reload)

	p.Add(Change{Kind: Write, Path: dropIn, Restarts: []string{api}, UnitFile: true})
	assert.True(t, p.Reload, "a drop-in needs a daemon-reload")
	assert.Equal(t, []string{confFile, kubeFile, dropIn}, p.Restarts[0].Because)

	p.Add(Change{Kind: Remove, Path: "/etc/default/magnum-api"})
	assert.True(t, p.Reload, "Reload, once set, stays set")
	assert.Len(t, p.Restarts, 2)
}

func TestNeedRestart(t *testing.T) {
	var p Plan
	p.NeedRestart(api, "driver installed")
	p.NeedRestart(api, "driver installed")
	p.NeedRestart(conductor, "driver installed")
	assert.Equal(t, []Restart{{api, []string{"driver installed"}}, {conductor, []string{"driver installed"}}}, p.Restarts)
	assert.False(t, p.Reload)
	assert.Empty(t, p.Changes)
}

func TestOrder(t *testing.T) {
	var p Plan
	p.NeedRestart(conductor, "a")
	p.NeedRestart(api, "b")
	p.NeedRestart(conductor, "c")
	p.Order([]string{api, conductor})
	assert.Equal(t, []string{api, conductor}, services(p))
	assert.Equal(t, []string{"b"}, p.Restarts[0].Because, "reasons move with their service")
	assert.Equal(t, []string{"a", "c"}, p.Restarts[1].Because)
	p.Order([]string{conductor, api})
	assert.Equal(t, []string{conductor, api}, services(p))
	p.Order([]string{conductor, api})
	assert.Equal(t, []string{conductor, api}, services(p), "ordering twice changes nothing")
}

func services(p Plan) []string {
	var out []string
	for _, r := range p.Restarts {
		out = append(out, r.Service)
	}
	return out
}

func TestEmpty(t *testing.T) {
	assert.True(t, (&Plan{}).Empty())
	assert.True(t, (&Plan{Skipped: []string{"restart magnum-api: masked"}}).Empty(), "a skipped restart changes nothing")
	assert.False(t, (&Plan{Changes: []Change{{Kind: Chmod, Path: confFile}}}).Empty())
	assert.False(t, (&Plan{Reload: true}).Empty())
	assert.False(t, (&Plan{Restarts: []Restart{{Service: api}}}).Empty())
}

func TestChangeString(t *testing.T) {
	for _, tc := range []struct {
		c    Change
		want string
	}{
		{Change{Kind: Write, Path: confFile, Mode: 0o640, Owner: "root", Group: "magnum", Why: "absent"},
			"write /etc/magnum/magnum.conf.d/99-capi.conf root:magnum 0640 (absent)"},
		{Change{Kind: Mkdir, Path: "/etc/magnum/capi", Mode: 0o750 | os.ModeDir, Owner: "root", Group: "magnum"},
			"mkdir /etc/magnum/capi root:magnum 0750"},
		{Change{Kind: Chmod, Path: kubeFile, Mode: 0o640, Owner: "root", Group: "magnum", Why: "was root:root 0644"},
			"chmod /etc/magnum/capi/kubeconfig root:magnum 0640 (was root:root 0644)"},
		{Change{Kind: Remove, Path: "/etc/default/magnum-api", Mode: 0o644, Owner: "root", Why: "the charm created it"},
			"remove /etc/default/magnum-api (the charm created it)"},
		{Change{Kind: Rmdir, Path: "/etc/magnum/capi"}, "rmdir /etc/magnum/capi"},
		{Change{Kind: Restore, Path: defFile, Why: "as before the charm"}, "restore /etc/default/magnum-conductor (as before the charm)"},
	} {
		assert.Equal(t, tc.want, tc.c.String())
	}
	// Content, secret or not, is never part of what is printed.
	c := Change{Kind: Write, Path: kubeFile, Content: []byte("client-key-data: c2VjcmV0"), Secret: true, Mode: 0o640, Owner: "root", Group: "magnum"}
	assert.NotContains(t, c.String(), "c2VjcmV0")
}

func TestLinesAndString(t *testing.T) {
	var p Plan
	assert.Empty(t, p.Lines())
	assert.Equal(t, "nothing to do: the unit is converged\n", p.String())

	p.Skipped = []string{"restart magnum-api: masked (paused)"}
	assert.Equal(t, []string{"skip restart magnum-api: masked (paused)"}, p.Lines())
	assert.Equal(t, "skip restart magnum-api: masked (paused)\n", p.String(), "a skipped restart is not converged silence")

	p = Plan{}
	p.Add(Change{Kind: Write, Path: confFile, Mode: 0o640, Owner: "root", Group: "magnum", Why: "content differs", Restarts: []string{api, conductor}})
	p.Add(Change{Kind: Mkdir, Path: "/etc/systemd/system/magnum-api.service.d", Mode: 0o755, Owner: "root", Group: "root", Why: "absent"})
	p.Add(Change{Kind: Write, Path: dropIn, Mode: 0o644, Owner: "root", Group: "root", Why: "absent", Restarts: []string{api}, UnitFile: true})
	p.Skipped = []string{"restart magnum-conductor: stopped"}
	want := []string{
		"write /etc/magnum/magnum.conf.d/99-capi.conf root:magnum 0640 (content differs)",
		"mkdir /etc/systemd/system/magnum-api.service.d root:root 0755 (absent)",
		"write /etc/systemd/system/magnum-api.service.d/50-magnum-capi-graft.conf root:root 0644 (absent)",
		"daemon-reload",
		"restart magnum-api (/etc/magnum/magnum.conf.d/99-capi.conf, /etc/systemd/system/magnum-api.service.d/50-magnum-capi-graft.conf)",
		"restart magnum-conductor (/etc/magnum/magnum.conf.d/99-capi.conf)",
		"skip restart magnum-conductor: stopped",
	}
	assert.Equal(t, want, p.Lines())
	s := p.String()
	assert.Equal(t, want[0]+"\n"+want[1]+"\n"+want[2]+"\n"+want[3]+"\n"+want[4]+"\n"+want[5]+"\n"+want[6]+"\n", s)
	assert.NotContains(t, s, "converged")
}

func TestChangedAndRestarting(t *testing.T) {
	p := &Plan{}
	p.Add(Change{Kind: Write, Path: "/etc/magnum/kubeconfig"})
	p.NeedRestart(api, "kubeconfig changed")
	assert.True(t, p.Changed("/etc/magnum/kubeconfig"))
	assert.False(t, p.Changed("/etc/magnum/magnum.conf.d"))
	assert.True(t, p.Restarting(api))
	assert.False(t, p.Restarting(conductor))
}
