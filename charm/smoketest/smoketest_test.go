package smoketest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/fakecloud"
)

// newFakeCloud serves the contract server (testbed/fakecloud) for one test.
func newFakeCloud(t *testing.T) *fakecloud.Cloud {
	t.Helper()
	f, err := fakecloud.Start(fakecloud.Options{})
	require.NoError(t, err)
	t.Cleanup(f.Close)
	return f
}

// credsFor are credentials the fake accepts, trusting its CA, read from the
// credentials secret an operator would make for it.
func credsFor(t *testing.T, f *fakecloud.Cloud) Credentials {
	t.Helper()
	c, err := CredentialsFromSecret(f.Connection().SecretContent(f.CACertPEM()))
	require.NoError(t, err)
	return c
}

// fastPacing keeps every test well under a second.
var fastPacing = Pacing{
	PollInitial:   2 * time.Millisecond,
	PollMax:       10 * time.Millisecond,
	RetryInitial:  time.Millisecond,
	RetryAttempts: 3,
	DeleteTimeout: 5 * time.Second,
}

func testParams() Params {
	return Params{
		Image:           "noble-amd64",
		Keypair:         "capi-mgmt-key",
		ExternalNetwork: "ext-net",
		MasterFlavor:    "m1.medium",
		Flavor:          "3", // by ID, to cover both kinds of reference
		KubeTag:         "v1.32.2",
		Labels:          map[string]string{"boot_volume_size": "20"},
		Timeout:         5 * time.Second,
		Pacing:          fastPacing,
	}
}

// recorder collects progress lines.
type recorder struct{ lines []string }

func (r *recorder) progress(line string) { r.lines = append(r.lines, line) }
func (r *recorder) text() string         { return strings.Join(r.lines, "\n") }

func phases(res Result) []string {
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Phase)
	}
	return names
}

var allPhases = []string{PhasePrecheck, PhaseCleanupLeftovers, PhaseCreateTemplate, PhaseCreateCluster, PhaseWait, PhaseDelete}

func TestRunSucceedsAndCleansUp(t *testing.T) {
	f := newFakeCloud(t)
	var rec recorder

	res, err := Run(context.Background(), credsFor(t, f), testParams(), rec.progress)

	require.NoError(t, err)
	assert.Equal(t, statusCreateComplete, res.Status)
	assert.Equal(t, "https://203.0.113.10:6443", res.APIAddress)
	assert.Empty(t, res.FailedPhase)
	assert.False(t, res.Kept)
	assert.Equal(t, allPhases, phases(res))
	assert.Regexp(t, `^capi-graft-smoke-[0-9a-z]+-[0-9a-f]{4}$`, res.ClusterName)
	assert.Equal(t, res.ClusterName+"-tpl", res.TemplateName)
	assert.NotEmpty(t, res.ClusterUUID)
	assert.NotEmpty(t, res.TemplateUUID)

	// The template is the runbook's, with the pre-check's resolved values.
	require.Len(t, f.Bodies("/magnum/v1/clustertemplates"), 1)
	tpl := f.Bodies("/magnum/v1/clustertemplates")[0]
	assert.Equal(t, res.TemplateName, tpl["name"])
	assert.Equal(t, "kubernetes", tpl["coe"])
	assert.Equal(t, fakecloud.ImageID, tpl["image_id"])
	assert.Equal(t, "capi-mgmt-key", tpl["keypair_id"])
	assert.Equal(t, fakecloud.ExternalNetworkID, tpl["external_network_id"])
	assert.Equal(t, "m1.medium", tpl["master_flavor_id"])
	assert.Equal(t, "m1.medium", tpl["flavor_id"], "flavors go to Magnum by name")
	assert.Equal(t, "calico", tpl["network_driver"])
	assert.Equal(t, map[string]any{"kube_tag": "v1.32.2", "boot_volume_size": "20"}, tpl["labels"])

	require.Len(t, f.Bodies("/magnum/v1/clusters"), 1)
	cl := f.Bodies("/magnum/v1/clusters")[0]
	assert.Equal(t, res.ClusterName, cl["name"])
	assert.Equal(t, res.TemplateUUID, cl["cluster_template_id"])
	assert.EqualValues(t, 1, cl["master_count"])
	assert.EqualValues(t, 1, cl["node_count"])
	assert.Equal(t, "capi-mgmt-key", cl["keypair"])
	assert.EqualValues(t, 1, cl["create_timeout"], "create_timeout is Timeout rounded up to minutes")

	// Every Magnum request asked for the API the openstack CLI uses.
	require.NotEmpty(t, f.APIVersions())
	for _, v := range f.APIVersions() {
		assert.Equal(t, "container-infra latest", v)
	}

	// Both are gone, the cluster first (the fake refuses the template
	// otherwise), and only after the cluster's GET said 404.
	assert.Empty(t, f.ClusterNames())
	assert.Empty(t, f.TemplateNames())
	assert.Len(t, f.Requests("DELETE", "/magnum/v1/clusters/"), 1)
	assert.Len(t, f.Requests("DELETE", "/magnum/v1/clustertemplates/"), 1)

	assert.Contains(t, rec.text(), "cluster "+res.ClusterName+": CREATE_IN_PROGRESS after")
	assert.Contains(t, rec.text(), "cluster "+res.ClusterName+": CREATE_COMPLETE after")
	assert.Contains(t, rec.text(), "cluster "+res.ClusterName+": deleted after")
}

