package apt

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.0-3": "1.2.0", "1:1.2.0-3": "1.2.0", "1.2.0": "1.2.0", "1.3.0-0ubuntu1~cloud0": "1.3.0",
		"1.2.0+dfsg-1-2": "1.2.0+dfsg-1",
	} {
		assert.Equal(t, want, UpstreamVersion(in), in)
	}
}

func TestParseCandidate(t *testing.T) {
	assert.Equal(t, "1.2.0-3", parseCandidate(`python3-magnum-capi-helm:
  Installed: (none)
  Candidate: 1.2.0-3
  Version table:
     1.2.0-3 500
        500 http://mirror.example/debian trixie/main amd64 Packages
`))
	assert.Equal(t, "", parseCandidate("python3-magnum-capi-helm:\n  Installed: (none)\n  Candidate: (none)\n"))
	assert.Equal(t, "", parseCandidate(""))
}

func TestParseSearch(t *testing.T) {
	assert.Equal(t, "helm", parseSearch("helm: /usr/bin/helm\n", "/usr/bin/helm"))
	assert.Equal(t, "a", parseSearch("a, b: /usr/bin/helm\n", "/usr/bin/helm"))
	assert.Equal(t, "", parseSearch("diversion by x from: /usr/bin/helm\n", "/usr/bin/helm"))
	assert.Equal(t, "", parseSearch("helm: /usr/bin/helm-other\n", "/usr/bin/helm"))
	assert.Equal(t, "", parseSearch("", "/usr/bin/helm"))
}
