package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/canonical/pebble/internals/osutil"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
)

// PreflightInterval is how old a preflight may be before update-status runs
// it again: often enough to notice a management cluster gone bad, rarely
// enough that the hook lock is not taken for network calls every 5 minutes.
const PreflightInterval = 30 * time.Minute

const preflightFile = "preflight.json"

type preflightMemo struct {
	Key    string            `json:"key"`
	At     time.Time         `json:"at"`
	Report kubeconfig.Report `json:"report"`
}

// Preflight checks the management cluster from the unit, or returns the
// remembered result of the same kubeconfig and driver version when it is
// younger than PreflightInterval and fresh is false.
func (r *Reconciler) Preflight(ctx context.Context, d *Desired, fresh bool) kubeconfig.Report {
	key := preflightKey(d)
	path := filepath.Join(r.StateDir, preflightFile)
	if !fresh {
		var memo preflightMemo
		if b, err := files.ReadFile(path, files.MaxTextFile); err == nil && json.Unmarshal(b, &memo) == nil &&
			memo.Key == key && time.Since(memo.At) < PreflightInterval {
			return memo.Report
		}
	}
	rep := kubeconfig.Preflight(ctx, d.Kubeconfig, d.Config.DriverVersion, kubeconfig.Options{
		HTTPSProxy: os.Getenv("JUJU_CHARM_HTTPS_PROXY"),
		NoProxy:    os.Getenv("JUJU_CHARM_NO_PROXY"),
	})
	if b, err := json.Marshal(preflightMemo{Key: key, At: time.Now(), Report: rep}); err == nil {
		if os.MkdirAll(r.StateDir, 0o700) == nil {
			_ = osutil.AtomicWriteFile(path, b, 0o600, 0)
		}
	}
	return rep
}

// preflightKey identifies what a preflight result depends on; the kubeconfig
// enters only as a hash.
func preflightKey(d *Desired) string {
	h := sha256.New()
	for _, f := range d.Files {
		if f.Path == KubeconfigFile {
			h.Write(f.Content)
		}
	}
	h.Write([]byte("\x00" + d.Config.DriverVersion + "\x00" + os.Getenv("JUJU_CHARM_HTTPS_PROXY") + "\x00" + os.Getenv("JUJU_CHARM_NO_PROXY")))
	return hex.EncodeToString(h.Sum(nil))
}
