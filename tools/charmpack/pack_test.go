package main

import (
	"archive/zip"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// builtCharm returns the .charm under test: $CHARM when make built one, else
// one packed here from a freshly built static binary.
func builtCharm(t *testing.T) string {
	if p := os.Getenv("CHARM"); p != "" {
		return p
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "magnum-capi-graft")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/magnum-capi-graft")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	charm := filepath.Join(dir, "test.charm")
	require.NoError(t, Pack(Inputs{
		Charmcraft: "../../charmcraft.yaml", Binary: bin, Dispatch: "../../dispatch",
		Extra: []string{"../../LICENSE"},
	}, charm))
	return charm
}

func readZip(t *testing.T, path string) map[string]*zip.File {
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	t.Cleanup(func() { zr.Close() })
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	return files
}

func yamlOf(t *testing.T, f *zip.File) map[string]any {
	require.NotNil(t, f)
	r, err := f.Open()
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(b, &m), f.Name)
	return m
}

// TestCharmIsWhatJujuAccepts checks the packed charm the way Juju's charm
// reader and unit agent do.
func TestCharmIsWhatJujuAccepts(t *testing.T) {
	files := readZip(t, builtCharm(t))

	for _, exe := range []string{"dispatch", "bin/magnum-capi-graft", "hooks/update-status"} {
		f := files[exe]
		require.NotNil(t, f, exe)
		assert.Equal(t, os.FileMode(0o755), f.Mode().Perm(), "%s must be executable inside the zip", exe)
	}

	// The binary must be static: a Magnum unit's libc is not ours to assume.
	r, err := files["bin/magnum-capi-graft"].Open()
	require.NoError(t, err)
	tmp := filepath.Join(t.TempDir(), "bin")
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tmp, b, 0o755))
	ef, err := elf.Open(tmp)
	require.NoError(t, err)
	for _, p := range ef.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "binary is dynamically linked")
	}
	ef.Close()

	manifest := yamlOf(t, files["manifest.yaml"])
	bases, _ := manifest["bases"].([]any)
	require.NotEmpty(t, bases, "Juju refuses a charm without bases")
	var channels []string
	for _, b := range bases {
		m := b.(map[string]any)
		assert.Equal(t, "ubuntu", m["name"])
		assert.Equal(t, []any{"amd64"}, m["architectures"])
		channels = append(channels, m["channel"].(string))
	}
	assert.ElementsMatch(t, []string{"22.04", "24.04"}, channels)

	meta := yamlOf(t, files["metadata.yaml"])
	assert.Equal(t, "magnum-capi-graft", meta["name"])
	assert.Equal(t, true, meta["subordinate"])
	assert.NotContains(t, meta, "series", "series in metadata.yaml conflicts with manifest bases")
	requires, _ := meta["requires"].(map[string]any)
	ep, _ := requires["juju-info"].(map[string]any)
	require.NotNil(t, ep, "a subordinate needs a juju-info endpoint to relate to magnum")
	assert.Equal(t, "juju-info", ep["interface"])
	assert.Equal(t, "container", ep["scope"], "a subordinate's endpoint must be container-scoped")

	config := yamlOf(t, files["config.yaml"])
	options, _ := config["options"].(map[string]any)
	require.NotEmpty(t, options)
	for name, o := range options {
		opt := o.(map[string]any)
		typ, _ := opt["type"].(string)
		assert.Contains(t, []string{"string", "int", "float", "boolean", "secret"}, typ, "option %s", name)
		assert.NotEmpty(t, opt["description"], "option %s has no description", name)
		if def, ok := opt["default"]; ok {
			switch typ {
			case "string":
				assert.IsType(t, "", def, "option %s default", name)
			case "int":
				assert.IsType(t, 0, def, "option %s default", name)
			case "boolean":
				assert.IsType(t, true, def, "option %s default", name)
			case "secret":
				t.Errorf("secret option %s cannot have a default", name)
			}
		}
	}
	assert.Equal(t, "secret", options["kubeconfig"].(map[string]any)["type"])

	actions := yamlOf(t, files["actions.yaml"])
	require.Contains(t, actions, "investigate")
	for name, a := range actions {
		act := a.(map[string]any)
		assert.NotEmpty(t, act["description"], "action %s", name)
		assert.Equal(t, false, act["additionalProperties"], "action %s must refuse unknown params", name)
		params, _ := act["params"].(map[string]any)
		for p, spec := range params {
			typ, _ := spec.(map[string]any)["type"].(string)
			assert.Contains(t, []string{"string", "integer", "number", "boolean", "object", "array"}, typ, "action %s param %s", name, p)
		}
	}
}

// TestMetadataMatchesCharmcraft keeps the top-level metadata.yaml (the
// design card's) from drifting from charmcraft.yaml, the source.
func TestMetadataMatchesCharmcraft(t *testing.T) {
	cc, err := Load("../../charmcraft.yaml")
	require.NoError(t, err)
	b, err := os.ReadFile("../../metadata.yaml")
	require.NoError(t, err)
	var top map[string]any
	require.NoError(t, yaml.Unmarshal(b, &top))
	gen, err := yaml.Marshal(cc.Metadata())
	require.NoError(t, err)
	var want map[string]any
	require.NoError(t, yaml.Unmarshal(gen, &want))
	assert.Equal(t, want, top)
}
