package wiring

import (
	"bytes"
	"testing"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

// FuzzDefaultFile: the charm's managed block in an /etc/default file.
// Whatever the operator's file holds, adding the block and stripping it
// gives back exactly what was there (with the newline the block needs),
// and stripping never panics.
func FuzzDefaultFile(f *testing.F) {
	f.Add([]byte("DAEMON_ARGS=\"--config-file=/etc/magnum/magnum.conf\"\n"))
	f.Add([]byte("# no newline at the end"))
	f.Add([]byte(beginMark + "\nstale\n" + endMark + "\nKEEP=1\n"))
	f.Fuzz(func(t *testing.T, current []byte) {
		rest := StripBlock(current)
		for _, svc := range []*unitshape.Service{{Name: "magnum-conductor", Shape: unitshape.InitScript},
			{Name: "magnum-api", Shape: unitshape.InitScriptUWSGI}} {
			content := append([]byte{}, rest...)
			if len(content) > 0 && content[len(content)-1] != '\n' {
				content = append(content, '\n')
			}
			grafted := append(append([]byte{}, content...), block(svc, nil)...)
			if bytes.Contains(rest, []byte(beginMark)) {
				// An unterminated mark of someone else's: the block is
				// still added after it, and stripping finds the first
				// mark; nothing more to promise.
				continue
			}
			if got := StripBlock(grafted); !bytes.Equal(got, content) {
				t.Fatalf("strip(graft(%q)) = %q", content, got)
			}
		}
	})
}
