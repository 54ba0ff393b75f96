package smoketest

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// Credentials are what the smoke test authenticates with: a Keystone v3 user
// scoped to a project. They come from a Juju secret, never from config, so
// they do not end up in `juju config` output.
type Credentials struct {
	AuthURL           string
	Username          string
	Password          string
	ProjectName       string
	UserDomainName    string
	ProjectDomainName string
	// RegionName, when set, picks endpoints of that region from the catalog.
	RegionName string
	// Interface is the catalog interface to use: public (the default),
	// internal or admin.
	Interface string
	// CACert is PEM text of the CA that signed the cloud's certificates. It
	// is text, not a path, because it travels in the same secret.
	CACert string
	// AllowPlainHTTP ("true" or "false") lets an http:// auth-url through.
	// Over plain http the password and every token cross the network in
	// clear, so the operator who wrote the credentials must say so, in
	// the same secret as the auth-url it is about.
	AllowPlainHTTP string
}

// secretKeys maps each key of the credentials secret to its field, and says
// whether the key is required. Juju secret keys cannot hold underscores, so
// the keys are the openrc names spelled with hyphens.
var secretKeys = []struct {
	key      string
	required bool
	field    func(*Credentials) *string
}{
	{"auth-url", true, func(c *Credentials) *string { return &c.AuthURL }},
	{"username", true, func(c *Credentials) *string { return &c.Username }},
	{"password", true, func(c *Credentials) *string { return &c.Password }},
	{"project-name", true, func(c *Credentials) *string { return &c.ProjectName }},
	// The domains are required rather than defaulted to "Default": a wrong
	// guess shows up as a bare 401, which is much harder to act on than an
	// error naming the missing key.
	{"user-domain-name", true, func(c *Credentials) *string { return &c.UserDomainName }},
	{"project-domain-name", true, func(c *Credentials) *string { return &c.ProjectDomainName }},
	{"region-name", false, func(c *Credentials) *string { return &c.RegionName }},
	{"interface", false, func(c *Credentials) *string { return &c.Interface }},
	{"cacert", false, func(c *Credentials) *string { return &c.CACert }},
	{"allow-plain-http", false, func(c *Credentials) *string { return &c.AllowPlainHTTP }},
}