func TestRunCreateFailedReportsReasonAndCleansUp(t *testing.T) {
	f := newFakeCloud(t)
	f.Update(func(b *fakecloud.Behaviour) {
		b.Finish, b.FinishReason = fakecloud.CreateFailed, "helm upgrade failed: timed out waiting for the condition"
	})

	res, err := Run(context.Background(), credsFor(t, f), testParams(), nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "ended in CREATE_FAILED (helm upgrade failed: timed out waiting for the condition)")
	assert.Equal(t, "CREATE_FAILED", res.Status)
	assert.Equal(t, "helm upgrade failed: timed out waiting for the condition", res.StatusReason)
	assert.Equal(t, PhaseWait, res.FailedPhase)
	assert.Equal(t, allPhases, phases(res))
	assert.Empty(t, f.ClusterNames())
	assert.Empty(t, f.TemplateNames())
}

func TestRunTimeoutCleansUp(t *testing.T) {
	f := newFakeCloud(t)
	f.Update(func(b *fakecloud.Behaviour) { b.PollsToFinish = 1 << 30 })
	p := testParams()
	p.Timeout = 100 * time.Millisecond

	res, err := Run(context.Background(), credsFor(t, f), p, nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not reach CREATE_COMPLETE within 100ms (last seen CREATE_IN_PROGRESS)")
	assert.Equal(t, PhaseWait, res.FailedPhase)
	assert.Equal(t, statusCreateInProgress, res.Status)
	assert.Empty(t, f.ClusterNames())
	assert.Empty(t, f.TemplateNames())
}

func TestRunCancelledStillCleansUp(t *testing.T) {
	f := newFakeCloud(t)
	f.Update(func(b *fakecloud.Behaviour) { b.PollsToFinish = 1 << 30 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := func(line string) {
		if strings.Contains(line, "CREATE_IN_PROGRESS") {
			cancel()
		}
	}

	res, err := Run(ctx, credsFor(t, f), testParams(), progress)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "interrupted")
	assert.Equal(t, PhaseWait, res.FailedPhase)
	assert.Len(t, f.Requests("DELETE", "/magnum/v1/clusters/"), 1)
	assert.Empty(t, f.ClusterNames())
	assert.Empty(t, f.TemplateNames())
}

func TestRunRetriesTransientErrors(t *testing.T) {
	f := newFakeCloud(t)
	faults := []*fakecloud.InjectedFault{
		f.Inject(fakecloud.Fault{Method: "POST", Path: "/identity/v3/auth/tokens", Code: http.StatusInternalServerError, Count: 1}),
		f.Inject(fakecloud.Fault{Method: "POST", Path: "/magnum/v1/clustertemplates", Code: http.StatusServiceUnavailable, Count: 2}),
		f.Inject(fakecloud.Fault{Method: "GET", Path: "/magnum/v1/clusters/", Code: http.StatusBadGateway, Count: 1}),
		f.Inject(fakecloud.Fault{Method: "DELETE", Path: "/magnum/v1/clusters/", Code: http.StatusConflict, Count: 1}),
	}
	var rec recorder

	res, err := Run(context.Background(), credsFor(t, f), testParams(), rec.progress)

	require.NoError(t, err)
	assert.Equal(t, statusCreateComplete, res.Status)
	for _, flt := range faults {
		assert.Equal(t, flt.Count, flt.Served(), "%s %s", flt.Method, flt.Path)
	}
	// The failed attempts created nothing, so one template was made, and
	// every attempt of the DELETE was needed to get rid of the cluster.
	assert.Len(t, f.Requests("POST", "/magnum/v1/clustertemplates"), 3)
	assert.Len(t, f.Requests("DELETE", "/magnum/v1/clusters/"), 2)
	assert.Empty(t, f.ClusterNames())
	assert.Empty(t, f.TemplateNames())
	assert.Contains(t, rec.text(), "answered HTTP 503; retrying")
	assert.Contains(t, rec.text(), "answered HTTP 409; retrying")
}

func TestRunRetriesAreBoundedAndStillCleanUp(t *testing.T) {
	f := newFakeCloud(t)
	f.Inject(fakecloud.Fault{Method: "POST", Path: "/magnum/v1/clusters", Code: http.StatusServiceUnavailable, Count: 1000})

	res, err := Run(context.Background(), credsFor(t, f), testParams(), nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "create cluster")
	assert.Contains(t, err.Error(), "gave up after 4 attempts")
	assert.Equal(t, PhaseCreateCluster, res.FailedPhase)
	assert.Empty(t, res.ClusterName, "no cluster was created")
	assert.Len(t, f.Requests("POST", "/magnum/v1/clusters"), fastPacing.RetryAttempts+1)
	assert.Empty(t, f.TemplateNames(), "the template is deleted although the cluster never came")
}

func TestRunRemovesDuplicateOfRetriedCreate(t *testing.T) {
	f := newFakeCloud(t)
	// The first template POST is carried out but its answer lost; the
	// retry then makes a second template of the same name.
	f.Inject(fakecloud.Fault{Method: "POST", Path: "/magnum/v1/clustertemplates", Code: http.StatusGatewayTimeout, Count: 1, After: true})

	res, err := Run(context.Background(), credsFor(t, f), testParams(), nil)

	require.NoError(t, err)
	assert.Equal(t, statusCreateComplete, res.Status)
	assert.Len(t, f.Requests("DELETE", "/magnum/v1/clustertemplates/"), 2)
	assert.Empty(t, f.TemplateNames())
}

// precheckFailures are clouds and parameters the pre-check refuses, each
// with what it must say.
var precheckFailures = []struct {
	name   string
	setup  func(*fakecloud.Cloud, *Credentials, *Params)
	expect []string
}{{
	name: "image without driver properties",
	setup: func(f *fakecloud.Cloud, _ *Credentials, _ *Params) {
		f.SetImageProperties(nil)
	},
	expect: []string{`image "noble-amd64"`, "property os_distro is missing", "property kube_version is missing"},
}, {
	name: "image with another distro",
	setup: func(f *fakecloud.Cloud, _ *Credentials, _ *Params) {
		f.SetImageProperties(map[string]any{"os_distro": "fedora-coreos", "kube_version": "v1.32.2"})
	},
	expect: []string{`os_distro is "fedora-coreos"`},
}, {
	name: "image naming another driver",
	setup: func(f *fakecloud.Cloud, _ *Credentials, p *Params) {
		f.SetImageProperties(map[string]any{"os_distro": "ubuntu", "kube_version": "v1.32.2", "magnum_driver": "k8s_cluster_api_ubuntu"})
		p.MagnumVersion = "20.0.0"
	},
	expect: []string{`property magnum_driver is "k8s_cluster_api_ubuntu", so Magnum uses that driver, not k8s_capi_helm_v1`},
}, {
	name:   "image missing",
	setup:  func(_ *fakecloud.Cloud, _ *Credentials, p *Params) { p.Image = "jammy-amd64" },
	expect: []string{`image "jammy-amd64": not found by name or ID`},
}, {
	name:   "flavor too small",
	setup:  func(_ *fakecloud.Cloud, _ *Credentials, p *Params) { p.Flavor = "m1.small" },
	expect: []string{`flavor "m1.small": too small: 1 vCPUs, the driver needs at least 2`},
}, {
	name:   "master flavor missing",
	setup:  func(_ *fakecloud.Cloud, _ *Credentials, p *Params) { p.MasterFlavor = "m9.huge" },
	expect: []string{`master flavor "m9.huge": not found by name or ID`},
}, {
	name:   "raised minimums",
	setup:  func(_ *fakecloud.Cloud, _ *Credentials, p *Params) { p.MinFlavorRAMMB = 8192 },
	expect: []string{`master flavor "m1.medium": too small: 4096 MB RAM, the driver needs at least 8192 MB`},
}, {
	name:   "network not external",
	setup:  func(_ *fakecloud.Cloud, _ *Credentials, p *Params) { p.ExternalNetwork = "int-net" },
	expect: []string{`external network "int-net": exists but is not external`},
}, {
	name:   "network missing",
	setup:  func(_ *fakecloud.Cloud, _ *Credentials, p *Params) { p.ExternalNetwork = "public" },
	expect: []string{`external network "public": not found by name or ID`},
}, {
	name:   "keypair missing",
	setup:  func(_ *fakecloud.Cloud, _ *Credentials, p *Params) { p.Keypair = "someone-elses-key" },
	expect: []string{`keypair "someone-elses-key": not found for user "smoke-user"`},
}, {
	name: "no load balancer",
	setup: func(f *fakecloud.Cloud, _ *Credentials, _ *Params) {
		f.Update(func(b *fakecloud.Behaviour) { b.NoLoadBalancer = true })
	},
	expect: []string{"load-balancer (Octavia): no public (region RegionOne) endpoint"},
}, {
	name:   "no endpoints in the region",
	setup:  func(_ *fakecloud.Cloud, c *Credentials, _ *Params) { c.RegionName = "RegionTwo" },
	expect: []string{"container-infra (Magnum): no usable", "image (Glance): no usable", "load-balancer (Octavia)"},
}, {
	name: "every problem at once",
	setup: func(f *fakecloud.Cloud, _ *Credentials, p *Params) {
		f.SetImageProperties(map[string]any{"os_distro": "ubuntu"})
		p.Flavor, p.Keypair, p.ExternalNetwork = "m1.tiny", "nope", "int-net"
	},
	expect: []string{"kube_version is missing", `flavor "m1.tiny": too small: 512 MB RAM`, `keypair "nope"`, `"int-net": exists but is not external`},
}}

func TestRunPrecheckFailuresCreateNothing(t *testing.T) {
	for _, tt := range precheckFailures {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t)
			creds, p := credsFor(t, f), testParams()
			tt.setup(f, &creds, &p)

			res, err := Run(context.Background(), creds, p, nil)

			require.Error(t, err)
			assert.Contains(t, err.Error(), "pre-check failed, nothing was created")
			for _, e := range tt.expect {
				assert.Contains(t, err.Error(), e)
			}
			assert.Empty(t, f.Writes(), "a failed pre-check must not change the cloud")
			assert.Equal(t, PhasePrecheck, res.FailedPhase)
			assert.Equal(t, []string{PhasePrecheck}, phases(res))
		})
	}
}

