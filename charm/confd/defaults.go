package confd

// driverDefaults are the driver's own values of the options the charm's
// checks on the unit depend on when the charm leaves them unset, by driver
// release. Read from magnum_capi_helm/conf.py at tags 1.2.0, 1.2.1, 1.3.0 and
// 1.4.0 of openstack/magnum-capi-helm (and Debian's python3-magnum-capi-helm
// 1.2.0-3): the same in all four.
var driverDefaults = map[string]map[string]string{
	"1.2.0": chartDefaults,
	"1.2.1": chartDefaults,
	"1.3.0": chartDefaults,
	"1.4.0": chartDefaults,
}

var chartDefaults = map[string]string{
	"helm-chart-repo":            "https://azimuth-cloud.github.io/capi-helm-charts",
	"helm-chart-name":            "openstack-cluster",
	"default-helm-chart-version": "0.10.1",
}

// DriverDefault returns the value driver release v uses for the charm
// option name when the charm leaves it unset, and whether the catalogue
// knows it.
func DriverDefault(name, v string) (string, bool) {
	value, ok := driverDefaults[v][name]
	return value, ok
}
