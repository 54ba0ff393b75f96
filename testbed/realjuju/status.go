package realjuju

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Status is the part of `juju status --format=json` the test bed reads.
type Status struct {
	Machines     map[string]Machine     `json:"machines"`
	Applications map[string]Application `json:"applications"`
}

// Machine is one machine of a model.
type Machine struct {
	JujuStatus  StatusInfo `json:"juju-status"`
	DNSName     string     `json:"dns-name"`
	IPAddresses []string   `json:"ip-addresses"`
	InstanceID  string     `json:"instance-id"`
}

// Application is one application of a model.
type Application struct {
	Charm  string          `json:"charm"`
	Units  map[string]Unit `json:"units"`
	Status StatusInfo      `json:"application-status"`
}

// Unit is a principal unit, with its subordinates.
type Unit struct {
	WorkloadStatus StatusInfo      `json:"workload-status"`
	JujuStatus     StatusInfo      `json:"juju-status"`
	Machine        string          `json:"machine"`
	PublicAddress  string          `json:"public-address"`
	Subordinates   map[string]Unit `json:"subordinates"`
}

// StatusInfo is a status and its message.
type StatusInfo struct {
	Current string `json:"current"`
	Message string `json:"message"`
}

func (s StatusInfo) String() string {
	if s.Message == "" {
		return s.Current
	}
	return s.Current + ": " + s.Message
}

// Status reads the model's status.
func (c *CLI) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.JSON(ctx, &st, "status"); err != nil {
		return nil, err
	}
	return &st, nil
}

// Units returns the units of app, principals and subordinates alike, by name.
func (s *Status) Units(app string) map[string]Unit {
	out := map[string]Unit{}
	prefix := app + "/"
	for _, a := range s.Applications {
		for name, u := range a.Units {
			if strings.HasPrefix(name, prefix) {
				out[name] = u
			}
			for sub, su := range u.Subordinates {
				if strings.HasPrefix(sub, prefix) {
					su.Machine = u.Machine
					out[sub] = su
				}
			}
		}
	}
	return out
}

// UnitNames are the names of app's units, sorted.
func (s *Status) UnitNames(app string) []string {
	var names []string
	for n := range s.Units(app) {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MachineAt returns the id of the machine with address addr.
func (s *Status) MachineAt(addr string) (string, bool) {
	for id, m := range s.Machines {
		if m.DNSName == addr {
			return id, true
		}
		for _, a := range m.IPAddresses {
			if a == addr {
				return id, true
			}
		}
	}
	return "", false
}

// AwaitStatus polls the model's status until ok says it is as wanted, and
// returns that status. On timeout the error carries the last status ok
// described.
func (c *CLI) AwaitStatus(ctx context.Context, limit time.Duration, ok func(*Status) (bool, string)) (*Status, error) {
	deadline := time.Now().Add(limit)
	var last string
	for {
		st, err := c.Status(ctx)
		if err == nil {
			var done bool
			if done, last = ok(st); done {
				return st, nil
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not as wanted after %s: %s", limit, last)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
