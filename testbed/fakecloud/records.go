package fakecloud

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/canonical/pebble/internals/osutil"
)

// Request is one request the cloud was sent, as recorded.
type Request struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// APIVersion is the OpenStack-API-Version header of a Magnum request.
	APIVersion string `json:"api-version,omitempty"`
	// Body is the JSON body of a POST, except the login's, which holds the
	// password and is never recorded.
	Body map[string]any `json:"body,omitempty"`
	// ClusterStatus is the status a GET of one cluster answered.
	ClusterStatus string `json:"cluster-status,omitempty"`
	// Fault says an injected fault answered (Status is its code).
	Fault bool `json:"fault,omitempty"`
}

// Line is the request as "METHOD /path".
func (r Request) Line() string { return r.Method + " " + r.Path }

// Cluster is a cluster as the records show it.
type Cluster struct {
	UUID       string `json:"uuid"`
	Name       string `json:"name"`
	TemplateID string `json:"cluster-template-id"`
	Status     string `json:"status"`
}

// Template is a cluster template as the records show it.
type Template struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// Records are what the cloud was asked, and what exists in it now. The serve
// command keeps them in RecordsFile, rewritten after every request.
type Records struct {
	Requests  []Request  `json:"requests"`
	Templates []Template `json:"templates"`
	Clusters  []Cluster  `json:"clusters"`
}

// Records returns a copy of the records.
func (c *Cloud) Records() Records {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.records()
}

func (c *Cloud) records() Records {
	r := Records{Requests: slices.Clone(c.requests), Templates: []Template{}, Clusters: []Cluster{}}
	if r.Requests == nil {
		r.Requests = []Request{}
	}
	for _, t := range c.templates {
		uuid, _ := t["uuid"].(string)
		name, _ := t["name"].(string)
		r.Templates = append(r.Templates, Template{UUID: uuid, Name: name})
	}
	for _, cl := range c.clusters {
		r.Clusters = append(r.Clusters, Cluster{UUID: cl.uuid, Name: cl.name, TemplateID: cl.templateID, Status: cl.status})
	}
	return r
}

// writeRecords saves the records when the cloud keeps a records file. It
// runs under c.mu. A failed write is logged, not answered: the request it
// follows was served.
func (c *Cloud) writeRecords() {
	if c.recordsFile == "" {
		return
	}
	data, err := json.MarshalIndent(c.records(), "", "  ")
	if err == nil {
		// Atomic, so a test reading the file while a request is served
		// never sees half of it.
		err = osutil.AtomicWriteFile(c.recordsFile, append(data, '\n'), 0o600, 0)
	}
	if err != nil && c.log != nil {
		fmt.Fprintf(c.log, "fakecloud: cannot write the records: %v\n", err)
	}
}

// ReadRecords reads a records file the serve command wrote.
func ReadRecords(path string) (Records, error) {
	var r Records
	data, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("cannot read the contract server's records: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("cannot read the contract server's records %s: %w", path, err)
	}
	return r, nil
}

// Lines returns "METHOD /path" of every request, in order.
func (r Records) Lines() []string {
	out := make([]string, 0, len(r.Requests))
	for _, q := range r.Requests {
		out = append(out, q.Line())
	}
	return out
}

// Matching returns the requests with method and a path starting with
// pathPrefix.
func (r Records) Matching(method, pathPrefix string) []Request {
	var out []Request
	for _, q := range r.Requests {
		if q.Method == method && strings.HasPrefix(q.Path, pathPrefix) {
			out = append(out, q)
		}
	}
	return out
}

// Log returns "METHOD /path" of every request so far, in order.
func (c *Cloud) Log() []string { return c.Records().Lines() }

// Requests returns the log entries with method and a path starting with
// pathPrefix.
func (c *Cloud) Requests(method, pathPrefix string) []string {
	var out []string
	for _, q := range c.Records().Matching(method, pathPrefix) {
		out = append(out, q.Line())
	}
	return out
}

// Writes returns every request that could change the cloud: anything but
// GET and the login.
func (c *Cloud) Writes() []string {
	var out []string
	for _, l := range c.Log() {
		if !strings.HasPrefix(l, "GET ") && l != "POST /identity/v3/auth/tokens" {
			out = append(out, l)
		}
	}
	return out
}

// IndexOf returns the position in the log of the first entry starting with
// prefix, or -1.
func (c *Cloud) IndexOf(prefix string) int {
	return slices.IndexFunc(c.Log(), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// Bodies returns the JSON bodies POSTed to path, in order.
func (c *Cloud) Bodies(path string) []map[string]any {
	var out []map[string]any
	for _, q := range c.Records().Matching("POST", path) {
		if q.Path == path && q.Body != nil {
			out = append(out, q.Body)
		}
	}
	return out
}

// APIVersions returns the OpenStack-API-Version header of every Magnum
// request, in order.
func (c *Cloud) APIVersions() []string {
	var out []string
	for _, q := range c.Records().Requests {
		if strings.HasPrefix(q.Path, "/magnum/") {
			out = append(out, q.APIVersion)
		}
	}
	return out
}

// TemplateNames returns the names of the cluster templates that exist, in
// creation order.
func (c *Cloud) TemplateNames() []string {
	var names []string
	for _, t := range c.Records().Templates {
		names = append(names, t.Name)
	}
	return names
}

// ClusterNames returns the names of the clusters that exist, in creation
// order.
func (c *Cloud) ClusterNames() []string {
	var names []string
	for _, cl := range c.Records().Clusters {
		names = append(names, cl.Name)
	}
	return names
}
