package testbed

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// A second Magnum driver that claims the cluster types k8s_capi_helm_v1
// claims, as vexxhost's magnum-cluster-api does: its pyproject.toml
// registers magnum.drivers entry points k8s_cluster_api_ubuntu,
// k8s_cluster_api_flatcar, k8s_cluster_api_debian (and more), and its
// magnum_cluster_api/driver.py has UbuntuDriver provide (vm, ubuntu,
// kubernetes), FlatcarDriver (vm, flatcar, kubernetes) and DebianDriver
// (vm, debian, kubernetes). The rival uses those entry point names and
// claims, under a package of its own; it implements nothing else.

// RivalDist is the rival's distribution name and RivalVersion its version.
const (
	RivalDist    = "testbed-rival-driver"
	RivalVersion = "1.0.0"
	rivalModule  = "testbed_rival_driver"
)

// RivalEntryPoints are the rival's magnum.drivers entry points and the
// cluster type (server_type/os/coe) each claims. The first two collide with
// k8s_capi_helm_v1; the last does not.
var RivalEntryPoints = []struct{ Name, Class, Claims string }{
	{"k8s_cluster_api_ubuntu", "UbuntuDriver", "vm/ubuntu/kubernetes"},
	{"k8s_cluster_api_flatcar", "FlatcarDriver", "vm/flatcar/kubernetes"},
	{"k8s_cluster_api_debian", "DebianDriver", "vm/debian/kubernetes"},
}

// rivalDriverPy subclasses Magnum's own Driver, as every Magnum driver does,
// so Magnum's loader (magnum/drivers/common/driver.py: get_drivers
// instantiates each entry point's class and reads provides) treats it as
// it would the real thing. Driver is an abstract base class; the rival
// implements only provides, so it clears the abstract set to be
// instantiable. beta is read by Magnum 2024.1 and later (get_driver).
func rivalDriverPy() []byte {
	var b strings.Builder
	b.WriteString(`"""A rival Magnum driver for the magnum-capi-graft test bed.

It claims the cluster types k8s_capi_helm_v1 claims, under the entry point
names vexxhost's magnum-cluster-api uses, and implements nothing else.
"""
from magnum.drivers.common import driver


class _Rival(driver.Driver):
    beta = False
    claims = ()

    @property
    def provides(self):
        return [{"server_type": s, "os": o, "coe": c} for s, o, c in self.claims]

`)
	for _, ep := range RivalEntryPoints {
		parts := strings.Split(ep.Claims, "/")
		fmt.Fprintf(&b, "\nclass %s(_Rival):\n    claims = ((%q, %q, %q),)\n\n", ep.Class, parts[0], parts[1], parts[2])
	}
	b.WriteString("\nfor _cls in (_Rival")
	for _, ep := range RivalEntryPoints {
		b.WriteString(", " + ep.Class)
	}
	b.WriteString("):\n    _cls.__abstractmethods__ = frozenset()\n")
	return []byte(b.String())
}

// RivalWheel builds the rival driver's wheel into dir and returns its path.
func RivalWheel(dir string) (string, error) {
	distInfo := fmt.Sprintf("%s-%s.dist-info", strings.ReplaceAll(RivalDist, "-", "_"), RivalVersion)
	var eps strings.Builder
	eps.WriteString("[magnum.drivers]\n")
	for _, ep := range RivalEntryPoints {
		fmt.Fprintf(&eps, "%s = %s.driver:%s\n", ep.Name, rivalModule, ep.Class)
	}
	members := map[string][]byte{
		rivalModule + "/__init__.py": []byte(""),
		rivalModule + "/driver.py":   rivalDriverPy(),
		distInfo + "/METADATA": []byte("Metadata-Version: 2.1\nName: " + RivalDist + "\nVersion: " + RivalVersion +
			"\nSummary: A rival Magnum driver claiming the cluster types of k8s_capi_helm_v1 (magnum-capi-graft test bed)\n"),
		distInfo + "/WHEEL":            []byte("Wheel-Version: 1.0\nGenerator: magnum-capi-graft-testbed\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
		distInfo + "/entry_points.txt": []byte(eps.String()),
		distInfo + "/top_level.txt":    []byte(rivalModule + "\n"),
	}
	data, err := packWheel(members, distInfo)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, fmt.Sprintf("%s-%s-py3-none-any.whl", strings.ReplaceAll(RivalDist, "-", "_"), RivalVersion))
	tmp := fmt.Sprintf("%s.part-%d", out, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// UnpackWheel installs a pure-Python wheel into siteDir inside the box the
// way an installer does (every member where the wheel puts it, root-owned,
// 0644 and 0755 directories), without compiling anything: a package a
// test puts beside Magnum, as pip or a .deb would.
func (b *Box) UnpackWheel(ctx context.Context, wheel, siteDir string) error {
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		name := path.Clean(f.Name)
		if strings.HasPrefix(name, "../") || path.IsAbs(name) || strings.HasSuffix(f.Name, "/") {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
		if err := writeFile(b.Path(path.Join(siteDir, name)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
