package fakecloud_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/smoketest"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
)

// syncBuffer is a bytes.Buffer the serving goroutine and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveCLI runs "fakecloud serve --state-dir DIR args..." until the returned
// stop is called, which returns the exit status, and waits for cloud.json.
func serveCLI(t *testing.T, dir string, args ...string) (conn fakecloud.Connection, stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- fakecloud.Main(ctx, append([]string{"serve", "--state-dir", dir, "--listen", "127.0.0.1:0"}, args...), &bytes.Buffer{}, stderr)
	}()
	stopped := false
	stop = func() int {
		if stopped {
			return -1
		}
		stopped = true
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("fakecloud serve did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(filepath.Join(dir, fakecloud.ConnectionFile)); err == nil {
			require.NoError(t, json.Unmarshal(data, &conn))
			return conn, stderr, stop
		}
		select {
		case c := <-code:
			t.Fatalf("fakecloud serve exited %d: %s", c, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %s after 10s: %s", fakecloud.ConnectionFile, stderr.String())
	return
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// TestServeRunsTheSmokeTestHeld serves the cloud as the test bed does and
// runs the charm's smoke test against it with what the state directory
// offers: the connection file, the CA, and the records afterwards.
func TestServeRunsTheSmokeTestHeld(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	const hold = 300 * time.Millisecond
	conn, stderr, stop := serveCLI(t, dir, "--hold", hold.String(), "--polls", "0")

	assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(dir, fakecloud.ConnectionFile)), "it holds the password")
	assert.Equal(t, os.FileMode(0o644), mode(t, filepath.Join(dir, fakecloud.CAFile)))
	assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(dir, fakecloud.CAKeyFile)))
	assert.Equal(t, filepath.Join(dir, fakecloud.CAFile), conn.CAFile)
	assert.Regexp(t, `^https://127\.0\.0\.1:[0-9]+/identity/v3$`, conn.AuthURL)
	assert.Equal(t, fakecloud.Username, conn.Username)
	assert.Equal(t, fakecloud.ImageName, conn.Image)
	assert.Equal(t, fakecloud.ExternalNetwork, conn.ExternalNetwork)

	caPEM, err := os.ReadFile(conn.CAFile)
	require.NoError(t, err)
	creds, err := smoketest.CredentialsFromSecret(conn.SecretContent(caPEM))
	require.NoError(t, err)
	params := smoketest.Params{
		Image: conn.Image, Keypair: conn.Keypair, ExternalNetwork: conn.ExternalNetwork,
		MasterFlavor: conn.MasterFlavor, Flavor: conn.Flavor, KubeTag: conn.KubeTag,
		Timeout: time.Minute,
		Pacing: smoketest.Pacing{PollInitial: 20 * time.Millisecond, PollMax: 50 * time.Millisecond,
			RetryInitial: time.Millisecond, RetryAttempts: 1, DeleteTimeout: time.Minute},
	}
	res, err := smoketest.Run(context.Background(), creds, params, nil)
	require.NoError(t, err)
	assert.Equal(t, fakecloud.CreateComplete, res.Status)

	rec, err := fakecloud.ReadRecords(filepath.Join(dir, fakecloud.RecordsFile))
	require.NoError(t, err)
	assert.Empty(t, rec.Templates)
	assert.Empty(t, rec.Clusters)
	created := rec.Matching("POST", "/magnum/v1/clusters")
	require.Len(t, created, 1)
	assert.Equal(t, 202, created[0].Status)
	assert.Equal(t, res.ClusterName, created[0].Body["name"])
	tpl := rec.Matching("POST", "/magnum/v1/clustertemplates")
	require.Len(t, tpl, 1)
	assert.Equal(t, 201, tpl[0].Status)
	assert.Equal(t, res.TemplateName, tpl[0].Body["name"])
	var inProgress, complete []fakecloud.Request
	for _, q := range rec.Matching("GET", "/magnum/v1/clusters/"+res.ClusterUUID) {
		switch q.ClusterStatus {
		case fakecloud.CreateInProgress:
			inProgress = append(inProgress, q)
		case fakecloud.CreateComplete:
			complete = append(complete, q)
		}
	}
	require.NotEmpty(t, inProgress)
	require.Len(t, complete, 1)
	assert.GreaterOrEqual(t, complete[0].Time.Sub(created[0].Time), hold)
	deletes := rec.Matching("DELETE", "/magnum/v1/clusters/"+res.ClusterUUID)
	require.Len(t, deletes, 1)
	assert.Equal(t, 204, deletes[0].Status)
	require.Len(t, rec.Matching("DELETE", "/magnum/v1/clustertemplates/"+res.TemplateUUID), 1)
	for _, q := range rec.Matching("POST", "/identity/v3/auth/tokens") {
		assert.Nil(t, q.Body, "the login's body is never recorded")
	}
	data, err := os.ReadFile(filepath.Join(dir, fakecloud.RecordsFile))
	require.NoError(t, err)
	assert.NotContains(t, string(data), fakecloud.Password)
	assert.Contains(t, stderr.String(), "POST /magnum/v1/clusters 202")

	// A clean stop exits 0 and takes the connection file away; a restart
	// keeps the CA a client was told to trust.
	assert.Equal(t, 0, stop())
	assert.NoFileExists(t, filepath.Join(dir, fakecloud.ConnectionFile))
	again, _, stop2 := serveCLI(t, dir)
	caAgain, err := os.ReadFile(again.CAFile)
	require.NoError(t, err)
	assert.Equal(t, caPEM, caAgain)
	assert.Equal(t, 0, stop2())
}

func TestServeRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		expect string
	}{
		{[]string{"serve"}, "--state-dir is required"},
		{[]string{"serve", "--state-dir", "x", "--fault", "POST:/magnum/v1/clusters:503"}, "want METHOD:PATH-PREFIX:CODE:COUNT[:after]"},
		{[]string{"serve", "--state-dir", "x", "--fault", "POST:/magnum:5xx:1"}, `"5xx" is not an HTTP status`},
		{[]string{"serve", "--state-dir", "x", "--fault", "POST:magnum:503:1"}, "must start with /"},
		{[]string{"serve", "--state-dir", "x", "--fault", "POST:/magnum:503:1:before"}, "want METHOD"},
		{[]string{"serve", "--state-dir", "x", "--hold", "long"}, `invalid argument "long"`},
		{[]string{"sere"}, "usage: fakecloud serve"},
	} {
		var stderr bytes.Buffer
		code := fakecloud.Main(context.Background(), tc.args, &bytes.Buffer{}, &stderr)
		assert.Equal(t, 2, code, "%v", tc.args)
		assert.Contains(t, stderr.String(), tc.expect, "%v", tc.args)
	}
}

// TestServeFaultFlag: a --fault fails the requests it names, and the
// records say so.
func TestServeFaultFlag(t *testing.T) {
	dir := t.TempDir()
	conn, _, _ := serveCLI(t, dir, "--fault", "post:/identity/v3/auth/tokens:503:2")
	caPEM, err := os.ReadFile(conn.CAFile)
	require.NoError(t, err)
	creds, err := smoketest.CredentialsFromSecret(conn.SecretContent(caPEM))
	require.NoError(t, err)
	params := smoketest.Params{Image: conn.Image, Keypair: conn.Keypair, ExternalNetwork: conn.ExternalNetwork,
		MasterFlavor: conn.MasterFlavor, Flavor: conn.Flavor,
		Pacing: smoketest.Pacing{PollInitial: time.Millisecond, PollMax: time.Millisecond, RetryInitial: time.Millisecond, RetryAttempts: 1}}

	_, err = smoketest.Run(context.Background(), creds, params, nil)

	require.ErrorContains(t, err, "gave up after 2 attempts")
	rec, err := fakecloud.ReadRecords(filepath.Join(dir, fakecloud.RecordsFile))
	require.NoError(t, err)
	logins := rec.Matching("POST", "/identity/v3/auth/tokens")
	require.Len(t, logins, 2)
	for _, q := range logins {
		assert.Equal(t, 503, q.Status)
		assert.True(t, q.Fault)
	}
}

// TestAdvertisedHost: the URLs and the certificate name the host clients
// use, not the address the server listens on.
func TestAdvertisedHost(t *testing.T) {
	c, err := fakecloud.Start(fakecloud.Options{Listen: "127.0.0.1:0", Advertise: "cloud.example"})
	require.NoError(t, err)
	defer c.Close()
	require.True(t, strings.HasPrefix(c.URL(), "https://cloud.example:"), c.URL())
	_, port, err := net.SplitHostPort(strings.TrimPrefix(c.URL(), "https://"))
	require.NoError(t, err)

	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(c.CACertPEM()))
	conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: "cloud.example", MinVersion: tls.VersionTLS12})
	require.NoError(t, err, "the certificate is valid for the advertised name")
	conn.Close()
	_, err = tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: "other.example", MinVersion: tls.VersionTLS12})
	require.Error(t, err, "and only for the names it serves")

	// Listening on every address, it advertises loopback by default.
	c2, err := fakecloud.Start(fakecloud.Options{Listen: "0.0.0.0:0"})
	require.NoError(t, err)
	defer c2.Close()
	assert.True(t, strings.HasPrefix(c2.URL(), "https://127.0.0.1:"), c2.URL())
}

func TestLoadOrCreateCARefusesALoneHalf(t *testing.T) {
	dir := t.TempDir()
	ca, err := fakecloud.LoadOrCreateCA(dir, time.Now())
	require.NoError(t, err)
	again, err := fakecloud.LoadOrCreateCA(dir, time.Now())
	require.NoError(t, err)
	assert.Equal(t, ca.CertPEM, again.CertPEM)

	require.NoError(t, os.Remove(filepath.Join(dir, fakecloud.CAKeyFile)))
	_, err = fakecloud.LoadOrCreateCA(dir, time.Now())
	require.ErrorContains(t, err, "holds only one of ca.pem and ca-key.pem")
	_, err = os.Stat(filepath.Join(dir, fakecloud.CAFile))
	assert.NoError(t, err, "and leaves it in place")
}
