package driver

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// This file holds the small part of PEP 440 the charm needs when Magnum's
// interpreter has no importable `packaging`: parsing a version, ordering two
// versions and deciding whether a version satisfies a specifier set. It
// follows the reference implementation (pypa/packaging) closely enough for
// the requirements real OpenStack wheels declare; `packaging` is preferred
// whenever Python can import it.

// pyVersion is a parsed PEP 440 version.
type pyVersion struct {
	epoch   int64
	release []int64
	// preKind is 0 without a pre-release segment, else 1 (a), 2 (b) or 3 (rc).
	preKind int
	pre     int64
	hasPost bool
	post    int64
	hasDev  bool
	dev     int64
	local   []string
}

var versionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^v?(?:(\d+)!)?(\d+(?:\.\d+)*)` +
		`(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?` +
		`(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?` +
		`(?:[-_.]?(dev)[-_.]?(\d+)?)?` +
		`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)
})

// errNumberTooLarge: a version's number does not fit in 64 bits. No real
// release needs that; the version is refused rather than compared wrongly.
var errNumberTooLarge = errors.New("a number in it does not fit in 64 bits")

func parseVersion(s string) (pyVersion, error) {
	m := versionRE().FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return pyVersion{}, fmt.Errorf("invalid PEP 440 version %q", clip(s))
	}
	var v pyVersion
	var err error
	num := func(s string) int64 {
		if s == "" || err != nil {
			return 0
		}
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			// strconv's error quotes the whole number, and a hostile
			// wheel's number can be megabytes long: say it briefly.
			err = errNumberTooLarge
		}
		return n
	}
	v.epoch = num(m[1])
	for _, part := range strings.Split(m[2], ".") {
		v.release = append(v.release, num(part))
	}
	if m[3] != "" {
		switch m[3] {
		case "a", "alpha":
			v.preKind = 1
		case "b", "beta":
			v.preKind = 2
		default: // c, rc, pre, preview
			v.preKind = 3
		}
		v.pre = num(m[4])
	}
	if m[5] != "" {
		v.hasPost, v.post = true, num(m[5])
	} else if m[6] != "" {
		v.hasPost, v.post = true, num(m[7])
	}
	if m[8] != "" {
		v.hasDev, v.dev = true, num(m[9])
	}
	if m[10] != "" {
		v.local = strings.FieldsFunc(m[10], func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	}
	if err != nil {
		return pyVersion{}, fmt.Errorf("invalid PEP 440 version %q: %w", clip(s), err)
	}
	return v, nil
}

func (v pyVersion) isPrerelease() bool { return v.preKind != 0 || v.hasDev }

// public returns v without its local segment.
func (v pyVersion) public() pyVersion {
	v.local = nil
	return v
}

// base returns the epoch and release only.
func (v pyVersion) base() pyVersion {
	return pyVersion{epoch: v.epoch, release: v.release}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortKey mirrors packaging's _cmpkey: infinities are encoded in inf.
type sortKey struct {
	inf int // -1 negative infinity, 0 a real value, 1 positive infinity
	a   int64
	b   int64
}

func (k sortKey) cmp(o sortKey) int {
	if k.inf != o.inf {
		return cmpInt(int64(k.inf), int64(o.inf))
	}
	if c := cmpInt(k.a, o.a); c != 0 {
		return c
	}
	return cmpInt(k.b, o.b)
}

func (v pyVersion) keys() (pre, post, dev sortKey) {
	switch {
	case v.preKind == 0 && !v.hasPost && v.hasDev:
		// 1.0.dev0 sorts before 1.0a0.
		pre = sortKey{inf: -1}
	case v.preKind == 0:
		pre = sortKey{inf: 1}
	default:
		pre = sortKey{a: int64(v.preKind), b: v.pre}
	}
	if v.hasPost {
		post = sortKey{a: v.post}
	} else {
		post = sortKey{inf: -1}
	}
	if v.hasDev {
		dev = sortKey{a: v.dev}
	} else {
		dev = sortKey{inf: 1}
	}
	return pre, post, dev
}

func trimZeros(r []int64) []int64 {
	for len(r) > 0 && r[len(r)-1] == 0 {
		r = r[:len(r)-1]
	}
	return r
}

// compareVersions orders two versions as PEP 440 does.
func compareVersions(a, b pyVersion) int {
	if c := cmpInt(a.epoch, b.epoch); c != 0 {
		return c
	}
	ra, rb := trimZeros(a.release), trimZeros(b.release)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if c := cmpInt(ra[i], rb[i]); c != 0 {
			return c
		}
	}
	if c := cmpInt(int64(len(ra)), int64(len(rb))); c != 0 {
		return c
	}
	apre, apost, adev := a.keys()
	bpre, bpost, bdev := b.keys()
	if c := apre.cmp(bpre); c != 0 {
		return c
	}
	if c := apost.cmp(bpost); c != 0 {
		return c
	}
	if c := adev.cmp(bdev); c != 0 {
		return c
	}
	return compareLocal(a.local, b.local)
}

