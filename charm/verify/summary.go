package verify

import (
	"strings"
)

// Summary says, from the checks, what the driver will do when a user
// creates a cluster on this unit, and what would make it fail: each failed
// check, and each passing one that warns (a chart repository that does not
// answer yet). It is verify's answer to "will a cluster create work?",
// where the checks are the evidence.
func Summary(checks []Check) string {
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	evidence := func(name, otherwise string) string {
		if c, ok := byName[name]; ok {
			return c.Evidence
		}
		return otherwise
	}
	var steps []string
	steps = append(steps, "the API and the conductor ask Magnum's driver loader for the template's (server type, os_distro, coe): "+
		evidence("driver.collision", "not checked"))
	steps = append(steps, "magnum-conductor runs the driver "+evidence("driver.entry-point", "(not checked)"))
	steps = append(steps, "the driver runs helm ("+evidence("helm", "not checked")+") with the conductor's environment: "+
		evidence("magnum-conductor.proxy-env", "not checked"))
	steps = append(steps, "helm fetches the chart: "+evidence("chart", "not checked"))
	mc := "the management cluster was not preflighted (no kubeconfig)"
	for _, c := range checks {
		if strings.HasPrefix(c.Name, "management-cluster.") {
			mc = "the driver reaches the management cluster (preflight from this unit)"
			break
		}
	}
	steps = append(steps, mc+"; "+evidence("compat.report", "served API versions not compared"))
	steps = append(steps, "the cluster's OpenStack integrations verify Keystone with the CA bundle the driver hands them: "+
		evidence("keystone-ca", "not checked"))

	var fails []string
	for _, c := range checks {
		switch {
		case !c.Pass:
			fails = append(fails, c.Name+": "+c.Evidence)
		case strings.HasPrefix(c.Evidence, "warning: "):
			fails = append(fails, c.Name+": "+strings.TrimPrefix(c.Evidence, "warning: "))
		}
	}
	var b strings.Builder
	b.WriteString("When a user creates a cluster: ")
	for i, s := range steps {
		if i > 0 {
			b.WriteString("; then ")
		}
		b.WriteString(s)
	}
	b.WriteString(". ")
	if len(fails) == 0 {
		b.WriteString("Nothing checked from this unit would make it fail.")
	} else {
		b.WriteString("What would make it fail: " + strings.Join(fails, "; ") + ".")
	}
	return b.String()
}
