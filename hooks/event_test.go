package hooks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		dispatch, argv0 string
		args            []string
		want            Event
	}{
		{"hooks/install", "./dispatch", nil, Event{Kind: Hook, Name: "install"}},
		{"actions/verify", "./dispatch", nil, Event{Kind: Action, Name: "verify"}},
		// juju-exec sets no JUJU_DISPATCH_PATH: the path run tells.
		{"", "hooks/update-status", nil, Event{Kind: Hook, Name: "update-status"}},
		{"", "/var/lib/juju/agents/unit-magnum-capi-graft-0/charm/hooks/update-status", nil, Event{Kind: Hook, Name: "update-status"}},
		{"", "hooks/update-status", []string{"--from-watcher"}, Event{Kind: Hook, Name: "update-status", FromWatcher: true}},
	} {
		got, err := Parse(tc.dispatch, tc.argv0, tc.args)
		require.NoError(t, err, tc)
		assert.Equal(t, tc.want, got)
	}
	_, err := Parse("", "/usr/bin/magnum-capi-graft", nil)
	assert.ErrorContains(t, err, "cannot tell the event")
	_, err = Parse("hooks/config-changed", "./dispatch", []string{"--from-watcher"})
	assert.ErrorContains(t, err, "takes no arguments", "only update-status is the watcher's")
	_, err = Parse("", "hooks/update-status", []string{"--from-watcher", "x"})
	assert.ErrorContains(t, err, "takes no arguments")
}

func TestHookEffect(t *testing.T) {
	assert.Equal(t, Reconcile, HookEffect("config-changed"))
	assert.Equal(t, Reconcile, HookEffect("secret-changed"))
	assert.Equal(t, Remove, HookEffect("remove"))
	assert.Equal(t, Remove, HookEffect("juju-info-relation-broken"))
	assert.Equal(t, Ignore, HookEffect("juju-info-relation-departed"))
	assert.Equal(t, Ignore, HookEffect("collect-metrics"))
}