// compareLocal orders local segments: none sorts first, numeric segments
// sort after alphanumeric ones and compare as numbers.
func compareLocal(a, b []string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		na, ea := strconv.ParseInt(a[i], 10, 64)
		nb, eb := strconv.ParseInt(b[i], 10, 64)
		var c int
		switch {
		case ea == nil && eb == nil:
			c = cmpInt(na, nb)
		case ea == nil:
			c = 1
		case eb == nil:
			c = -1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmpInt(int64(len(a)), int64(len(b)))
}

var specRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$`) })

// specifierContains reports whether version satisfies every clause of the
// comma-separated specifier set spec. An empty spec accepts any version.
// Pre-releases are accepted: the question is whether what is installed will
// do, not which release an installer should pick.
func specifierContains(spec, version string) (bool, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return true, nil
	}
	for _, clause := range strings.Split(spec, ",") {
		clause = strings.TrimSpace(clause)
		m := specRE().FindStringSubmatch(clause)
		if m == nil {
			return false, fmt.Errorf("invalid version specifier %q", clip(clause))
		}
		ok, err := clauseContains(m[1], m[2], version)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// validateSpecifier checks a specifier set's syntax without a candidate.
func validateSpecifier(spec string) error {
	if strings.TrimSpace(spec) == "" {
		return nil
	}
	for _, clause := range strings.Split(spec, ",") {
		clause = strings.TrimSpace(clause)
		m := specRE().FindStringSubmatch(clause)
		if m == nil {
			return fmt.Errorf("invalid version specifier %q", clip(clause))
		}
		want := m[2]
		switch m[1] {
		case "===":
			continue
		case "==", "!=":
			want = strings.TrimSuffix(want, ".*")
		}
		if _, err := parseVersion(want); err != nil {
			return fmt.Errorf("invalid version specifier %q: %w", clip(clause), err)
		}
	}
	return nil
}

func clauseContains(op, want, have string) (bool, error) {
	if op == "===" {
		return strings.EqualFold(want, have), nil
	}
	v, err := parseVersion(have)
	if err != nil {
		return false, err
	}
	if op == "==" || op == "!=" {
		var eq bool
		if prefix, ok := strings.CutSuffix(want, ".*"); ok {
			s, err := parseVersion(prefix)
			if err != nil {
				return false, err
			}
			eq = prefixMatch(s, v)
		} else {
			s, err := parseVersion(want)
			if err != nil {
				return false, err
			}
			if s.local == nil {
				v = v.public()
			}
			eq = compareVersions(v, s) == 0
		}
		return eq == (op == "=="), nil
	}
	s, err := parseVersion(want)
	if err != nil {
		return false, err
	}
	pub := v.public()
	switch op {
	case "~=":
		if len(s.release) < 2 {
			return false, fmt.Errorf("invalid specifier ~=%s: needs at least two release segments", clip(want))
		}
		p := s.base()
		p.release = p.release[:len(p.release)-1]
		return compareVersions(pub, s) >= 0 && prefixMatch(p, v), nil
	case "<=":
		return compareVersions(pub, s) <= 0, nil
	case ">=":
		return compareVersions(pub, s) >= 0, nil
	case "<":
		if compareVersions(v, s) >= 0 {
			return false, nil
		}
		// <1.0 must not admit 1.0rc1 unless the specifier is itself a
		// pre-release.
		if !s.isPrerelease() && v.isPrerelease() && compareVersions(v.base(), s.base()) == 0 {
			return false, nil
		}
		return true, nil
	case ">":
		if compareVersions(v, s) <= 0 {
			return false, nil
		}
		// >1.0 must not admit 1.0.post1 (unless the specifier is a
		// post-release) nor 1.0+local.
		if !s.hasPost && v.hasPost && compareVersions(v.base(), s.base()) == 0 {
			return false, nil
		}
		if v.local != nil && compareVersions(v.base(), s.base()) == 0 {
			return false, nil
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown operator %q", clip(op))
}

// prefixMatch implements "==X.Y.*": the epoch must match and the candidate's
// release, padded with zeros, must start with the prefix's release.
func prefixMatch(prefix, v pyVersion) bool {
	if prefix.epoch != v.epoch {
		return false
	}
	for i, n := range prefix.release {
		var got int64
		if i < len(v.release) {
			got = v.release[i]
		}
		if got != n {
			return false
		}
	}
	return true
}
