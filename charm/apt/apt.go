// Package apt is the charm's use of dpkg and apt: what a package has
// installed and when, what apt would install, which package owns a file,
// and apt-get run the one way (non-interactive, bounded, its errors
// redacted).
package apt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// Timeout bounds one apt-get run (an install from a slow archive).
const Timeout = 15 * time.Minute

// ListFile is dpkg's list of a package's files: dpkg rewrites it whenever
// it installs the package, so its mtime says when that last happened.
func ListFile(pkg string) string {
	return "/var/lib/dpkg/info/" + pkg + ".list"
}

// Installed returns the installed version of pkg, or "" if it is not
// installed.
func Installed(ctx context.Context, pkg string) (string, error) {
	res, err := command.Run(ctx, command.Cmd{Argv: []string{"dpkg-query", "-W", "-f", "${db:Status-Abbrev}|${Version}", pkg}})
	if err != nil {
		if res.ExitCode == 1 {
			return "", nil // unknown package
		}
		return "", fmt.Errorf("dpkg-query %s: %w", pkg, err)
	}
	status, version, _ := strings.Cut(string(res.Stdout), "|")
	if !strings.HasPrefix(status, "ii") {
		return "", nil
	}
	return strings.TrimSpace(version), nil
}

// Candidate returns the version apt-get install would install ("" for
// none).
func Candidate(ctx context.Context, pkg string) (string, error) {
	res, err := command.Run(ctx, command.Cmd{Argv: []string{"apt-cache", "policy", pkg}, Env: env()})
	if err != nil {
		return "", fmt.Errorf("apt-cache policy %s: %w", pkg, err)
	}
	return parseCandidate(string(res.Stdout)), nil
}

func parseCandidate(policy string) string {
	for _, line := range strings.Split(policy, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok {
			v = strings.TrimSpace(v)
			if v == "(none)" {
				return ""
			}
			return v
		}
	}
	return ""
}

// UpstreamVersion strips a Debian version's epoch and revision:
// "1:1.2.0-3" -> "1.2.0".
func UpstreamVersion(v string) string {
	if i := strings.Index(v, ":"); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndex(v, "-"); i >= 0 {
		v = v[:i]
	}
	return v
}

func env() []string {
	env := []string{"DEBIAN_FRONTEND=noninteractive", "LANG=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	if len(env) == 2 {
		env = append(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return env
}

// Run runs an apt command (apt-get, add-apt-repository) non-interactively.
func Run(ctx context.Context, argv ...string) error {
	_, err := command.Run(ctx, command.Cmd{Argv: argv, Env: env(), Timeout: Timeout})
	if err != nil {
		// A private archive's URL carries credentials, in the argv and
		// in what apt prints about it.
		return errors.New(redact.Text(fmt.Sprintf("%s: %v", strings.Join(argv, " "), err)))
	}
	return nil
}

// Owner returns the package that owns p (or what it resolves to), or "".
func Owner(ctx context.Context, p string) string {
	cands := []string{p}
	if d, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		cands = append(cands, filepath.Join(d, filepath.Base(p)))
	}
	if t, err := filepath.EvalSymlinks(p); err == nil {
		cands = append(cands, t)
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] {
			continue
		}
		seen[c] = true
		res, err := command.Run(ctx, command.Cmd{Argv: []string{"dpkg-query", "-S", c}})
		if err != nil {
			continue
		}
		if pkg := parseSearch(string(res.Stdout), c); pkg != "" {
			return pkg
		}
	}
	return ""
}

// parseSearch reads `dpkg-query -S PATH`: "pkg[, pkg2]: PATH" lines;
// "diversion by ..." lines are not owners.
func parseSearch(out, p string) string {
	for _, line := range strings.Split(out, "\n") {
		pkgs, file, ok := strings.Cut(line, ": ")
		if !ok || strings.TrimSpace(file) != p || strings.HasPrefix(line, "diversion ") {
			continue
		}
		first, _, _ := strings.Cut(pkgs, ",")
		return strings.TrimSpace(first)
	}
	return ""
}
