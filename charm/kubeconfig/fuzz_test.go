package kubeconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// secretFields are kubeconfig keys whose values (and everything under them)
// are secret or, for paths and names, are values this package never shows.
var secretFields = map[string]bool{
	"token": true, "tokenFile": true, "username": true, "password": true,
	"client-certificate-data": true, "client-key-data": true, "certificate-authority-data": true,
	"client-certificate": true, "client-key": true, "certificate-authority": true,
	"exec": true, "auth-provider": true,
}

// secretValues collects the values under secretFields anywhere in doc, and
// what their base64 decodes to, that are long enough to be recognisable. It
// also returns the server values, which messages may show (as host:port).
func secretValues(doc []byte) (out, servers []string) {
	var root yaml.Node
	if err := safeUnmarshal(doc, &root); err != nil {
		return nil, nil
	}
	add := func(s string) {
		if len(s) >= 16 {
			out = append(out, s)
		}
	}
	var collect func(n *yaml.Node)
	collect = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			add(n.Value)
			if decoded, err := decodeBase64(n.Value); err == nil {
				add(string(decoded))
				for _, line := range strings.Split(string(decoded), "\n") {
					add(line)
				}
			}
		}
		for _, c := range n.Content {
			collect(c)
		}
	}
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if secretFields[n.Content[i].Value] {
					collect(n.Content[i+1])
				}
				if n.Content[i].Value == "server" {
					servers = append(servers, n.Content[i+1].Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
		walk(n.Alias)
	}
	walk(&root)
	return out, servers
}

// sourceVocabulary is the package's own source: a "secret" that is a piece of
// a message template (the fuzzer copies bytes around, so a token can become
// "certificate-authority-data") is not a leak when a message contains it.
func sourceVocabulary(t testing.TB) string {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		b.Write(data)
	}
	return b.String()
}

// FuzzValidate feeds arbitrary documents to FromSecret and Validate: they
// must never panic, and nothing they say may repeat a secret field's value.
func FuzzValidate(f *testing.F) {
	vocabulary := sourceVocabulary(f)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Add([]byte(""))
	f.Add([]byte("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n" +
		"clusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority-data: Zm9v}}]\n" +
		"users: [{name: u, user: {token: fuzz-seed-token-abcdefghijklmnop}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var texts []string
		validate := func(doc []byte) {
			for _, driver := range []string{"1.2.1", "1.4.0"} {
				kc, r := Validate(doc, driver, now, ValidateOptions{FileExists: func(string) bool { return true }})
				if kc != nil && !r.OK() {
					t.Fatalf("Kubeconfig returned with problems %q", r.Problems)
				}
				texts = append(texts, r.BlockedStatus(), r.WarningSuffix(), fmt.Sprintf("%#v", r), fmt.Sprintf("%#v", kc), fmt.Sprintf("%+v", kc))
			}
		}
		validate(data)
		for _, key := range []string{SecretKey, SecretKeyBase64} {
			doc, err := FromSecret(map[string]string{key: string(data)})
			if err != nil {
				texts = append(texts, err.Error())
				continue
			}
			if key == SecretKeyBase64 {
				validate(doc)
			}
		}

		secrets, servers := secretValues(data)
		if decoded, err := decodeBase64(string(data)); err == nil {
			more, moreServers := secretValues(decoded)
			secrets, servers = append(secrets, more...), append(servers, moreServers...)
		}
		allowed := vocabulary + "\n" + strings.Join(servers, "\n")
		for _, secret := range secrets {
			if strings.Contains(allowed, secret) {
				continue
			}
			for _, text := range texts {
				if strings.Contains(text, secret) {
					t.Fatalf("output %q repeats secret value %q", text, secret)
				}
			}
		}
	})
}
