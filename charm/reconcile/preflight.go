package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// PreflightInterval is how old a preflight may be before update-status runs
// it again: often enough to notice a management cluster gone bad, rarely
// enough that the hook lock is not taken for network calls every 5 minutes.
const PreflightInterval = 30 * time.Minute

type preflightMemo struct {
	Key    string            `json:"key"`
	At     time.Time         `json:"at"`
	Report kubeconfig.Report `json:"report"`
}

// Preflight checks the management cluster from the unit, or returns the
// remembered result of the same kubeconfig and driver version when it is
// younger than PreflightInterval and fresh is false.
func (r *Reconciler) Preflight(ctx context.Context, d *Desired, fresh bool) kubeconfig.Report {
	key := preflightKey(d, r.Env)
	if !fresh {
		var memo preflightMemo
		if r.State.Load(state.Preflight, &memo) == nil && memo.Key == key && time.Since(memo.At) < PreflightInterval {
			return memo.Report
		}
	}
	rep := kubeconfig.Preflight(ctx, d.Kubeconfig, d.Config.DriverVersion, kubeconfig.Options{
		Proxy: r.Env.Proxy,
	})
	// Only a memo: without it the next hook checks again.
	if err := r.State.Save(state.Preflight, preflightMemo{Key: key, At: time.Now(), Report: rep}); err != nil {
		r.logf("%v", err)
	}
	return rep
}

// preflightKey identifies what a preflight result depends on; the kubeconfig
// enters only as a hash.
func preflightKey(d *Desired, env Env) string {
	h := sha256.New()
	for _, f := range d.Files {
		if f.Path == KubeconfigFile {
			h.Write(f.Content)
		}
	}
	h.Write([]byte("\x00" + d.Config.DriverVersion + "\x00" + env.Proxy.HTTPS + "\x00" + env.Proxy.NoProxy))
	return hex.EncodeToString(h.Sum(nil))
}
