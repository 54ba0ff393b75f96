// Package servecli is the command line the test bed's fake servers share
// (fakek8s, fakecloud, outside): `NAME serve [flags]`, help on stdout when
// asked, usage errors on stderr with exit status 2, and a required
// --state-dir.
package servecli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// Parse reads `serve [flags]` from args (without the program name).
// newFlags makes the server's flag set, reporting to output; stateDir reads
// --state-dir once parsed. When done is true Main returns code (help given,
// or a usage error reported); otherwise the flags are parsed and valid.
func Parse(name, usage string, args []string, stdout, stderr io.Writer,
	newFlags func(output io.Writer) *pflag.FlagSet, stateDir func() string) (code int, done bool) {
	if len(args) == 0 || args[0] != "serve" {
		out, code := stderr, 2
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			out, code = stdout, 0
		}
		fmt.Fprint(out, usage)
		fs := newFlags(io.Discard)
		fs.SetOutput(out)
		fs.PrintDefaults()
		return code, true
	}
	fs := newFlags(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0, true
		}
		// pflag leaves reporting to the caller under ContinueOnError.
		fmt.Fprintf(stderr, "%s serve: %v\n", name, err)
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s serve: unexpected argument %q\n", name, fs.Arg(0))
		return 2, true
	}
	if stateDir() == "" {
		fmt.Fprintf(stderr, "%s serve: --state-dir is required\n", name)
		return 2, true
	}
	return 0, false
}
