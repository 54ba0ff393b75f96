// Package main is charmpack: it builds the deployable .charm for one platform
// of charmcraft.yaml without charmcraft, for machines (CI, the test bed) that
// have none, with the files `charmcraft pack` (charmcraft 3) would put there:
// metadata.yaml copied from the project, config.yaml and actions.yaml from
// charmcraft.yaml, manifest.yaml with that platform's base. It refuses a
// project charmcraft 3 would refuse (project.go). A .charm is a zip: Juju
// reads metadata.yaml, config.yaml, actions.yaml and manifest.yaml (it refuses
// a charm without bases), and runs dispatch, which must be executable inside
// the zip. dispatch (and hooks/update-status, which juju-exec runs by path)
// are symlinks to the hook binary, so a hook is one exec of it, not a shell
// that execs it.
package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// Inputs are what the packer puts into the charm.
type Inputs struct {
	ProjectDir string   // holds charmcraft.yaml and metadata.yaml
	Platform   string   // a platform of charmcraft.yaml; "" when it has one only
	Binary     string   // the static hook binary
	Extra      []string // README.md, LICENSE
}

// packed is a fixed time: it keeps the artifact reproducible, and stands for
// charmcraft's start time in the manifest.
var packed = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Manifest renders manifest.yaml as charmcraft/services/package.py
// PackageService.get_manifest writes it (models/manifest.py Manifest). The
// analysis attributes are those charmcraft's linters (linters.py Language
// and Framework) find in this charm: dispatch runs no Python entrypoint, so
// both are unknown.
func Manifest(bases []Base) map[string]any {
	return map[string]any{
		"charmcraft-version":    "3.x (magnum-capi-graft charmpack)",
		"charmcraft-started-at": packed.Format(time.RFC3339),
		"bases":                 bases,
		"analysis": map[string]any{"attributes": []map[string]string{
			{"name": "language", "result": "unknown"},
			{"name": "framework", "result": "unknown"},
		}},
	}
}

// choosePlatform picks the platform to pack: the one asked for, or the only one.
func (p *Project) choosePlatform(asked string) (string, error) {
	plan, err := p.BuildPlan()
	if err != nil {
		return "", err
	}
	var names []string
	for _, b := range plan {
		if !slices.Contains(names, b.Platform) {
			names = append(names, b.Platform)
		}
	}
	if asked != "" {
		return asked, nil
	}
	if len(names) != 1 {
		return "", fmt.Errorf("charmcraft.yaml has platforms %v: choose one with --platform", names)
	}
	return names[0], nil
}

// Pack writes the .charm zip to out.
func Pack(in Inputs, out string) error {
	p, err := LoadProject(in.ProjectDir)
	if err != nil {
		return err
	}
	if err := p.Check(); err != nil {
		return fmt.Errorf("charmcraft 3 would refuse this project:\n%w", err)
	}
	platform, err := p.choosePlatform(in.Platform)
	if err != nil {
		return err
	}
	bases, err := p.ManifestBases(platform)
	if err != nil {
		return err
	}
	files, err := p.CharmFiles()
	if err != nil {
		return err
	}
	manifest, err := yaml.Marshal(Manifest(bases))
	if err != nil {
		return fmt.Errorf("cannot render manifest.yaml: %w", err)
	}
	files["manifest.yaml"] = manifest
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, mode os.FileMode, data []byte) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: packed}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, name := range sortedKeys(files) {
		if err := add(name, 0o644, files[name]); err != nil {
			return err
		}
	}
	binary, err := os.ReadFile(in.Binary)
	if err != nil {
		return fmt.Errorf("cannot read the hook binary: %w", err)
	}
	if err := add("bin/magnum-capi-graft", 0o755, binary); err != nil {
		return err
	}
	// Juju runs dispatch for every hook and action with JUJU_DISPATCH_PATH
	// set; juju-exec runs hooks/update-status by path (the watcher does)
	// and sets none, and the binary then reads the event from the path it
	// was started as. A dispatch script that execs the binary cost a shell
	// start (about 1.5 ms in the bench box) in every hook. Juju unpacks
	// symlinks that stay inside the charm (juju/utils zip.ExtractAll,
	// writeSymlink; juju/charm charmdir.go packs them the same way: stored,
	// mode symlink, the target as content).
	for _, l := range []struct{ name, target string }{
		{"dispatch", "bin/magnum-capi-graft"},
		{"hooks/update-status", "../bin/magnum-capi-graft"},
	} {
		h := &zip.FileHeader{Name: l.name, Method: zip.Store, Modified: packed}
		h.SetMode(os.ModeSymlink | 0o777)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write([]byte(l.target)); err != nil {
			return err
		}
	}
	for _, p := range in.Extra {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", p, err)
		}
		if err := add(filepath.Base(p), 0o644, b); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
