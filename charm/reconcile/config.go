package reconcile

import (
	"fmt"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/driver"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// Config is the part of the charm's configuration the core itself reads;
// the [capi_helm] options belong to package confd.
type Config struct {
	Raw              map[string]any
	Wiring           wiring.Mode
	KubeconfigSecret string
	DriverVersion    string
	// Driver is the driver's options (checked by the driver, in Desire).
	Driver driver.Config
}

// DefaultDriverVersion is the driver release the charm pins when the
// operator names none.
const DefaultDriverVersion = "1.4.0"

// ParseConfig reads the core options from config-get's output.
func ParseConfig(raw map[string]any) (Config, error) {
	c := Config{Raw: raw, Wiring: wiring.Auto, DriverVersion: DefaultDriverVersion}
	if v, ok := raw["service-wiring"]; ok {
		s, _ := v.(string)
		m, err := wiring.ParseMode(s)
		if err != nil {
			return c, err
		}
		c.Wiring = m
	}
	if v, ok := raw["driver-version"].(string); ok && v != "" {
		c.DriverVersion = strings.TrimPrefix(v, "v")
	}
	if v, ok := raw["kubeconfig"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return c, fmt.Errorf("kubeconfig must be a secret URI")
		}
		c.KubeconfigSecret = s
	}
	str := func(key, def string) string {
		if s, ok := raw[key].(string); ok {
			return strings.TrimSpace(s)
		}
		return def
	}
	c.Driver = driver.Config{
		Source:     driver.Source(str("driver-source", string(driver.SourceAuto))),
		Version:    c.DriverVersion,
		IndexURL:   str("pip-index-url", driver.DefaultIndexURL),
		AptPackage: str("driver-apt-package", driver.DefaultAptPackage),
		AptSource:  str("driver-apt-source", ""),
	}
	return c, nil
}
