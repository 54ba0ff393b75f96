package kubeconfig

import (
	"context"
	"errors"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/artifact"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// Loaded is the management cluster's kubeconfig as the kubeconfig option's
// secret holds it: the file's bytes, the parsed and validated form, and
// what validation said without refusing it (a status suffix).
type Loaded struct {
	Data       []byte
	Kubeconfig *Kubeconfig
	Warnings   string
}

// Load reads the kubeconfig from the Juju secret id (the kubeconfig
// option; "" is unset) and validates it for the driver version. app names
// the application in the commands a blocked status gives. Its content
// never leaves this function except as Loaded: errors name the secret and
// the problem, never what is in it. What the operator must fix is an
// artifact.BlockedError; any other error (secret-get failing) is one to
// retry.
func Load(ctx context.Context, juju hooktool.Tools, id, app, driverVersion string) (Loaded, error) {
	if id == "" {
		return Loaded{}, artifact.Blocked("kubeconfig is not set: juju add-secret capi-kubeconfig kubeconfig#file=<path>; "+
			"juju grant-secret capi-kubeconfig %s; juju config %s kubeconfig=<secret URI>", app, app)
	}
	// --refresh: always follow the newest revision, so a rotated secret is
	// picked up by whichever hook runs first.
	content, err := juju.SecretGet(ctx, id, hooktool.SecretRefresh)
	switch {
	case errors.Is(err, hooktool.ErrSecretURIInvalid):
		return Loaded{}, artifact.Blocked("kubeconfig %q is not a secret URI Juju knows: juju config %s kubeconfig=<the URI juju add-secret printed, or juju secrets shows>",
			id, app)
	case errors.Is(err, hooktool.ErrSecretNotFound), errors.Is(err, hooktool.ErrSecretAccess):
		return Loaded{}, artifact.Blocked("kubeconfig secret %s is not readable: juju grant-secret %s %s (and check the URI in juju config %s kubeconfig)",
			id, id, app, app)
	case err != nil:
		return Loaded{}, err
	}
	data, err := FromSecret(content)
	if err != nil {
		return Loaded{}, artifact.Blocked("kubeconfig secret %s: %v", id, err)
	}
	kc, rep := Validate(data, driverVersion, time.Now(), ValidateOptions{})
	if !rep.OK() {
		return Loaded{}, artifact.Blocked("%s", rep.BlockedStatus())
	}
	return Loaded{Data: data, Kubeconfig: kc, Warnings: rep.WarningSuffix()}, nil
}
