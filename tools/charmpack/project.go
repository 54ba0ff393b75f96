package main

// The rules below are charmcraft 3's own, read from its source and the
// libraries it pins, so that a project `make charm` packs is one
// `charmcraft pack` accepts, and both pack the same files. Sources (tags):
//
//	canonical/charmcraft        3.5.3  (the newest charmcraft 3 tag)
//	canonical/craft-application 4.10.0 (pinned by charmcraft 3.5.3's uv.lock)
//	canonical/craft-platforms   0.8.0  (likewise)
//	canonical/craft-parts       2.9.1  (likewise)

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Project is a charm project as charmcraft 3 reads it: charmcraft.yaml, and
// metadata.yaml, config.yaml and actions.yaml beside it when they exist.
type Project struct {
	Dir        string
	Charmcraft map[string]any // charmcraft.yaml as parsed
	charmNode  *yaml.Node     // charmcraft.yaml's document, for the scalar check
	Metadata   map[string]any // metadata.yaml as parsed; nil when there is none
	// The files charmcraft copies into the charm as they are, when present.
	MetadataFile, ConfigFile, ActionsFile []byte
}

// LoadProject reads the project in dir.
func LoadProject(dir string) (*Project, error) {
	p := &Project{Dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "charmcraft.yaml"))
	if err != nil {
		return nil, fmt.Errorf("cannot read charmcraft.yaml: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cannot parse charmcraft.yaml: %w", err)
	}
	if err := doc.Decode(&p.Charmcraft); err != nil || p.Charmcraft == nil {
		// charmcraft/models/project.py CharmcraftProject.from_yaml_file:
		// "File generated a ... object, expected a dictionary".
		return nil, fmt.Errorf("charmcraft.yaml is not a mapping: %v", err)
	}
	p.charmNode = &doc
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", name, err)
		}
		return b, nil
	}
	if p.MetadataFile, err = read("metadata.yaml"); err != nil {
		return nil, err
	}
	if p.MetadataFile != nil {
		// charmcraft/preprocess.py add_metadata: "Invalid file: 'metadata.yaml'"
		// unless it is a mapping.
		if err := yaml.Unmarshal(p.MetadataFile, &p.Metadata); err != nil || p.Metadata == nil {
			return nil, fmt.Errorf("metadata.yaml is not a mapping: %v", err)
		}
	}
	if p.ConfigFile, err = read("config.yaml"); err != nil {
		return nil, err
	}
	if p.ActionsFile, err = read("actions.yaml"); err != nil {
		return nil, err
	}
	return p, nil
}

// platformCharmKeys are the keys charmcraft.yaml may have for a charm that
// uses platforms: the fields of charmcraft/models/project.py PlatformCharm,
// with those it inherits from CharmProject, CharmcraftProject and
// craft_application/models/project.py Project, spelled as the alias generator
// spells them (underscores become dashes). Every one of these models is a
// craft_application/models/base.py CraftBaseModel, whose model_config has
// extra="forbid": any other key is refused.
var platformCharmKeys = []string{
	// craft-application Project
	"name", "title", "version", "summary", "description", "base", "build-base",
	"platforms", "contact", "issues", "source-code", "license", "adopt-info",
	"parts", "package-repositories",
	// charmcraft CharmcraftProject
	"type", "analysis", "charmhub", "charm-libs",
	// charmcraft CharmProject
	"actions", "assumes", "charm-user", "containers", "devices", "extra-bindings",
	"peers", "provides", "requires", "resources", "storage", "subordinate",
	"terms", "links", "config",
}

// noneKeys are the fields CharmcraftProject narrows to `None` ("Default
// project properties that Charmcraft currently does not use"): only null is
// accepted, so `license: GPL-3.0-only` is refused ("input should be None").
var noneKeys = []string{"license", "contact", "issues", "source-code"}

// migrateFields is charmcraft/const.py METADATA_YAML_MIGRATE_FIELDS: the
// fields preprocess.add_metadata takes from metadata.yaml, refusing any that
// charmcraft.yaml also has ("Fields in charmcraft.yaml cannot be duplicated
// in metadata.yaml").
var migrateFields = []string{"name", "summary", "description"}

