package confd

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/ini.v1"
)

// Header opens every rendered file. oslo.config reads '#' lines as comments.
const Header = `# Managed by the magnum-capi-graft charm: local changes will be overwritten.
# Set these options with juju config; an option left unset keeps the driver's
# (or Magnum's) own default and is not written here.
`

// groupOrder is the order of the sections in the rendered file.
var groupOrder = []string{GroupCapiHelm, GroupClusterLabels, GroupDrivers}

// Render validates cfg for driver version driverVersion and returns the
// content of 99-capi.conf: the header, then [capi_helm] with kubeconfig_file
// set to kubeconfigPath, then every option the operator set, sections in a
// fixed order and keys sorted within each, so the same input always gives the
// same bytes. Nothing else is written: no defaults, no empty sections.
func Render(cfg map[string]any, driverVersion string, kubeconfigPath string) ([]byte, error) {
	settings, problems := resolve(cfg, driverVersion)
	if len(problems) > 0 {
		return nil, fmt.Errorf("cannot render 99-capi.conf: %w", &Error{Problems: problems})
	}
	if p := checkKubeconfigPath(kubeconfigPath); p != "" {
		return nil, fmt.Errorf("cannot render 99-capi.conf: kubeconfig path %s %s", quote(kubeconfigPath), p)
	}
	settings = append(settings, setting{Group: GroupCapiHelm, Key: KubeconfigKey, Value: kubeconfigPath})
	sortSettings(settings)

	// IgnoreInlineComment stops ini.v1 from wrapping values that contain '#'
	// or ';' in backquotes: oslo.config has no inline comments and would keep
	// the backquotes as part of the value.
	// The layout (aligned '=' signs, a blank line between sections) is
	// ini.v1's package default; nothing in this module changes it.
	f := ini.Empty(ini.LoadOptions{IgnoreInlineComment: true})
	for _, s := range settings {
		sec, err := f.NewSection(s.Group)
		if err != nil {
			return nil, fmt.Errorf("cannot render 99-capi.conf: section [%s]: %w", s.Group, err)
		}
		if _, err := sec.NewKey(s.Key, s.Value); err != nil {
			return nil, fmt.Errorf("cannot render 99-capi.conf: key %s in [%s]: %w", s.Key, s.Group, err)
		}
	}
	var buf bytes.Buffer
	buf.WriteString(Header)
	buf.WriteString("\n")
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("cannot render 99-capi.conf: %w", err)
	}
	out := buf.Bytes()
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	// Validation is meant to leave nothing that ini.v1 writes in a way
	// oslo.config reads differently; check that it did, rather than let a
	// gap in it reach Magnum.
	if err := readsBack(out, settings); err != nil {
		return nil, fmt.Errorf("cannot render 99-capi.conf: internal error: %w", err)
	}
	return out, nil
}

func checkKubeconfigPath(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case !path.IsAbs(p):
		return "must be absolute"
	case path.Clean(p) != p:
		return "must be clean (no //, . or ..)"
	}
	return checkValue(p)
}

func sortSettings(settings []setting) {
	rank := func(group string) int {
		for i, g := range groupOrder {
			if g == group {
				return i
			}
		}
		return len(groupOrder)
	}
	sort.SliceStable(settings, func(i, j int) bool {
		a, b := settings[i], settings[j]
		if rank(a.Group) != rank(b.Group) {
			return rank(a.Group) < rank(b.Group)
		}
		// kubeconfig_file first: it is the one key every file has.
		if (a.Key == KubeconfigKey) != (b.Key == KubeconfigKey) {
			return a.Key == KubeconfigKey
		}
		return a.Key < b.Key
	})
}

