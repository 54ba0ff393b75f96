package chart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/state"
)

// RequestFor is the check of the chart the driver will fetch with the
// [capi_helm] options as config-get gave them (raw) and driver-version.
func RequestFor(raw map[string]any, driverVersion string) Request {
	return Request{Repo: stringOption(raw, "helm-chart-repo"), Name: stringOption(raw, "helm-chart-name"),
		Version: stringOption(raw, "default-helm-chart-version"), DriverVersion: driverVersion}
}

// stringOption is a string option as config-get gave it, nil when unset.
func stringOption(raw map[string]any, name string) *string {
	if v, ok := raw[name].(string); ok {
		return &v
	}
	return nil
}

// Remembered checks req through the proxy settings (the one helm in the
// conductor uses), or returns the last check kept in the state directory
// as Remember allows. It keeps what it checked; the error says only that
// the last check could not be read or this one kept.
func Remembered(ctx context.Context, st state.Dir, req Request, settings proxy.Settings, fresh bool) (Record, error) {
	if p, err := proxy.New(settings); err == nil {
		req.Proxy = p.Func
	} else {
		req.Proxy = func(*http.Request) (*url.URL, error) { return nil, err }
	}
	h := sha256.New()
	fmt.Fprintf(h, "%v\x00%v\x00%v\x00%s\x00%+v", deref(req.Repo), deref(req.Name), deref(req.Version), req.DriverVersion, settings)
	key := hex.EncodeToString(h.Sum(nil))
	prev, loadErr := state.Get[Record](st, state.ChartCheck)
	rec, ran := Remember(prev, key, time.Now(), fresh, func() Result { return Check(ctx, req) })
	if !ran {
		return rec, loadErr
	}
	return rec, errors.Join(loadErr, st.Save(state.ChartCheck, rec))
}

func deref(p *string) string {
	if p == nil {
		return "\x01unset"
	}
	return *p
}

// Due is when a hook next checks the chart kept in st (zero when none is
// kept).
func Due(st state.Dir) time.Time {
	rec, err := state.Get[Record](st, state.ChartCheck)
	if err != nil || rec.Checked.IsZero() {
		return time.Time{}
	}
	return rec.Checked.Add(Interval)
}
