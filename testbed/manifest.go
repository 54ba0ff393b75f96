package testbed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// ManifestRoots are the trees a graft may touch and removal must restore:
// configuration, systemd units and drop-ins, and the system Python.
var ManifestRoots = []string{"/etc", "/lib/systemd", "/usr/lib/systemd", "/usr/lib/python3", "/usr/local"}

// Manifest maps each path under the roots to its type, owner, mode and
// content hash (or link target).
type Manifest map[string]string

// TakeManifest reads the box's trees from the host side (a remote
// machine's with find and sha256sum run on it): ManifestRoots and any more
// roots a test names (the charm's install tree and state directory change
// with every hook's records, so only a test about removal reads them).
func (b *Box) TakeManifest(more ...string) (Manifest, error) {
	if b.Remote != nil {
		return b.remoteManifest(context.Background(), more...)
	}
	root := b.Root()
	roots := append(append([]string{}, ManifestRoots...), more...)
	if pys, _ := filepath.Glob(filepath.Join(root, "usr/lib/python3.*")); pys != nil {
		for _, p := range pys {
			roots = append(roots, strings.TrimPrefix(p, root))
		}
	}
	return manifestAt(root, roots)
}

// manifestAt walks the roots (paths under root; roots that are missing or
// symbolic links are left out) and keys the manifest by path without root.
func manifestAt(root string, roots []string) (Manifest, error) {
	m := Manifest{}
	for _, r := range roots {
		base := filepath.Join(root, r)
		if fi, err := os.Lstat(base); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			st := fi.Sys().(*syscall.Stat_t)
			desc := fmt.Sprintf("%s %d:%d %04o", fi.Mode().Type(), st.Uid, st.Gid, fi.Mode().Perm())
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				t, _ := os.Readlink(p)
				desc += " -> " + t
			case fi.Mode().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				desc += " " + hex.EncodeToString(sum[:8])
			}
			m[strings.TrimPrefix(p, root)] = desc
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Paths lists the paths Diff's lines name, each with its sign: "+" added,
// "-" gone, "~" changed.
func Paths(diff []string) map[string]string {
	out := map[string]string{}
	for _, d := range diff {
		if f := strings.Fields(d); len(f) > 1 {
			out[f[1]] = f[0]
		}
	}
	return out
}

// Diff lists every path that differs between two manifests.
func (m Manifest) Diff(after Manifest) []string {
	var out []string
	for p, d := range m {
		switch a, ok := after[p]; {
		case !ok:
			out = append(out, "- "+p+" "+d)
		case a != d:
			out = append(out, "~ "+p+" "+d+" => "+a)
		}
	}
	for p, a := range after {
		if _, ok := m[p]; !ok {
			out = append(out, "+ "+p+" "+a)
		}
	}
	sort.Strings(out)
	return out
}
