package reconcile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
)

// App is the application name used in the commands a blocked status gives
// the operator.
func (r *Reconciler) app() string {
	if unit := os.Getenv("JUJU_UNIT_NAME"); unit != "" {
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
		return nil, nil, "", blocked{rep.BlockedStatus()}
	}
	return data, kc, rep.WarningSuffix(), nil
}

// failure is the memory of a graft that made a service fail: the hash of its
// desired state and the message. While config and secrets stay the same, later
// hooks say the message instead of restarting services into the same failure.
const failureFile = "failed"

func (r *Reconciler) failedBefore(hash string) (string, bool) {
	b, err := files.ReadFile(filepath.Join(r.StateDir, failureFile), files.MaxTextFile)
	if err != nil {
		return "", false
	}
	h, msg, ok := strings.Cut(string(b), "\n")
	return msg, ok && h == hash
}

func (r *Reconciler) rememberFailure(hash, msg string) {
	if err := os.MkdirAll(r.StateDir, 0o700); err == nil {
		_ = osutil.AtomicWriteFile(filepath.Join(r.StateDir, failureFile), []byte(hash+"\n"+msg), 0o600, 0)
	}
}

func (r *Reconciler) clearFailure() {
	_ = os.Remove(filepath.Join(r.StateDir, failureFile))
}
