package testbed

import "sort"

// FailedChecks lists the checks of a verify action's results that did not
// pass ("pass" is not "true"), as dotted names below prefix, sorted. The
// integration and e2e suites read verify's results the same way.
func FailedChecks(results map[string]any, prefix string) []string {
	var out []string
	for k, v := range results {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if pass, ok := m["pass"].(string); ok {
			if pass != "true" {
				out = append(out, prefix+k)
			}
			continue
		}
		out = append(out, FailedChecks(m, prefix+k+".")...)
	}
	sort.Strings(out)
	return out
}
