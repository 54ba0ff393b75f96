package kubeconfig

import (
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCertificateAuthorityMustBeARegularFile: a certificate-authority path
// naming a FIFO or /dev/zero is refused by name, at validation and again at
// preflight (which reads it), and neither blocks nor reads without end. A
// hook holds the machine lock while it runs this.
func TestCertificateAuthorityMustBeARegularFile(t *testing.T) {
	fx := newFixture(t)
	srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
	client := fx.validClient()
	fifo := filepath.Join(t.TempDir(), "ca.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	dir := t.TempDir()

	for _, path := range []string{fifo, "/dev/zero", dir} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := kcSpec{server: srv.URL, caFile: path, client: &client}.yaml()
			kc, r := Validate(data, "1.4.0", time.Now(), ValidateOptions{})
			require.Nil(t, kc, "validation must refuse %s", path)
			assert.Equal(t, []string{"kubeconfig: certificate-authority is not a regular file on the unit"}, r.Problems)

			// Preflight reads the file itself (it may have been swapped
			// since validation): it refuses it too, without blocking. The
			// watchdog only turns a hang into a failure; it is no timing.
			kc = &Kubeconfig{Server: mustURL(t, srv.URL), CAFile: path}
			done := make(chan Report, 1)
			go func() { done <- Preflight(testContext(t), kc, "1.4.0", Options{}) }()
			select {
			case r := <-done:
				assert.Equal(t, "kubeconfig: certificate-authority is not a regular file on the unit", r.BlockedStatus())
			case <-time.After(30 * time.Second):
				t.Fatal("preflight hangs on a certificate-authority that is not a regular file")
			}
		})
	}
}

// TestCertificateAuthorityTooLarge: a regular but huge file is refused
// without being read whole.
func TestCertificateAuthorityTooLarge(t *testing.T) {
	fx := newFixture(t)
	srv := fx.start(&fakeAPI{served: capiServed("v1beta1")})
	big := filepath.Join(t.TempDir(), "ca.crt")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxCAFile+1)) // sparse: costs no disk
	require.NoError(t, f.Close())
	kc := &Kubeconfig{Server: mustURL(t, srv.URL), CAFile: big}
	r := Preflight(testContext(t), kc, "1.4.0", Options{})
	assert.Equal(t, "kubeconfig: certificate-authority file is larger than 1 MiB", r.BlockedStatus())
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