// CredentialsFromSecret reads the content of the credentials secret. Unknown
// keys are refused, because a misspelt optional key (say "regionname") would
// otherwise be dropped silently and the test would run against the wrong
// region.
func CredentialsFromSecret(content map[string]string) (Credentials, error) {
	var c Credentials
	known := make(map[string]bool, len(secretKeys))
	var missing []string
	for _, k := range secretKeys {
		known[k.key] = true
		v := strings.TrimSpace(content[k.key])
		if k.key == "password" {
			// A password may legitimately begin or end with spaces.
			v = content[k.key]
		}
		if v == "" && k.required {
			missing = append(missing, k.key)
		}
		*k.field(&c) = v
	}
	var unknown []string
	for k := range content {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	switch {
	case len(missing) > 0:
		return Credentials{}, fmt.Errorf("credentials secret: missing %s", strings.Join(missing, ", "))
	case len(unknown) > 0:
		return Credentials{}, fmt.Errorf("credentials secret: unknown key %s", strings.Join(unknown, ", "))
	}
	if err := c.Validate(); err != nil {
		return Credentials{}, fmt.Errorf("credentials secret: %w", err)
	}
	return c, nil
}

// Validate checks the credentials without contacting the cloud.
func (c Credentials) Validate() error {
	u, err := url.Parse(c.AuthURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("auth-url %q is not an http(s) URL", redact.String(c.AuthURL))
	}
	switch c.AllowPlainHTTP {
	case "", "false", "true":
	default:
		return fmt.Errorf(`allow-plain-http must be "true" or "false"`)
	}
	if u.Scheme == "http" && c.AllowPlainHTTP != "true" {
		return fmt.Errorf("auth-url %s is plain http, which would send the password in clear: use https, or add allow-plain-http=true to the credentials secret", redact.URL(u))
	}
	for _, f := range []struct{ key, value string }{
		{"username", c.Username},
		{"password", c.Password},
		{"project-name", c.ProjectName},
		{"user-domain-name", c.UserDomainName},
		{"project-domain-name", c.ProjectDomainName},
	} {
		if f.value == "" {
			return fmt.Errorf("%s is empty", f.key)
		}
	}
	if _, err := c.availability(); err != nil {
		return err
	}
	return nil
}

// availability maps Interface to the catalog interface gophercloud filters
// on, accepting the openrc spellings ("publicURL") as well.
func (c Credentials) availability() (gophercloud.Availability, error) {
	switch strings.TrimSuffix(strings.ToLower(c.Interface), "url") {
	case "", "public":
		return gophercloud.AvailabilityPublic, nil
	case "internal":
		return gophercloud.AvailabilityInternal, nil
	case "admin":
		return gophercloud.AvailabilityAdmin, nil
	}
	return "", fmt.Errorf("interface %q is not one of public, internal, admin", c.Interface)
}

// String keeps the password out of any log line that prints credentials
// with %v or %+v.
func (c Credentials) String() string {
	return fmt.Sprintf("%s as %s@%s in project %s@%s", redact.String(c.AuthURL), c.Username, c.UserDomainName, c.ProjectName, c.ProjectDomainName)
}

// GoString does the same for %#v.
func (c Credentials) GoString() string { return "smoketest.Credentials{" + c.String() + "}" }

// Params say what the smoke test creates. The zero value of every optional
// field means "use the default".
type Params struct {
	// Image, Keypair, ExternalNetwork, MasterFlavor and Flavor name existing
	// resources, by name or ID.
	Image           string
	Keypair         string
	ExternalNetwork string
	MasterFlavor    string
	Flavor          string

	// NetworkDriver defaults to calico: Magnum's own default is flannel,
	// which the CAPI helm charts do not deploy.
	NetworkDriver string
	// KubeTag, when set, becomes the kube_tag label.
	KubeTag string
	// Labels are passed to the cluster template as they are.
	Labels map[string]string

	MasterCount int // default 1
	NodeCount   int // default 1

	// Timeout bounds how long the cluster may take to reach CREATE_COMPLETE
	// once Magnum has accepted it. It is also passed to Magnum as the
	// cluster's create_timeout, rounded up to whole minutes.
	Timeout time.Duration // default 30m

	// Keep leaves the cluster and its template in place afterwards, also
	// after a failure, so that an operator can look at them. The next run
	// with the same Prefix removes them as leftovers.
	Keep bool

	// Prefix starts the name of everything the test creates. Anything whose
	// name starts with Prefix + "-" is taken for a leftover of an earlier,
	// interrupted run and deleted, so two runs at the same time must use
	// different prefixes.
	Prefix string // default "capi-graft-smoke"

	// MinFlavorRAMMB and MinFlavorVCPUs are what the driver's
	// [capi_helm] minimum_flavor_ram and minimum_flavor_vcpus default to.
	MinFlavorRAMMB int // default 2048
	MinFlavorVCPUs int // default 2

	// MagnumVersion is the unit's Magnum (unitshape), set by the action:
	// from Magnum 18 an image's magnum_driver property picks the driver.
	MagnumVersion string

	Pacing Pacing
}

// Pacing sets how the smoke test waits. The defaults suit a real cloud, where
// a cluster takes 15 to 20 minutes; tests shrink them.
type Pacing struct {
	// PollInitial is the first wait between two looks at a cluster. Each
	// later wait is half as long again, up to PollMax, so a quick failure is
	// seen quickly and a slow success does not hammer the API.
	PollInitial time.Duration // default 10s
	PollMax     time.Duration // default 60s
	// RetryInitial is the first wait before a request that failed with a
	// transient error (5xx, or 409 while Magnum is busy with the resource)
	// is sent again; the wait doubles each time, up to PollMax.
	RetryInitial time.Duration // default 2s
	// RetryAttempts bounds how often one request is sent again.
	RetryAttempts int // default 5
	// DeleteTimeout bounds each clean-up: of leftovers before, and of what
	// the run created after.
	DeleteTimeout time.Duration // default 20m
}

// DefaultPrefix is the Prefix used when none is given.
const DefaultPrefix = "capi-graft-smoke"

// maxPrefixLen leaves room in Magnum's 255-character names for the suffix,
// and keeps the helm release names the driver derives from them readable.
const maxPrefixLen = 40

// magnumName is what Magnum accepts as a cluster or template name.
var magnumName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]*$`)

// withDefaults returns p with every unset optional field set.
func (p Params) withDefaults() Params {
	if p.NetworkDriver == "" {
		p.NetworkDriver = "calico"
	}
	if p.MasterCount == 0 {
		p.MasterCount = 1
	}
	if p.NodeCount == 0 {
		p.NodeCount = 1
	}
	if p.Timeout == 0 {
		p.Timeout = 30 * time.Minute
	}
	if p.Prefix == "" {
		p.Prefix = DefaultPrefix
	}
	if p.MinFlavorRAMMB == 0 {
		p.MinFlavorRAMMB = 2048
	}
	if p.MinFlavorVCPUs == 0 {
		p.MinFlavorVCPUs = 2
	}
	if p.Pacing.PollInitial == 0 {
		p.Pacing.PollInitial = 10 * time.Second
	}
	if p.Pacing.PollMax == 0 {
		p.Pacing.PollMax = time.Minute
	}
	if p.Pacing.RetryInitial == 0 {
		p.Pacing.RetryInitial = 2 * time.Second
	}
	if p.Pacing.RetryAttempts == 0 {
		p.Pacing.RetryAttempts = 5
	}
	if p.Pacing.DeleteTimeout == 0 {
		p.Pacing.DeleteTimeout = 20 * time.Minute
	}
	return p
}

// Validate checks p after defaults are applied, without contacting the cloud.
func (p Params) Validate() error {
	p = p.withDefaults()
	var problems []string
	for _, f := range []struct{ name, value string }{
		{"image", p.Image},
		{"keypair", p.Keypair},
		{"external network", p.ExternalNetwork},
		{"master flavor", p.MasterFlavor},
		{"flavor", p.Flavor},
	} {
		if strings.TrimSpace(f.value) == "" {
			problems = append(problems, f.name+" is not set")
		}
	}
	if len(p.Prefix) > maxPrefixLen || !magnumName.MatchString(p.Prefix) {
		problems = append(problems, fmt.Sprintf("prefix %q must start with a letter, hold only letters, digits, '_', '.' and '-', and be at most %d characters", p.Prefix, maxPrefixLen))
	}
	if p.MasterCount < 0 || p.NodeCount < 0 {
		problems = append(problems, "master and node counts must be at least 1")
	}
	if p.Timeout < 0 || p.MinFlavorRAMMB < 0 || p.MinFlavorVCPUs < 0 {
		problems = append(problems, "timeout and flavor minimums must be positive")
	}
	pc := p.Pacing
	if pc.PollInitial < 0 || pc.PollMax < pc.PollInitial || pc.RetryInitial < 0 || pc.RetryAttempts < 0 || pc.DeleteTimeout < 0 {
		problems = append(problems, "pacing must be positive, with PollMax at least PollInitial")
	}
	if tag, ok := p.Labels["kube_tag"]; ok && p.KubeTag != "" && tag != p.KubeTag {
		problems = append(problems, fmt.Sprintf("kube_tag is given twice: %q in labels and %q as the kube tag", tag, p.KubeTag))
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid smoke test parameters: %s", strings.Join(problems, "; "))
	}
	return nil
}

// labels returns the cluster template's labels: Labels plus kube_tag.
func (p Params) labels() map[string]string {
	labels := make(map[string]string, len(p.Labels)+1)
	for k, v := range p.Labels {
		labels[k] = v
	}
	if p.KubeTag != "" {
		labels["kube_tag"] = p.KubeTag
	}
	return labels
}

// createTimeoutMinutes is Timeout as Magnum's create_timeout, which counts
// whole minutes. Rounding up keeps Magnum from giving up before we do.
func (p Params) createTimeoutMinutes() int {
	m := int((p.Timeout + time.Minute - 1) / time.Minute)
	return max(m, 1)
}

// ActionParams are the smoke-test action's parameters as action-get gives
// them (charmcraft.yaml's actions.smoke-test.params), decoded once with
// hooktool.Decode.
type ActionParams struct {
	// Credentials is the Juju secret holding the cloud credentials.
	Credentials     string `json:"credentials"`
	Image           string `json:"image"`
	Keypair         string `json:"keypair"`
	ExternalNetwork string `json:"external-network"`
	MasterFlavor    string `json:"master-flavor"`
	Flavor          string `json:"flavor"`
	NetworkDriver   string `json:"network-driver"`
	KubeTag         string `json:"kube-tag"`
	// Labels is "key=value,key=value".
	Labels      string `json:"labels"`
	MasterCount int    `json:"master-count"`
	NodeCount   int    `json:"node-count"`
	// Timeout is a Go duration, like 30m.
	Timeout string `json:"timeout"`
	Keep    bool   `json:"keep"`
	Prefix  string `json:"prefix"`
	// Force runs the test on a unit that is not the leader.
	Force bool `json:"force"`
}

// Params are the test's parameters the action asks for.
func (a ActionParams) Params() (Params, error) {
	p := Params{Image: a.Image, Keypair: a.Keypair, ExternalNetwork: a.ExternalNetwork, MasterFlavor: a.MasterFlavor,
		Flavor: a.Flavor, NetworkDriver: a.NetworkDriver, KubeTag: a.KubeTag, Prefix: a.Prefix,
		MasterCount: a.MasterCount, NodeCount: a.NodeCount, Keep: a.Keep}
	if a.Timeout != "" {
		d, err := time.ParseDuration(a.Timeout)
		if err != nil {
			return p, fmt.Errorf("timeout %q: use a duration like 30m", a.Timeout)
		}
		p.Timeout = d
	}
	if a.Labels != "" {
		p.Labels = map[string]string{}
		for _, kv := range strings.Split(a.Labels, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return p, fmt.Errorf("labels: %q is not key=value", kv)
			}
			p.Labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return p, nil
}
