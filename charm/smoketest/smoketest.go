// Package smoketest proves a Magnum unit end to end, through the same
// OpenStack APIs an operator uses: it creates a cluster template and a small
// cluster for the magnum-capi-helm driver, waits for CREATE_COMPLETE, and
// deletes both again. It is the runbook's Step 8 as a function, for the
// charm's smoke-test action.
//
// The test is careful with the cloud it runs against: it checks everything it
// refers to before it creates anything, removes what an interrupted earlier
// run left behind, and removes what it created even when it fails or is
// interrupted, unless asked to keep it.
package smoketest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/redact"
)

// Phases of a run, in the order they happen.
const (
	// PhasePrecheck includes logging in to Keystone.
	PhasePrecheck         = "precheck"
	PhaseCleanupLeftovers = "cleanup-leftovers"
	PhaseCreateTemplate   = "create-template"
	PhaseCreateCluster    = "create-cluster"
	PhaseWait             = "wait"
	PhaseDelete           = "delete"
)

// PhaseTiming is how long one phase took.
type PhaseTiming struct {
	Phase    string
	Duration time.Duration
}

// Result is what a run did. Run returns it also when it fails, filled as far
// as the run got.
type Result struct {
	// Phases lists the phases that ran, in order, with their durations.
	Phases []PhaseTiming
	// FailedPhase is the phase that failed, or empty when the cluster
	// reached CREATE_COMPLETE (a failed clean-up alone sets it to
	// PhaseDelete).
	FailedPhase string

	// Status and StatusReason are the cluster's last status while it was
	// being created: CREATE_COMPLETE on success.
	Status       string
	StatusReason string
	ClusterUUID  string
	// APIAddress is the Kubernetes API of the cluster, once Magnum knows it.
	APIAddress string

	// TemplateName and ClusterName are set once Magnum accepted them.
	TemplateName string
	TemplateUUID string
	ClusterName  string

	// Kept says the template and cluster were left in place (Params.Keep).
	Kept bool
	// LeftoversRemoved names what an earlier run had left and this run
	// removed, e.g. "cluster capi-graft-smoke-t1x2y3-ab12".
	LeftoversRemoved []string
}

// Duration returns how long phase took, or zero if it did not run.
func (r Result) Duration(phase string) time.Duration {
	for _, p := range r.Phases {
		if p.Phase == phase {
			return p.Duration
		}
	}
	return 0
}

// timed runs one phase and records its duration and any failure.
func (r *Result) timed(phase string, f func() error) error {
	start := time.Now()
	err := f()
	r.Phases = append(r.Phases, PhaseTiming{Phase: phase, Duration: time.Since(start)})
	if err != nil && r.FailedPhase == "" {
		r.FailedPhase = phase
	}
	return err
}

// Run runs the smoke test. progress, which may be nil, receives one line per
// step and per look at the cluster; it is called from Run's goroutine only.
//
// Nothing is created unless every pre-check passes. Once something has been
// created it is deleted again before Run returns, unless params.Keep is set,
// also when ctx is cancelled: the deletes run on a context of their own,
// bounded by params.Pacing.DeleteTimeout.
//
// The error, when there is one, says what failed and why. Its text and every
// progress line are scrubbed of the password and token; the error is
// therefore flat text, not a wrapped chain.
func Run(ctx context.Context, creds Credentials, params Params, progress func(string)) (Result, error) {
	var c *cloud
	scrub := scrubber{password: creds.Password, cloud: func() *cloud { return c }}
	say := func(format string, args ...any) {
		if progress != nil {
			progress(scrub.scrub(fmt.Sprintf(format, args...)))
		}
	}
	res, err := run(ctx, creds, params, say, &c)
	if err != nil {
		return res, errors.New(scrub.scrub(err.Error()))
	}
	return res, nil
}

