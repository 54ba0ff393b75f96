package rolling

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// units is a unit reader over a fixed set of units.
type units map[string]systemd.Unit

func (us units) Unit(_ context.Context, name string) (systemd.Unit, error) {
	u, ok := us[name]
	if !ok {
		return systemd.Unit{}, errors.New("no such unit " + name)
	}
	return u, nil
}

// proofBed is a unit whose two services restarted, running with a live
// command line that keeps the default-file wiring's promise, and whose
// magnum-api answers.
type proofBed struct {
	proof    Proof
	units    units
	cmdline  []string
	answered []int
	answer   error
	log      []string
}

func newProofBed() *proofBed {
	b := &proofBed{units: units{
		"magnum-api.service":       {Name: "magnum-api.service", ActiveState: "active", SubState: "running", MainPID: 41},
		"magnum-conductor.service": {Name: "magnum-conductor.service", ActiveState: "active", SubState: "running", MainPID: 42},
	}, cmdline: []string{"/usr/bin/magnum-api", "--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d"}}
	b.proof = Proof{Units: b.units,
		Wirings: []wiring.Wiring{{Service: "magnum-api", Method: wiring.ByDefaultFile}, {Service: "magnum-conductor", Method: wiring.ByDefaultFile}},
		Cmdline: func(uint32) ([]string, error) { return b.cmdline, nil },
		Answers: func(_ context.Context, pid int, timeout time.Duration) error {
			b.answered = append(b.answered, pid)
			return b.answer
		},
		Log: func(s string) { b.log = append(b.log, s) }}
	return b
}

func TestProofServing(t *testing.T) {
	ctx := context.Background()
	b := newProofBed()
	require.NoError(t, b.proof.Serving(ctx, []string{"magnum-api", "magnum-conductor"}))
	assert.Equal(t, []int{41}, b.answered, "magnum-api's main process is asked")
	assert.Equal(t, []string{"magnum-api answers HTTP"}, b.log)

	// Without magnum-api restarted nothing is asked over HTTP.
	b = newProofBed()
	require.NoError(t, b.proof.Serving(ctx, []string{"magnum-conductor"}))
	assert.Empty(t, b.answered)
}

func TestProofFails(t *testing.T) {
	ctx := context.Background()
	b := newProofBed()
	b.units["magnum-conductor.service"] = systemd.Unit{ActiveState: "failed", SubState: "failed"}
	assert.EqualError(t, b.proof.Serving(ctx, []string{"magnum-api", "magnum-conductor"}),
		"magnum-conductor is failed/failed after its restart")

	b = newProofBed()
	b.cmdline = []string{"/usr/bin/magnum-api", "--config-file=/etc/magnum/magnum.conf"}
	err := b.proof.Serving(ctx, []string{"magnum-api"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "magnum-api does not keep the wiring's promise (default-file) after its restart")
	assert.Empty(t, b.answered, "a service that broke its promise is not asked over HTTP")

	b = newProofBed()
	b.answer = errors.New("connection refused")
	assert.EqualError(t, b.proof.Serving(ctx, []string{"magnum-api"}),
		"magnum-api does not answer HTTP after its restart: connection refused")
	assert.Empty(t, b.log)

	b = newProofBed()
	assert.ErrorContains(t, b.proof.Serving(ctx, []string{"magnum-worker"}), "no such unit magnum-worker.service",
		"a unit that cannot be read is no proof")
}
