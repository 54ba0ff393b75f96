package hooks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		dispatch, argv0 string
		want            Event
	}{
		{"hooks/install", "./dispatch", Event{Hook, "install"}},
		{"actions/verify", "./dispatch", Event{Action, "verify"}},
		// juju-exec sets no JUJU_DISPATCH_PATH: the path run tells.
		{"", "hooks/update-status", Event{Hook, "update-status"}},
		{"", "/var/lib/juju/agents/unit-magnum-capi-graft-0/charm/hooks/update-status", Event{Hook, "update-status"}},
	} {
		got, err := Parse(tc.dispatch, tc.argv0)
		require.NoError(t, err, tc)
		assert.Equal(t, tc.want, got)
	}
	_, err := Parse("", "/usr/bin/magnum-capi-graft")
	assert.ErrorContains(t, err, "cannot tell the event")
}

func TestHookEffect(t *testing.T) {
	assert.Equal(t, Reconcile, HookEffect("config-changed"))
	assert.Equal(t, Reconcile, HookEffect("secret-changed"))
	assert.Equal(t, Remove, HookEffect("remove"))
	assert.Equal(t, Remove, HookEffect("juju-info-relation-broken"))
	assert.Equal(t, Ignore, HookEffect("juju-info-relation-departed"))
	assert.Equal(t, Ignore, HookEffect("collect-metrics"))
}
