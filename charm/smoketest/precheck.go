package smoketest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/confd"
)

// driverDistros are the image os_distro values magnum-capi-helm registers
// for: Magnum picks a driver by (server type, os_distro, coe), so an image
// with any other os_distro never reaches the CAPI driver.
var driverDistros = []string{"ubuntu", "flatcar"}

// SelectsDriver reports whether a Magnum release honours the image property
// magnum_driver: from Magnum 18 (2024.1) the API hands it to get_driver
// as driver_name (magnum/api/controllers/v1/cluster_template.py: post;
// magnum/drivers/common/driver.py: Driver.get_driver), which then loads
// that entry point whatever claims the image's (server_type, os, coe).
// An unknown version is taken as honouring it: refusing a property that
// names another driver is safe either way.
func SelectsDriver(magnumVersion string) bool {
	major, _, _ := strings.Cut(magnumVersion, ".")
	n, err := strconv.Atoi(major)
	return err != nil || n >= 18
}

// resolved is what the pre-check found, in the form the cluster template
// wants it, and the Magnum client to create it with.
type resolved struct {
	magnum *gophercloud.ServiceClient

	imageID           string
	externalNetworkID string
	// Flavors are passed by name: Magnum accepts a name or an ID, and the
	// driver hands the value to Cluster API, whose OpenStack machines look
	// flavors up by name.
	masterFlavor string
	flavor       string
}

// precheck looks at everything the cluster template refers to, and reports
// every problem it finds rather than the first, so that one run tells the
// operator all there is to fix. It only reads.
func (c *cloud) precheck(ctx context.Context, p Params) (resolved, []string) {
	var r resolved
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if client, err := c.magnum(); err != nil {
		fail("%v", err)
	} else {
		r.magnum = client
	}
	if !c.hasEndpoint("load-balancer") {
		fail("load-balancer (Octavia): no %s endpoint in the service catalog; the driver's clusters need Octavia for the Kubernetes API load balancer", c.where())
	}

	if imageClient, err := c.serviceClient("image (Glance)", openstack.NewImageV2); err != nil {
		fail("%v", err)
	} else if id, err := checkImage(ctx, imageClient, p.Image, SelectsDriver(p.MagnumVersion)); err != nil {
		fail("%v", err)
	} else {
		r.imageID = id
	}

	if computeClient, err := c.serviceClient("compute (Nova)", openstack.NewComputeV2); err != nil {
		fail("%v", err)
	} else {
		all, err := listFlavors(ctx, computeClient)
		if err != nil {
			fail("list flavors: %v", apiErr(err))
		} else {
			for _, f := range []struct {
				role string
				ref  string
				out  *string
			}{{"master flavor", p.MasterFlavor, &r.masterFlavor}, {"flavor", p.Flavor, &r.flavor}} {
				name, err := checkFlavor(ctx, computeClient, all, f.role, f.ref, p.MinFlavorRAMMB, p.MinFlavorVCPUs)
				if err != nil {
					fail("%v", err)
				}
				*f.out = name
			}
		}
		if err := keypairs.Get(ctx, computeClient, p.Keypair, nil).Err; err != nil {
			if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				fail("keypair %q: not found for user %q (keypairs belong to the user who creates the cluster)", p.Keypair, c.creds.Username)
			} else {
				fail("keypair %q: %v", p.Keypair, apiErr(err))
			}
		}
	}

	if networkClient, err := c.serviceClient("network (Neutron)", openstack.NewNetworkV2); err != nil {
		fail("%v", err)
	} else if id, err := checkExternalNetwork(ctx, networkClient, p.ExternalNetwork); err != nil {
		fail("%v", err)
	} else {
		r.externalNetworkID = id
	}
	return r, problems
}