func readsBack(out []byte, settings []setting) error {
	for i, c := range out {
		if c >= 0x80 {
			return fmt.Errorf("non-ASCII byte at offset %d", i)
		}
	}
	got := parseOslo(out)
	n := 0
	for _, keys := range got {
		n += len(keys)
	}
	if n != len(settings) {
		return fmt.Errorf("wrote %d settings but oslo.config would read %d", len(settings), n)
	}
	for _, s := range settings {
		value, ok := got[s.Group][s.Key]
		if !ok {
			return fmt.Errorf("[%s] %s does not read back", s.Group, s.Key)
		}
		if value != s.Value {
			return fmt.Errorf("[%s] %s reads back as %q, not %q", s.Group, s.Key, value, s.Value)
		}
	}
	return nil
}

// parseOslo reads an ini file the way oslo.config's iniparser does
// (oslo_config/iniparser.py): whole-line comments only, a key ends at the
// first '=' or ':', values are stripped and lose one pair of surrounding
// quotes, indented lines continue the previous value, section names other
// than DEFAULT are case-insensitive and the last assignment of a key wins.
// Where oslo.config would refuse a line, this skips it: callers want to know
// which keys a file sets, not whether Magnum would start.
func parseOslo(data []byte) map[string]map[string]string {
	out := map[string]map[string]string{}
	section := ""
	key := ""
	var value []string
	flush := func() {
		if key != "" && section != "" {
			if out[section] == nil {
				out[section] = map[string]string{}
			}
			out[section][key] = strings.Join(value, "\n")
		}
		key, value = "", nil
	}
	// Python opens the file with universal newlines: \r\n and a lone \r end
	// a line too.
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		switch {
		case line == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if key != "" {
				value = append(value, strings.TrimLeftFunc(line, unicode.IsSpace))
			}
		case line[0] == '[':
			flush()
			if strings.HasSuffix(line, "]") && len(line) > 2 {
				section = line[1 : len(line)-1]
				if section != "DEFAULT" {
					section = strings.ToLower(section)
				}
			}
		case line[0] == '#' || line[0] == ';':
			flush()
		default:
			flush()
			k, v, ok := splitKeyValue(line)
			if ok && k != "" {
				key, value = k, []string{v}
			}
		}
	}
	flush()
	return out
}

func splitKeyValue(line string) (key, value string, ok bool) {
	colon := strings.IndexByte(line, ':')
	equal := strings.IndexByte(line, '=')
	var at int
	switch {
	case colon < 0 && equal < 0:
		return "", "", false
	case colon < 0 || (equal >= 0 && equal < colon):
		at = equal
	default:
		at = colon
	}
	key = strings.TrimSpace(line[:at])
	value = strings.TrimSpace(line[at+1:])
	if len(value) > 0 && value[0] == value[len(value)-1] && (value[0] == '"' || value[0] == '\'') {
		value = value[1 : len(value)-1]
	}
	return key, value, true
}

// Keys returns the options an ini file sets, as sorted "group.key" entries,
// read the way oslo.config reads them. Given a rendered 99-capi.conf it is the
// set of keys the charm sets.
func Keys(rendered []byte) []string {
	var keys []string
	for group, kv := range parseOslo(rendered) {
		for k := range kv {
			keys = append(keys, group+"."+k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Overridden returns the options that both magnumConf and ours set, as sorted
// "group.key" entries spelled as magnumConf spells them. A deprecated spelling
// that oslo.config reads as the same option counts too (in 1.4.0,
// [capi_helm] csi_cinder_fstype competes with our
// [capi_helm_cluster_labels] csi_cinder_fstype). oslo.config lets the file it
// parses last win, so each of these is a value of ours that Magnum may not
// use.
func Overridden(magnumConf []byte, ours []byte) []string {
	theirs := map[string]bool{}
	for _, k := range Keys(magnumConf) {
		theirs[k] = true
	}
	aliases := map[string][]string{}
	for _, l := range labels140 {
		id := GroupClusterLabels + "." + l.Key
		aliases[id] = append(aliases[id], l.Deprecated...)
	}
	found := map[string]bool{}
	for _, k := range Keys(ours) {
		for _, candidate := range append([]string{k}, aliases[k]...) {
			if theirs[candidate] {
				found[candidate] = true
			}
		}
	}
	out := make([]string, 0, len(found))
	for k := range found {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
