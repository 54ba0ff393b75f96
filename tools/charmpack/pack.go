// Package main is charmpack: it builds the deployable .charm from
// charmcraft.yaml without charmcraft, for machines (CI, the test bed) that
// have none. A .charm is a zip: Juju reads metadata.yaml, config.yaml,
// actions.yaml and manifest.yaml (it refuses a charm without bases), and runs
// dispatch, which must be executable inside the zip.
package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// Charmcraft is the part of charmcraft.yaml the packer reads.
type Charmcraft struct {
	Name        string         `yaml:"name"`
	Title       string         `yaml:"title"`
	Summary     string         `yaml:"summary"`
	Description string         `yaml:"description"`
	Subordinate bool           `yaml:"subordinate"`
	Platforms   map[string]any `yaml:"platforms"`
	Requires    map[string]any `yaml:"requires"`
	Resources   map[string]any `yaml:"resources"`
	Config      map[string]any `yaml:"config"`
	Actions     map[string]any `yaml:"actions"`
}

// Inputs are the files the packer puts into the charm.
type Inputs struct {
	Charmcraft string // path of charmcraft.yaml
	Binary     string // the static hook binary
	Dispatch   string
	Extra      []string // README.md, LICENSE
}

// Load reads charmcraft.yaml.
func Load(path string) (*Charmcraft, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cc Charmcraft
	if err := yaml.Unmarshal(b, &cc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if cc.Name == "" {
		return nil, fmt.Errorf("%s: no name", path)
	}
	return &cc, nil
}

// Metadata renders metadata.yaml.
func (cc *Charmcraft) Metadata() map[string]any {
	m := map[string]any{
		"name":         cc.Name,
		"display-name": cc.Title,
		"summary":      cc.Summary,
		"description":  cc.Description,
		"subordinate":  cc.Subordinate,
	}
	if cc.Requires != nil {
		m["requires"] = cc.Requires
	}
	if cc.Resources != nil {
		m["resources"] = cc.Resources
	}
	return m
}

// Bases renders manifest.yaml's bases from charmcraft 3 platforms
// ("ubuntu@24.04:amd64").
func (cc *Charmcraft) Bases() ([]map[string]any, error) {
	var keys []string
	for k := range cc.Platforms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bases []map[string]any
	for _, k := range keys {
		var name, channel, arch string
		if _, err := fmt.Sscanf(replaceSeps(k), "%s %s %s", &name, &channel, &arch); err != nil {
			return nil, fmt.Errorf("platform %q is not base@channel:arch", k)
		}
		bases = append(bases, map[string]any{"name": name, "channel": channel, "architectures": []string{arch}})
	}
	if len(bases) == 0 {
		return nil, fmt.Errorf("no platforms: Juju refuses a charm without bases")
	}
	return bases, nil
}

func replaceSeps(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '@' || c == ':' {
			b[i] = ' '
		}
	}
	return string(b)
}

// Pack writes the .charm zip to out.
func Pack(in Inputs, out string) error {
	cc, err := Load(in.Charmcraft)
	if err != nil {
		return err
	}
	bases, err := cc.Bases()
	if err != nil {
		return err
	}
	docs := []struct {
		name string
		v    any
	}{
		{"metadata.yaml", cc.Metadata()},
		{"config.yaml", cc.Config},
		{"actions.yaml", cc.Actions},
		{"manifest.yaml", map[string]any{
			"charmcraft-version": "3.x (magnum-capi-graft charmpack)",
			"bases":              bases,
			"analysis":           map[string]any{"attributes": []map[string]string{{"name": "language", "result": "unknown"}, {"name": "framework", "result": "unknown"}}},
		}},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// A fixed time keeps the artifact reproducible.
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(name string, mode os.FileMode, data []byte) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: when}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, d := range docs {
		b, err := yaml.Marshal(d.v)
		if err != nil {
			return err
		}
		if err := add(d.name, 0o644, b); err != nil {
			return err
		}
	}
	dispatch, err := os.ReadFile(in.Dispatch)
	if err != nil {
		return err
	}
	binary, err := os.ReadFile(in.Binary)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
		data []byte
	}{
		{"dispatch", 0o755, dispatch},
		// juju-exec runs hooks/update-status by path (the watcher does);
		// with dispatch present Juju itself always runs dispatch.
		{"hooks/update-status", 0o755, dispatch},
		{"bin/magnum-capi-graft", 0o755, binary},
	} {
		if err := add(f.name, f.mode, f.data); err != nil {
			return err
		}
	}
	for _, p := range in.Extra {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
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
