package fakejuju

import (
	"fmt"
	"strings"
)

// Call is one hook tool call and what Juju answers it with. Agreement is
// the table both front ends of the unit agent are held to: this package's
// in-process tools (agreement_test.go) and Juju's own hook-tool code over a
// hookcontext.Context in the test bed (testbed/juju/hookcontext). Each row's
// expectations were taken from Juju's code; a row both pass is a call the
// unit tests' fake answers exactly as a real unit does.
type Call struct {
	// Name says what the row shows.
	Name string
	// Setup changes the state the call runs against: NewState(DefaultUnit)
	// with AgreementSecret granted (revisions 1 and 2, tracked 1),
	// AgreementHiddenSecret not granted, config options kubeconfig (that
	// secret), service-wiring "auto", minimum-flavor-ram 4096 and
	// namespace-prefix unset, the resources "driver" (an uploaded file)
	// and "helm" (Charmhub's empty placeholder), and the peer relation
	// graft:3 (see NewAgreementState).
	Setup func(*State)
	// InAction runs the call inside a running action (id "1", params
	// AgreementActionParams); otherwise in a hook.
	InAction bool
	// InRelation runs the call in a relation hook of that relation, for
	// that remote unit or application.
	InRelation *RelationHook
	Argv       []string
	Code       int
	// Stdout is the expected output; "{resources}" stands for the unit's
	// resources directory.
	Stdout string
	Stderr string
	// Check inspects the state after the call, once the hook has ended
	// well (when Juju commits relation settings); nil means nothing to
	// check.
	Check func(*State) error
}

// Secrets and params the table's rows use. The IDs are valid xids, as Juju
// checks (core/secrets ParseURI).
const (
	AgreementSecret       = "secret:d5ibqdnmp25c7793pr3g"
	AgreementHiddenSecret = "secret:d5ibqf7mp25c7793pr40"
	AgreementMissing      = "secret:d5ibqgfmp25c7793pr4g"
)

// AgreementActionParams are the running action's parameters in InAction
// rows.
func AgreementActionParams() map[string]any {
	return map[string]any{"keep": false, "image": "ubuntu-22.04", "limits": map[string]any{"nodes": 2.0}}
}

// NewAgreementState is the state every row starts from, before its Setup.
// upload is the path of the file attached as the "driver" resource.
func NewAgreementState(upload string) *State {
	st := NewState(DefaultUnit)
	st.Config = map[string]any{
		"kubeconfig":         AgreementSecret,
		"service-wiring":     "auto",
		"minimum-flavor-ram": 4096.0,
		"namespace-prefix":   nil,
	}
	id, _ := ParseSecretURI(AgreementSecret)
	st.Secrets[id] = &Secret{Granted: true, Tracked: 1, Revisions: []Revision{
		{Revision: 1, Content: map[string]string{"kubeconfig": "apiVersion: v1\n", "note": "first"}},
		{Revision: 2, Content: map[string]string{"kubeconfig": "apiVersion: v1\n", "note": "second"}},
	}}
	hidden, _ := ParseSecretURI(AgreementHiddenSecret)
	st.Secrets[hidden] = &Secret{Revisions: []Revision{{Revision: 1, Content: map[string]string{"k": "v"}}}}
	st.Resources = map[string]string{"driver": upload, "helm": ""}

	// The peer relation: this unit and two more, each with the addresses
	// Juju's EnterScope gives a unit's settings (apiserver/facades/agent/
	// uniter/uniter.go, EnterScope), the second also with what it asked
	// for, and the application's settings as the leader wrote them.
	peers := st.AddRelation(AgreementRelation, "graft", "magnum-capi-graft")
	peers.Join(st.Unit, st.Unit, withAddress("10.0.0.10", map[string]string{"note": "mine"}))
	peers.Join(st.Unit, "magnum-capi-graft/1", withAddress("10.0.0.11", map[string]string{"turn": "requested"}))
	peers.Join(st.Unit, "magnum-capi-graft/2", withAddress("10.0.0.12", nil))
	peers.Applications["magnum-capi-graft"] = map[string]string{"roll": "2", "turn": "magnum-capi-graft/1"}
	return st
}