func TestRunRemovesLeftoversBeforeCreating(t *testing.T) {
	f := newFakeCloud(t)
	oldTpl := f.SeedTemplate("capi-graft-smoke-t0a1b2-9f3c-tpl")
	f.SeedCluster("capi-graft-smoke-t0a1b2-9f3c", oldTpl, "CREATE_FAILED", "Timed out")
	f.SeedCluster("capi-graft-smoke-t0a1a0-1d2e", oldTpl, statusDeleteInProgress, "")
	f.SeedCluster("capi-graft-smoke-t0a0zz-77aa", oldTpl, statusDeleteFailed, "Octavia said no")
	prodTpl := f.SeedTemplate("prod-k8s")
	f.SeedCluster("prod", prodTpl, statusCreateComplete, "")
	// The API takes a moment to hand each delete to the conductor, so the
	// cluster that had failed to delete before still looks DELETE_FAILED
	// right after the new DELETE.
	f.Update(func(b *fakecloud.Behaviour) { b.DeleteLag = 1 })
	f.SeedTemplate("capi-graft-smokey") // shares the prefix but not the dash

	res, err := Run(context.Background(), credsFor(t, f), testParams(), nil)

	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"cluster capi-graft-smoke-t0a1b2-9f3c",
		"cluster capi-graft-smoke-t0a1a0-1d2e",
		"cluster capi-graft-smoke-t0a0zz-77aa",
		"cluster template capi-graft-smoke-t0a1b2-9f3c-tpl",
	}, res.LeftoversRemoved)
	assert.Equal(t, []string{"prod"}, f.ClusterNames())
	assert.Equal(t, []string{"prod-k8s", "capi-graft-smokey"}, f.TemplateNames())
	// The cluster already being deleted is waited for, not deleted again;
	// and everything old is gone before anything new is made.
	firstCreate := f.IndexOf("POST /magnum/")
	require.Positive(t, firstCreate)
	deletes := 0
	for i, l := range f.Log() {
		if strings.HasPrefix(l, "DELETE ") && i < firstCreate {
			deletes++
		}
	}
	assert.Equal(t, 3, deletes, "two leftover clusters and one leftover template")
	assert.Greater(t, firstCreate, f.IndexOf("DELETE /magnum/v1/clustertemplates/"))
}