// metadataKeys are charmcraft/const.py CHARM_METADATA_KEYS ("Metadata keys
// that are allowed in the charmcraft.yaml file") and charm-user, which
// models/metadata.py CharmMetadata also carries. When metadata.yaml exists
// charmcraft copies it into the charm as is (services/package.py
// PackageService.write_metadata and _write_file_or_object: "prefers copying
// the file over"), so any of these in charmcraft.yaml would be accepted and
// then silently left out of the charm. This project keeps them out.
var metadataKeys = []string{
	"assumes", "charm-user", "containers", "description", "devices", "title",
	"documentation", "extra-bindings", "links", "name", "peers", "provides",
	"requires", "resources", "storage", "subordinate", "summary", "terms",
}

// baseStrs is charmcraft/const.py CommonBaseStr, the type of PlatformCharm's
// `base`; `build-base` (BuildBaseStr) also takes ubuntu@devel.
var baseStrs = []string{
	"ubuntu@18.04", "ubuntu@20.04", "ubuntu@22.04", "ubuntu@24.04",
	"ubuntu@24.10", "ubuntu@25.04", "centos@7", "almalinux@9",
}

// debianArchitectures is craft_platforms/_architectures.py DebianArchitecture.
var debianArchitectures = []string{"amd64", "arm64", "armhf", "i386", "ppc64el", "riscv64", "s390x"}

