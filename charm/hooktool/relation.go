package hooktool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// The relation tools, as Juju 3.6 has them
// (internal/worker/uniter/runner/jujuc/relation-*.go). Each names its
// relation with -r, so none depends on the hook it runs in.

// relationErr maps Juju's words for a relation tool's failures onto the
// sentinel errors.
func relationErr(what string, err error) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		msg := ee.Message()
		switch {
		case ee.Code == 2 && strings.HasSuffix(msg, ": relation not found"):
			// jujuc's relationIdValue.Set: the -r value names no relation
			// of the unit's (HookContext.Relation: errors.NotFoundf).
			return fmt.Errorf("%s: %w: %w", what, ErrRelationNotFound, err)
		case msg == "cannot write relation settings":
			// relation-set.go, RelationSetCommand.Run: --app and not the
			// leader.
			return fmt.Errorf("%s: %w: %w", what, ErrNotLeader, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// RelationIDs implements Tools.
func (j *Juju) RelationIDs(ctx context.Context, endpoint string) ([]string, error) {
	out, err := j.r.Run(ctx, []string{"relation-ids", endpoint, "--format=json"})
	if err != nil {
		return nil, relationErr(fmt.Sprintf("cannot list the relations of %s", endpoint), err)
	}
	ids, err := decodeOutput(out, "relation-ids", []string{})
	if err != nil {
		return nil, fmt.Errorf("cannot list the relations of %s: %w", endpoint, err)
	}
	return ids, nil
}

// RelationList implements Tools.
func (j *Juju) RelationList(ctx context.Context, id string) ([]string, error) {
	out, err := j.r.Run(ctx, []string{"relation-list", "-r", id, "--format=json"})
	if err != nil {
		return nil, relationErr(fmt.Sprintf("cannot list the units of relation %s", id), err)
	}
	units, err := decodeOutput(out, "relation-list", []string{})
	if err != nil {
		return nil, fmt.Errorf("cannot list the units of relation %s: %w", id, err)
	}
	return units, nil
}

// RelationGet implements Tools. Juju tells units from applications by the
// "/" (names.IsValidUnit); relation-get refuses an application's name
// without --app.
func (j *Juju) RelationGet(ctx context.Context, id, unitOrApp string) (map[string]string, error) {
	argv := []string{"relation-get", "-r", id, "--format=json"}
	if !strings.Contains(unitOrApp, "/") {
		argv = append(argv, "--app")
	}
	argv = append(argv, "-", unitOrApp)
	what := fmt.Sprintf("cannot read the settings of %s in relation %s", unitOrApp, id)
	out, err := j.r.Run(ctx, argv)
	if err != nil {
		return nil, relationErr(what, err)
	}
	var settings map[string]string
	if err := json.Unmarshal(out, &settings); err != nil {
		return nil, fmt.Errorf("%s: relation-get output: %w", what, err)
	}
	if settings == nil {
		settings = map[string]string{}
	}
	return settings, nil
}

// RelationSet implements Tools. The settings go as arguments after "--",
// so a key may start with a dash; juju/utils' keyvalues.Parse splits each
// at its first "=" and trims key and value, so a key with "=" or either
// with spaces around it would be stored other than asked, and is refused
// here instead. Values are redacted like every text the charm hands Juju:
// other units and operators read relation data.
func (j *Juju) RelationSet(ctx context.Context, id string, app bool, values map[string]string) error {
	what := fmt.Sprintf("cannot set the settings of relation %s", id)
	if app {
		what = fmt.Sprintf("cannot set the application settings of relation %s", id)
	}
	keys := make([]string, 0, len(values))
	for k, v := range values {
		switch {
		case k == "" || strings.Contains(k, "="):
			return fmt.Errorf("%s: %w: key %q", what, ErrBadRelationSetting, k)
		case strings.TrimSpace(k) != k:
			return fmt.Errorf("%s: %w: key %q has spaces around it", what, ErrBadRelationSetting, k)
		case strings.TrimSpace(v) != v:
			return fmt.Errorf("%s: %w: the value of %q has spaces around it", what, ErrBadRelationSetting, k)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	argv := []string{"relation-set", "-r", id}
	if app {
		argv = append(argv, "--app")
	}
	argv = append(argv, "--")
	for _, k := range keys {
		argv = append(argv, k+"="+redact.Text(values[k]))
	}
	if _, err := j.r.Run(ctx, argv); err != nil {
		return relationErr(what, err)
	}
	return nil
}
