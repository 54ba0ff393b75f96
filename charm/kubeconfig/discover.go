package kubeconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Served is what the management cluster serves of some API groups, as its
// discovery documents list them.
type Served struct {
	Groups []ServedGroup `json:"groups"`
}

// ServedGroup is one API group: its versions in the server's order (most
// preferred first, as the API server sorts a CRD group's versions by
// Kubernetes version priority) and the one it prefers. A group the server
// does not serve has no versions.
type ServedGroup struct {
	Name      string          `json:"name"`
	Preferred string          `json:"preferred,omitempty"`
	Versions  []ServedVersion `json:"versions,omitempty"`
}

// ServedVersion is one version of a group and the resources (plural names,
// subresources left out) it lists.
type ServedVersion struct {
	Version   string   `json:"version"`
	Resources []string `json:"resources"`
}

// Group returns the named group ("" Name when it was not asked for).
func (s Served) Group(name string) ServedGroup {
	for _, g := range s.Groups {
		if g.Name == name {
			return g
		}
	}
	return ServedGroup{}
}

// VersionsServing returns the versions of group that list resource (a
// plural name), in the server's order.
func (s Served) VersionsServing(group, resource string) []string {
	var out []string
	for _, v := range s.Group(group).Versions {
		for _, r := range v.Resources {
			if r == resource {
				out = append(out, v.Version)
				break
			}
		}
	}
	return out
}

// apiGroup is the part of an APIGroup document this package reads.
type apiGroup struct {
	Versions []struct {
		Version string `json:"version"`
	} `json:"versions"`
	PreferredVersion struct {
		Version string `json:"version"`
	} `json:"preferredVersion"`
}

// Discover asks the management cluster, with the kubeconfig's CA and
// credentials and through the model's proxy as Preflight does, which
// versions of each of groups it serves and which resources each version
// lists: GET /apis/<group>, then /apis/<group>/<version> for each version.
// It is Preflight's discovery widened from the versions a driver release
// reads to every version served, so a report can say what would meet.
//
// Bounds are Preflight's: each request opts.RequestTimeout (default
// DefaultRequestTimeout), all of it opts.Timeout (at most
// MaxPreflightTime), each answer at most 4 MiB. kc must come from Validate.
// An error names the problem as Preflight's problems do (no credentials,
// no response bodies); a group the server does not serve is not an error.
func Discover(ctx context.Context, kc *Kubeconfig, groups []string, opts Options) (Served, error) {
	var out Served
	if kc == nil || kc.Server == nil {
		return out, errors.New("kubeconfig: not validated, nothing to discover")
	}
	total, perRequest := opts.deadlines()
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()

	p, problem := newPreflighter(kc, opts, perRequest, total)
	if problem != "" {
		return out, errors.New(problem)
	}
	defer p.client.CloseIdleConnections()
	for _, name := range groups {
		g, err := p.discoverGroup(ctx, name)
		if err != nil {
			return out, err
		}
		out.Groups = append(out.Groups, g)
	}
	return out, nil
}

func (p *preflighter) discoverGroup(ctx context.Context, name string) (ServedGroup, error) {
	g := ServedGroup{Name: name}
	path := "/apis/" + name
	code, body, err := p.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return g, errors.New(p.describeError(ctx, err))
	}
	switch code {
	case http.StatusOK:
	case http.StatusNotFound:
		return g, nil
	default:
		if problem := p.authProblem(code, path); problem != "" {
			return g, errors.New(problem)
		}
		return g, fmt.Errorf("management cluster: API discovery for %s failed (HTTP %d)", name, code)
	}
	var doc apiGroup
	if err := json.Unmarshal(body, &doc); err != nil {
		return g, fmt.Errorf("management cluster: API discovery for %s returned an unreadable document", name)
	}
	g.Preferred = doc.PreferredVersion.Version
	for _, v := range doc.Versions {
		if v.Version == "" || strings.Contains(v.Version, "/") {
			return g, fmt.Errorf("management cluster: API discovery for %s lists a version that is not one", name)
		}
		gv := name + "/" + v.Version
		code, body, err := p.do(ctx, http.MethodGet, "/apis/"+gv, nil)
		if err != nil {
			return g, errors.New(p.describeError(ctx, err))
		}
		if code == http.StatusNotFound {
			// Listed in the group but gone since: not served.
			continue
		}
		if code != http.StatusOK {
			if problem := p.authProblem(code, "/apis/"+gv); problem != "" {
				return g, errors.New(problem)
			}
			return g, fmt.Errorf("management cluster: API discovery for %s failed (HTTP %d)", gv, code)
		}
		var list apiResourceList
		if err := json.Unmarshal(body, &list); err != nil {
			return g, fmt.Errorf("management cluster: API discovery for %s returned an unreadable document", gv)
		}
		sv := ServedVersion{Version: v.Version, Resources: []string{}}
		for _, r := range list.Resources {
			if !strings.Contains(r.Name, "/") {
				sv.Resources = append(sv.Resources, r.Name)
			}
		}
		g.Versions = append(g.Versions, sv)
	}
	return g, nil
}