// Check returns every way in which charmcraft 3 would refuse the project, or
// pack something other than what charmpack packs; nil when there is none.
func (p *Project) Check() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	cc := p.Charmcraft

	// CharmcraftProject._preprocess: "Project type must be declared";
	// CharmcraftProject.unmarshal dispatches on it, and on `bases`.
	if cc["type"] != "charm" {
		fail("charmcraft.yaml: type must be charm, not %v", cc["type"])
	}
	if _, ok := cc["bases"]; ok {
		fail("charmcraft.yaml: `bases` makes it a BasesCharm (the deprecated form); this project uses platforms")
	}
	for _, k := range sortedKeys(cc) {
		if k == "bases" {
			continue
		}
		if !slices.Contains(platformCharmKeys, k) {
			fail("charmcraft.yaml: charmcraft 3 has no key %q (its models forbid extra keys)", k)
		}
	}
	for _, k := range noneKeys {
		if v, ok := cc[k]; ok && v != nil {
			fail("charmcraft.yaml: charmcraft 3 accepts only null for %q (CharmcraftProject.%s is None)", k, strings.ReplaceAll(k, "-", "_"))
		}
	}
	if v, ok := cc["version"]; ok && v != "unversioned" {
		fail(`charmcraft.yaml: version may only be "unversioned" in charmcraft 3`)
	}

	// preprocess.add_metadata, then CharmProject's required fields.
	merged := map[string]any{}
	for k, v := range cc {
		merged[k] = v
	}
	if p.Metadata != nil {
		var dup []string
		for _, f := range migrateFields {
			_, inCC := cc[f]
			_, inMeta := p.Metadata[f]
			if inCC && inMeta {
				dup = append(dup, f)
			}
			if !inCC && inMeta {
				merged[f] = p.Metadata[f]
			}
		}
		if len(dup) > 0 {
			fail("Fields in charmcraft.yaml cannot be duplicated in metadata.yaml: %s", strings.Join(dup, ", "))
		}
		for _, k := range metadataKeys {
			if _, ok := cc[k]; ok && !slices.Contains(dup, k) {
				fail("charmcraft.yaml: metadata key %q would be left out of the charm: charmcraft copies metadata.yaml as it is; put it there", k)
			}
		}
		// linters.py JujuMetadata.run: an error unless name, summary and
		// description are in the packed metadata.yaml; `series` is a warning
		// ("will be rejected starting in Juju 4.0").
		for _, f := range migrateFields {
			if _, ok := p.Metadata[f]; !ok {
				fail("metadata.yaml: missing %q (charmcraft's metadata linter)", f)
			}
		}
		if _, ok := p.Metadata["series"]; ok {
			fail("metadata.yaml: `series` is refused by Juju 4 and conflicts with manifest bases")
		}
	}
	for _, f := range migrateFields {
		if s, _ := merged[f].(string); s == "" {
			fail("%s is required (CharmProject.%s), in metadata.yaml or charmcraft.yaml", f, f)
		}
	}

	// preprocess.add_config and add_actions: "Cannot specify 'config' section
	// in 'charmcraft.yaml' when 'config.yaml' exists", and the same for actions.
	if _, ok := cc["config"]; ok && p.ConfigFile != nil {
		fail("charmcraft.yaml: Cannot specify 'config' section in 'charmcraft.yaml' when 'config.yaml' exists")
	}
	if _, ok := cc["actions"]; ok && p.ActionsFile != nil {
		fail("charmcraft.yaml: Cannot specify 'actions' section in 'charmcraft.yaml' when 'actions.yaml' exists")
	}
	// linters.py JujuConfig.run: an `options` mapping, each with a `type`.
	if cfg, err := p.configDoc(); err != nil {
		errs = append(errs, err)
	} else if cfg != nil {
		opts, ok := cfg["options"].(map[string]any)
		if !ok {
			fail("config: must have an 'options' dictionary (charmcraft's juju-config linter)")
		}
		for _, name := range sortedKeys(opts) {
			o, _ := opts[name].(map[string]any)
			if _, ok := o["type"]; !ok {
				fail("config: option %q has no 'type' (charmcraft's juju-config linter)", name)
			}
		}
	}

	// PlatformCharm.parts: min_length=1; _preprocess_parts: each a mapping.
	parts, _ := cc["parts"].(map[string]any)
	if len(parts) == 0 {
		fail("charmcraft.yaml: a platforms charm needs at least one part")
	}
	for _, name := range sortedKeys(parts) {
		part, ok := parts[name].(map[string]any)
		if !ok {
			fail("charmcraft.yaml: part %q must be a dictionary", name)
			continue
		}
		if part["plugin"] == "go" {
			// craft_parts/plugins/go_plugin.py: GoPluginProperties requires
			// `source`; GoPluginEnvironmentValidator needs a `go` command in
			// the build environment (the plugin adds no snap or package).
			if _, ok := part["source"]; !ok {
				fail("charmcraft.yaml: part %q: the go plugin needs `source`", name)
			}
			if !providesGo(part) {
				fail("charmcraft.yaml: part %q: the go plugin needs go from build-snaps or build-packages", name)
			}
		}
	}

	if _, err := p.BuildPlan(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, p.checkScalars()...)
	return errors.Join(errs...)
}

func providesGo(part map[string]any) bool {
	for _, key := range []string{"build-snaps", "build-packages"} {
		list, _ := part[key].([]any)
		for _, v := range list {
			s, _ := v.(string)
			if s == "go" || strings.HasPrefix(s, "go/") || strings.HasPrefix(s, "golang-go") {
				return true
			}
		}
	}
	return false
}

// Build is one entry of the build plan: one packed charm.
type Build struct {
	Platform  string // the platform's name, e.g. ubuntu@24.04:amd64
	BuildFor  string // a Debian architecture
	BuildBase string // e.g. ubuntu@24.04
}

