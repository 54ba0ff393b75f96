package smoketest

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeCloud is a contract test server: one HTTPS server that plays Keystone
// v3, Glance, Nova, Neutron and Magnum under path prefixes, answering in the
// shapes of their API references, and recording what it was asked.
type fakeCloud struct {
	srv *httptest.Server

	mu sync.Mutex

	// Identity.
	username, password, project, domain, token string
	// authStatus, when set, is how Keystone answers every login; with
	// echoAuth the answer carries the request body back, as a careless
	// proxy might.
	authStatus int
	echoAuth   bool
	withoutLB  bool

	// Resources the pre-check reads.
	images   []map[string]any
	flavors  []map[string]any
	networks []map[string]any
	keypairs []string

	// Magnum state, in creation order.
	templates []map[string]any
	clusters  []*fakeCluster

	// Behaviour of clusters created through the API.
	pollsToFinish int    // GETs of a new cluster before it finishes
	finish        string // the status it finishes in
	finishReason  string
	deletePolls   int // GETs of a deleting cluster before it is gone
	// deleteLag is how many GETs after a DELETE still show the old status,
	// as while Magnum's conductor has not yet picked the delete up.
	deleteLag int
	// deleteFails, when set, is the reason a deleting cluster ends in
	// DELETE_FAILED instead of going away.
	deleteFails string

	faults []*fault

	// Records.
	log         []string // "METHOD /path" of every request, in order
	bodies      map[string][]map[string]any
	apiVersions []string // OpenStack-API-Version of every Magnum request
	nextID      int
}

type fakeCluster struct {
	uuid, name, templateID, status, reason string
	masterCount, nodeCount                 int
	keypair                                string
	polls                                  int
	// lag counts down the GETs that still show the status before a DELETE.
	lag int
}

// fault makes the next count requests matching method and path prefix fail
// with code. With after set, the request is carried out first and only the
// answer is lost, as when a proxy times out behind a slow API.
type fault struct {
	method, path string
	code         int
	count        int
	after        bool
	served       int
}

const (
	fakeImageID   = "a8a7e5d2-1111-4c1e-9d5e-000000000001"
	fakeNetworkID = "0c7b0d3e-2222-4f0a-8a55-000000000002"
	fakeRegion    = "RegionOne"
)

func newFakeCloud(t *testing.T) *fakeCloud {
	t.Helper()
	f := &fakeCloud{
		username: "smoke-user",
		password: "correct horse battery staple",
		project:  "smoke-project",
		domain:   "admin_domain",
		token:    "gAAAAABfake-token-0123456789",
		images: []map[string]any{
			imageJSON(fakeImageID, "noble-amd64", map[string]any{"os_distro": "ubuntu", "kube_version": "v1.32.2"}),
		},
		flavors: []map[string]any{
			flavorJSON("3", "m1.medium", 4096, 2),
			flavorJSON("2", "m1.small", 2048, 1),
			flavorJSON("1", "m1.tiny", 512, 1),
		},
		networks: []map[string]any{
			netJSON(fakeNetworkID, "ext-net", true),
			netJSON("5f3e1b2a-3333-4b8e-9c1d-000000000003", "int-net", false),
		},
		keypairs:      []string{"capi-mgmt-key"},
		pollsToFinish: 2,
		finish:        statusCreateComplete,
		deletePolls:   1,
		bodies:        map[string][]map[string]any{},
	}
	f.srv = httptest.NewTLSServer(f.routes())
	t.Cleanup(f.srv.Close)
	return f
}

func imageJSON(id, name string, props map[string]any) map[string]any {
	img := map[string]any{
		"id": id, "name": name, "status": "active", "visibility": "public",
		"container_format": "bare", "disk_format": "qcow2", "size": 2361393152,
		"min_ram": 0, "min_disk": 0, "protected": false, "tags": []string{},
		"created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:05:00Z",
		"self": "/v2/images/" + id, "file": "/v2/images/" + id + "/file", "schema": "/v2/schemas/image",
	}
	for k, v := range props {
		img[k] = v
	}
	return img
}

