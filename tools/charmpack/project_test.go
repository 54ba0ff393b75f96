package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestProjectIsWhatCharmcraft3Accepts holds the repository's charmcraft.yaml
// and metadata.yaml to every charmcraft 3 rule in project.go, and checks the
// charms `charmcraft pack` would make from them.
func TestProjectIsWhatCharmcraft3Accepts(t *testing.T) {
	p, err := LoadProject("../..")
	require.NoError(t, err)
	require.NoError(t, p.Check())

	plan, err := p.BuildPlan()
	require.NoError(t, err)
	assert.Equal(t, []Build{
		{Platform: "ubuntu@22.04:amd64", BuildFor: "amd64", BuildBase: "ubuntu@22.04"},
		{Platform: "ubuntu@24.04:amd64", BuildFor: "amd64", BuildBase: "ubuntu@24.04"},
	}, plan)
	for platform, channel := range map[string]string{"ubuntu@22.04:amd64": "22.04", "ubuntu@24.04:amd64": "24.04"} {
		bases, err := p.ManifestBases(platform)
		require.NoError(t, err)
		assert.Equal(t, []Base{{"ubuntu", channel, []string{"amd64"}}}, bases, platform)
	}
	_, err = p.ManifestBases("ubuntu@20.04:amd64")
	assert.ErrorContains(t, err, "no platform")

	// The design card's split: metadata in metadata.yaml, build and
	// platforms in charmcraft.yaml.
	for _, k := range []string{"name", "summary", "description", "subordinate", "requires", "resources"} {
		assert.Contains(t, p.Metadata, k)
	}
	for _, k := range []string{"parts", "platforms", "config", "actions"} {
		assert.Contains(t, p.Charmcraft, k)
	}
	assert.Equal(t, true, p.Metadata["subordinate"])
}

// project is a copy of the repository's project, as data to break.
type project struct {
	charmcraft, metadata map[string]any
	files                map[string]string // more files beside them
	edit                 func(string) string
}

func repoProject(t *testing.T) *project {
	read := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join("../..", name))
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, yaml.Unmarshal(b, &m))
		return m
	}
	return &project{charmcraft: read("charmcraft.yaml"), metadata: read("metadata.yaml"), files: map[string]string{}}
}