// BuildPlan is craft_platforms/charm/_build.py get_platforms_charm_build_plan
// (with _validate_base_definition and _get_base_from_build_data) for this
// project: the charms `charmcraft pack` makes, one per platform and
// build-for architecture.
func (p *Project) BuildPlan() ([]Build, error) {
	cc := p.Charmcraft
	base, _ := cc["base"].(string)
	buildBase, _ := cc["build-base"].(string)
	if base != "" && !slices.Contains(baseStrs, base) {
		return nil, fmt.Errorf("charmcraft.yaml: base %q is not one charmcraft 3 knows (%s)", base, strings.Join(baseStrs, ", "))
	}
	if buildBase != "" && buildBase != "ubuntu@devel" && !slices.Contains(baseStrs, buildBase) {
		return nil, fmt.Errorf("charmcraft.yaml: build-base %q is not one charmcraft 3 knows", buildBase)
	}
	raw, ok := cc["platforms"].(map[string]any)
	if !ok || len(raw) == 0 {
		// PlatformCharm.platforms is required; with no platform no charm is
		// packed, and Juju refuses a charm without bases.
		return nil, errors.New("charmcraft.yaml: no platforms: a platforms charm must declare at least one")
	}
	var plan []Build
	for _, name := range sortedKeys(raw) {
		var buildOn, buildFor []string
		if raw[name] != nil {
			pd, ok := raw[name].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("charmcraft.yaml: platform %q must be empty or a mapping", name)
			}
			buildOn, buildFor = vectorize(pd["build-on"]), vectorize(pd["build-for"])
			if len(buildOn) == 0 {
				// craft_application Platform.build_on: min_length=1.
				return nil, fmt.Errorf("charmcraft.yaml: platform %q needs build-on", name)
			}
			if len(buildFor) == 0 {
				// charmcraft CharmcraftProject._preprocess_platforms: build-for
				// defaults to the platform's name.
				buildFor = []string{name}
			}
			if len(buildFor) != 1 {
				// craft_application Platform.build_for: SingleEntryList.
				return nil, fmt.Errorf("charmcraft.yaml: platform %q: build-for takes one entry", name)
			}
		}
		distro, err := baseFromBuildData(base, buildBase, name, raw[name] != nil, buildOn, buildFor)
		if err != nil {
			return nil, err
		}
		if raw[name] == nil {
			_, arch, err := parseBaseAndName(name)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(debianArchitectures, arch) {
				return nil, fmt.Errorf("charmcraft.yaml: Platform name %q is not a valid Debian architecture. specify a build-on and build-for", name)
			}
			plan = append(plan, Build{Platform: name, BuildFor: arch, BuildBase: distro})
			continue
		}
		for _, on := range buildOn {
			_, onArch, err := parseBaseAndArchitecture(on)
			if err != nil {
				return nil, err
			}
			if onArch == "all" {
				return nil, fmt.Errorf("charmcraft.yaml: Platform %q has an invalid 'build-on' entry of 'all'", name)
			}
			for _, f := range buildFor {
				_, forArch, err := parseBaseAndArchitecture(f)
				if err != nil {
					return nil, err
				}
				plan = append(plan, Build{Platform: name, BuildFor: forArch, BuildBase: distro})
			}
		}
	}
	return plan, nil
}

// baseFromBuildData is _validate_base_definition + _get_base_from_build_data.
func baseFromBuildData(base, buildBase, name string, hasDict bool, buildOn, buildFor []string) (string, error) {
	nameBase, _, err := parseBaseAndName(name)
	if err != nil {
		return "", err
	}
	var onForBase string
	if hasDict {
		if nameBase != "" {
			return "", fmt.Errorf("charmcraft.yaml: Platform %q declares a base in the platform's name and declares 'build-on' and 'build-for' entries", name)
		}
		bases := map[string]bool{}
		for _, e := range append(slices.Clone(buildOn), buildFor...) {
			b, _, err := parseBaseAndArchitecture(e)
			if err != nil {
				return "", err
			}
			bases[b] = true
		}
		if len(bases) > 1 {
			return "", fmt.Errorf("charmcraft.yaml: Platform %q has mismatched bases in the 'build-on' and 'build-for' entries", name)
		}
		for b := range bases {
			onForBase = b
		}
	}
	if (nameBase != "" || onForBase != "") && (base != "" || buildBase != "") {
		return "", fmt.Errorf("charmcraft.yaml: Platform %q declares a base and a top-level base or build-base is declared", name)
	}
	if nameBase == "" && onForBase == "" && base == "" && buildBase == "" {
		return "", errors.New("charmcraft.yaml: No base or build-base is declared and no base is declared in the platforms section")
	}
	switch {
	case buildBase != "":
		return buildBase, nil
	case base != "":
		return base, nil
	case nameBase != "":
		return nameBase, nil
	}
	return onForBase, nil
}

