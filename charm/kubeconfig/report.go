package kubeconfig

import (
	"fmt"
	"strings"
)

// Result is the outcome of one check.
type Result string

const (
	Pass Result = "pass"
	Fail Result = "fail"
	// Skip marks a check that could not run because an earlier one failed:
	// reporting it as failed would blame the wrong thing.
	Skip Result = "skip"
)

// Check is the structured outcome of one named check, as the verify action
// reports it. Evidence says what was seen; like every text this package
// produces it names fields and problems, never kubeconfig values.
type Check struct {
	Name     string `json:"name"`
	Result   Result `json:"result"`
	Evidence string `json:"evidence"`
}

// Report collects what Validate and Preflight found.
//
// Problems and Warnings are exact, operator-facing status texts. A problem
// means the driver cannot work with this kubeconfig or management cluster and
// the unit should be blocked; a warning is worth showing but not blocking on.
type Report struct {
	Problems []string `json:"problems,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Checks   []Check  `json:"checks,omitempty"`
}

// OK reports whether nothing blocks the driver.
func (r Report) OK() bool {
	return len(r.Problems) == 0
}

// BlockedStatus returns the text for a blocked workload status: the first
// problem, and how many more there are. Juju shows one line of status, so the
// first problem must carry the message on its own; the rest are in the verify
// action's results. It returns "" when there are no problems.
func (r Report) BlockedStatus() string {
	switch len(r.Problems) {
	case 0:
		return ""
	case 1:
		return r.Problems[0]
	default:
		return fmt.Sprintf("%s (+%d more)", r.Problems[0], len(r.Problems)-1)
	}
}

// WarningSuffix returns the warnings as a suffix for an otherwise active
// status, such as "; kubeconfig: client certificate expires in 20 days", or ""
// when there are none.
func (r Report) WarningSuffix() string {
	if len(r.Warnings) == 0 {
		return ""
	}
	return "; " + strings.Join(r.Warnings, "; ")
}

// ActionResults returns the checks as verify action results: check name to
// "pass: evidence", "fail: evidence" or "skip: evidence". Check names are
// already valid action result keys (lower case, digits and hyphens).
func (r Report) ActionResults() map[string]string {
	results := make(map[string]string, len(r.Checks))
	for _, c := range r.Checks {
		results[c.Name] = string(c.Result) + ": " + c.Evidence
	}
	return results
}

// Merge returns r followed by other.
func (r Report) Merge(other Report) Report {
	return Report{
		Problems: append(append([]string(nil), r.Problems...), other.Problems...),
		Warnings: append(append([]string(nil), r.Warnings...), other.Warnings...),
		Checks:   append(append([]Check(nil), r.Checks...), other.Checks...),
	}
}

// pass records a passed check.
func (r *Report) pass(name, evidence string) {
	r.Checks = append(r.Checks, Check{Name: name, Result: Pass, Evidence: evidence})
}

// fail records a failed check whose evidence is the problem itself, so the
// status line and the action results never disagree.
func (r *Report) fail(name, problem string) {
	r.Problems = append(r.Problems, problem)
	r.Checks = append(r.Checks, Check{Name: name, Result: Fail, Evidence: problem})
}

// advise ends the failed check at index i, and its problem, with what
// to do ("" leaves them as they are).
func (r *Report) advise(i int, advice string) {
	if advice == "" {
		return
	}
	c := &r.Checks[i]
	for j, p := range r.Problems {
		if p == c.Evidence {
			r.Problems[j] = p + ": " + advice
			break
		}
	}
	c.Evidence += ": " + advice
}

// failAll records one failed check with several problems.
func (r *Report) failAll(name string, problems []string) {
	r.Problems = append(r.Problems, problems...)
	r.Checks = append(r.Checks, Check{Name: name, Result: Fail, Evidence: strings.Join(problems, "; ")})
}

// skip records a check that did not run and why.
func (r *Report) skip(name, why string) {
	r.Checks = append(r.Checks, Check{Name: name, Result: Skip, Evidence: why})
}

// warn records a warning; the check it belongs to records its own result.
func (r *Report) warn(warning string) {
	r.Warnings = append(r.Warnings, warning)
}
