package main

import (
	"archive/zip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

var (
	packOnce  sync.Once
	packed24  string
	packError error
)

// TestMain removes what builtCharm made.
func TestMain(m *testing.M) {
	code := m.Run()
	if packed24 != "" {
		os.RemoveAll(filepath.Dir(packed24))
	}
	os.Exit(code)
}

// builtCharm returns the .charm under test: $CHARM when make built one, else
// one packed here (once) for ubuntu@24.04:amd64 from a freshly built static
// binary.
func builtCharm(t *testing.T) string {
	if p := os.Getenv("CHARM"); p != "" {
		return p
	}
	packOnce.Do(func() {
		dir, err := os.MkdirTemp("", "charmpack-test-")
		if err != nil {
			packError = err
			return
		}
		bin := filepath.Join(dir, "magnum-capi-graft")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/magnum-capi-graft")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			packError = fmt.Errorf("go build: %v: %s", err, out)
			return
		}
		packed24 = filepath.Join(dir, "test.charm")
		packError = Pack(Inputs{
			ProjectDir: "../..", Platform: "ubuntu@24.04:amd64", Binary: bin,
			Extra: []string{"../../README.md", "../../LICENSE"},
		}, packed24)
	})
	require.NoError(t, packError)
	return packed24
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

func bytesOf(t *testing.T, f *zip.File) []byte {
	require.NotNil(t, f)
	r, err := f.Open()
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

func yamlOf(t *testing.T, f *zip.File) map[string]any {
	b := bytesOf(t, f)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(b, &m), f.Name)
	return m
}

// TestCharmIsWhatJujuAccepts checks the packed charm the way Juju's charm
// reader and unit agent do.
func TestCharmIsWhatJujuAccepts(t *testing.T) {
	files := readZip(t, builtCharm(t))

	require.NotNil(t, files["bin/magnum-capi-graft"])
	assert.Equal(t, os.FileMode(0o755), files["bin/magnum-capi-graft"].Mode().Perm(), "the binary must be executable inside the zip")
	// dispatch and hooks/update-status are symlinks to it, unpacked as
	// Juju unpacks them (juju/utils zip.ExtractAll, checkSymlink: relative,
	// and not leading out of the charm).
	dir := t.TempDir()
	for _, name := range []string{"bin/magnum-capi-graft", "dispatch", "hooks/update-status"} {
		f := files[name]
		require.NotNil(t, f, name)
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if f.Mode()&os.ModeSymlink == 0 {
			require.NoError(t, os.WriteFile(p, bytesOf(t, f), f.Mode().Perm()))
			continue
		}
		target := string(bytesOf(t, f))
		require.False(t, filepath.IsAbs(target), "%s -> %s must be relative", name, target)
		rel, err := filepath.Rel(dir, filepath.Join(filepath.Dir(p), target))
		require.NoError(t, err)
		require.False(t, strings.HasPrefix(rel, ".."), "%s -> %s must stay inside the charm", name, target)
		require.NoError(t, os.Symlink(target, p))
	}
	for _, exe := range []string{"dispatch", "hooks/update-status"} {
		fi, err := os.Stat(filepath.Join(dir, exe))
		require.NoError(t, err, exe)
		assert.True(t, fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0, "%s must run the executable binary: %s", exe, fi.Mode())
		real, err := filepath.EvalSymlinks(filepath.Join(dir, exe))
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "bin/magnum-capi-graft"), real, exe)
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

	// Juju refuses a charm whose manifest has no bases (juju
	// core/charm/computedbase.go ComputedBases, baseselector.go "charm does not
	// define any bases"). charmcraft writes the one base of the platform it
	// packed for (ManifestBases); so must charmpack.
	var manifest struct {
		Bases []Base `yaml:"bases"`
	}
	require.NoError(t, yaml.Unmarshal(bytesOf(t, files["manifest.yaml"]), &manifest))
	require.Len(t, manifest.Bases, 1, "a charm packed for one platform runs on that platform's base")
	assert.Equal(t, "ubuntu", manifest.Bases[0].Name)
	assert.Equal(t, []string{"amd64"}, manifest.Bases[0].Architectures)
	if os.Getenv("CHARM") == "" {
		assert.Equal(t, Base{"ubuntu", "24.04", []string{"amd64"}}, manifest.Bases[0])
	}
	p, err := LoadProject("../..")
	require.NoError(t, err)
	want, err := p.ManifestBases("ubuntu@" + manifest.Bases[0].Channel + ":amd64")
	require.NoError(t, err, "the charm's base is none of charmcraft.yaml's platforms")
	assert.Equal(t, want, manifest.Bases)

	meta := yamlOf(t, files["metadata.yaml"])
	assert.Equal(t, "magnum-capi-graft", meta["name"])
	assert.Equal(t, true, meta["subordinate"])
	assert.NotContains(t, meta, "series", "series in metadata.yaml conflicts with manifest bases")
	requires, _ := meta["requires"].(map[string]any)
	ep, _ := requires["juju-info"].(map[string]any)
	require.NotNil(t, ep, "a subordinate needs a juju-info endpoint to relate to magnum")
	assert.Equal(t, "juju-info", ep["interface"])
	assert.Equal(t, "container", ep["scope"], "a subordinate's endpoint must be container-scoped")
	peers, _ := meta["peers"].(map[string]any)
	peer, _ := peers["graft"].(map[string]any)
	require.NotNil(t, peer, "the units' peer relation")
	assert.Equal(t, "magnum-capi-graft-peers", peer["interface"])

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

// TestCharmCarriesWhatCharmcraftWould holds the packed metadata.yaml,
// config.yaml and actions.yaml to what charmcraft 3 writes: metadata.yaml
// copied from the project as it is, config and actions dumped from
// charmcraft.yaml (services/package.py PackageService.write_metadata).
func TestCharmCarriesWhatCharmcraftWould(t *testing.T) {
	files := readZip(t, builtCharm(t))
	p, err := LoadProject("../..")
	require.NoError(t, err)

	assert.Equal(t, string(p.MetadataFile), string(bytesOf(t, files["metadata.yaml"])), "metadata.yaml must be the project's, byte for byte")
	for _, f := range []struct{ name, key string }{{"config.yaml", "config"}, {"actions.yaml", "actions"}} {
		want, err := yaml.Marshal(p.Charmcraft[f.key])
		require.NoError(t, err)
		same, err := sameYAML(want, bytesOf(t, files[f.name]))
		require.NoError(t, err, f.name)
		assert.True(t, same, "the packed %s differs from charmcraft.yaml's %s", f.name, f.key)
	}
	for _, name := range []string{"README.md", "LICENSE"} {
		assert.Contains(t, files, name, "the charm part installs %s; so does charmpack", name)
	}
}