// parseBaseAndName is craft_platforms/_platforms.py parse_base_and_name:
// "[<base>:]<platform>", the base checked by _distro.py DistroBase.from_str.
func parseBaseAndName(name string) (base, rest string, err error) {
	b, rest, found := strings.Cut(name, ":")
	if !found {
		return "", name, nil
	}
	if b != "devel" && strings.Count(b, "@") != 1 {
		return "", "", fmt.Errorf("charmcraft.yaml: Invalid base string %q. Format should be '<distribution>@<series>'", b)
	}
	if b == "devel" {
		b = "ubuntu@devel"
	}
	return b, rest, nil
}

// parseBaseAndArchitecture is craft_platforms/_architectures.py
// parse_base_and_architecture: "[<base>:]<arch>", arch a Debian one or all.
func parseBaseAndArchitecture(entry string) (base, arch string, err error) {
	base, arch, err = parseBaseAndName(entry)
	if err != nil {
		return "", "", err
	}
	if arch != "all" && !slices.Contains(debianArchitectures, arch) {
		return "", "", fmt.Errorf("charmcraft.yaml: %q is not a valid Debian architecture", arch)
	}
	return base, arch, nil
}

func vectorize(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// Base is an entry of manifest.yaml's bases (charmcraft/models/charmcraft.py
// Base).
type Base struct {
	Name          string   `yaml:"name"`
	Channel       string   `yaml:"channel"`
	Architectures []string `yaml:"architectures"`
}

// ManifestBases is charmcraft/services/package.py
// PackageService.get_manifest_bases for a PlatformCharm: the bases written
// into the manifest.yaml of the charm packed for platform. Juju refuses a
// charm whose manifest has none (juju core/charm/computedbase.go
// ComputedBases reads them; baseselector.go: "charm does not define any
// bases").
func (p *Project) ManifestBases(platform string) ([]Base, error) {
	plan, err := p.BuildPlan()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, b := range plan {
		names = append(names, b.Platform)
		if b.Platform != platform {
			continue
		}
		// "archs = [self._build_plan[0].build_for]"
		archs := []string{b.BuildFor}
		// "single base recipes will have a base"
		if base, _ := p.Charmcraft["base"].(string); base != "" {
			n, c, _ := strings.Cut(base, "@")
			return []Base{{n, c, archs}}, nil
		}
		// "multi-base recipes may have the base in the platform name"
		if nb, _, _ := parseBaseAndName(platform); nb != "" {
			n, c, _ := strings.Cut(nb, "@")
			return []Base{{n, c, archs}}, nil
		}
		// "Otherwise, retrieve the build-for base from the platform"
		pd, _ := p.Charmcraft["platforms"].(map[string]any)[platform].(map[string]any)
		if f := vectorize(pd["build-for"]); len(f) > 0 {
			if fb, _, _ := parseBaseAndArchitecture(f[0]); fb != "" {
				n, c, _ := strings.Cut(fb, "@")
				return []Base{{n, c, archs}}, nil
			}
		}
		return nil, fmt.Errorf("cannot get bases for platform %q", platform)
	}
	return nil, fmt.Errorf("no platform %q in charmcraft.yaml (there are: %s)", platform, strings.Join(slices.Compact(names), ", "))
}

// configDoc is the config charmcraft packs: config.yaml when it exists
// (preprocess.add_config), else charmcraft.yaml's `config`.
func (p *Project) configDoc() (map[string]any, error) {
	if p.ConfigFile != nil {
		var m map[string]any
		if err := yaml.Unmarshal(p.ConfigFile, &m); err != nil {
			return nil, fmt.Errorf("config.yaml is not valid YAML (charmcraft's juju-config linter): %w", err)
		}
		return m, nil
	}
	m, _ := p.Charmcraft["config"].(map[string]any)
	return m, nil
}

// CharmFiles are metadata.yaml, config.yaml and actions.yaml as charmcraft 3
// writes them into the charm (services/package.py
// PackageService.write_metadata and _write_file_or_object): a file of that
// name in the project is copied as it is; otherwise the YAML is dumped from
// charmcraft.yaml's `config` and `actions`, and nothing is written for an
// empty one. A missing entry means no such file in the charm.
func (p *Project) CharmFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	if p.MetadataFile == nil {
		// charmcraft would render metadata.yaml from charmcraft.yaml (models/
		// metadata.py CharmMetadata.from_charm); this project keeps its
		// metadata in metadata.yaml, and charmpack only copies it.
		return nil, errors.New("no metadata.yaml: this project keeps the charm's metadata there")
	}
	files["metadata.yaml"] = p.MetadataFile
	for _, f := range []struct {
		name, key string
		file      []byte
	}{{"config.yaml", "config", p.ConfigFile}, {"actions.yaml", "actions", p.ActionsFile}} {
		if f.file != nil {
			files[f.name] = f.file
			continue
		}
		v, _ := p.Charmcraft[f.key].(map[string]any)
		if len(v) == 0 {
			continue
		}
		b, err := yaml.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("cannot render %s: %w", f.name, err)
		}
		files[f.name] = b
	}
	return files, nil
}

