package testbed

import (
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPICheckSamples: the check counts a unit as answering only when it
// returns 2xx or 3xx, one request per sample. It enters a network
// namespace as it does a box's; here the test's own (entering one takes
// CAP_SYS_ADMIN, which the test bed's root has).
func TestAPICheckSamples(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("entering a network namespace needs root")
	}
	// Requests 10 to 19 find the API down.
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := requests.Add(1); n > 10 && n <= 20 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	c, err := startAPICheck([]checkTarget{{unit: "a/0", netns: "/proc/self/ns/net"}}, srv.URL, 10*time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return requests.Load() >= 30 }, 30*time.Second, 10*time.Millisecond)
	samples := c.Stop()

	require.Equal(t, int(requests.Load()), len(samples), "one request per sample")
	assert.Len(t, samples.Silent(), 10)
	assert.Equal(t, []string{"a/0"}, samples[0].Answered)
	assert.Equal(t, []string{"a/0"}, samples[len(samples)-1].Answered)
	assert.Positive(t, samples.NoneAnswered())
	assert.Equal(t, samples.NoneAnswered(), samples.Down("a/0"))
	for i := 1; i < len(samples); i++ {
		assert.False(t, samples[i].At.Before(samples[i-1].At), "samples in time order")
	}
}

func TestSamplesArithmetic(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int, answered ...string) Sample {
		return Sample{At: t0.Add(time.Duration(ms) * time.Millisecond), Answered: answered}
	}
	s := Samples{at(0, "a", "b"), at(100, "b"), at(200), at(300), at(400, "a"), at(500)}
	assert.Equal(t, 200*time.Millisecond, s.NoneAnswered(), "200 to 400; the last sample has no length")
	assert.Equal(t, 300*time.Millisecond, s.Down("a"))
	assert.Equal(t, 300*time.Millisecond, s.Down("b"))
	assert.Len(t, s.Silent(), 3)
	assert.Equal(t, "6 samples over 0.5s; no unit answered for 0.2s", s.String())
}
