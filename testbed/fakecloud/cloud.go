// Package fakecloud is the smoke test's contract server: one HTTPS server
// that plays Keystone v3, Glance, Nova, Neutron and Magnum under path
// prefixes, answering in the shapes of their API references, and recording
// what it was asked.
//
// charm/smoketest's unit tests run it in process (Start); the fakecloud
// command (cmd/fakecloud) serves it on its own, for the test bed's boxes and
// for machines of a real Juju model, where the charm's smoke-test action
// reaches it as it would reach a cloud.
package fakecloud

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// What the cloud serves: one user in one project, and the resources a smoke
// test refers to. The names are what an operator passes to the charm's
// smoke-test action (Connection has them too).
const (
	Username  = "smoke-user"
	Password  = "correct horse battery staple"
	Project   = "smoke-project"
	Domain    = "admin_domain"
	Region    = "RegionOne"
	Interface = "public"

	// ImageName has the properties the driver needs (os_distro ubuntu,
	// kube_version KubeTag).
	ImageID   = "a8a7e5d2-1111-4c1e-9d5e-000000000001"
	ImageName = "noble-amd64"
	KubeTag   = "v1.32.2"
	// Flavor (ID FlavorID) is big enough for the driver's defaults (2 vCPUs,
	// 2048 MB); SmallFlavor has one vCPU, TinyFlavor 512 MB.
	Flavor      = "m1.medium"
	FlavorID    = "3"
	SmallFlavor = "m1.small"
	TinyFlavor  = "m1.tiny"
	Keypair     = "capi-mgmt-key"
	// ExternalNetwork is external; InternalNetwork is not.
	ExternalNetwork   = "ext-net"
	ExternalNetworkID = "0c7b0d3e-2222-4f0a-8a55-000000000002"
	InternalNetwork   = "int-net"

	token = "gAAAAABfake-token-0123456789"
)

// Magnum cluster statuses the cloud moves clusters through.
const (
	CreateInProgress = "CREATE_IN_PROGRESS"
	CreateComplete   = "CREATE_COMPLETE"
	CreateFailed     = "CREATE_FAILED"
	DeleteInProgress = "DELETE_IN_PROGRESS"
	DeleteFailed     = "DELETE_FAILED"
)

// Behaviour is how the cloud treats logins and the clusters created through
// it. Cloud.Update changes it while serving.
type Behaviour struct {
	// A new cluster answers CREATE_IN_PROGRESS to its first PollsToFinish
	// GETs, and for at least Hold after it was created; the first GET
	// after both have passed finds it in Finish (CREATE_COMPLETE, or a
	// failure such as CREATE_FAILED) with FinishReason.
	PollsToFinish int
	Hold          time.Duration
	Finish        string
	FinishReason  string
	// DeletePolls is how many GETs of a deleting cluster answer
	// DELETE_IN_PROGRESS before it is gone.
	DeletePolls int
	// DeleteLag is how many GETs after a DELETE still show the old status,
	// as while Magnum's conductor has not yet picked the delete up.
	DeleteLag int
	// DeleteFails, when set, is the reason a deleting cluster ends in
	// DELETE_FAILED instead of going away.
	DeleteFails string
	// AuthStatus, when set, is how Keystone answers every login; with
	// EchoAuth the answer carries the request body back, as a careless
	// proxy might.
	AuthStatus int
	EchoAuth   bool
	// NoLoadBalancer leaves Octavia out of the service catalog.
	NoLoadBalancer bool
}

// DefaultBehaviour is a healthy cloud: a cluster is CREATE_COMPLETE at the
// third look and gone at the second look after its DELETE.
func DefaultBehaviour() Behaviour {
	return Behaviour{PollsToFinish: 2, Finish: CreateComplete, DeletePolls: 1}
}

// Fault makes the next Count requests matching Method and Path (a prefix)
// fail with Code. With After set, the request is carried out first and only
// the answer is lost, as when a proxy times out behind a slow API.
type Fault struct {
	Method, Path string
	Code         int
	Count        int
	After        bool
}

// InjectedFault is a Fault in place; Served says how often it struck.
type InjectedFault struct {
	Fault
	c      *Cloud
	served int
}

// Served returns how many requests the fault has failed so far.
func (f *InjectedFault) Served() int {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	return f.served
}

