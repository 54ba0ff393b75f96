package hookcontext_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/juju/cmd/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/juju/juju/internal/worker/uniter/runner/jujuc"

	"github.com/juju/juju/magnum-capi-graft-testbed/hookcontext"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

// TestAgreementWithJuju runs every row of fakejuju.Agreement through Juju's
// own hook-tool commands (jujuc.NewCommand under juju/cmd's Main, as the
// jujuc server runs them) over a Context on the row's state. The fake's own
// tools pass the same table (testbed/fakejuju/agreement_test.go), so a
// green run of both means the unit tests' fake answers as Juju does.
func TestAgreementWithJuju(t *testing.T) {
	for _, row := range fakejuju.Agreement {
		t.Run(row.Name, func(t *testing.T) {
			dir := t.TempDir()
			paths := fakejuju.Paths{
				Unit: fakejuju.DefaultUnit, AgentDir: dir, CharmDir: filepath.Join(dir, "charm"),
				State: filepath.Join(dir, "fakejuju-state.json"),
			}
			require.NoError(t, os.MkdirAll(paths.CharmDir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(paths.CharmDir, "metadata.yaml"), []byte(fakejuju.AgreementMetadata), 0o644))
			upload := filepath.Join(dir, "magnum_capi_helm-1.4.0-py3-none-any.whl")
			require.NoError(t, os.WriteFile(upload, []byte("wheel"), 0o644))
			st := fakejuju.NewAgreementState(upload)
			if row.Setup != nil {
				row.Setup(st)
			}
			actionID := ""
			if row.InAction {
				actionID = "1"
				st.Action = &fakejuju.Action{Name: "smoke-test", UUID: actionID, Params: fakejuju.AgreementActionParams()}
			}
			require.NoError(t, fakejuju.Create(paths.State, st))

			ctx := hookcontext.New(hookcontext.Config{ID: "magnum-capi-graft/0-agreement-1", Paths: paths, ActionID: actionID, Relation: row.InRelation})
			c, err := jujuc.NewCommand(ctx, row.Argv[0])
			require.NoError(t, err)
			var stdout, stderr bytes.Buffer
			code := cmd.Main(c, &cmd.Context{Dir: dir, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}, row.Argv[1:])

			assert.Equal(t, row.Code, code, "exit code")
			assert.Equal(t, strings.ReplaceAll(row.Stdout, "{resources}", filepath.Join(dir, "resources")), stdout.String(), "stdout")
			assert.Equal(t, row.Stderr, stderr.String(), "stderr")
			// The hook ends well: the uniter commits its relation settings.
			require.NoError(t, ctx.Commit())
			if row.Check != nil {
				after, err := fakejuju.Load(paths.State)
				require.NoError(t, err)
				assert.NoError(t, row.Check(after))
			}
		})
	}
}
