package driver

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// requirement is one Requires-Dist value split into its parts. The original
// text is kept by callers; this is only what the Go fallback needs.
type requirement struct {
	Name   string
	Extras string
	Spec   string
	URL    string
	Marker string
}

var reqNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`) })

// parseRequirement splits a PEP 508 requirement such as
// `oslo.log (>=4.4.0); python_version >= "3.8"`.
func parseRequirement(s string) (requirement, error) {
	var r requirement
	head, marker, _ := strings.Cut(s, ";")
	r.Marker = strings.TrimSpace(marker)
	head = strings.TrimSpace(head)
	r.Name = reqNameRE().FindString(head)
	if r.Name == "" {
		return r, fmt.Errorf("invalid requirement %q: no distribution name", clip(s))
	}
	rest := strings.TrimSpace(head[len(r.Name):])
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return r, fmt.Errorf("invalid requirement %q: unclosed extras", clip(s))
		}
		r.Extras = rest[1:end]
		rest = strings.TrimSpace(rest[end+1:])
	}
	switch {
	case strings.HasPrefix(rest, "@"):
		r.URL = strings.TrimSpace(rest[1:])
	case strings.HasPrefix(rest, "("):
		if !strings.HasSuffix(rest, ")") {
			return r, fmt.Errorf("invalid requirement %q: unclosed version specifier", clip(s))
		}
		r.Spec = rest[1 : len(rest)-1]
	default:
		r.Spec = rest
	}
	r.Spec = strings.Join(strings.Fields(r.Spec), "")
	if err := validateSpecifier(r.Spec); err != nil {
		return r, fmt.Errorf("invalid requirement %q: %w", clip(s), err)
	}
	return r, nil
}

// evalMarker evaluates a PEP 508 environment marker against env, the values
// Magnum's interpreter reported. `extra` is always the empty string: the
// charm installs no extras, so `extra == "..."` clauses are false.
func evalMarker(marker string, env map[string]string) (bool, error) {
	toks, err := tokenizeMarker(marker)
	if err != nil {
		return false, fmt.Errorf("marker %q: %w", clip(marker), err)
	}
	p := &markerParser{toks: toks, env: env}
	v, err := p.or()
	if err == nil && p.pos != len(p.toks) {
		err = fmt.Errorf("unexpected %q", clip(p.toks[p.pos].text))
	}
	if err != nil {
		return false, fmt.Errorf("marker %q: %w", clip(marker), err)
	}
	return v, nil
}

// clip shortens text quoted in an error: a status message has no room for
// a hostile wheel's megabytes.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

type markerToken struct {
	kind string // "str", "var", "op", "(", ")", "and", "or"
	text string
}

// maxMarkerDepth bounds parenthesis nesting in a marker. The parser
// recurses once per level; real markers nest one or two deep, and a hostile
// Requires-Dist line could otherwise nest millions deep and overflow the
// stack, which Go cannot recover from.
const maxMarkerDepth = 32

var markerOps = []string{"===", "==", "!=", "<=", ">=", "~=", "<", ">"}

func tokenizeMarker(s string) ([]markerToken, error) {
	var toks []markerToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, markerToken{kind: string(c)})
			i++
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, markerToken{kind: "str", text: s[i+1 : i+1+end]})
			i += end + 2
		case strings.ContainsRune("=!<>~", rune(c)):
			var op string
			for _, o := range markerOps {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("bad operator at %q", clip(s[i:]))
			}
			toks = append(toks, markerToken{kind: "op", text: op})
			i += len(op)
		default:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			word := s[i:j]
			i = j
			switch word {
			case "and", "or":
				toks = append(toks, markerToken{kind: word})
			case "in":
				toks = append(toks, markerToken{kind: "op", text: "in"})
			case "not":
				// Only "not in" exists in PEP 508.
				rest := strings.TrimLeft(s[i:], " \t")
				if !strings.HasPrefix(rest, "in") {
					return nil, fmt.Errorf("'not' without 'in'")
				}
				i = len(s) - len(rest) + 2
				toks = append(toks, markerToken{kind: "op", text: "not in"})
			default:
				toks = append(toks, markerToken{kind: "var", text: word})
			}
		}
	}
	return toks, nil
}

type markerParser struct {
	toks  []markerToken
	pos   int
	depth int
	env   map[string]string
}

func (p *markerParser) peek(kind string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == kind
}

func (p *markerParser) or() (bool, error) {
	return p.chain("or", p.and, func(a, b bool) bool { return a || b })
}

func (p *markerParser) and() (bool, error) {
	return p.chain("and", p.atom, func(a, b bool) bool { return a && b })
}

// chain parses operand (op operand)*, combining the values left to right;
// every operand is parsed, whatever the value so far.
func (p *markerParser) chain(op string, operand func() (bool, error), combine func(a, b bool) bool) (bool, error) {
	v, err := operand()
	for err == nil && p.peek(op) {
		p.pos++
		var r bool
		r, err = operand()
		v = combine(v, r)
	}
	return v, err
}

func (p *markerParser) atom() (bool, error) {
	if p.peek("(") {
		p.pos++
		if p.depth++; p.depth > maxMarkerDepth {
			return false, fmt.Errorf("parentheses nested more than %d deep", maxMarkerDepth)
		}
		defer func() { p.depth-- }()
		v, err := p.or()
		if err != nil {
			return false, err
		}
		if !p.peek(")") {
			return false, fmt.Errorf("missing ')'")
		}
		p.pos++
		return v, nil
	}
	lhs, err := p.value()
	if err != nil {
		return false, err
	}
	if !p.peek("op") {
		return false, fmt.Errorf("expected an operator")
	}
	op := p.toks[p.pos].text
	p.pos++
	rhs, err := p.value()
	if err != nil {
		return false, err
	}
	return compareMarker(lhs, op, rhs)
}

func (p *markerParser) value() (string, error) {
	if p.pos >= len(p.toks) {
		return "", fmt.Errorf("unexpected end")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.kind {
	case "str":
		return t.text, nil
	case "var":
		name := strings.ReplaceAll(t.text, ".", "_")
		if name == "extra" {
			return "", nil
		}
		if name == "platform_python_implementation" || name == "python_implementation" {
			name = "platform_python_implementation"
		}
		v, ok := p.env[name]
		if !ok {
			return "", fmt.Errorf("unknown marker variable %q", clip(t.text))
		}
		return v, nil
	}
	return "", fmt.Errorf("unexpected %q", t.kind)
}

// compareMarker compares as PEP 508 says: as versions when the right-hand
// side makes a valid specifier for the left, else as strings.
func compareMarker(lhs, op, rhs string) (bool, error) {
	switch op {
	case "in":
		return strings.Contains(rhs, lhs), nil
	case "not in":
		return !strings.Contains(rhs, lhs), nil
	}
	if ok, err := specifierContains(op+rhs, lhs); err == nil {
		return ok, nil
	}
	switch op {
	case "==", "===":
		return lhs == rhs, nil
	case "!=":
		return lhs != rhs, nil
	}
	return false, fmt.Errorf("cannot compare %q %s %q", clip(lhs), op, clip(rhs))
}
