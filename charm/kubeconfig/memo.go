package kubeconfig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// PreflightInterval is how old a preflight may be before update-status runs
// it again: often enough to notice a management cluster gone bad, rarely
// enough that the hook lock is not taken for network calls every 5 minutes.
const PreflightInterval = 30 * time.Minute

type memo struct {
	Key    string    `json:"key"`
	At     time.Time `json:"at"`
	Report Report    `json:"report"`
}

// Remembered runs Preflight, or returns the result kept in the state
// directory for the same kubeconfig (data, the file's bytes), driver
// version, API overrides and proxy when it is younger than PreflightInterval and fresh is
// false. It keeps what it ran; the error says only that it could not keep
// it (the next hook then checks again).
func Remembered(ctx context.Context, d state.Dir, data []byte, kc *Kubeconfig, version string, opts Options, fresh bool) (Report, error) {
	key := memoKey(data, version, opts)
	if !fresh {
		var m memo
		if d.Load(state.Preflight, &m) == nil && m.Key == key && time.Since(m.At) < PreflightInterval {
			return m.Report, nil
		}
	}
	rep := Preflight(ctx, kc, version, opts)
	return rep, d.Save(state.Preflight, memo{Key: key, At: time.Now(), Report: rep})
}

// memoKey identifies what a preflight result depends on; the kubeconfig
// enters only as a hash.
func memoKey(data []byte, version string, opts Options) string {
	h := sha256.New()
	h.Write(data)
	h.Write([]byte("\x00" + version + "\x00" + opts.Proxy.HTTPS + "\x00" + opts.Proxy.NoProxy))
	// The api-resources overrides change what is discovered; a map's
	// order is random, so they enter sorted.
	for _, k := range slices.Sorted(maps.Keys(opts.APIVersions)) {
		h.Write([]byte("\x00" + k + "=" + opts.APIVersions[k]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// PreflightDue is when update-status next runs the preflight kept in d
// (zero when none is kept).
func PreflightDue(d state.Dir) time.Time {
	var m memo
	if d.Load(state.Preflight, &m) != nil || m.At.IsZero() {
		return time.Time{}
	}
	return m.At.Add(PreflightInterval)
}
