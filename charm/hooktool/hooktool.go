// Package hooktool is the charm's only door to Juju: one Go function per hook
// tool the charm uses, each building the tool's exact argv, running it through a
// Runner and decoding Juju's JSON. Tests swap the Runner for a fake Juju (see
// testbed/fakejuju), so the argv building, decoding and error handling here are
// exercised exactly as they run under a real unit agent.
package hooktool

import (
	"context"
	"errors"
)

// Status is a workload status name as status-set takes it.
type Status string

const (
	Maintenance Status = "maintenance"
	Blocked     Status = "blocked"
	Waiting     Status = "waiting"
	Active      Status = "active"
)

// Level is a juju-log level.
type Level string

const (
	Debug   Level = "DEBUG"
	Info    Level = "INFO"
	Warning Level = "WARNING"
	Error   Level = "ERROR"
)

// SecretGetMode selects how secret-get treats revisions.
type SecretGetMode int

const (
	// SecretCurrent reads the revision the unit is tracking.
	SecretCurrent SecretGetMode = iota
	// SecretRefresh reads the latest revision and starts tracking it (--refresh).
	SecretRefresh
	// SecretPeek reads the latest revision without tracking it (--peek).
	SecretPeek
)

// Tools is what the charm needs from Juju. Juju implements it with real hook
// tools; tests implement it with a fake Juju behind the same Runner.
type Tools interface {
	// ConfigGet runs `config-get --format=json --all`. A secret-type option
	// reads as the string "secret:<id>".
	ConfigGet(ctx context.Context) (map[string]any, error)
	// SecretGet runs `secret-get <id> --format=json [--refresh|--peek]` and
	// returns the secret's content keys. An unreadable (missing, ungranted)
	// secret returns an error wrapping ErrSecretNotFound or ErrSecretAccess.
	SecretGet(ctx context.Context, id string, mode SecretGetMode) (map[string]string, error)
	// StatusSet runs `status-set <status> <message>`.
	StatusSet(ctx context.Context, status Status, message string) error
	// ApplicationVersionSet runs `application-version-set <version>`.
	ApplicationVersionSet(ctx context.Context, version string) error
	// Log runs `juju-log -l <level> -- <message>`.
	Log(ctx context.Context, level Level, message string) error
	// IsLeader runs `is-leader --format=json`.
	IsLeader(ctx context.Context) (bool, error)
	// ActionGet runs `action-get --format=json` and returns the params.
	ActionGet(ctx context.Context) (map[string]any, error)
	// ActionSet runs `action-set k=v ...`. Nested maps become dotted keys;
	// keys are checked against Juju's rule before anything runs
	// (ErrBadActionKey).
	ActionSet(ctx context.Context, results map[string]any) error
	// ActionFail runs `action-fail <message>`.
	ActionFail(ctx context.Context, message string) error
	// ActionLog runs `action-log <message>`.
	ActionLog(ctx context.Context, message string) error
	// ResourceGet runs `resource-get <name>` and returns the path Juju
	// prints. A resource that was never attached returns an error wrapping
	// ErrResourceNotFound.
	ResourceGet(ctx context.Context, name string) (string, error)

	// RelationIDs runs `relation-ids <endpoint> --format=json`: the ids of
	// the unit's relations on endpoint, as the other relation tools take
	// them ("graft:3").
	RelationIDs(ctx context.Context, endpoint string) ([]string, error)
	// RelationList runs `relation-list -r <id> --format=json`: the remote
	// units in the relation that the unit has seen join and not yet
	// depart. In a peer relation the unit itself is never among them.
	RelationList(ctx context.Context, id string) ([]string, error)
	// RelationGet runs `relation-get -r <id> --format=json - <unit>` and
	// returns a unit's settings in the relation, or, for a name without a
	// "/", with --app the application's. The unit's own settings, and its
	// application's when it is the leader, include what this hook set;
	// everyone else's are as last committed. An unknown relation returns
	// an error wrapping ErrRelationNotFound.
	RelationGet(ctx context.Context, id, unitOrApp string) (map[string]string, error)
	// RelationSet runs `relation-set -r <id> [--app] -- k=v ...` with the
	// keys sorted; an empty value deletes its key. Juju commits the
	// settings when the hook ends, and only if it succeeds. Keys and
	// values are checked before anything runs (ErrBadRelationSetting);
	// --app by a unit that is not the leader returns an error wrapping
	// ErrNotLeader.
	RelationSet(ctx context.Context, id string, app bool, values map[string]string) error
}

// Runner runs one hook tool: argv[0] is the tool's name, found on PATH.
// A tool that exits non-zero returns an *ExitError.
type Runner interface {
	Run(ctx context.Context, argv []string) (stdout []byte, err error)
}

// Sentinel errors, matched with errors.Is. Juju reports these conditions only
// as text on stderr, so Juju's Tools map its texts onto them; the *ExitError
// stays in the chain for callers that want Juju's exact words.
var (
	// ErrResourceNotFound: resource-get found no attached resource ("ERROR
	// could not download resource: ... resource#<app>/<name> not found").
	ErrResourceNotFound = errors.New("resource not found")
	// ErrSecretNotFound: secret-get found no such secret ("ERROR secret
	// "secret:<id>" not found"). Juju may also say this for a secret that
	// exists but was not granted, to hide its existence.
	ErrSecretNotFound = errors.New("secret not found")
	// ErrSecretAccess: the secret exists but was not granted to the
	// application ("ERROR permission denied").
	ErrSecretAccess = errors.New("secret not accessible")
	// ErrSecretURIInvalid: secret-get refused the URI itself ("ERROR secret
	// URI "<uri>" not valid", exit 2). Juju accepts any secret:... string
	// as a secret option's value (juju/charm config.go secretC checks the
	// scheme only), so a mistyped URI reaches the charm this way.
	ErrSecretURIInvalid = errors.New("not a valid secret URI")
	// ErrBadActionKey: an action-set key breaks Juju's key rule.
	ErrBadActionKey = errors.New("invalid action-set key")
	// ErrRelationNotFound: the unit is not in the relation a relation tool
	// names ("ERROR invalid value "graft:9" for option -r: relation not
	// found", exit 2): it was removed, or the id is wrong.
	ErrRelationNotFound = errors.New("relation not found")
	// ErrNotLeader: relation-set --app by a unit that is not the leader
	// ("ERROR cannot write relation settings").
	ErrNotLeader = errors.New("not the leader")
	// ErrBadRelationSetting: a relation-set key or value relation-set would
	// refuse or change (an empty key, a key with "=", spaces around either:
	// relation-set trims them).
	ErrBadRelationSetting = errors.New("invalid relation setting")
)