func flavorJSON(id, name string, ram, vcpus int) map[string]any {
	return map[string]any{
		"id": id, "name": name, "ram": ram, "vcpus": vcpus, "disk": 40, "swap": "",
		"OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": true, "rxtx_factor": 1.0,
		"links": []any{},
	}
}

func netJSON(id, name string, external bool) map[string]any {
	return map[string]any{
		"id": id, "name": name, "router:external": external, "status": "ACTIVE",
		"admin_state_up": true, "shared": false, "subnets": []string{},
		"tenant_id": "p-1", "project_id": "p-1",
	}
}

// creds are credentials the fake accepts, trusting its certificate.
func (f *fakeCloud) creds() Credentials {
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	return Credentials{
		AuthURL:           f.srv.URL + "/identity/v3",
		Username:          f.username,
		Password:          f.password,
		ProjectName:       f.project,
		UserDomainName:    f.domain,
		ProjectDomainName: f.domain,
		RegionName:        fakeRegion,
		Interface:         "public",
		CACert:            string(cert),
	}
}

// inject adds a fault.
func (f *fakeCloud) inject(flt *fault) *fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, flt)
	return flt
}

// seedTemplate and seedCluster put resources in place as if an earlier run
// (or another user) had made them.
func (f *fakeCloud) seedTemplate(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	uuid := f.newUUID()
	f.templates = append(f.templates, map[string]any{"uuid": uuid, "name": name, "coe": "kubernetes"})
	return uuid
}

func (f *fakeCloud) seedCluster(name, templateID, status, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clusters = append(f.clusters, &fakeCluster{uuid: f.newUUID(), name: name, templateID: templateID, status: status, reason: reason, masterCount: 1, nodeCount: 1})
}

// requests returns the log entries with the given method and path prefix.
func (f *fakeCloud) requests(method, pathPrefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if strings.HasPrefix(l, method+" "+pathPrefix) {
			out = append(out, l)
		}
	}
	return out
}

// writes returns every request that could change the cloud: anything but
// GET and the login.
func (f *fakeCloud) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if !strings.HasPrefix(l, "GET ") && l != "POST /identity/v3/auth/tokens" {
			out = append(out, l)
		}
	}
	return out
}

// indexOf returns the position of the first log entry with the prefix, or -1.
func (f *fakeCloud) indexOf(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.IndexFunc(f.log, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

func (f *fakeCloud) templateNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, t := range f.templates {
		names = append(names, t["name"].(string))
	}
	return names
}

func (f *fakeCloud) clusterNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, c := range f.clusters {
		names = append(names, c.name)
	}
	return names
}

func (f *fakeCloud) newUUID() string {
	f.nextID++
	return fmt.Sprintf("7d0e6c1a-0000-4000-8000-%012d", f.nextID)
}