// Cloud is the contract server's state and handlers. Start serves one.
type Cloud struct {
	url         string
	caPEM       []byte
	now         func() time.Time
	recordsFile string
	log         io.Writer
	srv         *http.Server
	done        chan struct{}
	serveErr    error

	// One lock for the whole of each request keeps the state simple; the
	// smoke test sends one request at a time anyway.
	mu sync.Mutex
	b  Behaviour

	// Resources the pre-check reads.
	images   []map[string]any
	flavors  []map[string]any
	networks []map[string]any
	keypairs []string

	// Magnum state, in creation order.
	templates []map[string]any
	clusters  []*fakeCluster

	faults []*InjectedFault

	// Records: every request, in order.
	requests []Request
	// reqTime is when the request being served arrived.
	reqTime time.Time
	nextID  int
}

type fakeCluster struct {
	uuid, name, templateID, status, reason string
	masterCount, nodeCount                 int
	keypair                                string
	created                                time.Time
	polls                                  int
	// lag counts down the GETs that still show the status before a DELETE.
	lag int
}

// newCloud is a cloud serving the default resources, before it listens.
func newCloud(b Behaviour, now func() time.Time) *Cloud {
	return &Cloud{
		now: now,
		b:   b,
		images: []map[string]any{
			imageJSON(ImageID, ImageName, map[string]any{"os_distro": "ubuntu", "kube_version": KubeTag}),
		},
		flavors: []map[string]any{
			flavorJSON(FlavorID, Flavor, 4096, 2),
			flavorJSON("2", SmallFlavor, 2048, 1),
			flavorJSON("1", TinyFlavor, 512, 1),
		},
		networks: []map[string]any{
			netJSON(ExternalNetworkID, ExternalNetwork, true),
			netJSON("5f3e1b2a-3333-4b8e-9c1d-000000000003", InternalNetwork, false),
		},
		keypairs: []string{Keypair},
	}
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

// Update changes the cloud's behaviour; requests after it see the change.
func (c *Cloud) Update(change func(*Behaviour)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	change(&c.b)
	c.writeRecords()
}

// SetImageProperties replaces the extra properties of ImageName (by default
// os_distro and kube_version); nil leaves it with none.
func (c *Cloud) SetImageProperties(props map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.images[0] = imageJSON(ImageID, ImageName, props)
}

// Inject adds a fault.
func (c *Cloud) Inject(f Fault) *InjectedFault {
	c.mu.Lock()
	defer c.mu.Unlock()
	flt := &InjectedFault{Fault: f, c: c}
	c.faults = append(c.faults, flt)
	return flt
}

// SeedTemplate and SeedCluster put resources in place as if an earlier run
// (or another user) had made them. SeedTemplate returns the template's UUID.
func (c *Cloud) SeedTemplate(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	uuid := c.newUUID()
	c.templates = append(c.templates, map[string]any{"uuid": uuid, "name": name, "coe": "kubernetes"})
	c.writeRecords()
	return uuid
}

// SeedCluster adds a cluster in status, with reason as its status_reason.
func (c *Cloud) SeedCluster(name, templateID, status, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clusters = append(c.clusters, &fakeCluster{uuid: c.newUUID(), name: name, templateID: templateID, status: status, reason: reason,
		masterCount: 1, nodeCount: 1, created: c.now()})
	c.writeRecords()
}

func (c *Cloud) newUUID() string {
	c.nextID++
	return fmt.Sprintf("7d0e6c1a-0000-4000-8000-%012d", c.nextID)
}

// statusWriter keeps the status code a handler answered, for the records.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (c *Cloud) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /identity/v3/auth/tokens", c.login)
	mux.HandleFunc("GET /image/{$}", c.versions("v2.16", http.StatusMultipleChoices, "/image/v2/"))
	mux.HandleFunc("GET /network/{$}", c.versions("v2.0", http.StatusOK, "/network/v2.0/"))
	mux.HandleFunc("GET /image/v2/images", c.listImages)
	mux.HandleFunc("GET /image/v2/images/{id}", c.getImage)
	mux.HandleFunc("GET /compute/v2.1/flavors/detail", c.listFlavors)
	mux.HandleFunc("GET /compute/v2.1/flavors/{id}", c.getFlavor)
	mux.HandleFunc("GET /compute/v2.1/os-keypairs/{name}", c.getKeypair)
	mux.HandleFunc("GET /network/v2.0/networks", c.listNetworks)
	mux.HandleFunc("GET /network/v2.0/networks/{id}", c.getNetwork)
	mux.HandleFunc("POST /magnum/v1/clustertemplates", c.createTemplate)
	mux.HandleFunc("GET /magnum/v1/clustertemplates", c.listTemplates)
	mux.HandleFunc("DELETE /magnum/v1/clustertemplates/{id}", c.deleteTemplate)
	mux.HandleFunc("POST /magnum/v1/clusters", c.createCluster)
	mux.HandleFunc("GET /magnum/v1/clusters", c.listClusters)
	mux.HandleFunc("GET /magnum/v1/clusters/{id}", c.getCluster)
	mux.HandleFunc("DELETE /magnum/v1/clusters/{id}", c.deleteCluster)

	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		w := &statusWriter{ResponseWriter: rw}
		// One time for the whole request: the time recorded is the time
		// the cluster's life was judged by.
		c.reqTime = c.now()
		c.requests = append(c.requests, Request{Time: c.reqTime, Method: r.Method, Path: r.URL.Path})
		rec := &c.requests[len(c.requests)-1]
		if strings.HasPrefix(r.URL.Path, "/magnum/") {
			rec.APIVersion = r.Header.Get("OpenStack-API-Version")
		}
		defer func() {
			rec.Status = w.status
			if c.log != nil {
				fmt.Fprintf(c.log, "fakecloud: %s %s %d %s\n", rec.Method, rec.Path, rec.Status, rec.ClusterStatus)
			}
			c.writeRecords()
		}()
		c.serve(mux, w, r, rec)
	})
}

