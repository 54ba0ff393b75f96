// Command demo is `make demo`: it boots a real Magnum unit in a box (real
// systemd, the real Debian Magnum packages), installs the packed charm beside
// the test bed's fake Juju agent (whose hook tools and juju-exec are Juju
// 3.6's own code) and a fake management cluster serving what a real CAPO
// release serves, and takes it through testbed/tour: the operator's first
// day with the real driver (Debian's magnum-capi-helm 1.2.0, not
// relabelled), then the principal broken as life breaks it and the graft
// repaired by the watcher, timed. It ends with one line per runbook step and
// writes the whole report as JSON.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/tour"
)

func main() {
	release := pflag.String("release", "trixie", "Debian release of the box: trixie (Magnum 20.0.0, which Debian packages the driver for) or bookworm (Magnum 15.0.1)")
	name := pflag.String("name", "demo", "box name")
	keep := pflag.Bool("keep", false, "leave the box running (testbed/box exec NAME ... to look around; testbed/box down NAME)")
	report := pflag.String("report", filepath.Join(testbed.Repo(), "build", "demo.json"), "where to write the whole report as JSON")
	printJSON := pflag.Bool("json", false, "also print the whole report as JSON at the end")
	width := pflag.Int("width", 260, "clip each summary line's evidence to this many characters (0: never); the report has it whole")
	pflag.Parse()
	if err := run(*release, *name, *keep, *report, *printJSON, *width); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(release, name string, keep bool, reportPath string, printJSON bool, width int) error {
	ctx := context.Background()
	began := time.Now()
	artifacts, err := testbed.ArtifactsFromEnv()
	if err != nil {
		return err
	}
	fmt.Printf("==> booting a real Magnum unit (Debian %s) in box %q, with the real driver and a fake management cluster (CAPO %s)\n",
		release, name, tour.CAPO)
	box, err := tour.Boot(ctx, name, release, artifacts)
	if err != nil {
		return err
	}
	if !keep {
		defer box.Down()
	}
	rep, runErr := tour.Run(ctx, box, tour.Options{Out: os.Stdout, FakeCloud: artifacts.FakeCloud})

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "secret:<id>", not "secret:\u003cid\u003e"
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	data := bytes.TrimSpace(buf.Bytes())
	if err := os.MkdirAll(filepath.Dir(reportPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(reportPath, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if printJSON {
		fmt.Printf("\n%s\n", data)
	}
	fmt.Printf("\n==> summary: runbook 05 (the hand graft) done by the charm on this unit, with driver magnum-capi-helm %s\n", rep.Driver.Version)
	tour.Print(os.Stdout, rep.Summary, width)
	done := 0
	for _, l := range rep.Summary {
		if l.Done {
			done++
		}
	}
	fmt.Printf("\n%d of %d done in %s. The whole report (every result, log line and timing): %s\n",
		done, len(rep.Summary), time.Since(began).Round(time.Second), reportPath)
	fmt.Println("Juju was the test bed's fake agent, but the hook tools and juju-exec were Juju 3.6's own code;")
	fmt.Println("the management cluster and the cloud of Step 8 were fakes serving inside the box.")
	if keep {
		fmt.Printf("\nbox %q is still running: testbed/box exec %s <argv>; testbed/box down %s\n", name, name, name)
	}
	if runErr != nil {
		return runErr
	}
	if done != len(rep.Summary) {
		return fmt.Errorf("%d of %d summary lines not done", len(rep.Summary)-done, len(rep.Summary))
	}
	return nil
}
