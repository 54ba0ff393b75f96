package confd

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// ownMarker opens the part of charmcraft.yaml's config options that this
// package owns; the part ends at the next "# ---" marker or at the end.
const ownMarker = "# --- [capi_helm] options (owned by charm/confd) ---"

// charmcraftOption is an option of charmcraft.yaml, with every field an
// option may have so that a stray default is seen.
type charmcraftOption struct {
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
	Default     any    `yaml:"default"`
	HasDefault  bool   `yaml:"-"`
}

// ownCharmcraftOptions returns the options in the charm/confd part of
// charmcraft.yaml, and the names of all the others.
func ownCharmcraftOptions(t *testing.T) (map[string]charmcraftOption, []string) {
	data, err := os.ReadFile("../../charmcraft.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	require.Equal(t, yaml.DocumentNode, doc.Kind)

	options := mappingValue(t, mappingValue(t, doc.Content[0], "config"), "options")
	own := map[string]charmcraftOption{}
	var others []string
	inOwn := false
	for i := 0; i+1 < len(options.Content); i += 2 {
		key, value := options.Content[i], options.Content[i+1]
		for _, line := range strings.Split(key.HeadComment, "\n") {
			if strings.HasPrefix(line, "# ---") {
				inOwn = strings.TrimSpace(line) == ownMarker
			}
		}
		if !inOwn {
			others = append(others, key.Value)
			continue
		}
		var opt charmcraftOption
		require.NoError(t, value.Decode(&opt), "option %s", key.Value)
		for j := 0; j+1 < len(value.Content); j += 2 {
			if value.Content[j].Value == "default" {
				opt.HasDefault = true
			}
		}
		own[key.Value] = opt
	}
	return own, others
}

func mappingValue(t *testing.T, n *yaml.Node, key string) *yaml.Node {
	require.Equal(t, yaml.MappingNode, n.Kind, "looking for %q", key)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	require.Failf(t, "missing key", "no %q in charmcraft.yaml", key)
	return nil
}

// words collapses whitespace so that wrapping a description in YAML does not
// count as a change.
func words(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func TestCharmcraftOptionsMatchCatalogue(t *testing.T) {
	own, others := ownCharmcraftOptions(t)

	var want, got []string
	for _, o := range catalogue {
		want = append(want, o.Name)
	}
	for name := range own {
		got = append(got, name)
	}
	assert.ElementsMatch(t, want, got, "the charm/confd part of charmcraft.yaml must hold exactly the catalogue's options")

	for _, o := range catalogue {
		assert.NotContains(t, others, o.Name, "%s is outside the charm/confd part of charmcraft.yaml", o.Name)
		opt, ok := own[o.Name]
		if !ok {
			continue
		}
		assert.Equal(t, o.CharmType(), opt.Type, "type of %s", o.Name)
		assert.NotEmpty(t, strings.TrimSpace(opt.Description), "description of %s", o.Name)
		assert.Equal(t, words(o.CharmDescription()), words(opt.Description), "description of %s", o.Name)
		// A default in charmcraft.yaml would be written on every unit and
		// mask the driver's own, which changes between releases.
		assert.False(t, opt.HasDefault, "%s must have no default", o.Name)
	}
}

func TestCharmDescriptionsSayWhereAndWhen(t *testing.T) {
	for _, o := range catalogue {
		d := o.CharmDescription()
		assert.NotEmpty(t, o.Description, o.Name)
		if o.Key != "" {
			assert.Contains(t, d, "["+o.Group+"] "+o.Key, o.Name)
		} else {
			assert.Contains(t, d, "["+o.Group+"]", o.Name)
		}
		if o.Since != "" {
			assert.Contains(t, d, "driver-version "+o.Since, o.Name)
		}
		if o.MovedTo != "" {
			assert.Contains(t, d, "["+o.MovedTo+"] "+o.Key+" from driver-version "+o.MovedIn, o.Name)
		}
	}
}

func TestCatalogueIsWellFormed(t *testing.T) {
	names := map[string]bool{}
	keys := map[string]bool{}
	for _, o := range catalogue {
		assert.False(t, names[o.Name], "duplicate option %s", o.Name)
		names[o.Name] = true
		assert.Regexp(t, `^[a-z0-9]+(-[a-z0-9]+)*$`, o.Name)
		if o.Key != "" {
			id := o.Group + "." + o.Key
			assert.False(t, keys[id], "duplicate key %s", id)
			keys[id] = true
			assert.NotEqual(t, KubeconfigKey, o.Key, "kubeconfig_file is written from the kubeconfig path only")
			assert.NotEqual(t, "enabled_drivers", o.Key, "enabled_drivers is not a Magnum option")
		}
		if o.Since != "" {
			assert.True(t, KnownVersion(o.Since), "%s: since %s", o.Name, o.Since)
		}
		if o.Until != "" {
			assert.True(t, KnownVersion(o.Until), "%s: until %s", o.Name, o.Until)
		}
		if o.MovedTo != "" {
			assert.True(t, KnownVersion(o.MovedIn), "%s: moved in %s", o.Name, o.MovedIn)
		}
		if o.Range != nil {
			assert.Equal(t, Int, o.Type, "%s: only ints have a range", o.Name)
		}
	}
}
