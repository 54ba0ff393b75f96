package smoketest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/containerinfra/v1/clusters"
	"github.com/gophercloud/gophercloud/v2/openstack/containerinfra/v1/clustertemplates"
)

// Magnum cluster statuses the smoke test acts on.
const (
	statusCreateInProgress = "CREATE_IN_PROGRESS"
	statusCreateComplete   = "CREATE_COMPLETE"
	statusDeleteInProgress = "DELETE_IN_PROGRESS"
	statusDeleteFailed     = "DELETE_FAILED"
)

// magnumOps are the Magnum calls of one run, with its pacing and voice.
type magnumOps struct {
	client *gophercloud.ServiceClient
	pacing Pacing
	say    func(string, ...any)
}

// createTemplate creates the cluster template the runbook's Step 8 creates.
func (m *magnumOps) createTemplate(ctx context.Context, name string, p Params, r resolved) (string, error) {
	opts := clustertemplates.CreateOpts{
		Name:              name,
		COE:               "kubernetes",
		ImageID:           r.imageID,
		KeyPairID:         p.Keypair,
		ExternalNetworkID: r.externalNetworkID,
		MasterFlavorID:    r.masterFlavor,
		FlavorID:          r.flavor,
		NetworkDriver:     p.NetworkDriver,
		Labels:            p.labels(),
	}
	if p.MasterCount > 1 {
		// Magnum refuses more than one master without a load balancer in
		// front of the API.
		lb := true
		opts.MasterLBEnabled = &lb
	}
	t, err := clustertemplates.Create(ctx, m.client, opts).Extract()
	if err != nil {
		return "", fmt.Errorf("create cluster template %s: %w", name, apiErr(err))
	}
	return t.UUID, nil
}

// createCluster asks Magnum for the cluster; Magnum answers at once and
// builds it in the background.
func (m *magnumOps) createCluster(ctx context.Context, name, templateID string, p Params) (string, error) {
	masters, nodes, timeout := p.MasterCount, p.NodeCount, p.createTimeoutMinutes()
	uuid, err := clusters.Create(ctx, m.client, clusters.CreateOpts{
		Name:              name,
		ClusterTemplateID: templateID,
		MasterCount:       &masters,
		NodeCount:         &nodes,
		Keypair:           p.Keypair,
		// gophercloud sends create_timeout as null when unset; an explicit
		// value also makes Magnum give up when we do.
		CreateTimeout: &timeout,
	}).Extract()
	if err != nil {
		return "", fmt.Errorf("create cluster %s: %w", name, apiErr(err))
	}
	return uuid, nil
}

// waitCreated polls the cluster until it leaves CREATE_IN_PROGRESS or
// timeout passes. It returns the last cluster seen, also on failure, so the
// caller can report its status and reason.
func (m *magnumOps) waitCreated(ctx context.Context, name, uuid string, timeout time.Duration) (*clusters.Cluster, error) {
	start := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last *clusters.Cluster
	interval := m.pacing.PollInitial
	for {
		c, err := clusters.Get(waitCtx, m.client, uuid).Extract()
		switch {
		case err != nil && waitCtx.Err() != nil:
			// The deadline or the caller ended the request; the sleep
			// below returns at once and says which.
		case err != nil:
			return last, fmt.Errorf("look at cluster %s: %w", name, apiErr(err))
		default:
			last = c
			m.say("cluster %s: %s after %s", name, describe(c.Status, c.StatusReason), time.Since(start).Round(time.Second))
			switch c.Status {
			case statusCreateComplete:
				return c, nil
			case statusCreateInProgress:
				// Still building: look again after the interval.
			default:
				return c, fmt.Errorf("cluster %s ended in %s", name, describe(c.Status, c.StatusReason))
			}
		}
		if err := sleep(waitCtx, interval); err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("wait for cluster %s: interrupted: %w", name, ctx.Err())
			}
			lastSeen := "no answer yet"
			if last != nil {
				lastSeen = "last seen " + describe(last.Status, last.StatusReason)
			}
			return last, fmt.Errorf("cluster %s did not reach %s within %s (%s)", name, statusCreateComplete, timeout, lastSeen)
		}
		interval = min(interval*3/2, m.pacing.PollMax)
	}
}

