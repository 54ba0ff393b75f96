package reconcile

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// App is the application name used in the commands a blocked status gives
// the operator.
func (r *Reconciler) app() string {
	if unit := r.Env.UnitName; unit != "" {
		if app, _, ok := strings.Cut(unit, "/"); ok {
			return app
		}
	}
	return "magnum-capi-graft"
}

// kubeconfig reads the management cluster's kubeconfig from the secret the
// kubeconfig option names, and validates it for the driver version. Its
// content never leaves this function except as the file's bytes and the
// parsed form: errors name the secret and the problem, never what is in it.
func (r *Reconciler) kubeconfig(ctx context.Context, cfg Config) ([]byte, *kubeconfig.Kubeconfig, string, error) {
	app := r.app()
	if cfg.KubeconfigSecret == "" {
		return nil, nil, "", block("kubeconfig is not set: juju add-secret capi-kubeconfig kubeconfig#file=<path>; "+
			"juju grant-secret capi-kubeconfig %s; juju config %s kubeconfig=<secret URI>", app, app)
	}
	id := cfg.KubeconfigSecret
	// --refresh: always follow the newest revision, so a rotated secret is
	// picked up by whichever hook runs first.
	content, err := r.Juju.SecretGet(ctx, id, hooktool.SecretRefresh)
	switch {
	case errors.Is(err, hooktool.ErrSecretURIInvalid):
		return nil, nil, "", block("kubeconfig %q is not a secret URI Juju knows: juju config %s kubeconfig=<the URI juju add-secret printed, or juju secrets shows>",
			id, app)
	case errors.Is(err, hooktool.ErrSecretNotFound), errors.Is(err, hooktool.ErrSecretAccess):
		return nil, nil, "", block("kubeconfig secret %s is not readable: juju grant-secret %s %s (and check the URI in juju config %s kubeconfig)",
			id, id, app, app)
	case err != nil:
		return nil, nil, "", err
	}
	data, err := kubeconfig.FromSecret(content)
	if err != nil {
		return nil, nil, "", block("kubeconfig secret %s: %v", id, err)
	}
	kc, rep := kubeconfig.Validate(data, cfg.DriverVersion, time.Now(), kubeconfig.ValidateOptions{})
	if !rep.OK() {
		return nil, nil, "", block("%s", rep.BlockedStatus())
	}
	return data, kc, rep.WarningSuffix(), nil
}

// failure is the memory of a graft that made a service fail: the hash of its
// desired state and the message. While config and secrets stay the same, later
// hooks say the message instead of restarting services into the same failure.
func (r *Reconciler) failedBefore(hash string) (string, bool) {
	b, err := r.State.Read(state.Failure)
	if err != nil {
		return "", false
	}
	h, msg, ok := strings.Cut(string(b), "\n")
	return msg, ok && h == hash
}

// rememberFailure keeps the memory; without it, the next hook would try
// the same graft again, so a failure to keep it is logged, not fatal.
func (r *Reconciler) rememberFailure(hash, msg string) {
	if err := r.State.Write(state.Failure, []byte(hash+"\n"+msg)); err != nil {
		r.logf("%v", err)
	}
}

func (r *Reconciler) clearFailure() error {
	_, err := r.State.Remove(state.Failure)
	return err
}
