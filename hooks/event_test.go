package hooks

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
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
	for _, kind := range []string{"created", "joined", "changed", "departed"} {
		assert.Equal(t, Reconcile, HookEffect("graft-relation-"+kind), kind)
	}
	assert.Equal(t, Ignore, HookEffect("graft-relation-broken"), "Juju never breaks a peer relation")
	assert.Equal(t, Reconcile, HookEffect("leader-elected"))
	assert.Equal(t, Reconcile, HookEffect("leader-settings-changed"))
	assert.Equal(t, Ignore, HookEffect("collect-metrics"))
}

// TestEveryRelationHookIsInTheTable: a unit joining any relation endpoint
// metadata.yaml declares reconciles, and so does every hook of a peer
// endpoint, so none is ignored by accident.
func TestEveryRelationHookIsInTheTable(t *testing.T) {
	data, err := os.ReadFile("../metadata.yaml")
	require.NoError(t, err)
	var meta struct {
		Requires map[string]any `yaml:"requires"`
		Provides map[string]any `yaml:"provides"`
		Peers    map[string]any `yaml:"peers"`
	}
	require.NoError(t, yaml.Unmarshal(data, &meta))
	endpoints := map[string]map[string]any{"requires": meta.Requires, "provides": meta.Provides, "peers": meta.Peers}
	n := 0
	for _, kind := range []string{"requires", "provides", "peers"} {
		for endpoint := range endpoints[kind] {
			n++
			hooks := []string{"joined"}
			if kind == "peers" {
				hooks = []string{"created", "joined", "changed", "departed"}
			}
			for _, hook := range hooks {
				assert.Equal(t, Reconcile, HookEffect(endpoint+"-relation-"+hook), "%s %s", kind, endpoint)
			}
		}
	}
	assert.Equal(t, 2, n, "juju-info and graft")
}
