// Package compat compares what the management cluster serves with what the
// chosen magnum-capi-helm release reads, and says what to set when they
// differ: the exact api-resources value that makes them meet (driver 1.4.0
// and later read [capi_helm] api_resources), or the driver version to
// choose.
//
// What each release reads is charm/kubeconfig's table (DriverResources,
// read from the driver's kubernetes.py: OpenStackCluster at
// infrastructure.cluster.x-k8s.io/v1alpha6 up to 1.3.x, v1beta1 from
// 1.4.0; everything else the same in all). What the cluster serves comes
// from kubeconfig.Discover, the preflight's discovery widened to every
// served version. The API server converts between the versions of a
// group it serves, so reading a resource at any served version reaches
// the same objects; the fields the driver reads of them
// (magnum_capi_helm/common/capi_monitor.py: status.ready, failureReason,
// failureMessage, status.conditions) exist at every version served by the
// providers the test bed knows (testbed/fakek8s).
package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/kubeconfig"
)

// The API groups of the Cluster API stack the report names.
const (
	GroupCAPI         = "cluster.x-k8s.io"
	GroupCAPO         = "infrastructure.cluster.x-k8s.io"
	GroupControlPlane = "controlplane.cluster.x-k8s.io"
	GroupAddons       = "addons.stackhpc.com"
)

// Groups are the groups to discover (kubeconfig.Discover) for a report:
// every group a driver release reads.
func Groups() []string {
	return []string{GroupCAPI, GroupCAPO, GroupControlPlane, GroupAddons}
}

// apiResourcesOption is the charm option (and [capi_helm] key) that
// overrides the versions the driver reads.
const apiResourcesOption = "api-resources"

// Input is what a report is made from.
type Input struct {
	// MagnumVersion is the unit's Magnum, for the report only.
	MagnumVersion string
	// DriverVersion is the driver-version option.
	DriverVersion string
	// APIResources is the api-resources option as set ("" unset).
	APIResources string
	// Served is what kubeconfig.Discover found for Groups().
	Served kubeconfig.Served
}

// Row is one resource the driver reads.
type Row struct {
	// Key is the driver's class name, the key of api_resources.
	Key string `json:"key"`
	// Kind and Resource name it on the cluster.
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	// Reads is the group/version the driver reads it at.
	Reads string `json:"reads"`
	// Served are the versions of its group that list it, most preferred
	// first.
	Served []string `json:"served"`
	// OK says Reads is among them.
	OK bool `json:"ok"`
}

// Report is the comparison and what to do.
type Report struct {
	MagnumVersion string `json:"magnum-version,omitempty"`
	DriverVersion string `json:"driver-version"`
	// CAPI, CAPO and Addons are the versions served of cluster.x-k8s.io,
	// infrastructure.cluster.x-k8s.io and addons.stackhpc.com, most
	// preferred first (none: not served).
	CAPI   []string `json:"capi"`
	CAPO   []string `json:"capo"`
	Addons []string `json:"addons"`
	Rows   []Row    `json:"rows"`
	// Mismatches say, one per resource, what the driver reads that the
	// cluster does not serve.
	Mismatches []string `json:"mismatches,omitempty"`
	// Notes are true and harmless: a group the cluster prefers at a newer
	// version than the driver reads (still served).
	Notes []string `json:"notes,omitempty"`
	// Fix is what makes them meet; nil when nothing needs to change.
	Fix *Fix `json:"fix,omitempty"`
}

// Fix is what to set. When APIResourcesSet, api-resources should be set to
// APIResources (or unset when that is ""); DriverVersion, when not "", is
// the driver-version to choose instead or as well.
type Fix struct {
	APIResourcesSet bool   `json:"api-resources-set,omitempty"`
	APIResources    string `json:"api-resources,omitempty"`
	DriverVersion   string `json:"driver-version,omitempty"`
	// Possible is false when nothing the charm can set makes them meet: the
	// cluster does not serve a resource at any version.
	Possible bool `json:"possible"`
	// Text is the one-line instruction, for a status or an action result.
	Text string `json:"text"`
}

