package confd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Problem is one reason the charm config cannot be written. Message is short,
// names the charm option and is meant to be shown as a Juju blocked status.
type Problem struct {
	Option  string
	Message string
}

func (p Problem) String() string {
	return p.Message
}

// Error is what Validate returns for a config that cannot be rendered.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, "; ")
}

// Validate checks the charm config (as config-get --format=json decodes it)
// against driver version driverVersion. Keys that are not in the catalogue are
// ignored: they belong to other parts of the charm. It returns nil or an
// *Error listing every problem, in catalogue order.
func Validate(cfg map[string]any, driverVersion string) error {
	if problems := Check(cfg, driverVersion); len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

// Check is Validate returning the problems themselves.
func Check(cfg map[string]any, driverVersion string) []Problem {
	_, problems := resolve(cfg, driverVersion)
	return problems
}

// setting is one key the rendered file sets.
type setting struct {
	Group, Key, Value string
	// Option is the charm option the value came from.
	Option string
}

// resolve turns the config into settings, or says why it cannot. Render and
// Validate share it so that what is validated is exactly what is written.
func resolve(cfg map[string]any, v string) ([]setting, []Problem) {
	if !KnownVersion(v) {
		return nil, []Problem{{
			Option:  "driver-version",
			Message: fmt.Sprintf("driver-version %s is not one this charm knows (%s)", quote(v), strings.Join(Versions, ", ")),
		}}
	}
	var settings []setting
	var problems []Problem
	for _, o := range catalogue {
		raw, ok := cfg[o.Name]
		if !ok || isUnset(o, raw) {
			continue
		}
		if !o.KnownBy(v) {
			problems = append(problems, Problem{o.Name, versionProblem(o, v)})
			continue
		}
		ss, ps := resolveOption(o, raw, v)
		settings = append(settings, ss...)
		problems = append(problems, ps...)
	}
	if len(problems) == 0 {
		problems = crossCheck(cfg, settings)
	}
	return settings, problems
}

// isUnset reports whether a config value leaves the driver's default alone.
func isUnset(o Option, raw any) bool {
	if raw == nil {
		return true
	}
	s, ok := raw.(string)
	return ok && s == "" && !o.AllowEmpty
}

func versionProblem(o Option, v string) string {
	if o.Since != "" && !atLeast(v, o.Since) {
		return fmt.Sprintf("%s needs driver-version >= %s (have %s)", o.Name, o.Since, v)
	}
	return fmt.Sprintf("%s needs driver-version <= %s (have %s)", o.Name, o.Until, v)
}

func problem(o Option, format string, args ...any) []Problem {
	return []Problem{{o.Name, o.Name + " " + fmt.Sprintf(format, args...)}}
}

func resolveOption(o Option, raw any, v string) ([]setting, []Problem) {
	one := func(value string) []setting {
		return []setting{{Group: o.GroupFor(v), Key: o.Key, Value: value, Option: o.Name}}
	}
	switch o.Type {
	case String:
		s, ok := raw.(string)
		if !ok {
			return nil, problem(o, "must be a string (got %s)", kindOf(raw))
		}
		if s == "" {
			// Only AllowEmpty options get here: the empty string is the value.
			return one(""), nil
		}
		if p := checkValue(s); p != "" {
			return nil, problem(o, "%s", p)
		}
		if len(o.Choices) > 0 && !contains(o.Choices, s) {
			return nil, problem(o, "must be one of %s (got %s)", strings.Join(o.Choices, ", "), quote(s))
		}
		if o.value != nil {
			if p := o.value(s); p != "" {
				return nil, problem(o, "%s", p)
			}
		}
		return one(s), nil
	case Int:
		n, p := toInt(raw, o.Range)
		if p != "" {
			return nil, problem(o, "%s", p)
		}
		return one(strconv.FormatInt(n, 10)), nil
	case Bool:
		b, ok := raw.(bool)
		if !ok {
			return nil, problem(o, "must be true or false (got %s)", kindOf(raw))
		}
		return one(pyBool(b)), nil
	case List:
		s, ok := raw.(string)
		if !ok {
			return nil, problem(o, "must be a string (got %s)", kindOf(raw))
		}
		items, p := splitList(s, o.item)
		if p != "" {
			return nil, problem(o, "%s", p)
		}
		return one(strings.Join(items, ",")), nil
	case JSON:
		s, ok := raw.(string)
		if !ok {
			return nil, problem(o, "must be a string holding a JSON object (got %s)", kindOf(raw))
		}
		if o.Name == "cluster-labels" {
			return resolveLabels(o, s, v)
		}
		value, p := canonicalAPIResources(s)
		if p != "" {
			return nil, problem(o, "%s", p)
		}
		return one(value), nil
	}
	panic("confd: option " + o.Name + " has unknown type " + string(o.Type))
}

// checkValue returns why a string cannot be written as an ini value that
// oslo.config reads back unchanged, or "".
func checkValue(s string) string {
	if s == "" {
		return ""
	}
	var lineBreak, control, nonASCII bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n' || c == '\r':
			lineBreak = true
		case c >= 0x80:
			nonASCII = true
		case c < 0x20 || c == 0x7f:
			control = true
		}
	}
	switch {
	case lineBreak:
		// A line break would end the value and let the rest of it be read as
		// new keys or a new [section].
		return "must be a single line"
	case control:
		return "must not contain control characters"
	case nonASCII:
		// Magnum's daemons read their configuration in whatever locale the
		// init system gives them; non-ASCII bytes can stop them starting.
		return "must contain only ASCII characters"
	case strings.TrimSpace(s) != s:
		// oslo.config strips the ends of every value.
		return "must not begin or end with spaces"
	case strings.Contains(s, "$"):
		// oslo.config expands $name and ${name} in every string value.
		return `must not contain "$" (oslo.config would expand it)`
	case strings.Contains(s, "`"):
		// ini.v1 would wrap the value in """ quotes, which oslo.config keeps.
		return "must not contain a backquote"
	case strings.HasSuffix(s, `\`):
		// ini.v1 would read a trailing backslash as a line continuation.
		return `must not end with "\"`
	case strings.ContainsAny(s[:1], `"'`) || strings.ContainsAny(s[len(s)-1:], `"'`):
		// oslo.config strips a pair of quotes around a value, and ini.v1
		// reads a leading quote as the start of a quoted value.
		return "must not begin or end with a quote"
	}
	return ""
}