// describe renders a status and its reason for a progress line or error.
func describe(status, reason string) string {
	if reason == "" {
		return status
	}
	return status + " (" + reason + ")"
}

// sweep deletes the clusters and then the cluster templates whose names
// match, waiting for each cluster to be gone before touching templates: Magnum
// refuses to delete a template that a cluster still uses. It returns the
// names it removed and carries on past a failure so that one stuck resource
// does not keep the others alive.
func (m *magnumOps) sweep(ctx context.Context, match func(name string) bool) ([]string, error) {
	var removed []string
	var errs []error

	pages, err := clusters.List(m.client, nil).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", apiErr(err))
	}
	all, err := clusters.ExtractClusters(pages)
	if err != nil {
		return nil, fmt.Errorf("read cluster list: %w", err)
	}
	var doomed []clusters.Cluster
	for _, c := range all {
		if !match(c.Name) {
			continue
		}
		// A cluster already being deleted is only waited for: a second
		// DELETE would at best be refused.
		if c.Status != statusDeleteInProgress {
			m.say("deleting cluster %s (%s)", c.Name, c.Status)
			err := clusters.Delete(ctx, m.client, c.UUID).ExtractErr()
			if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				errs = append(errs, fmt.Errorf("delete cluster %s: %w", c.Name, apiErr(err)))
				continue
			}
		}
		doomed = append(doomed, c)
	}
	// The deletes run side by side in Magnum; waiting for them one after
	// the other costs no more than the slowest.
	for _, c := range doomed {
		if err := m.waitGone(ctx, c.Name, c.UUID, c.Status); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "cluster "+c.Name)
	}

	pages, err = clustertemplates.List(m.client, nil).AllPages(ctx)
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list cluster templates: %w", apiErr(err)))...)
	}
	templates, err := clustertemplates.ExtractClusterTemplates(pages)
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("read cluster template list: %w", err))...)
	}
	for _, t := range templates {
		if !match(t.Name) {
			continue
		}
		m.say("deleting cluster template %s", t.Name)
		err := clustertemplates.Delete(ctx, m.client, t.UUID).ExtractErr()
		if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			errs = append(errs, fmt.Errorf("delete cluster template %s: %w", t.Name, apiErr(err)))
			continue
		}
		removed = append(removed, "cluster template "+t.Name)
	}
	return removed, errors.Join(errs...)
}

// staleLooks is how many looks at a cluster that was already DELETE_FAILED
// before our DELETE may still show DELETE_FAILED: Magnum's API hands the
// delete to the conductor, which marks the cluster DELETE_IN_PROGRESS a
// moment later.
const staleLooks = 3

// waitGone polls a deleted cluster until Magnum answers 404. before is the
// cluster's status when the DELETE was sent.
func (m *magnumOps) waitGone(ctx context.Context, name, uuid, before string) error {
	start := time.Now()
	interval := m.pacing.PollInitial
	sawProgress := false
	for looks := 1; ; looks++ {
		c, err := clusters.Get(ctx, m.client, uuid).Extract()
		switch {
		case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
			m.say("cluster %s: deleted after %s", name, time.Since(start).Round(time.Second))
			return nil
		case err != nil:
			return fmt.Errorf("wait for cluster %s to be deleted: %w", name, apiErr(err))
		case c.Status == statusDeleteInProgress:
			sawProgress = true
		case c.Status == statusDeleteFailed && (before != statusDeleteFailed || sawProgress || looks > staleLooks):
			return fmt.Errorf("delete cluster %s: %s", name, describe(c.Status, c.StatusReason))
		}
		m.say("cluster %s: %s after %s", name, describe(c.Status, c.StatusReason), time.Since(start).Round(time.Second))
		if err := sleep(ctx, interval); err != nil {
			return fmt.Errorf("wait for cluster %s to be deleted: %w (last seen %s)", name, err, c.Status)
		}
		interval = min(interval*3/2, m.pacing.PollMax)
	}
}

// leftoverMatcher matches names made by an earlier run with this prefix.
func leftoverMatcher(prefix string) func(string) bool {
	return func(name string) bool { return strings.HasPrefix(name, prefix+"-") }
}

// exactMatcher matches the names of this run.
func exactMatcher(names ...string) func(string) bool {
	return func(name string) bool {
		for _, n := range names {
			if n != "" && name == n {
				return true
			}
		}
		return false
	}
}