func (pr *project) load(t *testing.T) *Project {
	dir := t.TempDir()
	write := func(name string, v any) {
		b, err := yaml.Marshal(v)
		require.NoError(t, err)
		text := string(b)
		if name == "charmcraft.yaml" && pr.edit != nil {
			text = pr.edit(text)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("charmcraft.yaml", pr.charmcraft)
	if pr.metadata != nil {
		write("metadata.yaml", pr.metadata)
	}
	for name, text := range pr.files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	p, err := LoadProject(dir)
	require.NoError(t, err)
	return p
}

func options(pr *project) map[string]any {
	return pr.charmcraft["config"].(map[string]any)["options"].(map[string]any)
}

// TestCharmcraft3Refuses proves each rule can fail: the repository's project,
// broken one way at a time, must be refused with charmcraft's reason.
func TestCharmcraft3Refuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*project)
		want   []string
	}{{
		name:   "license key",
		break_: func(p *project) { p.charmcraft["license"] = "GPL-3.0-only" },
		want:   []string{`only null for "license"`},
	}, {
		name:   "a key charmcraft 3 has not",
		break_: func(p *project) { p.charmcraft["maintainer"] = "someone" },
		want:   []string{`has no key "maintainer"`},
	}, {
		name: "top-level base with platforms named base:arch",
		break_: func(p *project) {
			p.charmcraft["base"] = "ubuntu@24.04"
		},
		want: []string{`Platform "ubuntu@22.04:amd64" declares a base and a top-level base or build-base is declared`},
	}, {
		name: "name, summary and description in both files",
		break_: func(p *project) {
			for _, k := range []string{"name", "summary", "description"} {
				p.charmcraft[k] = p.metadata[k]
			}
		},
		want: []string{"Fields in charmcraft.yaml cannot be duplicated in metadata.yaml: name, summary, description"},
	}, {
		name:   "one field in both files",
		break_: func(p *project) { p.charmcraft["summary"] = "another" },
		want:   []string{"cannot be duplicated in metadata.yaml: summary"},
	}, {
		name: "a metadata key in charmcraft.yaml, which the copied metadata.yaml would drop",
		break_: func(p *project) {
			p.charmcraft["links"] = map[string]any{"source": "https://example.org/src"}
		},
		want: []string{`metadata key "links" would be left out of the charm`},
	}, {
		name:   "config in charmcraft.yaml and config.yaml",
		break_: func(p *project) { p.files["config.yaml"] = "options: {}\n" },
		want:   []string{"Cannot specify 'config' section in 'charmcraft.yaml' when 'config.yaml' exists"},
	}, {
		name:   "actions in charmcraft.yaml and actions.yaml",
		break_: func(p *project) { p.files["actions.yaml"] = "regraft: {}\n" },
		want:   []string{"Cannot specify 'actions' section in 'charmcraft.yaml' when 'actions.yaml' exists"},
	}, {
		name:   "no platforms, so no manifest bases",
		break_: func(p *project) { delete(p.charmcraft, "platforms") },
		want:   []string{"no platforms"},
	}, {
		name:   "a platform with no base anywhere",
		break_: func(p *project) { p.charmcraft["platforms"] = map[string]any{"amd64": nil} },
		want:   []string{"No base or build-base is declared and no base is declared in the platforms section"},
	}, {
		name: "a platform named base:arch with build-on entries",
		break_: func(p *project) {
			p.charmcraft["platforms"] = map[string]any{"ubuntu@24.04:amd64": map[string]any{"build-on": []any{"amd64"}}}
		},
		want: []string{"declares a base in the platform's name and declares 'build-on' and 'build-for' entries"},
	}, {
		name:   "not a Debian architecture",
		break_: func(p *project) { p.charmcraft["platforms"] = map[string]any{"ubuntu@24.04:x86_64": nil} },
		want:   []string{`is not a valid Debian architecture`},
	}, {
		name: "a base charmcraft 3 does not know",
		break_: func(p *project) {
			p.charmcraft["base"] = "ubuntu@26.04"
			p.charmcraft["platforms"] = map[string]any{"amd64": nil}
		},
		want: []string{`base "ubuntu@26.04" is not one charmcraft 3 knows`},
	}, {
		name:   "the deprecated bases form",
		break_: func(p *project) { p.charmcraft["bases"] = []any{map[string]any{"name": "ubuntu", "channel": "22.04"}} },
		want:   []string{"BasesCharm"},
	}, {
		name:   "series in metadata.yaml",
		break_: func(p *project) { p.metadata["series"] = []any{"jammy"} },
		want:   []string{"`series`"},
	}, {
		name:   "no summary anywhere",
		break_: func(p *project) { delete(p.metadata, "summary") },
		want:   []string{`metadata.yaml: missing "summary"`, "summary is required"},
	}, {
		name:   "a config option without a type",
		break_: func(p *project) { delete(options(p)["service-wiring"].(map[string]any), "type") },
		want:   []string{`option "service-wiring" has no 'type'`},
	}, {
		name: "a plain scalar PyYAML reads as a boolean",
		break_: func(p *project) {
			p.edit = func(s string) string { return strings.Replace(s, "default: auto", "default: on", 1) }
		},
		want: []string{`"on" reads as !!bool for charmcraft (PyYAML) but as !!str for charmpack`},
	}, {
		name: "a plain scalar PyYAML reads as an octal number",
		break_: func(p *project) {
			p.edit = func(s string) string { return strings.Replace(s, "default: auto", "default: 0755", 1) }
		},
		want: []string{`"0755"`},
	}, {
		name:   "no parts",
		break_: func(p *project) { delete(p.charmcraft, "parts") },
		want:   []string{"at least one part"},
	}, {
		name: "the go plugin without go",
		break_: func(p *project) {
			delete(p.charmcraft["parts"].(map[string]any)["magnum-capi-graft"].(map[string]any), "build-snaps")
		},
		want: []string{"the go plugin needs go"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			pr := repoProject(t)
			require.NoError(t, pr.load(t).Check(), "the unbroken project must pass")
			tc.break_(pr)
			err := pr.load(t).Check()
			require.Error(t, err)
			t.Log(err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestManifestBasesAsCharmcraftWritesThem covers the three ways
// PackageService.get_manifest_bases finds a platform's base.
func TestManifestBasesAsCharmcraftWritesThem(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base      string
		platforms map[string]any
		platform  string
		want      []Base
	}{{
		name:      "single base: the top-level base",
		base:      "ubuntu@24.04",
		platforms: map[string]any{"amd64": nil},
		platform:  "amd64",
		want:      []Base{{"ubuntu", "24.04", []string{"amd64"}}},
	}, {
		name:      "multi-base: the base in the platform's name",
		platforms: map[string]any{"ubuntu@22.04:arm64": nil, "ubuntu@24.04:amd64": nil},
		platform:  "ubuntu@22.04:arm64",
		want:      []Base{{"ubuntu", "22.04", []string{"arm64"}}},
	}, {
		name: "multi-base: the base in build-for",
		platforms: map[string]any{"jammy": map[string]any{
			"build-on": []any{"ubuntu@22.04:amd64"}, "build-for": []any{"ubuntu@22.04:amd64"},
		}},
		platform: "jammy",
		want:     []Base{{"ubuntu", "22.04", []string{"amd64"}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			pr := repoProject(t)
			pr.charmcraft["platforms"] = tc.platforms
			if tc.base != "" {
				pr.charmcraft["base"] = tc.base
			}
			p := pr.load(t)
			require.NoError(t, p.Check())
			bases, err := p.ManifestBases(tc.platform)
			require.NoError(t, err)
			assert.Equal(t, tc.want, bases)
		})
	}
}

// TestPackRefusesWhatCharmcraftRefuses: `make charm` fails, and writes
// nothing, where `charmcraft pack` would.
func TestPackRefusesWhatCharmcraftRefuses(t *testing.T) {
	pr := repoProject(t)
	pr.charmcraft["license"] = "GPL-3.0-only"
	p := pr.load(t)
	out := filepath.Join(t.TempDir(), "x.charm")
	err := Pack(Inputs{ProjectDir: p.Dir, Platform: "ubuntu@24.04:amd64", Binary: "../../LICENSE"}, out)
	require.ErrorContains(t, err, "charmcraft 3 would refuse this project")
	assert.NoFileExists(t, out)

	// Two platforms and none chosen: charmpack packs one charm only.
	err = Pack(Inputs{ProjectDir: "../..", Binary: "../../LICENSE"}, out)
	require.ErrorContains(t, err, "choose one with --platform")
	assert.NoFileExists(t, out)
}
