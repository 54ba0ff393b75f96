package unitshape

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
)

// FuzzUnitFile: a service's unit file and an operator's drop-in, as
// OriginalExecStart reads them. It never panics, and an ExecStart it
// returns is one the files set.
func FuzzUnitFile(f *testing.F) {
	f.Add([]byte("[Unit]\nDescription=x\n[Service]\nExecStart=/usr/bin/magnum-conductor --config-file=/etc/magnum/magnum.conf\n"),
		[]byte("[Service]\nExecStart=\nExecStart=/usr/bin/magnum-conductor --debug\n"))
	f.Add([]byte("[Service]\nExecStart=/etc/init.d/magnum-api systemd-start \\\n  --more\n"), []byte(""))
	f.Add([]byte("[Service\nExecStart"), []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, unitFile, dropIn []byte) {
		dir := t.TempDir()
		frag := filepath.Join(dir, "magnum-conductor.service")
		drop := filepath.Join(dir, "magnum-conductor.service.d", "override.conf")
		if err := os.MkdirAll(filepath.Dir(drop), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(frag, unitFile, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(drop, dropIn, 0o644); err != nil {
			t.Fatal(err)
		}
		exec, err := OriginalExecStart(&Service{Name: "magnum-conductor",
			Unit: systemd.Unit{FragmentPath: frag, DropInPaths: []string{drop}}})
		if err != nil {
			return
		}
		if !strings.Contains(string(unitFile)+string(dropIn), "ExecStart") {
			t.Fatalf("ExecStart %q from files that set none", exec)
		}
	})
}