func splitList(s string, check func(string) string) ([]string, string) {
	parts := strings.Split(s, ",")
	items := make([]string, 0, len(parts))
	for _, part := range parts {
		// oslo.config strips each item, so the charm writes them stripped.
		item := strings.TrimSpace(part)
		if item == "" {
			return nil, "has an empty item"
		}
		if p := checkValue(item); p != "" {
			return nil, "item " + quote(item) + " " + p
		}
		if check != nil {
			if p := check(item); p != "" {
				return nil, p
			}
		}
		items = append(items, item)
	}
	return items, ""
}

// toInt accepts what a JSON decoder gives for a Juju int option.
func toInt(raw any, r *Range) (int64, string) {
	var n int64
	switch x := raw.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) {
			return 0, fmt.Sprintf("must be an integer (got %v)", x)
		}
		if r != nil && (x < float64(r.Min) || x > float64(r.Max)) {
			return 0, fmt.Sprintf("must be between %d and %d (got %v)", r.Min, r.Max, x)
		}
		n = int64(x)
	case json.Number:
		i, err := strconv.ParseInt(x.String(), 10, 64)
		if err != nil {
			return 0, fmt.Sprintf("must be an integer (got %s)", quote(x.String()))
		}
		n = i
	default:
		return 0, fmt.Sprintf("must be an integer (got %s)", kindOf(raw))
	}
	if r != nil && (n < r.Min || n > r.Max) {
		return 0, fmt.Sprintf("must be between %d and %d (got %d)", r.Min, r.Max, n)
	}
	return n, ""
}

// decodeJSON reads exactly one JSON value, keeping numbers exact.
func decodeJSON(s string) (any, string) {
	if p := asciiOnly(s); p != "" {
		return nil, p
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return nil, "is not valid JSON (text after the value)"
		}
		return v, ""
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, "is not valid JSON (it ends too early)"
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return nil, fmt.Sprintf("is not valid JSON (error at byte %d)", syntax.Offset)
	}
	return nil, "is not valid JSON"
}

// asciiOnly checks JSON text before it is parsed: whitespace between tokens,
// line breaks included, is allowed there because the charm writes the value
// back compactly on one line.
func asciiOnly(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "must contain only ASCII characters"
		}
	}
	return ""
}

