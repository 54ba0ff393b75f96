package driver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
)

// TestSlowIndexIsBounded: the slowest hostile input a hook can meet is a
// package index that answers, then trickles its body a byte at a time,
// forever. Each request is cut at the client's timeout (indexTimeout in the
// charm, one second here), a hook makes at most two (the project page and
// the wheel), and then the hook goes on with a blocked status. The watchdog
// only turns a hang into a failure: it measures nothing.
func TestSlowIndexIsBounded(t *testing.T) {
	client, err := indexHTTPClient(proxy.Settings{})
	require.NoError(t, err)
	assert.Equal(t, indexTimeout, client.Timeout, "the bound the README states is the one in effect")

	stop := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", simpleJSON)
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			// Until the client hangs up: a write then fails.
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	slow := srv.Client()
	slow.Timeout = time.Second

	done := make(chan error, 1)
	go func() {
		_, _, err := fetchWheel(context.Background(), slow, srv.URL+"/simple", "1.4.0", filepath.Join(t.TempDir(), "wheels"), false)
		done <- err
	}()
	select {
	case err := <-done:
		// Cut at the deadline: the client's timeout error, or (when the
		// server notices the hang-up first and ends the body) the page
		// the trickle left, which is no index page.
		require.Error(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("a trickling index holds the hook past its client timeout")
	}
}
