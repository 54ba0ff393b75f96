package driver

import (
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/hooktool"
)

// options are the driver's options as config-get gives them, each with the
// default charmcraft.yaml gives it (Juju always passes every option; a
// test's config may not).
type options struct {
	Source     string `json:"driver-source"`
	IndexURL   string `json:"pip-index-url"`
	AptPackage string `json:"driver-apt-package"`
	AptSource  string `json:"driver-apt-source"`
}

// ParseConfig decodes the driver's options from config-get's output, for
// the driver version the driver-version option names. Check checks them.
func ParseConfig(raw map[string]any, version string) (Config, error) {
	o := options{Source: string(SourceAuto), IndexURL: DefaultIndexURL, AptPackage: DefaultAptPackage}
	if err := hooktool.Decode(raw, &o); err != nil {
		return Config{}, err
	}
	return Config{
		Source:     Source(strings.TrimSpace(o.Source)),
		Version:    version,
		IndexURL:   strings.TrimSpace(o.IndexURL),
		AptPackage: strings.TrimSpace(o.AptPackage),
		AptSource:  strings.TrimSpace(o.AptSource),
	}, nil
}
