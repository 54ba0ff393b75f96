package redact

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://pypi.org/simple":                 "https://pypi.org/simple",
		"https://ci:tok@idx.example/simple":       "https://ci:xxxxx@idx.example/simple",
		"https://tok@idx.example/simple":          "https://xxxxx@idx.example/simple",
		"https://tok:@idx.example/simple":         "https://tok:xxxxx@idx.example/simple",
		"https://a%40b:p%2Fw@idx.example/simple/": "https://a%40b:xxxxx@idx.example/simple/",
	} {
		u, err := url.Parse(in)
		assert.NoError(t, err)
		assert.Equal(t, want, URL(u), in)
		assert.Equal(t, want, String(in), in)
		assert.Equal(t, "see "+want+" now", Text("see "+in+" now"), in)
	}
	assert.Equal(t, "", URL(nil))
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"deb https://u:p4ss@private-ppa.example/ppa/ubuntu jammy main": "deb https://u:xxxxx@private-ppa.example/ppa/ubuntu jammy main",
		`fetch "https://tok@h/x": 401; again http://v:w@h2/`:           `fetch "https://xxxxx@h/x": 401; again http://v:xxxxx@h2/`,
		"no url here: user@host":                                       "no url here: user@host",
		"ppa:canonical-openstack/magnum-capi-helm":                     "ppa:canonical-openstack/magnum-capi-helm",
		"https://h/path@v1.2":                                          "https://h/path@v1.2",
		// An unparseable URL is still redacted.
		"https://u:p%zz@h/": "https://u:xxxxx@h/",
	} {
		assert.Equal(t, want, Text(in), in)
	}
	assert.Equal(t, "https://u:xxxxx@h/", String("https://u:p%zz@h/"))
}