// AgreementRelation is the id of the peer relation in the table's state.
const AgreementRelation = 3

// withAddress adds to settings what Juju's EnterScope puts there.
func withAddress(addr string, settings map[string]string) map[string]string {
	out := map[string]string{"private-address": addr, "ingress-address": addr, "egress-subnets": addr + "/32"}
	for k, v := range settings {
		out[k] = v
	}
	return out
}

func peers(st *State) *Relation {
	r, _ := st.Relation(AgreementRelation)
	return r
}

// inPeerHook runs a row in a relation hook of the peer relation, caused
// by remote unit (or, with unit "", by the application's settings).
func inPeerHook(unit string) *RelationHook {
	return &RelationHook{ID: AgreementRelation, RemoteUnit: unit, RemoteApp: "magnum-capi-graft"}
}

func expect(what string, got, want any) error {
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s: got %v, want %v", what, got, want)
	}
	return nil
}

func tracked(st *State) int {
	id, _ := ParseSecretURI(AgreementSecret)
	return st.Secrets[id].Tracked
}

func notLeader(st *State) { st.Leader = false }

// Agreement is the table.
var Agreement = []Call{
	// config-get
	{Name: "config-get json drops unset options",
		Argv: []string{"config-get", "--format=json"}, Stdout: `{"kubeconfig":"` + AgreementSecret + `","minimum-flavor-ram":4096,"service-wiring":"auto"}` + "\n"},
	{Name: "config-get --all keeps them as null",
		Argv: []string{"config-get", "--format=json", "--all"}, Stdout: `{"kubeconfig":"` + AgreementSecret + `","minimum-flavor-ram":4096,"namespace-prefix":null,"service-wiring":"auto"}` + "\n"},
	{Name: "config-get one key, smart format",
		Argv: []string{"config-get", "service-wiring"}, Stdout: "auto\n"},
	{Name: "config-get a number",
		Argv: []string{"config-get", "minimum-flavor-ram", "--format=json"}, Stdout: "4096\n"},
	{Name: "config-get an unset key prints nothing",
		Argv: []string{"config-get", "namespace-prefix"}, Stdout: ""},
	{Name: "config-get --all with a key",
		Argv: []string{"config-get", "--all", "service-wiring"}, Code: 2, Stderr: "ERROR cannot use argument --all together with key \"service-wiring\"\n"},
	{Name: "config-get two keys",
		Argv: []string{"config-get", "a", "b"}, Code: 2, Stderr: "ERROR unrecognized args: [\"b\"]\n"},

	// secret-get
	{Name: "secret-get reads the tracked revision",
		Argv: []string{"secret-get", AgreementSecret, "--format=json"}, Stdout: `{"kubeconfig":"apiVersion: v1\n","note":"first"}` + "\n",
		Check: func(st *State) error { return expect("tracked", tracked(st), 1) }},
	{Name: "secret-get --peek reads the latest once",
		Argv: []string{"secret-get", AgreementSecret, "note", "--peek"}, Stdout: "second\n",
		Check: func(st *State) error { return expect("tracked", tracked(st), 1) }},
	{Name: "secret-get --refresh tracks the latest",
		Argv: []string{"secret-get", "--refresh", AgreementSecret, "--format=json"}, Stdout: `{"kubeconfig":"apiVersion: v1\n","note":"second"}` + "\n",
		Check: func(st *State) error { return expect("tracked", tracked(st), 2) }},
	{Name: "secret-get one key, yaml by default",
		Argv: []string{"secret-get", AgreementSecret, "note"}, Stdout: "first\n"},
	{Name: "secret-get a key the secret lacks",
		Argv: []string{"secret-get", AgreementSecret, "nosuch"}, Code: 1, Stderr: "ERROR secret key value \"nosuch\" not found\n"},
	{Name: "secret-get a secret not granted",
		Argv: []string{"secret-get", AgreementHiddenSecret}, Code: 1, Stderr: "ERROR permission denied\n"},
	{Name: "secret-get a secret that does not exist",
		Argv: []string{"secret-get", AgreementMissing}, Code: 1, Stderr: "ERROR secret \"" + AgreementMissing + "\" not found\n"},
	{Name: "secret-get a malformed URI",
		Argv: []string{"secret-get", "secret:bogus"}, Code: 2, Stderr: "ERROR secret URI \"secret:bogus\" not valid\n"},
	{Name: "secret-get an ID that is not an xid",
		Argv: []string{"secret-get", "secret:d5ibqdnmp25c7793pr3h"}, Code: 2, Stderr: "ERROR secret URI \"secret:d5ibqdnmp25c7793pr3h\" not valid\n"},
	{Name: "secret-get with neither URI nor label",
		Argv: []string{"secret-get"}, Code: 2, Stderr: "ERROR require either a secret URI or label\n"},
	{Name: "secret-get --peek and --refresh",
		Argv: []string{"secret-get", AgreementSecret, "--peek", "--refresh"}, Code: 2, Stderr: "ERROR specify one of --peek or --refresh but not both\n"},

	// status-set, status-get
	{Name: "status-set with a message",
		Argv: []string{"status-set", "blocked", "set kubeconfig: juju config magnum-capi-graft kubeconfig=secret:<id>"},
		Check: func(st *State) error {
			return expect("status", st.Status, StatusEntry{Status: "blocked", Message: "set kubeconfig: juju config magnum-capi-graft kubeconfig=secret:<id>"})
		}},
	{Name: "status-set with an empty message",
		Argv:  []string{"status-set", "active", ""},
		Check: func(st *State) error { return expect("status", st.Status, StatusEntry{Status: "active"}) }},
	{Name: "status-set an unknown status",
		Argv: []string{"status-set", "bogus", "x"}, Code: 2, Stderr: "ERROR invalid status \"bogus\", expected one of [maintenance blocked waiting active]\n"},
	{Name: "status-set without a status",
		Argv: []string{"status-set"}, Code: 2, Stderr: "ERROR invalid args, require <status> [message]\n"},
	{Name: "status-set with two messages",
		Argv: []string{"status-set", "active", "a", "b"}, Code: 2, Stderr: "ERROR unrecognized args: [\"b\"]\n"},
	{Name: "status-set --application by a non-leader", Setup: notLeader,
		Argv: []string{"status-set", "--application", "active", "x"}, Code: 1, Stderr: "ERROR this unit is not the leader\n"},
	{Name: "status-get with data",
		Setup: func(st *State) { st.Status = StatusEntry{Status: "active", Message: "grafted"} },
		Argv:  []string{"status-get", "--format=json", "--include-data"}, Stdout: `{"message":"grafted","status":"active","status-data":{}}` + "\n"},

	// application-version-set, juju-log, is-leader
	{Name: "application-version-set",
		Argv:  []string{"application-version-set", "1.4.0"},
		Check: func(st *State) error { return expect("version", st.ApplicationVersion, "1.4.0") }},
	{Name: "application-version-set without a version",
		Argv: []string{"application-version-set"}, Code: 2, Stderr: "ERROR no version specified\n"},
	{Name: "juju-log at a level, a message that starts with a dash",
		Argv: []string{"juju-log", "-l", "WARNING", "--", "-dash", "words"},
		Check: func(st *State) error {
			return expect("logs", st.Logs, []LogEntry{{Level: "WARNING", Message: "-dash words"}})
		}},
	{Name: "juju-log at an unknown level logs a warning, then at INFO",
		Argv: []string{"juju-log", "-l", "LOUD", "msg"},
		Check: func(st *State) error {
			return expect("logs", st.Logs, []LogEntry{{Level: "WARNING", Message: `Specified log level of "LOUD" is not valid`}, {Level: "INFO", Message: "msg"}})
		}},
	{Name: "juju-log without a message",
		Argv: []string{"juju-log"}, Code: 2, Stderr: "ERROR no message specified\n"},
	{Name: "is-leader json",
		Argv: []string{"is-leader", "--format=json"}, Stdout: "true\n"},
	{Name: "is-leader smart", Setup: notLeader,
		Argv: []string{"is-leader"}, Stdout: "False\n"},
	{Name: "is-leader with an unknown flag",
		Argv: []string{"is-leader", "--bogus"}, Code: 2, Stderr: "ERROR option provided but not defined: --bogus\n"},
	{Name: "is-leader with an unknown format",
		Argv: []string{"is-leader", "--format=xml"}, Code: 2, Stderr: "ERROR invalid value \"xml\" for option --format: unknown format \"xml\"\n"},

	// action-*
	{Name: "action-get json", InAction: true,
		Argv: []string{"action-get", "--format=json"}, Stdout: `{"image":"ubuntu-22.04","keep":false,"limits":{"nodes":2}}` + "\n"},
	{Name: "action-get one nested key", InAction: true,
		Argv: []string{"action-get", "limits.nodes"}, Stdout: "2\n"},
	{Name: "action-get outside an action",
		Argv: []string{"action-get"}, Code: 1, Stderr: "ERROR not running an action\n"},
	{Name: "action-set nested keys", InAction: true,
		Argv: []string{"action-set", "checks.wiring.result=pass", "summary=ok"},
		Check: func(st *State) error {
			return expect("results", st.ResultsTree(), map[string]any{"checks": map[string]any{"wiring": map[string]any{"result": "pass"}}, "summary": "ok"})
		}},
	{Name: "action-set a value with = and spaces", InAction: true,
		Argv:  []string{"action-set", "cmdline=uwsgi --ini a=b"},
		Check: func(st *State) error { return expect("results", st.ActionResults["cmdline"], "uwsgi --ini a=b") }},
	{Name: "action-set a key with capitals", InAction: true,
		Argv: []string{"action-set", "ok.Bad=1"}, Code: 2, Stderr: "ERROR key \"Bad\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens\n"},
	{Name: "action-set a key with an underscore", InAction: true,
		Argv: []string{"action-set", "daemon_args=1"}, Code: 2, Stderr: "ERROR key \"daemon_args\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens\n"},
	{Name: "action-set a reserved key", InAction: true,
		Argv: []string{"action-set", "stderr=1"}, Code: 2, Stderr: "ERROR cannot set reserved action key \"stderr\"\n"},
	{Name: "action-set without =", InAction: true,
		Argv: []string{"action-set", "foo"}, Code: 2, Stderr: "ERROR argument \"foo\" must be of the form key...=value\n"},
	{Name: "action-set outside an action",
		Argv: []string{"action-set", "ok=1"}, Code: 1, Stderr: "ERROR not running an action\n"},
	{Name: "action-fail with a message", InAction: true,
		Argv: []string{"action-fail", "smoke test failed: cluster ended CREATE_FAILED"},
		Check: func(st *State) error {
			return expect("failed", fmt.Sprint(st.ActionFailed, " ", st.ActionMessage), "true smoke test failed: cluster ended CREATE_FAILED")
		}},
	{Name: "action-fail outside an action",
		Argv: []string{"action-fail"}, Code: 1, Stderr: "ERROR not running an action\n"},
	{Name: "action-log", InAction: true,
		Argv: []string{"action-log", "waiting", "for CREATE_COMPLETE"},
		Check: func(st *State) error {
			return expect("logs", strings.Join(st.ActionLogs, "|"), "waiting for CREATE_COMPLETE")
		}},
	{Name: "action-log without a message", InAction: true,
		Argv: []string{"action-log"}, Code: 2, Stderr: "ERROR no message specified\n"},
	{Name: "action-log outside an action",
		Argv: []string{"action-log", "x"}, Code: 1, Stderr: "ERROR not running an action\n"},

	// resource-get
	{Name: "resource-get an uploaded resource: its declared filename",
		Argv: []string{"resource-get", "driver"}, Stdout: "{resources}/magnum-capi-helm.whl"},
	{Name: "resource-get Charmhub's placeholder: an empty file",
		Argv: []string{"resource-get", "helm"}, Stdout: "{resources}/helm.tar.gz"},
	{Name: "resource-get without a name",
		Argv: []string{"resource-get"}, Code: 2, Stderr: "ERROR missing required resource name\n"},
	{Name: "resource-get two names",
		Argv: []string{"resource-get", "a", "b"}, Code: 2, Stderr: "ERROR unrecognized args: [\"b\"]\n"},

	// relation-ids
	{Name: "relation-ids of an endpoint, json",
		Argv: []string{"relation-ids", "graft", "--format=json"}, Stdout: `["graft:3"]` + "\n"},
	{Name: "relation-ids of an endpoint, smart",
		Argv: []string{"relation-ids", "graft"}, Stdout: "graft:3\n"},
	{Name: "relation-ids of an endpoint with no relation",
		Argv: []string{"relation-ids", "--format=json", "nosuch"}, Stdout: "[]\n"},
	{Name: "relation-ids of nothing, smart, prints nothing",
		Argv: []string{"relation-ids", "nosuch"}, Stdout: ""},
	{Name: "relation-ids in a relation hook: its endpoint by default", InRelation: inPeerHook("magnum-capi-graft/1"),
		Argv: []string{"relation-ids"}, Stdout: "graft:3\n"},
	{Name: "relation-ids outside a relation hook needs an endpoint",
		Argv: []string{"relation-ids"}, Code: 2, Stderr: "ERROR no endpoint name specified\n"},
	{Name: "relation-ids two endpoints",
		Argv: []string{"relation-ids", "graft", "juju-info"}, Code: 2, Stderr: "ERROR unrecognized args: [\"juju-info\"]\n"},

	// relation-list
	{Name: "relation-list the remote units, json",
		Argv: []string{"relation-list", "-r", "graft:3", "--format=json"}, Stdout: `["magnum-capi-graft/1","magnum-capi-graft/2"]` + "\n"},
	{Name: "relation-list by bare id, smart",
		Argv: []string{"relation-list", "--relation=3"}, Stdout: "magnum-capi-graft/1\nmagnum-capi-graft/2\n"},
	{Name: "relation-list --app: the application at the other end",
		Argv: []string{"relation-list", "--app", "-r", "graft:3"}, Stdout: "magnum-capi-graft\n"},
	{Name: "relation-list with no members",
		Setup: func(st *State) { peers(st).Depart("magnum-capi-graft/1"); peers(st).Depart("magnum-capi-graft/2") },
		Argv:  []string{"relation-list", "-r", "graft:3", "--format=json"}, Stdout: "[]\n"},
	{Name: "relation-list in a relation hook: its relation by default", InRelation: inPeerHook("magnum-capi-graft/2"),
		Argv: []string{"relation-list", "--format=json"}, Stdout: `["magnum-capi-graft/1","magnum-capi-graft/2"]` + "\n"},
	{Name: "relation-list outside a relation hook needs -r",
		Argv: []string{"relation-list"}, Code: 2, Stderr: "ERROR no relation id specified\n"},
	{Name: "relation-list of a relation the unit is not in",
		Argv: []string{"relation-list", "-r", "graft:9"}, Code: 2, Stderr: "ERROR invalid value \"graft:9\" for option -r: relation not found\n"},
	{Name: "relation-list of a relation id that is no number",
		Argv: []string{"relation-list", "--relation", "graft:x"}, Code: 2, Stderr: "ERROR invalid value \"graft:x\" for option --relation: invalid relation id\n"},

	// relation-get
	{Name: "relation-get a remote unit's settings, json",
		Argv:   []string{"relation-get", "-r", "graft:3", "--format=json", "-", "magnum-capi-graft/1"},
		Stdout: `{"egress-subnets":"10.0.0.11/32","ingress-address":"10.0.0.11","private-address":"10.0.0.11","turn":"requested"}` + "\n"},
	{Name: "relation-get one key of a remote unit",
		Argv: []string{"relation-get", "-r", "graft:3", "turn", "magnum-capi-graft/1"}, Stdout: "requested\n"},
	{Name: "relation-get a key the unit has not set prints nothing",
		Argv: []string{"relation-get", "-r", "graft:3", "turn", "magnum-capi-graft/2"}, Stdout: ""},
	{Name: "relation-get a missing key as json is null",
		Argv: []string{"relation-get", "-r", "graft:3", "--format=json", "turn", "magnum-capi-graft/2"}, Stdout: "null\n"},
	{Name: "relation-get the unit's own settings",
		Argv: []string{"relation-get", "-r", "graft:3", "note", "magnum-capi-graft/0"}, Stdout: "mine\n"},
	{Name: "relation-get --app: the application's settings, read by the leader",
		Argv: []string{"relation-get", "-r", "graft:3", "--app", "--format=json", "-", "magnum-capi-graft"}, Stdout: `{"roll":"2","turn":"magnum-capi-graft/1"}` + "\n"},
	{Name: "relation-get --app: the application's settings, read by another unit", Setup: notLeader,
		Argv: []string{"relation-get", "-r", "graft:3", "--app", "--format=json", "-", "magnum-capi-graft"}, Stdout: `{"roll":"2","turn":"magnum-capi-graft/1"}` + "\n"},
	{Name: "relation-get --app with a unit name reads its application", Setup: notLeader,
		Argv: []string{"relation-get", "-r", "graft:3", "--app", "turn", "magnum-capi-graft/2"}, Stdout: "magnum-capi-graft/1\n"},
	{Name: "relation-get an application without --app",
		Argv: []string{"relation-get", "-r", "graft:3", "-", "magnum-capi-graft"}, Code: 2, Stderr: "ERROR expected unit name, got application name \"magnum-capi-graft\"\n"},
	{Name: "relation-get an invalid unit name",
		Argv: []string{"relation-get", "-r", "graft:3", "-", "Magnum/1"}, Code: 2, Stderr: "ERROR invalid unit name \"Magnum/1\"\n"},
	{Name: "relation-get outside a relation hook with no unit",
		Argv: []string{"relation-get", "-r", "graft:3"}, Code: 2, Stderr: "ERROR no unit or application specified\n"},
	{Name: "relation-get outside a relation hook with no relation",
		Argv: []string{"relation-get", "-", "magnum-capi-graft/1"}, Code: 2, Stderr: "ERROR no relation id specified\n"},
	{Name: "relation-get in a relation hook: the remote unit by default", InRelation: inPeerHook("magnum-capi-graft/1"),
		Argv: []string{"relation-get", "turn"}, Stdout: "requested\n"},
	{Name: "relation-get in a hook for the application's settings: those by default", InRelation: inPeerHook(""), Setup: notLeader,
		Argv: []string{"relation-get", "--format=json"}, Stdout: `{"roll":"2","turn":"magnum-capi-graft/1"}` + "\n"},
	{Name: "relation-get a unit that was never in the relation",
		Argv: []string{"relation-get", "-r", "graft:3", "-", "magnum-capi-graft/7"}, Code: 1,
		Stderr: "ERROR cannot read settings for unit \"magnum-capi-graft/7\" in relation \"magnum-capi-graft:graft\": unit \"magnum-capi-graft/7\": settings not found\n"},
	{Name: "relation-get a unit of an application not at the other end",
		Argv: []string{"relation-get", "-r", "graft:3", "-", "magnum/0"}, Code: 1, Stderr: "ERROR permission denied\n"},
	{Name: "relation-get a departed unit's settings stay readable",
		Setup: func(st *State) { peers(st).Depart("magnum-capi-graft/1") },
		Argv:  []string{"relation-get", "-r", "graft:3", "turn", "magnum-capi-graft/1"}, Stdout: "requested\n"},

	// relation-set
	{Name: "relation-set the unit's settings; an empty value deletes",
		Argv: []string{"relation-set", "-r", "graft:3", "turn=requested", "note="},
		Check: func(st *State) error {
			return expect("settings", peers(st).Units[st.Unit], withAddress("10.0.0.10", map[string]string{"turn": "requested"}))
		}},
	{Name: "relation-set a value with = and spaces round it",
		Argv:  []string{"relation-set", "-r", "3", "cmd= a=b c "},
		Check: func(st *State) error { return expect("cmd", peers(st).Units[st.Unit]["cmd"], "a=b c") }},
	{Name: "relation-set after --: a key may start with a dash",
		Argv: []string{"relation-set", "-r", "graft:3", "--", "-odd=1", "plain=2"},
		Check: func(st *State) error {
			return expect("settings", peers(st).Units[st.Unit]["-odd"]+" "+peers(st).Units[st.Unit]["plain"], "1 2")
		}},
	{Name: "relation-set --app by the leader",
		Argv: []string{"relation-set", "-r", "graft:3", "--app", "turn=magnum-capi-graft/2", "roll="},
		Check: func(st *State) error {
			return expect("application settings", peers(st).Applications["magnum-capi-graft"], map[string]string{"turn": "magnum-capi-graft/2"})
		}},
	{Name: "relation-set --app by another unit", Setup: notLeader,
		Argv: []string{"relation-set", "-r", "graft:3", "--app", "turn=magnum-capi-graft/0"}, Code: 1, Stderr: "ERROR cannot write relation settings\n",
		Check: func(st *State) error {
			return expect("application settings", peers(st).Applications["magnum-capi-graft"], map[string]string{"roll": "2", "turn": "magnum-capi-graft/1"})
		}},
	{Name: "relation-set in a relation hook: its relation by default", InRelation: inPeerHook("magnum-capi-graft/1"),
		Argv:  []string{"relation-set", "seen=1"},
		Check: func(st *State) error { return expect("seen", peers(st).Units[st.Unit]["seen"], "1") }},
	{Name: "relation-set outside a relation hook with no relation",
		Argv: []string{"relation-set", "a=1"}, Code: 2, Stderr: "ERROR no relation id specified\n"},
	{Name: "relation-set without =",
		Argv: []string{"relation-set", "-r", "graft:3", "turn"}, Code: 2, Stderr: "ERROR expected \"key=value\", got \"turn\"\n"},
	{Name: "relation-set an empty key",
		Argv: []string{"relation-set", "-r", "graft:3", "=x"}, Code: 2, Stderr: "ERROR expected \"key=value\", got \"=x\"\n"},
	{Name: "relation-set a key twice",
		Argv: []string{"relation-set", "-r", "graft:3", "a=1", "a=2"}, Code: 2, Stderr: "ERROR key \"a\" specified more than once\n"},
	{Name: "relation-set of a relation the unit is not in",
		Argv: []string{"relation-set", "-r", "graft:9", "a=1"}, Code: 2, Stderr: "ERROR invalid value \"graft:9\" for option -r: relation not found\n"},
}

// AgreementMetadata is the charm metadata the table's resource rows read
// their filenames from.
const AgreementMetadata = `name: magnum-capi-graft
summary: agreement
description: agreement
subordinate: true
requires:
  juju-info:
    interface: juju-info
    scope: container
peers:
  graft:
    interface: magnum-capi-graft-peers
resources:
  driver:
    type: file
    filename: magnum-capi-helm.whl
  helm:
    type: file
    filename: helm.tar.gz
`
