package reconcile

import (
	"cmp"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/driver"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/proxy"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Config is the part of the charm's configuration the core itself reads;
// the [capi_helm] options belong to package confd.
type Config struct {
	Raw              map[string]any
	Wiring           wiring.Mode
	KubeconfigSecret string
	DriverVersion    string
	// Driver is the driver's options (decoded and checked by the driver).
	Driver driver.Config
	// ServiceProxy gives Magnum's services the model's proxy as their
	// environment (the service-proxy option).
	ServiceProxy bool
}

// DefaultDriverVersion is the driver release the charm pins when the
// operator names none.
const DefaultDriverVersion = "1.4.0"

// options are the core options as config-get gives them, each with the
// default charmcraft.yaml gives it (Juju always passes every option; a
// test's config may not).
type options struct {
	ServiceWiring string  `json:"service-wiring"`
	DriverVersion string  `json:"driver-version"`
	Kubeconfig    *string `json:"kubeconfig"`
	ServiceProxy  *bool   `json:"service-proxy"`
}

// ParseConfig decodes the core options from config-get's output, once.
func ParseConfig(raw map[string]any) (Config, error) {
	o := options{ServiceWiring: string(wiring.Auto), DriverVersion: DefaultDriverVersion}
	c := Config{Raw: raw}
	if err := hooktool.Decode(raw, &o); err != nil {
		return c, err
	}
	m, err := wiring.ParseMode(o.ServiceWiring)
	if err != nil {
		return c, err
	}
	c.Wiring = m
	c.DriverVersion = cmp.Or(strings.TrimPrefix(o.DriverVersion, "v"), DefaultDriverVersion)
	c.ServiceProxy = o.ServiceProxy == nil || *o.ServiceProxy
	if o.Kubeconfig != nil {
		c.KubeconfigSecret = *o.Kubeconfig
	}
	c.Driver, err = driver.ParseConfig(raw, c.DriverVersion)
	return c, err
}

// ServicesProxy is the proxy Magnum's services carry in their environment:
// the model's, unless service-proxy is off (then the operator's own
// environment, which the charm does not know and leaves alone).
func (c Config) ServicesProxy(model proxy.Settings) proxy.Settings {
	if !c.ServiceProxy {
		return proxy.Settings{}
	}
	return model
}
