package tour

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed"
)

// Line is one step of runbook 05 (the hand graft the charm replaces), or
// one repair, as the tour proved it: done or not, how it was proved, and
// the evidence. Evidence is quoted from the charm's own results (verify,
// investigate, its log) or from the box, never made up by the summary.
type Line struct {
	// Step is the runbook's step number, or "keep" for the graft kept
	// true after a change of the principal (the runbook has no such step:
	// it is why the charm exists).
	Step     string `json:"step"`
	Title    string `json:"title"`
	Done     bool   `json:"done"`
	How      string `json:"how"`
	Evidence string `json:"evidence"`
}

// check is one verify result: pass and evidence, found by its dotted path
// ("driver", "entry-point").
type check struct {
	found, pass bool
	evidence    string
}

func verifyCheck(o *testbed.ActionOutcome, path ...string) check {
	if o == nil {
		return check{}
	}
	var at any = o.Results
	for _, p := range path {
		m, ok := at.(map[string]any)
		if !ok {
			return check{}
		}
		at = m[p]
	}
	m, ok := at.(map[string]any)
	if !ok {
		return check{}
	}
	ev, _ := m["evidence"].(string)
	return check{found: true, pass: fmt.Sprint(m["pass"]) == "true", evidence: ev}
}

// checks are verify results that must all pass; their evidence is joined,
// each labelled with its service when it is a service's.
func checks(o *testbed.ActionOutcome, paths ...[]string) (bool, string) {
	ok := len(paths) > 0
	var ev []string
	for _, p := range paths {
		c := verifyCheck(o, p...)
		if !c.found {
			ok = false
			ev = append(ev, strings.Join(p, ".")+": not reported")
			continue
		}
		ok = ok && c.pass
		// The preflight's evidence starts with its own "pass: ".
		e := strings.TrimPrefix(c.evidence, "pass: ")
		if svc, ok := strings.CutPrefix(p[0], "magnum-"); ok {
			e = svc + ": " + e
		}
		if !c.pass {
			e = "FAILED: " + e
		}
		ev = append(ev, e)
	}
	return ok, strings.Join(ev, "; ")
}

// managementChecks are verify's preflight checks, in a stable order.
func managementChecks(o *testbed.ActionOutcome) [][]string {
	if o == nil {
		return nil
	}
	m, _ := o.Results["management-cluster"].(map[string]any)
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		// connection first, then the APIs, then the access reviews.
		rank := func(s string) int {
			switch {
			case s == "connection":
				return 0
			case strings.HasPrefix(s, "api-"):
				return 1
			}
			return 2
		}
		if rank(names[i]) != rank(names[j]) {
			return rank(names[i]) < rank(names[j])
		}
		return names[i] < names[j]
	})
	var out [][]string
	for _, n := range names {
		out = append(out, []string{"management-cluster", n})
	}
	return out
}

func result(o *testbed.ActionOutcome, keys ...string) string {
	if o == nil {
		return ""
	}
	var at any = o.Results
	for _, k := range keys {
		m, ok := at.(map[string]any)
		if !ok {
			return ""
		}
		at = m[k]
	}
	if at == nil {
		return ""
	}
	return fmt.Sprint(at)
}

// investigateLines are the investigate action's findings, briefly.
func investigateLines(o *testbed.ActionOutcome) []string {
	if o == nil || o.Status != "completed" {
		if o == nil {
			return []string{"investigate: no result"}
		}
		return []string{"investigate: " + o.Status + ": " + o.Message}
	}
	lines := []string{fmt.Sprintf("Magnum %s in %s (Python %s), PEP 668: %s", result(o, "magnum-version"), result(o, "python"),
		result(o, "python-version"), result(o, "pep668"))}
	for _, svc := range []string{"magnum-api", "magnum-conductor"} {
		lines = append(lines, fmt.Sprintf("%s: %s, %s, %s; conf.d %s", svc, result(o, "services", svc, "shape"),
			result(o, "services", svc, "exec-start"), result(o, "services", svc, "active"), result(o, "services", svc, "conf-d")))
	}
	return lines
}

// verifyCounts says how many of verify's checks passed.
func verifyCounts(o *testbed.ActionOutcome) string {
	if o == nil {
		return "verify: no result"
	}
	pass, fail := 0, []string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			sub, ok := v.(map[string]any)
			if !ok {
				continue
			}
			if _, leaf := sub["pass"]; leaf {
				if fmt.Sprint(sub["pass"]) == "true" {
					pass++
				} else {
					fail = append(fail, prefix+k)
				}
				continue
			}
			walk(prefix+k+".", sub)
		}
	}
	walk("", o.Results)
	sort.Strings(fail)
	s := fmt.Sprintf("verify %s: %d checks passed, %d failed", o.Status, pass, len(fail))
	if len(fail) > 0 {
		s += " (" + strings.Join(fail, ", ") + ")"
	}
	return s
}

