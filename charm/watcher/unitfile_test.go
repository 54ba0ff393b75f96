package watcher

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnitFile(t *testing.T) {
	got := UnitFile("/var/lib/juju/agents/unit-magnum-capi-graft-0/charm/bin/magnum-capi-graft",
		"magnum-capi-graft/0", "/var/lib/magnum-capi-graft/watch.json", "/usr/bin/juju-exec", "9876-1700000000")
	want := `[Unit]
Description=magnum-capi-graft watcher: re-grafts magnum-capi-helm when Magnum changes
After=magnum-api.service magnum-conductor.service

[Service]
Type=simple
Environment=MAGNUM_CAPI_GRAFT_BUILD=9876-1700000000
ExecStart=/var/lib/juju/agents/unit-magnum-capi-graft-0/charm/bin/magnum-capi-graft watch --unit magnum-capi-graft/0 --watch-list /var/lib/magnum-capi-graft/watch.json --juju-exec /usr/bin/juju-exec
Restart=always
RestartSec=5
MemoryMax=64M

[Install]
WantedBy=multi-user.target
`
	assert.Equal(t, want, string(got))
	assert.NotContains(t, string(got), "Wants=", "the watcher must not pull in Magnum's services")
}

func TestExecLineQuoting(t *testing.T) {
	assert.Equal(t, `/opt/bin/x watch --unit a/0`, execLine("/opt/bin/x", "watch", "--unit", "a/0"))
	assert.Equal(t, `"/opt/my charm/x" 100%%`, execLine("/opt/my charm/x", "100%"))
	assert.Equal(t, `"a\"b\\c$$HOME" ""`, execLine(`a"b\c$HOME`, ""))
}
