package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

func main() {
	var in Inputs
	var out string
	pflag.StringVar(&in.ProjectDir, "project", ".", "the directory of charmcraft.yaml and metadata.yaml")
	pflag.StringVar(&in.Platform, "platform", "", "the platform of charmcraft.yaml to pack for, as charmcraft pack --platform takes it")
	pflag.StringVar(&in.Binary, "binary", "", "the static hook binary")
	pflag.StringSliceVar(&in.Extra, "extra", []string{"README.md", "LICENSE"}, "more files for the charm's top level")
	pflag.StringVarP(&out, "output", "o", "magnum-capi-graft.charm", "the .charm to write")
	pflag.Parse()
	if in.Binary == "" {
		fmt.Fprintln(os.Stderr, "charmpack: --binary is required")
		os.Exit(2)
	}
	if err := Pack(in, out); err != nil {
		fmt.Fprintln(os.Stderr, "charmpack:", err)
		os.Exit(1)
	}
}