// serve checks the token, keeps the body, and plays any fault before
// handing the request to mux.
func (c *Cloud) serve(mux *http.ServeMux, w http.ResponseWriter, r *http.Request, rec *Request) {
	public := r.URL.Path == "/identity/v3/auth/tokens" || r.URL.Path == "/image/" || r.URL.Path == "/network/"
	if !public && r.Header.Get("X-Auth-Token") != token {
		writeJSON(w, http.StatusUnauthorized, keystoneError(http.StatusUnauthorized, "The request you have made requires authentication."))
		return
	}
	if r.Method == http.MethodPost {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		// The login's body holds the password: it is never recorded.
		if r.URL.Path != "/identity/v3/auth/tokens" {
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "malformed JSON"))
				return
			}
			rec.Body = body
		}
	}
	for _, flt := range c.faults {
		if flt.served >= flt.Count || flt.Method != r.Method || !strings.HasPrefix(r.URL.Path, flt.Path) {
			continue
		}
		flt.served++
		rec.Fault = true
		if flt.After {
			mux.ServeHTTP(httptest.NewRecorder(), r)
		}
		writeJSON(w, flt.Code, magnumError(flt.Code, http.StatusText(flt.Code)))
		return
	}
	mux.ServeHTTP(w, r)
}

func (c *Cloud) login(w http.ResponseWriter, r *http.Request) {
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
	status := c.b.AuthStatus
	if status == 0 && (u.Name != Username || u.Password != Password || u.Domain.Name != Domain ||
		s.Name != Project || s.Domain.Name != Domain) {
		status = http.StatusUnauthorized
	}
	if status != 0 {
		msg := "The request you have made requires authentication."
		if c.b.EchoAuth {
			msg = "could not process request: " + string(raw)
		}
		writeJSON(w, status, keystoneError(status, msg))
		return
	}
	endpoint := func(path string) []map[string]any {
		return []map[string]any{{"id": "e-" + path, "interface": Interface, "region": Region, "region_id": Region, "url": c.url + path}}
	}
	catalog := []map[string]any{
		{"id": "s-1", "type": "identity", "name": "keystone", "endpoints": endpoint("/identity/v3")},
		{"id": "s-2", "type": "container-infra", "name": "magnum", "endpoints": endpoint("/magnum/v1")},
		{"id": "s-3", "type": "image", "name": "glance", "endpoints": endpoint("/image")},
		{"id": "s-4", "type": "compute", "name": "nova", "endpoints": endpoint("/compute/v2.1")},
		{"id": "s-5", "type": "network", "name": "neutron", "endpoints": endpoint("/network")},
	}
	if !c.b.NoLoadBalancer {
		catalog = append(catalog, map[string]any{"id": "s-6", "type": "load-balancer", "name": "octavia", "endpoints": endpoint("/load-balancer")})
	}
	domain := map[string]any{"id": "d-1", "name": Domain}
	w.Header().Set("X-Subject-Token", token)
	writeJSON(w, http.StatusCreated, map[string]any{"token": map[string]any{
		"methods":    []string{"password"},
		"expires_at": "2099-01-01T00:00:00.000000Z",
		"issued_at":  "2026-01-05T10:00:00.000000Z",
		"user":       map[string]any{"id": "u-1", "name": Username, "domain": domain},
		"project":    map[string]any{"id": "p-1", "name": Project, "domain": domain},
		"roles":      []map[string]any{{"id": "r-1", "name": "member"}},
		"catalog":    catalog,
	}})
}

