package realjuju

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"sort"
)

// A stub charm is a dispatch-only charm: Juju runs dispatch for every event
// (a charm needs no hooks/ directory), and a charm without bases in its
// manifest.yaml is refused.
const stubManifest = `bases:
- name: ubuntu
  channel: "24.04"
  architectures: [amd64]
`

// ControllerCharm is a stand-in for the juju-controller charm, which
// bootstrap otherwise fetches from Charmhub. Bootstrap sets the three config
// keys below on it (seen on Juju 4.0.15), so it must declare them.
var ControllerCharm = map[string]charmFile{
	"manifest.yaml": {0o644, stubManifest},
	"metadata.yaml": {0o644, `name: juju-controller
summary: The test bed's stand-in for the juju-controller charm.
description: Bootstrap deploys it on the controller machine; it only says it is there.
subordinate: false
`},
	"config.yaml": {0o644, `options:
  is-juju:
    type: boolean
    default: true
    description: Set by bootstrap.
  identity-provider-url:
    type: string
    default: ""
    description: Set by bootstrap.
  controller-url:
    type: string
    default: ""
    description: Set by bootstrap.
`},
	"dispatch": {0o755, `#!/bin/sh
status-set active "test bed stand-in"
`},
}

// MagnumCharm is the principal the graft relates to, named magnum as in
// production so that `juju relate magnum-capi-graft magnum` reads the same.
// It manages nothing: Magnum's packages are already installed on the
// machine (the test bed's Magnum image). Every principal provides
// juju-info implicitly, which is all the graft needs of it.
var MagnumCharm = map[string]charmFile{
	"manifest.yaml": {0o644, stubManifest},
	"metadata.yaml": {0o644, `name: magnum
summary: The test bed's stand-in for the magnum charm.
description: |
  Magnum is already installed on this machine by the test bed's image (the
  Debian magnum-api and magnum-conductor packages). This charm manages
  nothing; it reports Magnum's version and says it is there.
subordinate: false
`},
	"dispatch": {0o755, `#!/bin/sh
# Every event: report what is installed; change nothing.
version=$(dpkg-query -W -f '${Version}' magnum-common 2>/dev/null) || version=
if [ -z "$version" ]; then
  status-set blocked "magnum-common is not installed on this machine"
  exit 0
fi
application-version-set "$version"
status-set active "Magnum $version (installed by the test bed)"
`},
}

type charmFile struct {
	mode os.FileMode
	text string
}

// WriteCharm packs files into a .charm (a zip keeping each file's mode) at
// path.
func WriteCharm(path string, files map[string]charmFile) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		h.SetMode(files[n].mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write([]byte(files[n].text)); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