// PreflightOptions are opts for a preflight of what driver driverVersion
// with api-resources apiResources will read: the overrides (the option is
// refused before this for a release that does not read it; a value the
// charm's catalogue accepted is JSON of this shape, and one that is not
// leaves the driver's own versions, as for an unset option), and, when
// the cluster serves other versions, the report's fix as the advice, so
// the blocked status names the exact value that turns the unit active.
func PreflightOptions(driverVersion, apiResources string, opts kubeconfig.Options) kubeconfig.Options {
	opts.APIVersions, _ = kubeconfig.ParseAPIResources(apiResources)
	discover := opts
	opts.Advise = func(ctx context.Context, kc *kubeconfig.Kubeconfig) string {
		served, err := kubeconfig.Discover(ctx, kc, Groups(), discover)
		if err != nil {
			return ""
		}
		rep, err := Build(Input{DriverVersion: driverVersion, APIResources: apiResources, Served: served})
		if err != nil || rep.Fix == nil {
			return ""
		}
		return rep.Fix.Text
	}
	return opts
}

// OK reports whether the cluster serves everything the driver reads.
func (r Report) OK() bool { return len(r.Mismatches) == 0 }

// Build makes the report. It fails only on a driver version or
// api-resources value it cannot read.
func Build(in Input) (Report, error) {
	r := Report{MagnumVersion: in.MagnumVersion, DriverVersion: in.DriverVersion,
		CAPI: versionsOf(in.Served, GroupCAPI), CAPO: versionsOf(in.Served, GroupCAPO), Addons: versionsOf(in.Served, GroupAddons)}
	overrides, err := kubeconfig.ParseAPIResources(in.APIResources)
	if err != nil {
		return r, err
	}
	rows, err := rowsFor(in.DriverVersion, overrides, in.Served)
	if err != nil {
		return r, err
	}
	r.Rows = rows
	notes := map[string]bool{}
	for _, row := range rows {
		group, version, _ := strings.Cut(row.Reads, "/")
		if !row.OK {
			served := "at no version"
			if len(row.Served) > 0 {
				served = "at " + strings.Join(row.Served, ", ")
			}
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("%s: driver %s reads %s; the cluster serves it %s",
				row.Kind, in.DriverVersion, row.Reads, served))
			continue
		}
		if pref := in.Served.Group(group).Preferred; pref != "" && pref != version && !notes[group] {
			notes[group] = true
			r.Notes = append(r.Notes, fmt.Sprintf("the cluster prefers %s/%s; the driver reads %s, which it still serves", group, pref, version))
		}
	}
	if !r.OK() {
		fix := suggest(in, overrides, rows)
		r.Fix = &fix
	}
	return r, nil
}

func versionsOf(s kubeconfig.Served, group string) []string {
	var out []string
	for _, v := range s.Group(group).Versions {
		out = append(out, v.Version)
	}
	return out
}

func rowsFor(driverVersion string, overrides map[string]string, served kubeconfig.Served) ([]Row, error) {
	resources, err := kubeconfig.DriverResources(driverVersion, overrides)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(resources))
	for _, dr := range resources {
		vs := served.VersionsServing(dr.Group, dr.Name)
		rows = append(rows, Row{Key: dr.Key, Kind: dr.Kind, Resource: dr.Name, Reads: dr.GroupVersion(),
			Served: vs, OK: slices.Contains(vs, dr.Version)})
	}
	return rows, nil
}

// readsAPIResources reports whether a driver release reads api_resources,
// as the charm's catalogue knows it.
func readsAPIResources(driverVersion string) bool {
	o, ok := confd.Lookup(apiResourcesOption)
	return ok && o.KnownBy(driverVersion)
}

// suggest finds what makes the driver read only what is served.
func suggest(in Input, overrides map[string]string, rows []Row) Fix {
	for _, row := range rows {
		if !row.OK && len(row.Served) == 0 {
			group, _, _ := strings.Cut(row.Reads, "/")
			return Fix{Text: fmt.Sprintf("the management cluster serves no %s (%s) at any version: install the provider that serves %s",
				row.Kind, row.Resource, group)}
		}
	}
	// Another release whose built-in versions are all served.
	alternative := ""
	for _, v := range slices.Backward(confd.Versions) {
		if v == in.DriverVersion {
			continue
		}
		if rs, err := rowsFor(v, nil, in.Served); err == nil && allOK(rs) {
			alternative = v
			break
		}
	}
	if readsAPIResources(in.DriverVersion) {
		value, err := apiResourcesValue(in.APIResources, in.DriverVersion, rows)
		if err != nil {
			return Fix{Text: "cannot build an api-resources value: " + err.Error()}
		}
		f := Fix{APIResourcesSet: true, APIResources: value, DriverVersion: "", Possible: true}
		if value == "" {
			f.Text = "unset api-resources: driver " + in.DriverVersion + "'s own versions are all served"
		} else {
			f.Text = "set api-resources='" + value + "'"
		}
		if alternative != "" {
			f.Text += " (or choose driver-version " + alternative + ")"
		}
		return f
	}
	if alternative != "" {
		return Fix{DriverVersion: alternative, Possible: true,
			Text: fmt.Sprintf("choose driver-version %s: driver %s cannot be told other versions (api-resources is read from 1.4.0)", alternative, in.DriverVersion)}
	}
	// No release reads what is served as it comes: the newest release that
	// reads api_resources, told what to read.
	for _, v := range slices.Backward(confd.Versions) {
		if !readsAPIResources(v) {
			continue
		}
		rs, err := rowsFor(v, nil, in.Served)
		if err != nil {
			break
		}
		value, err := apiResourcesValue("", v, rs)
		if err != nil {
			break
		}
		return Fix{APIResourcesSet: true, APIResources: value, DriverVersion: v, Possible: true,
			Text: fmt.Sprintf("choose driver-version %s and set api-resources='%s'", v, value)}
	}
	return Fix{Text: "no driver release the charm knows reads what the management cluster serves"}
}