func TestRunWrongCredentials(t *testing.T) {
	for _, tt := range []struct {
		name   string
		setup  func(*fakecloud.Cloud, *Credentials)
		expect string
	}{{
		name:   "wrong password",
		setup:  func(_ *fakecloud.Cloud, c *Credentials) { c.Password = "Tr0ub4dor&3-wrong" },
		expect: "Keystone rejected the credentials (HTTP 401)",
	}, {
		name: "wrong password, server echoes the request",
		setup: func(f *fakecloud.Cloud, c *Credentials) {
			c.Password = "Tr0ub4dor&3-wrong"
			f.Update(func(b *fakecloud.Behaviour) { b.EchoAuth = true })
		},
		expect: "Keystone rejected the credentials (HTTP 401)",
	}, {
		// The password holds characters JSON escapes, so the echo does not
		// hold it verbatim.
		name: "other error, server echoes the request",
		setup: func(f *fakecloud.Cloud, c *Credentials) {
			c.Password = `pa"ss&<word>`
			f.Update(func(b *fakecloud.Behaviour) { b.AuthStatus, b.EchoAuth = http.StatusBadRequest, true })
		},
		expect: `HTTP 400: could not process request: {"auth":{"identity":{"methods":["password"],"password":{"user":{"domain":{"name":"admin_domain"},"name":"smoke-user","password":"[redacted]"}}}`,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t)
			creds := credsFor(t, f)
			tt.setup(f, &creds)
			var rec recorder

			res, err := Run(context.Background(), creds, testParams(), rec.progress)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.expect)
			assert.Contains(t, err.Error(), `user "smoke-user"`)
			assert.NotContains(t, err.Error(), creds.Password)
			assert.NotContains(t, rec.text(), creds.Password)
			assert.NotContains(t, err.Error(), "pa\\\"ss", "nor its JSON spelling")
			assert.Equal(t, PhasePrecheck, res.FailedPhase)
			assert.Empty(t, f.Writes())
		})
	}
}

