package apiprobe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:251F":                         "127.0.0.1:9503",
		"00000000:2527":                         "127.0.0.1:9511",
		"0A00000A:0050":                         "10.0.0.10:80",
		"00000000000000000000000000000000:2527": "[::1]:9511",
		"0000000000000000FFFF00000A00000A:2527": "10.0.0.10:9511",
	} {
		got, err := parseAddr(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "0100007F", "zz:0050", "0100007F:zz", "01:0050"} {
		_, err := parseAddr(bad)
		assert.Error(t, err, bad)
	}
}

// TestAnswers finds this test's own listening server through /proc and
// asks it, as the charm asks magnum-api.
func TestAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	addrs, err := Listening(os.Getpid())
	require.NoError(t, err)
	assert.Contains(t, addrs, srv.Listener.Addr().String())
	require.NoError(t, Answers(context.Background(), os.Getpid(), 5*time.Second))
}

func TestAnswersRefusesAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	err := Answers(context.Background(), os.Getpid(), time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 503")
}

func TestAnswersNothingListening(t *testing.T) {
	// A listener that is closed leaves no listening socket behind.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	addrs, err := Listening(os.Getpid())
	require.NoError(t, err)
	assert.NotContains(t, addrs, "127.0.0.1:"+port)
	err = Answers(context.Background(), os.Getpid(), time.Second)
	require.Error(t, err)
}
