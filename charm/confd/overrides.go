package confd

import (
	"fmt"
	"strings"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// CheckOverrides refuses a graft that service svc, wired by default-dirs,
// would not see: it reads conf.d BEFORE magnum.conf, so any key both set
// is magnum.conf's. ours is the graft's 99-capi.conf.
func CheckOverrides(svc string, ours []byte) error {
	magnumConf, err := files.ReadFile(wiring.MagnumConf, files.MaxTextFile)
	if err != nil {
		return nil // No magnum.conf: nothing overrides.
	}
	if keys := Overridden(magnumConf, ours); len(keys) > 0 {
		return fmt.Errorf("%s sets %s, which %s reads after 99-capi.conf: remove it there or set service-wiring=default-file",
			wiring.MagnumConf, strings.Join(keys, ", "), svc)
	}
	return nil
}