// PyYAML's implicit resolvers (yaml/resolver.py Resolver), which
// craft_application/util/yaml.py safe_yaml_load uses to read
// charmcraft.yaml. They follow YAML 1.1, yaml.v3 follows YAML 1.2: a plain
// scalar the two read differently (yes, on, 0755, 1_000, 1:30, ~, a date)
// would put a different value into the packed config.yaml or actions.yaml
// than charmcraft's.
var pyyamlImplicit = []struct {
	tag string
	re  *regexp.Regexp
}{
	{"!!bool", regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)},
	{"!!float", regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)},
	{"!!int", regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)},
	{"!!null", regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)},
	{"!!timestamp", regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)},
}

func pyyamlTag(value string) string {
	for _, r := range pyyamlImplicit {
		if r.re.MatchString(value) {
			return r.tag
		}
	}
	return "!!str"
}

// checkScalars finds plain scalars in charmcraft.yaml's config and actions
// that PyYAML and yaml.v3 would read as different types.
func (p *Project) checkScalars() []error {
	var errs []error
	if p.charmNode == nil || len(p.charmNode.Content) == 0 {
		return nil
	}
	root := p.charmNode.Content[0]
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.ScalarNode:
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return
			}
			goTag, pyTag := n.ShortTag(), pyyamlTag(n.Value)
			if goTag != pyTag {
				errs = append(errs, fmt.Errorf("charmcraft.yaml: %s: %q reads as %s for charmcraft (PyYAML) but as %s for charmpack; quote it", path, n.Value, pyTag, goTag))
			} else if (goTag == "!!int" || goTag == "!!float") && !plainNumber.MatchString(n.Value) {
				// Both read a number, but 0755, 0x1F or 1_000 may not be the same one.
				errs = append(errs, fmt.Errorf("charmcraft.yaml: %s: write %q as a plain decimal number", path, n.Value))
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(path+"."+n.Content[i].Value, n.Content[i+1])
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i].Value; k == "config" || k == "actions" {
			walk(k, root.Content[i+1])
		}
	}
	return errs
}

// plainNumber is a number both libraries read alike.
var plainNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$`)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sameYAML reports whether two YAML documents hold the same data.
func sameYAML(a, b []byte) (bool, error) {
	var va, vb any
	if err := yaml.Unmarshal(a, &va); err != nil {
		return false, err
	}
	if err := yaml.Unmarshal(b, &vb); err != nil {
		return false, err
	}
	ra, _ := yaml.Marshal(va)
	rb, _ := yaml.Marshal(vb)
	return bytes.Equal(ra, rb), nil
}
