package fakejuju

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Juju's tools parse flags with gnuflag: flags may come before or after
// positional arguments, long flags take "--name=value" or "--name value",
// one-letter flags "-x value", and "--" ends flag parsing. This is just
// enough of that to accept every invocation Juju accepts for the tools
// faked here and to reject the rest with gnuflag's messages.

// usageError is an error Juju reports from flag parsing or a command's Init:
// exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// flagSet declares a tool's flags: the value is true for flags that take a
// value, false for booleans. Aliases map to a canonical name.
type flagSet struct {
	flags   map[string]bool
	aliases map[string]string
}

type parsed struct {
	values map[string]string
	bools  map[string]bool
	args   []string
	// spelled is each flag given as it was given ("-r" or "--relation"),
	// by its canonical name: gnuflag's errors name it so.
	spelled map[string]string
}

func (fs flagSet) parse(argv []string) (*parsed, error) {
	p := &parsed{values: map[string]string{}, bools: map[string]bool{}, spelled: map[string]string{}}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			p.args = append(p.args, argv[i+1:]...)
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			p.args = append(p.args, arg)
			continue
		}
		dashes := "-"
		name := arg[1:]
		if strings.HasPrefix(arg, "--") {
			dashes, name = "--", arg[2:]
		}
		name, value, hasValue := strings.Cut(name, "=")
		given := name
		if canonical, ok := fs.aliases[name]; ok {
			name = canonical
		}
		takesValue, known := fs.flags[name]
		// gnuflag reads "-abc" as three one-letter flags; none of the tools
		// faked here has flags worth combining, so it is refused.
		if !known || (dashes == "-" && len(given) > 1) {
			return nil, usagef("option provided but not defined: %s%s", dashes, given)
		}
		p.spelled[name] = dashes + given
		if !takesValue {
			b := true
			if hasValue {
				var err error
				if b, err = strconv.ParseBool(value); err != nil {
					return nil, usagef("invalid value %q for option %s%s: %v", value, dashes, given, err)
				}
			}
			p.bools[name] = b
			continue
		}
		if !hasValue {
			if i+1 >= len(argv) {
				return nil, usagef("option needs an argument: %s%s", dashes, given)
			}
			i++
			value = argv[i]
		}
		p.values[name] = value
	}
	return p, nil
}

// checkEmpty is juju/cmd's CheckEmpty.
func checkEmpty(args []string) error {
	if len(args) != 0 {
		return usagef("unrecognized args: %q", args)
	}
	return nil
}

// withFormat adds Juju's --format flag (and its -o/--output file flag, which
// the fake accepts but does not honour).
func withFormat(flags map[string]bool) flagSet {
	fs := flagSet{flags: map[string]bool{"format": true, "o": true}, aliases: map[string]string{"output": "o"}}
	for k, v := range flags {
		fs.flags[k] = v
	}
	return fs
}

// format checks --format against the formats a tool offers.
func format(p *parsed, def string, allowed ...string) (string, error) {
	f, ok := p.values["format"]
	if !ok {
		return def, nil
	}
	for _, a := range allowed {
		if f == a {
			return f, nil
		}
	}
	return "", usagef("invalid value %q for option --format: unknown format %q", f, f)
}

// writeValue prints v the way juju/cmd's formatters do.
func writeValue(w io.Writer, f string, v any) error {
	switch f {
	case "json":
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		return writeYAML(w, v)
	}
	// "smart": strings bare, booleans as Python-style True/False (hook
	// tools predate JSON output and shell scripts test for "True"),
	// nothing for nil, YAML for anything structured.
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		_, err := fmt.Fprintln(w, v)
		return err
	case bool:
		s := "False"
		if v {
			s = "True"
		}
		_, err := fmt.Fprintln(w, s)
		return err
	case []string:
		// One per line; nothing at all for none.
		if len(v) == 0 {
			return nil
		}
		_, err := fmt.Fprintln(w, strings.Join(v, "\n"))
		return err
	case float64, int:
		_, err := fmt.Fprintln(w, v)
		return err
	}
	return writeYAML(w, v)
}

func writeYAML(w io.Writer, v any) error {
	if v == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