// ServeHTTP-level plumbing: one lock for the whole request keeps the fake's
// state simple; the client sends one request at a time anyway.
func (f *fakeCloud) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /identity/v3/auth/tokens", f.login)
	mux.HandleFunc("GET /image/{$}", f.versions("v2.16", http.StatusMultipleChoices, "/image/v2/"))
	mux.HandleFunc("GET /network/{$}", f.versions("v2.0", http.StatusOK, "/network/v2.0/"))
	mux.HandleFunc("GET /image/v2/images", f.listImages)
	mux.HandleFunc("GET /image/v2/images/{id}", f.getImage)
	mux.HandleFunc("GET /compute/v2.1/flavors/detail", f.listFlavors)
	mux.HandleFunc("GET /compute/v2.1/flavors/{id}", f.getFlavor)
	mux.HandleFunc("GET /compute/v2.1/os-keypairs/{name}", f.getKeypair)
	mux.HandleFunc("GET /network/v2.0/networks", f.listNetworks)
	mux.HandleFunc("GET /network/v2.0/networks/{id}", f.getNetwork)
	mux.HandleFunc("POST /magnum/v1/clustertemplates", f.createTemplate)
	mux.HandleFunc("GET /magnum/v1/clustertemplates", f.listTemplates)
	mux.HandleFunc("DELETE /magnum/v1/clustertemplates/{id}", f.deleteTemplate)
	mux.HandleFunc("POST /magnum/v1/clusters", f.createCluster)
	mux.HandleFunc("GET /magnum/v1/clusters", f.listClusters)
	mux.HandleFunc("GET /magnum/v1/clusters/{id}", f.getCluster)
	mux.HandleFunc("DELETE /magnum/v1/clusters/{id}", f.deleteCluster)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.log = append(f.log, r.Method+" "+r.URL.Path)
		if strings.HasPrefix(r.URL.Path, "/magnum/") {
			f.apiVersions = append(f.apiVersions, r.Header.Get("OpenStack-API-Version"))
		}
		public := r.URL.Path == "/identity/v3/auth/tokens" || r.URL.Path == "/image/" || r.URL.Path == "/network/"
		if !public && r.Header.Get("X-Auth-Token") != f.token {
			writeJSON(w, http.StatusUnauthorized, keystoneError(http.StatusUnauthorized, "The request you have made requires authentication."))
			return
		}
		if r.Method == http.MethodPost {
			raw, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(raw))
			if r.URL.Path != "/identity/v3/auth/tokens" {
				var body map[string]any
				if err := json.Unmarshal(raw, &body); err != nil {
					writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "malformed JSON"))
					return
				}
				f.bodies[r.URL.Path] = append(f.bodies[r.URL.Path], body)
			}
		}
		for _, flt := range f.faults {
			if flt.served >= flt.count || flt.method != r.Method || !strings.HasPrefix(r.URL.Path, flt.path) {
				continue
			}
			flt.served++
			if flt.after {
				mux.ServeHTTP(httptest.NewRecorder(), r)
			}
			writeJSON(w, flt.code, magnumError(flt.code, http.StatusText(flt.code)))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (f *fakeCloud) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Auth struct {
			Identity struct {
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
						Domain   struct {
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					Name   string `json:"name"`
					Domain struct {
						Name string `json:"name"`
					} `json:"domain"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, keystoneError(http.StatusBadRequest, "malformed request"))
		return
	}
	u, s := req.Auth.Identity.Password.User, req.Auth.Scope.Project
	status := f.authStatus
	if status == 0 && (u.Name != f.username || u.Password != f.password || u.Domain.Name != f.domain ||
		s.Name != f.project || s.Domain.Name != f.domain) {
		status = http.StatusUnauthorized
	}
	if status != 0 {
		msg := "The request you have made requires authentication."
		if f.echoAuth {
			msg = "could not process request: " + string(raw)
		}
		writeJSON(w, status, keystoneError(status, msg))
		return
	}
	endpoint := func(path string) []map[string]any {
		return []map[string]any{{"id": "e-" + path, "interface": "public", "region": fakeRegion, "region_id": fakeRegion, "url": f.srv.URL + path}}
	}
	catalog := []map[string]any{
		{"id": "s-1", "type": "identity", "name": "keystone", "endpoints": endpoint("/identity/v3")},
		{"id": "s-2", "type": "container-infra", "name": "magnum", "endpoints": endpoint("/magnum/v1")},
		{"id": "s-3", "type": "image", "name": "glance", "endpoints": endpoint("/image")},
		{"id": "s-4", "type": "compute", "name": "nova", "endpoints": endpoint("/compute/v2.1")},
		{"id": "s-5", "type": "network", "name": "neutron", "endpoints": endpoint("/network")},
	}
	if !f.withoutLB {
		catalog = append(catalog, map[string]any{"id": "s-6", "type": "load-balancer", "name": "octavia", "endpoints": endpoint("/load-balancer")})
	}
	domain := map[string]any{"id": "d-1", "name": f.domain}
	w.Header().Set("X-Subject-Token", f.token)
	writeJSON(w, http.StatusCreated, map[string]any{"token": map[string]any{
		"methods":    []string{"password"},
		"expires_at": "2099-01-01T00:00:00.000000Z",
		"issued_at":  "2026-01-05T10:00:00.000000Z",
		"user":       map[string]any{"id": "u-1", "name": f.username, "domain": domain},
		"project":    map[string]any{"id": "p-1", "name": f.project, "domain": domain},
		"roles":      []map[string]any{{"id": "r-1", "name": "member"}},
		"catalog":    catalog,
	}})
}

// versions answers a version discovery document, as Glance (300) and
// Neutron (200) do at their roots; gophercloud reads it to check that the
// unversioned catalog endpoint serves the major version it wants.
func (f *fakeCloud) versions(id string, status int, path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, map[string]any{"versions": []map[string]any{{
			"id": id, "status": "CURRENT",
			"links": []map[string]any{{"rel": "self", "href": f.srv.URL + path}},
		}}})
	}
}

func (f *fakeCloud) listImages(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	found := []map[string]any{}
	for _, img := range f.images {
		if name == "" || img["name"] == name {
			found = append(found, img)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"images": found, "first": "/v2/images", "schema": "/v2/schemas/images"})
}

func (f *fakeCloud) getImage(w http.ResponseWriter, r *http.Request) {
	for _, img := range f.images {
		if img["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, img)
			return
		}
	}
	http.Error(w, "404 Not Found\n\nThe resource could not be found.", http.StatusNotFound)
}

func (f *fakeCloud) listFlavors(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"flavors": f.flavors})
}

func (f *fakeCloud) getFlavor(w http.ResponseWriter, r *http.Request) {
	for _, fl := range f.flavors {
		if fl["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, map[string]any{"flavor": fl})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"itemNotFound": map[string]any{"code": 404, "message": "Flavor " + r.PathValue("id") + " could not be found."}})
}

func (f *fakeCloud) getKeypair(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.Contains(f.keypairs, name) {
		writeJSON(w, http.StatusNotFound, map[string]any{"itemNotFound": map[string]any{"code": 404, "message": "Keypair " + name + " not found for user u-1"}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keypair": map[string]any{
		"name": name, "type": "ssh", "user_id": "u-1", "fingerprint": "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c",
		"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake smoke", "id": 1, "deleted": false,
		"created_at": "2026-01-05T10:00:00.000000", "updated_at": nil, "deleted_at": nil,
	}})
}

func (f *fakeCloud) listNetworks(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	found := []map[string]any{}
	for _, n := range f.networks {
		if name == "" || n["name"] == name {
			found = append(found, n)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"networks": found})
}

func (f *fakeCloud) getNetwork(w http.ResponseWriter, r *http.Request) {
	for _, n := range f.networks {
		if n["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, map[string]any{"network": n})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"NeutronError": map[string]any{"type": "NetworkNotFound", "message": "Network " + r.PathValue("id") + " could not be found.", "detail": ""}})
}

func (f *fakeCloud) createTemplate(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body["coe"] == nil || body["image_id"] == nil {
		writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "Mandatory field missing"))
		return
	}
	body["uuid"] = f.newUUID()
	body["links"] = []map[string]any{{"rel": "self", "href": f.srv.URL + "/magnum/v1/clustertemplates/" + body["uuid"].(string)}}
	body["created_at"] = "2026-01-05T10:00:00+00:00"
	body["updated_at"] = nil
	f.templates = append(f.templates, body)
	writeJSON(w, http.StatusCreated, body)
}

func (f *fakeCloud) listTemplates(w http.ResponseWriter, r *http.Request) {
	list := []map[string]any{}
	for _, t := range f.templates {
		list = append(list, map[string]any{"uuid": t["uuid"], "name": t["name"], "links": t["links"]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"clustertemplates": list})
}

func (f *fakeCloud) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	i := slices.IndexFunc(f.templates, func(t map[string]any) bool { return t["uuid"] == id })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "ClusterTemplate "+id+" could not be found."))
		return
	}
	// Magnum refuses to delete a template that a cluster still uses.
	for _, c := range f.clusters {
		if c.templateID == id {
			writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "ClusterTemplate "+id+" is referenced by one or multiple clusters."))
			return
		}
	}
	f.templates = slices.Delete(f.templates, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeCloud) createCluster(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name        string `json:"name"`
		TemplateID  string `json:"cluster_template_id"`
		MasterCount int    `json:"master_count"`
		NodeCount   int    `json:"node_count"`
		Keypair     string `json:"keypair"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if !slices.ContainsFunc(f.templates, func(t map[string]any) bool { return t["uuid"] == body.TemplateID }) {
		writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "ClusterTemplate "+body.TemplateID+" could not be found."))
		return
	}
	c := &fakeCluster{uuid: f.newUUID(), name: body.Name, templateID: body.TemplateID, status: statusCreateInProgress,
		masterCount: body.MasterCount, nodeCount: body.NodeCount, keypair: body.Keypair}
	f.clusters = append(f.clusters, c)
	writeJSON(w, http.StatusAccepted, map[string]any{"uuid": c.uuid})
}

func (f *fakeCloud) clusterJSON(c *fakeCluster) map[string]any {
	apiAddress := any(nil)
	if c.status == statusCreateComplete {
		apiAddress = "https://203.0.113.10:6443"
	}
	return map[string]any{
		"uuid": c.uuid, "name": c.name, "cluster_template_id": c.templateID,
		"status": c.status, "status_reason": nilIfEmpty(c.reason),
		"master_count": c.masterCount, "node_count": c.nodeCount, "keypair": c.keypair,
		"api_address": apiAddress, "stack_id": "kube-" + c.uuid[:5], "create_timeout": 60,
		"health_status": nil, "labels": map[string]string{}, "master_addresses": []string{}, "node_addresses": []string{},
		"created_at": "2026-01-05T10:00:00+00:00", "updated_at": nil,
		"links": []map[string]any{{"rel": "self", "href": f.srv.URL + "/magnum/v1/clusters/" + c.uuid}},
	}
}

func (f *fakeCloud) listClusters(w http.ResponseWriter, r *http.Request) {
	list := []map[string]any{}
	for _, c := range f.clusters {
		list = append(list, f.clusterJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clusters": list})
}

// getCluster moves a cluster along its life: CREATE_IN_PROGRESS turns into
// the configured finish after pollsToFinish looks; DELETE_IN_PROGRESS
// disappears after deletePolls looks.
func (f *fakeCloud) getCluster(w http.ResponseWriter, r *http.Request) {
	i := slices.IndexFunc(f.clusters, func(c *fakeCluster) bool { return c.uuid == r.PathValue("id") })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "Cluster "+r.PathValue("id")+" could not be found."))
		return
	}
	c := f.clusters[i]
	if c.lag > 0 {
		writeJSON(w, http.StatusOK, f.clusterJSON(c))
		if c.lag--; c.lag == 0 {
			c.status, c.reason, c.polls = statusDeleteInProgress, "", 0
		}
		return
	}
	c.polls++
	switch c.status {
	case statusCreateInProgress:
		if c.polls > f.pollsToFinish {
			c.status, c.reason = f.finish, f.finishReason
		}
	case statusDeleteInProgress:
		if c.polls > f.deletePolls && f.deleteFails != "" {
			c.status, c.reason = statusDeleteFailed, f.deleteFails
		} else if c.polls > f.deletePolls {
			f.clusters = slices.Delete(f.clusters, i, i+1)
			writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "Cluster "+c.uuid+" could not be found."))
			return
		}
	}
	writeJSON(w, http.StatusOK, f.clusterJSON(c))
}

func (f *fakeCloud) deleteCluster(w http.ResponseWriter, r *http.Request) {
	i := slices.IndexFunc(f.clusters, func(c *fakeCluster) bool { return c.uuid == r.PathValue("id") })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "Cluster "+r.PathValue("id")+" could not be found."))
		return
	}
	c := f.clusters[i]
	if c.lag = f.deleteLag; c.lag == 0 {
		c.status, c.reason, c.polls = statusDeleteInProgress, "", 0
	}
	w.WriteHeader(http.StatusNoContent)
}

// magnumError is Magnum's error body.
func magnumError(status int, title string) map[string]any {
	return map[string]any{"errors": []map[string]any{{
		"request_id": "req-fake", "code": "client", "status": status, "title": title, "detail": title, "links": []any{},
	}}}
}

// keystoneError is Keystone's error body.
func keystoneError(status int, message string) map[string]any {
	return map[string]any{"error": map[string]any{"code": status, "message": message, "title": http.StatusText(status)}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