func allOK(rows []Row) bool {
	for _, r := range rows {
		if !r.OK {
			return false
		}
	}
	return true
}

// apiResourcesValue is current (the api-resources option, "" unset) with
// each mismatched row pointed at the most preferred version that serves
// it, and any override that only repeats the release's built-in version
// dropped. It is written as the charm renders the option (compact JSON,
// keys sorted), so the value is exactly what confd accepts and writes.
func apiResourcesValue(current, driverVersion string, rows []Row) (string, error) {
	obj := map[string]map[string]any{}
	if strings.TrimSpace(current) != "" {
		if err := json.Unmarshal([]byte(current), &obj); err != nil {
			return "", fmt.Errorf("api-resources is not a JSON object of resources")
		}
	}
	builtIn, err := kubeconfig.DriverResources(driverVersion, nil)
	if err != nil {
		return "", err
	}
	defaults := map[string]string{}
	for _, dr := range builtIn {
		defaults[dr.Key] = dr.GroupVersion()
	}
	for _, row := range rows {
		if row.OK {
			continue
		}
		group, _, _ := strings.Cut(row.Reads, "/")
		want := group + "/" + row.Served[0]
		if obj[row.Key] == nil {
			obj[row.Key] = map[string]any{}
		}
		obj[row.Key]["api_version"] = want
	}
	for key, fields := range obj {
		if v, ok := fields["api_version"].(string); ok && v == defaults[key] {
			delete(fields, "api_version")
		}
		if len(fields) == 0 {
			delete(obj, key)
		}
	}
	if len(obj) == 0 {
		return "", nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// Checks are the report as verify-style checks, one per resource the
// driver reads ("compat-<key>", lower case) and one for the fix.
func (r Report) Checks() []kubeconfig.Check {
	var out []kubeconfig.Check
	for _, row := range r.Rows {
		c := kubeconfig.Check{Name: "compat-" + strings.ToLower(row.Key)}
		served := "none"
		if len(row.Served) > 0 {
			served = strings.Join(row.Served, ", ")
		}
		c.Evidence = fmt.Sprintf("driver %s reads %s %s; served: %s", r.DriverVersion, row.Kind, row.Reads, served)
		c.Result = kubeconfig.Pass
		if !row.OK {
			c.Result = kubeconfig.Fail
		}
		out = append(out, c)
	}
	if r.Fix != nil {
		result := kubeconfig.Fail
		out = append(out, kubeconfig.Check{Name: "compat-fix", Result: result, Evidence: r.Fix.Text})
	}
	return out
}

// Summary is one line: the versions served and what the driver reads, e.g.
// "Magnum 20.0.0, driver 1.4.0; Cluster API v1beta2, v1beta1; CAPO v1beta1,
// v1alpha1; addons v1alpha1: the driver reads only what is served".
func (r Report) Summary() string {
	list := func(vs []string) string {
		if len(vs) == 0 {
			return "none"
		}
		return strings.Join(vs, ", ")
	}
	var b strings.Builder
	if r.MagnumVersion != "" {
		b.WriteString("Magnum " + r.MagnumVersion + ", ")
	}
	fmt.Fprintf(&b, "driver %s; Cluster API %s; CAPO %s; addons %s: ", r.DriverVersion, list(r.CAPI), list(r.CAPO), list(r.Addons))
	if r.OK() {
		b.WriteString("the driver reads only what is served")
	} else {
		b.WriteString(r.Mismatches[0])
		if len(r.Mismatches) > 1 {
			fmt.Fprintf(&b, " (+%d more)", len(r.Mismatches)-1)
		}
		if r.Fix != nil {
			b.WriteString("; " + r.Fix.Text)
		}
	}
	return b.String()
}