// checkImage finds the image by name, then by ID, and checks what the driver
// needs of it. It returns the image's ID.
func checkImage(ctx context.Context, client *gophercloud.ServiceClient, ref string, selectsDriver bool) (string, error) {
	pages, err := images.List(client, images.ListOpts{Name: ref}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("image %q: list images: %w", ref, apiErr(err))
	}
	found, err := images.ExtractImages(pages)
	if err != nil {
		return "", fmt.Errorf("image %q: read image list: %w", ref, err)
	}
	var image *images.Image
	switch len(found) {
	case 0:
		image, err = images.Get(ctx, client, ref).Extract()
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return "", fmt.Errorf("image %q: not found by name or ID", ref)
		} else if err != nil {
			return "", fmt.Errorf("image %q: %w", ref, apiErr(err))
		}
	case 1:
		image = &found[0]
	default:
		return "", fmt.Errorf("image %q: the name matches %d images; give the image's ID", ref, len(found))
	}

	var problems []string
	if image.Status != images.ImageStatusActive {
		problems = append(problems, fmt.Sprintf("status is %q, not active", image.Status))
	}
	distro, _ := image.Properties["os_distro"].(string)
	switch {
	case distro == "":
		problems = append(problems, fmt.Sprintf("property os_distro is missing (want one of %s)", strings.Join(driverDistros, ", ")))
	case !slices.Contains(driverDistros, distro):
		problems = append(problems, fmt.Sprintf("property os_distro is %q, which the CAPI driver does not serve (want one of %s)", distro, strings.Join(driverDistros, ", ")))
	}
	if d, _ := image.Properties["magnum_driver"].(string); selectsDriver && d != "" && d != confd.OwnDriver {
		problems = append(problems, fmt.Sprintf("property magnum_driver is %q, so Magnum uses that driver, not %s (set magnum_driver=%s or remove the property)",
			d, confd.OwnDriver, confd.OwnDriver))
	}
	if v, _ := image.Properties["kube_version"].(string); v == "" {
		problems = append(problems, "property kube_version is missing (the driver refuses images without it, e.g. kube_version=v1.32.2)")
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("image %q: %s", ref, strings.Join(problems, "; "))
	}
	return image.ID, nil
}

// listFlavors lists the flavors the project can see. Nova cannot filter by
// name, so both flavors are matched against one listing.
func listFlavors(ctx context.Context, client *gophercloud.ServiceClient) ([]flavors.Flavor, error) {
	pages, err := flavors.ListDetail(client, nil).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return flavors.ExtractFlavors(pages)
}

// checkFlavor finds a flavor by name or ID and checks it against the
// driver's minimums. It returns the flavor's name.
func checkFlavor(ctx context.Context, client *gophercloud.ServiceClient, all []flavors.Flavor, role, ref string, minRAM, minVCPUs int) (string, error) {
	var matches []flavors.Flavor
	for _, f := range all {
		if f.ID == ref || f.Name == ref {
			matches = append(matches, f)
		}
	}
	var flavor flavors.Flavor
	switch len(matches) {
	case 0:
		// Admins list public flavors only; a private flavor is found by ID.
		f, err := flavors.Get(ctx, client, ref).Extract()
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return "", fmt.Errorf("%s %q: not found by name or ID", role, ref)
		} else if err != nil {
			return "", fmt.Errorf("%s %q: %w", role, ref, apiErr(err))
		}
		flavor = *f
	case 1:
		flavor = matches[0]
	default:
		return "", fmt.Errorf("%s %q: matches %d flavors; give the flavor's ID", role, ref, len(matches))
	}
	var problems []string
	if flavor.RAM < minRAM {
		problems = append(problems, fmt.Sprintf("%d MB RAM, the driver needs at least %d MB", flavor.RAM, minRAM))
	}
	if flavor.VCPUs < minVCPUs {
		problems = append(problems, fmt.Sprintf("%d vCPUs, the driver needs at least %d", flavor.VCPUs, minVCPUs))
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("%s %q: too small: %s", role, ref, strings.Join(problems, "; "))
	}
	return flavor.Name, nil
}

// network is the part of a Neutron network the pre-check reads. It is a
// plain struct on purpose: networks.Network has its own UnmarshalJSON, which
// would swallow router:external if that struct were embedded.
type network struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	External bool   `json:"router:external"`
}

// checkExternalNetwork finds the network by name, then by ID, checks that it
// is external, and returns its ID.
func checkExternalNetwork(ctx context.Context, client *gophercloud.ServiceClient, ref string) (string, error) {
	pages, err := networks.List(client, networks.ListOpts{Name: ref}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("external network %q: list networks: %w", ref, apiErr(err))
	}
	var found []network
	if err := networks.ExtractNetworksInto(pages, &found); err != nil {
		return "", fmt.Errorf("external network %q: read network list: %w", ref, err)
	}
	var n network
	switch len(found) {
	case 0:
		err := networks.Get(ctx, client, ref).ExtractInto(&n)
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return "", fmt.Errorf("external network %q: not found by name or ID", ref)
		} else if err != nil {
			return "", fmt.Errorf("external network %q: %w", ref, apiErr(err))
		}
	case 1:
		n = found[0]
	default:
		return "", fmt.Errorf("external network %q: the name matches %d networks; give the network's ID", ref, len(found))
	}
	if !n.External {
		return "", fmt.Errorf("external network %q: exists but is not external (router:external is false)", ref)
	}
	return n.ID, nil
}