// Summarize sums the report up, one line per step of runbook 05 and one per
// repair.
func Summarize(r *Report) []Line {
	v := r.Verify
	var lines []Line
	add := func(step, title string, done bool, how, evidence string) {
		lines = append(lines, Line{Step: step, Title: title, Done: done, How: how, Evidence: evidence})
	}

	inv := r.Investigate
	add("1", "Investigate the unit", inv != nil && inv.Status == "completed",
		"investigate action, read-only, before the graft",
		strings.Join(investigateLines(inv), "; "))

	ok, ev := checks(v, managementChecks(v)...)
	add("2", "Pre-flight: the management cluster is reachable", ok,
		"verify's preflight from the unit: TLS, /readyz, discovery of what driver "+r.Driver.Version+" reads, access reviews", ev)

	ok, ev = checks(v, []string{"driver", "entry-point"}, []string{"helm"})
	add("3", "Install the driver into Magnum's Python", ok && !r.Driver.Relabelled,
		"driver resource "+r.Driver.Wheel+" ("+r.Driver.Package+" files, not relabelled), activated by a .pth, no pip; imported as magnum", ev)

	ok, ev = checks(v, []string{"management-cluster", "connection"})
	add("4", "Deploy the kubeconfig", ok && r.KubeconfigFile != "",
		"Juju secret, validated, written atomically with exact owner and mode; the preflight uses it",
		r.KubeconfigFile+"; "+ev)

	ok, ev = checks(v, []string{"magnum-api", "conf-d"}, []string{"magnum-conductor", "conf-d"})
	add("5", "Configure Magnum: conf.d/99-capi.conf", ok,
		"typed options of driver-version "+r.Config["driver-version"]+"; oslo.config run as magnum with each service's live arguments",
		ev)

	ok, ev = checks(v, []string{"magnum-api", "wiring"}, []string{"magnum-conductor", "wiring"},
		[]string{"magnum-api", "running"}, []string{"magnum-conductor", "running"})
	add("6", "Make the services read conf.d", ok,
		"wiring chosen by each service's shape (no ExecStart override on Debian's packages), checked on the live command line",
		ev)

	ok, ev = checks(v, []string{"driver", "entry-point"}, []string{"driver", "list-drivers"})
	add("7", "Verify the driver loads", ok,
		"not the runbook's log grep, which proves nothing (drivers load lazily): entry point imported as magnum + list-drivers",
		ev)

	add("8", "Smoke test: a cluster through the Magnum API", smokeDone(r),
		"smoke-test action against the test bed's contract server (fake OpenStack APIs): its calls and clean-up, not a real cluster",
		smokeEvidence(r))

	for _, rep := range r.Repairs {
		add("keep", "After: "+rep.Disruption, rep.Repaired && rep.Error == "",
			"the watcher (D-Bus, inotify) ran update-status through Juju's juju-exec; no operator, no Juju hook",
			repairEvidence(rep))
	}
	ok, ev = checks(r.VerifyAfter, []string{"converged"}, []string{"watcher"})
	add("keep", "Still true after the repairs", ok && r.VerifyAfter != nil && r.VerifyAfter.Status == "completed",
		"verify run again: "+verifyCounts(r.VerifyAfter), ev)
	return lines
}

func smokeDone(r *Report) bool {
	s := r.SmokeTest
	return s != nil && s.Status == "completed" && result(s, "status") == "CREATE_COMPLETE" && result(s, "kept") == "false" &&
		len(r.SmokeLeft) == 0
}

func smokeEvidence(r *Report) string {
	s := r.SmokeTest
	if s == nil {
		return "not run (no contract server given)"
	}
	if s.Status != "completed" {
		return s.Status + ": " + s.Message
	}
	return fmt.Sprintf("template %s and cluster %s created, cluster %s after %s, both deleted (kept=%s); the server's Magnum API saw %d calls and holds %s",
		result(s, "template-name"), result(s, "cluster-name"), result(s, "status"), result(s, "phases", "wait"), result(s, "kept"),
		len(r.SmokeRecords), orNone(strings.Join(r.SmokeLeft, ", ")))
}

func repairEvidence(rep Repair) string {
	if rep.Error != "" {
		return "not repaired: " + rep.Error
	}
	// The watcher's line, up to the list of what it saw change.
	var regraft string
	for _, l := range rep.WatcherLog {
		if strings.HasPrefix(l, "re-graft succeeded") || strings.HasPrefix(l, "re-graft failed") {
			regraft, _, _ = strings.Cut(l, ";")
		}
	}
	// The charm's restarts, without their reasons (the report has them).
	var restarts []string
	for _, r := range rep.CharmRestarts {
		what, _, _ := strings.Cut(r, " (")
		restarts = append(restarts, what)
	}
	did := "repaired by the charm: " + orNone(strings.Join(rep.CharmLog, "; "))
	if len(rep.CharmLog) == 0 {
		did = "nothing to repair: the charm changed nothing"
	}
	return fmt.Sprintf("converged %.1f s after the disruption began (%.1f s of it systemd stopping Magnum's services, the principal's share); "+
		"%d service starts: %d by the disruption, %d by the charm (%s); %d watcher re-graft(s), last: %s; %s",
		rep.Seconds, rep.StoppingSeconds, rep.ServiceStarts, rep.ServiceStarts-len(rep.CharmRestarts), len(rep.CharmRestarts),
		orNone(strings.Join(restarts, ", ")), rep.Regrafts, orNone(regraft), did)
}

// Print writes the summary for people: one line per step, the evidence
// clipped to width (the report's JSON has it whole).
func Print(w io.Writer, lines []Line, width int) {
	for _, l := range lines {
		state := "done"
		if !l.Done {
			state = "NOT DONE"
		}
		step := "Step " + l.Step
		if l.Step == "keep" {
			step = "Kept  "
		}
		fmt.Fprintf(w, "  %-8s %s  %s | how: %s | evidence: %s\n", state, step, l.Title, l.How, clip(l.Evidence, width))
	}
}

func clip(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