// versions answers a version discovery document, as Glance (300) and
// Neutron (200) do at their roots; gophercloud reads it to check that the
// unversioned catalog endpoint serves the major version it wants.
func (c *Cloud) versions(id string, status int, path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, map[string]any{"versions": []map[string]any{{
			"id": id, "status": "CURRENT",
			"links": []map[string]any{{"rel": "self", "href": c.url + path}},
		}}})
	}
}

func (c *Cloud) listImages(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	found := []map[string]any{}
	for _, img := range c.images {
		if name == "" || img["name"] == name {
			found = append(found, img)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"images": found, "first": "/v2/images", "schema": "/v2/schemas/images"})
}

func (c *Cloud) getImage(w http.ResponseWriter, r *http.Request) {
	for _, img := range c.images {
		if img["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, img)
			return
		}
	}
	http.Error(w, "404 Not Found\n\nThe resource could not be found.", http.StatusNotFound)
}

func (c *Cloud) listFlavors(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"flavors": c.flavors})
}

func (c *Cloud) getFlavor(w http.ResponseWriter, r *http.Request) {
	for _, fl := range c.flavors {
		if fl["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, map[string]any{"flavor": fl})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"itemNotFound": map[string]any{"code": 404, "message": "Flavor " + r.PathValue("id") + " could not be found."}})
}

func (c *Cloud) getKeypair(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.Contains(c.keypairs, name) {
		writeJSON(w, http.StatusNotFound, map[string]any{"itemNotFound": map[string]any{"code": 404, "message": "Keypair " + name + " not found for user u-1"}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keypair": map[string]any{
		"name": name, "type": "ssh", "user_id": "u-1", "fingerprint": "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c",
		"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake smoke", "id": 1, "deleted": false,
		"created_at": "2026-01-05T10:00:00.000000", "updated_at": nil, "deleted_at": nil,
	}})
}

func (c *Cloud) listNetworks(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	found := []map[string]any{}
	for _, n := range c.networks {
		if name == "" || n["name"] == name {
			found = append(found, n)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"networks": found})
}

func (c *Cloud) getNetwork(w http.ResponseWriter, r *http.Request) {
	for _, n := range c.networks {
		if n["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, map[string]any{"network": n})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"NeutronError": map[string]any{"type": "NetworkNotFound", "message": "Network " + r.PathValue("id") + " could not be found.", "detail": ""}})
}

func (c *Cloud) createTemplate(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body["coe"] == nil || body["image_id"] == nil {
		writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "Mandatory field missing"))
		return
	}
	body["uuid"] = c.newUUID()
	body["links"] = []map[string]any{{"rel": "self", "href": c.url + "/magnum/v1/clustertemplates/" + body["uuid"].(string)}}
	body["created_at"] = "2026-01-05T10:00:00+00:00"
	body["updated_at"] = nil
	c.templates = append(c.templates, body)
	writeJSON(w, http.StatusCreated, body)
}

func (c *Cloud) listTemplates(w http.ResponseWriter, r *http.Request) {
	list := []map[string]any{}
	for _, t := range c.templates {
		list = append(list, map[string]any{"uuid": t["uuid"], "name": t["name"], "links": t["links"]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"clustertemplates": list})
}

func (c *Cloud) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	i := slices.IndexFunc(c.templates, func(t map[string]any) bool { return t["uuid"] == id })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "ClusterTemplate "+id+" could not be found."))
		return
	}
	// Magnum refuses to delete a template that a cluster still uses.
	for _, cl := range c.clusters {
		if cl.templateID == id {
			writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "ClusterTemplate "+id+" is referenced by one or multiple clusters."))
			return
		}
	}
	c.templates = slices.Delete(c.templates, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

func (c *Cloud) createCluster(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name        string `json:"name"`
		TemplateID  string `json:"cluster_template_id"`
		MasterCount int    `json:"master_count"`
		NodeCount   int    `json:"node_count"`
		Keypair     string `json:"keypair"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if !slices.ContainsFunc(c.templates, func(t map[string]any) bool { return t["uuid"] == body.TemplateID }) {
		writeJSON(w, http.StatusBadRequest, magnumError(http.StatusBadRequest, "ClusterTemplate "+body.TemplateID+" could not be found."))
		return
	}
	cl := &fakeCluster{uuid: c.newUUID(), name: body.Name, templateID: body.TemplateID, status: CreateInProgress,
		masterCount: body.MasterCount, nodeCount: body.NodeCount, keypair: body.Keypair, created: c.reqTime}
	c.clusters = append(c.clusters, cl)
	writeJSON(w, http.StatusAccepted, map[string]any{"uuid": cl.uuid})
}

func (c *Cloud) clusterJSON(cl *fakeCluster) map[string]any {
	apiAddress := any(nil)
	if cl.status == CreateComplete {
		apiAddress = "https://203.0.113.10:6443"
	}
	return map[string]any{
		"uuid": cl.uuid, "name": cl.name, "cluster_template_id": cl.templateID,
		"status": cl.status, "status_reason": nilIfEmpty(cl.reason),
		"master_count": cl.masterCount, "node_count": cl.nodeCount, "keypair": cl.keypair,
		"api_address": apiAddress, "stack_id": "kube-" + cl.uuid[:5], "create_timeout": 60,
		"health_status": nil, "labels": map[string]string{}, "master_addresses": []string{}, "node_addresses": []string{},
		"created_at": "2026-01-05T10:00:00+00:00", "updated_at": nil,
		"links": []map[string]any{{"rel": "self", "href": c.url + "/magnum/v1/clusters/" + cl.uuid}},
	}
}

func (c *Cloud) listClusters(w http.ResponseWriter, r *http.Request) {
	list := []map[string]any{}
	for _, cl := range c.clusters {
		list = append(list, c.clusterJSON(cl))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clusters": list})
}

// getCluster moves a cluster along its life: CREATE_IN_PROGRESS turns into
// the configured finish after PollsToFinish looks and Hold; DELETE_IN_PROGRESS
// disappears after DeletePolls looks. The status it answers is recorded.
func (c *Cloud) getCluster(w http.ResponseWriter, r *http.Request) {
	i := slices.IndexFunc(c.clusters, func(cl *fakeCluster) bool { return cl.uuid == r.PathValue("id") })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "Cluster "+r.PathValue("id")+" could not be found."))
		return
	}
	cl := c.clusters[i]
	answer := func() {
		c.requests[len(c.requests)-1].ClusterStatus = cl.status
		writeJSON(w, http.StatusOK, c.clusterJSON(cl))
	}
	if cl.lag > 0 {
		answer()
		if cl.lag--; cl.lag == 0 {
			cl.status, cl.reason, cl.polls = DeleteInProgress, "", 0
		}
		return
	}
	cl.polls++
	switch cl.status {
	case CreateInProgress:
		if cl.polls > c.b.PollsToFinish && c.reqTime.Sub(cl.created) >= c.b.Hold {
			cl.status, cl.reason = c.b.Finish, c.b.FinishReason
			if cl.status == "" {
				cl.status = CreateComplete
			}
		}
	case DeleteInProgress:
		if cl.polls > c.b.DeletePolls && c.b.DeleteFails != "" {
			cl.status, cl.reason = DeleteFailed, c.b.DeleteFails
		} else if cl.polls > c.b.DeletePolls {
			c.clusters = slices.Delete(c.clusters, i, i+1)
			writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "Cluster "+cl.uuid+" could not be found."))
			return
		}
	}
	answer()
}

func (c *Cloud) deleteCluster(w http.ResponseWriter, r *http.Request) {
	i := slices.IndexFunc(c.clusters, func(cl *fakeCluster) bool { return cl.uuid == r.PathValue("id") })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, magnumError(http.StatusNotFound, "Cluster "+r.PathValue("id")+" could not be found."))
		return
	}
	cl := c.clusters[i]
	if cl.lag = c.b.DeleteLag; cl.lag == 0 {
		cl.status, cl.reason, cl.polls = DeleteInProgress, "", 0
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