// run is Run without the scrubbing. It sets *cp once authenticated so that
// the scrubber knows the token.
func run(ctx context.Context, creds Credentials, params Params, say func(string, ...any), cp **cloud) (Result, error) {
	var res Result
	if err := params.Validate(); err != nil {
		res.FailedPhase = PhasePrecheck
		return res, err
	}
	p := params.withDefaults()

	var r resolved
	var m *magnumOps
	err := res.timed(PhasePrecheck, func() error {
		say("authenticating to %s as %s", redact.String(creds.AuthURL), creds.Username)
		c, err := connect(ctx, creds, p.Pacing, say)
		if err != nil {
			return err
		}
		*cp = c
		say("checking image, flavors, keypair, external network and load balancer")
		var problems []string
		r, problems = c.precheck(ctx, p)
		if len(problems) > 0 {
			return fmt.Errorf("pre-check failed, nothing was created: %s", strings.Join(problems, "; "))
		}
		m = &magnumOps{client: r.magnum, pacing: p.Pacing, say: say}
		return nil
	})
	if err != nil {
		return res, err
	}

	err = res.timed(PhaseCleanupLeftovers, func() error {
		sweepCtx, cancel := context.WithTimeout(ctx, p.Pacing.DeleteTimeout)
		defer cancel()
		removed, err := m.sweep(sweepCtx, leftoverMatcher(p.Prefix))
		res.LeftoversRemoved = removed
		if err != nil {
			return fmt.Errorf("remove leftovers of an earlier run (names starting %s-), nothing was created: %w", p.Prefix, err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}

	clusterName, err := newName(p.Prefix, time.Now())
	if err != nil {
		return res, err
	}
	templateName := clusterName + "-tpl"

	runErr := createAndWait(ctx, m, p, r, clusterName, templateName, &res)

	if p.Keep {
		res.Kept = res.TemplateName != ""
		if res.Kept {
			say("keeping cluster template %s and cluster %s as asked", templateName, clusterName)
		}
		return res, runErr
	}
	// The clean-up must happen even when ctx was cancelled: a cluster left
	// behind holds servers, volumes and a load balancer.
	cleanupErr := res.timed(PhaseDelete, func() error {
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.Pacing.DeleteTimeout)
		defer cancel()
		// Deleting by name rather than by UUID also catches a duplicate
		// left by a create that was retried after a 5xx.
		_, err := m.sweep(cleanupCtx, exactMatcher(clusterName, templateName))
		if err != nil {
			return fmt.Errorf("clean up after the smoke test (delete %s and %s by hand if they remain): %w", clusterName, templateName, err)
		}
		return nil
	})
	return res, errors.Join(runErr, cleanupErr)
}

// createAndWait creates the template and the cluster and waits for the
// cluster, recording what it created in res as it goes.
func createAndWait(ctx context.Context, m *magnumOps, p Params, r resolved, clusterName, templateName string, res *Result) error {
	var templateID string
	err := res.timed(PhaseCreateTemplate, func() error {
		m.say("creating cluster template %s", templateName)
		var err error
		templateID, err = m.createTemplate(ctx, templateName, p, r)
		if err == nil {
			res.TemplateName, res.TemplateUUID = templateName, templateID
		}
		return err
	})
	if err != nil {
		return err
	}

	var clusterID string
	err = res.timed(PhaseCreateCluster, func() error {
		m.say("creating cluster %s (%d master, %d node)", clusterName, p.MasterCount, p.NodeCount)
		var err error
		clusterID, err = m.createCluster(ctx, clusterName, templateID, p)
		if err == nil {
			res.ClusterName, res.ClusterUUID = clusterName, clusterID
		}
		return err
	})
	if err != nil {
		return err
	}

	return res.timed(PhaseWait, func() error {
		c, err := m.waitCreated(ctx, clusterName, clusterID, p.Timeout)
		if c != nil {
			res.Status, res.StatusReason, res.APIAddress = c.Status, c.StatusReason, c.APIAddress
		}
		return err
	})
}

// newName returns prefix plus a suffix of the time (base 36 seconds, for a
// rough age at a glance) and four random hex digits (so that two runs in the
// same second still differ).
func newName(prefix string, now time.Time) (string, error) {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a unique name: %w", err)
	}
	return prefix + "-" + strconv.FormatInt(now.Unix(), 36) + "-" + hex.EncodeToString(b[:]), nil
}
