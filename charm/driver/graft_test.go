package driver

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckCandidate(t *testing.T) {
	assert.NoError(t, checkCandidate("p", "1.2.0-3", "", "1.2.0"))
	assert.ErrorContains(t, checkCandidate("p", "", "", "1.2.0"), "apt has no candidate for p")
	assert.ErrorContains(t, checkCandidate("p", "1.2.0-3", "1.1.0-1", "1.4.0"),
		"apt would install p 1.2.0-3 (1.1.0-1 is installed), but driver-version is 1.4.0: set driver-version=1.2.0")
}
