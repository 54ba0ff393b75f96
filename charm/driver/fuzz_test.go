package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz targets of the driver's parsers. Each must never panic, never
// overflow the stack, and keep its own invariants; the seed corpora are in
// testdata/fuzz.

// maxErrorText bounds an error a parser returns, whatever its input: errors
// end in statuses. Quoted input is clipped to 64 bytes, each of which %q can
// spell in up to 10 characters.
const maxErrorText = 2048

// FuzzVersion: PEP 440 versions. A version that parses compares equal to
// itself, comparison is antisymmetric, and specifiers built from it hold.
func FuzzVersion(f *testing.F) {
	for _, s := range []string{"1.4.0", "1!2.0.post1.dev3+local.7", "1.0rc1", "v1.0a", "2.0.0-1", "1.2.*", "0", ""} {
		f.Add(s, "1.4.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := parseVersion(a)
		vb, errB := parseVersion(b)
		if errA == nil {
			if compareVersions(va, va) != 0 {
				t.Fatalf("%q != itself", a)
			}
			if ok, err := specifierContains("=="+a, a); err == nil && !ok {
				t.Fatalf("==%s does not contain %s", a, a)
			}
		}
		if errA == nil && errB == nil && compareVersions(va, vb) != -compareVersions(vb, va) {
			t.Fatalf("compare(%q, %q) is not antisymmetric", a, b)
		}
		for _, err := range []error{errA, errB, validateSpecifier(a)} {
			if err != nil && len(err.Error()) > maxErrorText {
				t.Fatalf("a %d-byte error: a status has no room for it", len(err.Error()))
			}
		}
		if _, err := specifierContains(a, b); err != nil && len(err.Error()) > maxErrorText {
			t.Fatalf("a %d-byte error: a status has no room for it", len(err.Error()))
		}
	})
}

// FuzzMarker: PEP 508 environment markers, evaluated against a fixed
// environment. Errors quote at most a clipped marker.
func FuzzMarker(f *testing.F) {
	env := map[string]string{"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux",
		"platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
		"platform_machine": "x86_64", "platform_python_implementation": "CPython"}
	for _, s := range []string{`python_version >= "3.8"`, `extra == "test"`,
		`sys_platform == 'linux' and (python_version < '3' or platform_machine == 'x86_64')`,
		`"linux" in sys_platform`, `platform_machine not in "aarch64 ppc64le"`, strings.Repeat("(", 40) + `os_name == "posix"` + strings.Repeat(")", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, marker string) {
		_, err := evalMarker(marker, env)
		if err != nil && len(err.Error()) > maxErrorText {
			t.Fatalf("a %d-byte error: a status has no room for it", len(err.Error()))
		}
	})
}

// FuzzRequirement: PEP 508 requirements (Requires-Dist values).
func FuzzRequirement(f *testing.F) {
	for _, s := range []string{`oslo.log (>=4.4.0); python_version >= "3.8"`, "pyyaml>=5.1,!=6.0.0", "requests[socks] @ https://h/x.whl",
		"magnum-capi-helm", "x (", "x[y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRequirement(s)
		if err != nil {
			if len(err.Error()) > maxErrorText {
				t.Fatalf("a %d-byte error: a status has no room for it", len(err.Error()))
			}
			return
		}
		if r.Name == "" {
			t.Fatalf("%q parsed with no name", s)
		}
		if r.Spec != "" {
			if err := validateSpecifier(r.Spec); err != nil {
				t.Fatalf("%q parsed with an invalid specifier %q: %v", s, r.Spec, err)
			}
		}
	})
}

// FuzzRecord: a wheel's RECORD. Every entry it accepts stays inside the
// install directory, has a known hash (or is RECORD itself) and a bounded
// size.
func FuzzRecord(f *testing.F) {
	f.Add([]byte("magnum_capi_helm/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\nmagnum_capi_helm-1.4.0.dist-info/RECORD,,\n"))
	f.Add([]byte("../evil,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"))
	f.Add([]byte("\"a,b\",sha512=x,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseRecord(data)
		if err != nil {
			if len(err.Error()) > maxErrorText {
				t.Fatalf("a %d-byte error: a status has no room for it", len(err.Error()))
			}
			return
		}
		var total int64
		for _, e := range entries {
			if err := checkMemberPath(e.Path); err != nil {
				t.Fatalf("accepted %q: %v", e.Path, err)
			}
			if !e.hasHash() && !unhashedRecordFile(e.Path) {
				t.Fatalf("accepted %q without a hash", e.Path)
			}
			if e.Size < 0 || e.Size > maxMemberSize {
				t.Fatalf("accepted %q with size %d", e.Path, e.Size)
			}
			total += e.Size
		}
		if total > maxInstallSize {
			t.Fatalf("accepted %d bytes in all", total)
		}
	})
}

// FuzzInspect: a driver resource end to end, wheel or tarball: inspected,
// and when that accepts it, installed into a fresh root and verified there.
// Nothing is written outside the root.
func FuzzInspect(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		res := filepath.Join(dir, "resource")
		if err := os.WriteFile(res, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := Inspect(res)
		if err != nil {
			return
		}
		if a.Name != DistName || !a.Pure || a.EntryPoints[EntryPointGroup][EntryPointName] == "" {
			t.Fatalf("accepted %s %s (pure %v)", a.Name, a.Version, a.Pure)
		}
		root := filepath.Join(dir, "root")
		target, err := Install(a, root)
		if err != nil {
			return
		}
		if filepath.Dir(target) != root {
			t.Fatalf("installed at %s, outside %s", target, root)
		}
		if err := VerifyInstalled(target); err != nil {
			t.Fatalf("installed copy does not verify: %v", err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "resource" && e.Name() != "root" {
				t.Fatalf("wrote %s outside the root", e.Name())
			}
		}
	})
}