// marshal writes JSON compactly with sorted keys, so the same value always
// renders the same bytes.
func marshal(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only values decoded from JSON get here; they always encode.
		panic("confd: cannot re-encode JSON: " + err.Error())
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func canonicalAPIResources(s string) (string, string) {
	v, p := decodeJSON(s)
	if p != "" {
		return "", p
	}
	obj, ok := v.(map[string]any)
	if !ok {
		// The driver calls .get() on it while its module is imported.
		return "", fmt.Sprintf("must be a JSON object (got %s)", kindOf(v))
	}
	for _, kind := range slices.Sorted(maps.Keys(obj)) {
		fields, known := apiResourceFields[kind]
		if !known {
			return "", fmt.Sprintf("has unknown resource %s", quote(kind))
		}
		res, ok := obj[kind].(map[string]any)
		if !ok {
			return "", fmt.Sprintf("resource %s must be a JSON object", quote(kind))
		}
		for _, field := range slices.Sorted(maps.Keys(res)) {
			if !contains(fields, field) {
				return "", fmt.Sprintf("resource %s has unknown field %s", quote(kind), quote(field))
			}
			value, ok := res[field].(string)
			if !ok || value == "" {
				return "", fmt.Sprintf("resource %s field %s must be a non-empty string", quote(kind), field)
			}
			if p := checkValue(value); p != "" {
				return "", fmt.Sprintf("resource %s field %s %s", quote(kind), field, p)
			}
		}
	}
	value := marshal(obj)
	if p := checkValue(value); p != "" {
		return "", p
	}
	return value, ""
}

func resolveLabels(o Option, s string, v string) ([]setting, []Problem) {
	decoded, p := decodeJSON(s)
	if p != "" {
		return nil, problem(o, "%s", p)
	}
	obj, ok := decoded.(map[string]any)
	if !ok {
		return nil, problem(o, "must be a JSON object (got %s)", kindOf(decoded))
	}
	var settings []setting
	var problems []Problem
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		label, known := lookupLabel(v, key)
		if !known {
			problems = append(problems, problem(o, "has unknown label %s", quote(key))...)
			continue
		}
		value, p := labelValue(label, obj[key])
		if p != "" {
			problems = append(problems, problem(o, "label %s %s", key, p)...)
			continue
		}
		settings = append(settings, setting{Group: GroupClusterLabels, Key: key, Value: value, Option: o.Name})
	}
	return settings, problems
}

func labelValue(l Label, raw any) (string, string) {
	switch l.Type {
	case Bool:
		b, ok := raw.(bool)
		if !ok {
			return "", fmt.Sprintf("must be true or false (got %s)", kindOf(raw))
		}
		return pyBool(b), ""
	case Int:
		if _, ok := raw.(json.Number); !ok {
			return "", fmt.Sprintf("must be an integer (got %s)", kindOf(raw))
		}
		n, p := toInt(raw, l.Range)
		if p != "" {
			return "", p
		}
		return strconv.FormatInt(n, 10), ""
	default:
		s, ok := raw.(string)
		if !ok {
			return "", fmt.Sprintf("must be a string (got %s)", kindOf(raw))
		}
		if s == "" {
			return "", ""
		}
		if p := checkValue(s); p != "" {
			return "", p
		}
		if len(l.Choices) > 0 && !contains(l.Choices, s) {
			return "", fmt.Sprintf("must be one of %s (got %s)", strings.Join(l.Choices, ", "), quote(s))
		}
		return s, ""
	}
}

// crossCheck finds problems that no single option has on its own.
func crossCheck(cfg map[string]any, settings []setting) []Problem {
	var problems []Problem

	// Two options that end up as the same key: the file would hold the key
	// twice and oslo.config would keep one of them without saying which.
	seen := map[string]string{}
	for _, s := range settings {
		id := s.Group + "." + s.Key
		if other, dup := seen[id]; dup {
			problems = append(problems, Problem{s.Option, fmt.Sprintf("%s sets %s, which %s already sets", s.Option, s.Key, other)})
			continue
		}
		seen[id] = s.Option
	}

	// The driver passes --repo whenever helm_chart_repo is not empty, and
	// helm refuses an oci:// chart together with --repo.
	if name, _ := cfg["helm-chart-name"].(string); strings.HasPrefix(name, "oci://") {
		if repo, ok := cfg["helm-chart-repo"].(string); !ok || repo != "" {
			problems = append(problems, Problem{"helm-chart-repo", `helm-chart-name is an oci:// reference, so helm-chart-repo must be set to ""`})
		}
	}
	return problems
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kindOf names a decoded JSON value's type the way an operator would.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// quote shows operator input in a message: ASCII-only, escaped, and cut short
// so a blocked status stays one readable line.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.QuoteToASCII(s[:max]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
