package fakejuju_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// TestAgreement runs every row of the agreement table through the fake's
// own tools, in process, as the unit tests use them. The same table passes
// through Juju's own hook-tool code in testbed/juju/hookcontext.
func TestAgreement(t *testing.T) {
	for _, row := range fakejuju.Agreement {
		t.Run(row.Name, func(t *testing.T) {
			dir := t.TempDir()
			charmDir := filepath.Join(dir, "charm")
			state := filepath.Join(dir, "fakejuju-state.json")
			require.NoError(t, os.MkdirAll(charmDir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(charmDir, "metadata.yaml"), []byte(fakejuju.AgreementMetadata), 0o644))
			upload := filepath.Join(dir, "magnum_capi_helm-1.4.0-py3-none-any.whl")
			require.NoError(t, os.WriteFile(upload, []byte("wheel"), 0o644))
			st := fakejuju.NewAgreementState(upload)
			if row.Setup != nil {
				row.Setup(st)
			}
			r := fakejuju.NewRunner(state)
			r.Env["JUJU_CHARM_DIR"] = charmDir
			r.Env["JUJU_ACTION_UUID"] = "none"
			if row.InAction {
				r.Env["JUJU_ACTION_UUID"] = "1"
				st.Action = &fakejuju.Action{Name: "smoke-test", UUID: "1", Params: fakejuju.AgreementActionParams()}
			}
			if h := row.InRelation; h != nil {
				rel, err := st.Relation(h.ID)
				require.NoError(t, err)
				for _, kv := range h.Vars(rel.Endpoint) {
					k, v, _ := strings.Cut(kv, "=")
					r.Env[k] = v
				}
			}
			require.NoError(t, fakejuju.Create(state, st))

			stdout, err := r.Run(context.Background(), row.Argv)
			code, stderr := 0, ""
			var ee *hooktool.ExitError
			if errors.As(err, &ee) {
				code, stderr = ee.Code, ee.Stderr
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, row.Code, code, "exit code")
			assert.Equal(t, strings.ReplaceAll(row.Stdout, "{resources}", filepath.Join(dir, "resources")), string(stdout), "stdout")
			assert.Equal(t, row.Stderr, stderr, "stderr")
			// The hook ends well: Juju commits its relation settings.
			require.NoError(t, fakejuju.EndHook(state, true))
			if row.Check != nil {
				after, err := fakejuju.Load(state)
				require.NoError(t, err)
				assert.NoError(t, row.Check(after))
			}
		})
	}
}
