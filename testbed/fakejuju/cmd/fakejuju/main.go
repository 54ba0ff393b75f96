// Command fakejuju is the fake Juju unit agent as one multi-call binary: run
// through a symlink named after a hook tool it is that tool; run as fakejuju
// it installs the tools and runs hooks, actions and juju-exec. See package
// testbed/fakejuju.
package main

import (
	"os"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakejuju"
)

func main() {
	os.Exit(fakejuju.Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