func TestRunKeep(t *testing.T) {
	f := newFakeCloud(t)
	p := testParams()
	p.Keep = true

	res, err := Run(context.Background(), credsFor(t, f), p, nil)

	require.NoError(t, err)
	assert.True(t, res.Kept)
	assert.Equal(t, []string{res.ClusterName}, f.ClusterNames())
	assert.Equal(t, []string{res.TemplateName}, f.TemplateNames())
	assert.Empty(t, f.Requests("DELETE", "/"))
	assert.Equal(t, allPhases[:5], phases(res))
}

func TestRunNeedsTheCACert(t *testing.T) {
	f := newFakeCloud(t)
	creds := credsFor(t, f)
	creds.CACert = ""

	_, err := Run(context.Background(), creds, testParams(), nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	assert.Empty(t, f.Log(), "no request got past TLS")
}

func TestRunRefusesBadInputWithoutContactingTheCloud(t *testing.T) {
	f := newFakeCloud(t)
	p := testParams()
	p.Image = ""

	res, err := Run(context.Background(), credsFor(t, f), p, nil)
	require.ErrorContains(t, err, "image is not set")
	assert.Equal(t, PhasePrecheck, res.FailedPhase)

	creds := credsFor(t, f)
	creds.CACert = "not a certificate"
	_, err = Run(context.Background(), creds, testParams(), nil)
	require.ErrorContains(t, err, "cacert: no PEM certificate found")

	assert.Empty(t, f.Log())
}

func TestRunReportsAFailedCleanUp(t *testing.T) {
	f := newFakeCloud(t)
	f.Update(func(b *fakecloud.Behaviour) { b.DeleteFails = "Failed to delete load balancer" })

	res, err := Run(context.Background(), credsFor(t, f), testParams(), nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "delete cluster "+res.ClusterName+": DELETE_FAILED (Failed to delete load balancer)")
	assert.Contains(t, err.Error(), "delete "+res.ClusterName+" and "+res.TemplateName+" by hand if they remain")
	// The cluster itself was fine: the result says so, and names the
	// clean-up as what failed.
	assert.Equal(t, statusCreateComplete, res.Status)
	assert.Equal(t, PhaseDelete, res.FailedPhase)
	assert.Equal(t, []string{res.TemplateName}, f.TemplateNames(), "the template is not deleted under a cluster")
}
