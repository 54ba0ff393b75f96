package fakejuju

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The fake refuses to record secret material in any output: every status,
// juju-log line, action result, action message and action-log line a tool or
// the fake uniter records goes through Update, which checks it against
// everything secret the state knows (secretMaterial). A leaking output is not
// recorded; the leak is (State.Leaks, without the secret), and the tool
// fails with ErrSecretLeak's text. In process (NewRunner, the unit tests) the
// runner panics on it, so no test can miss or swallow a leak, whatever the
// charm does with the tool's error; in the test bed the integration tests
// check State.Leaks when each box goes down. So every test that runs the
// charm against the fake is a leak test, with no code of its own.

// ErrSecretLeak is the error a tool fails with when what it was asked to
// record holds secret material.
var ErrSecretLeak = errors.New("fakejuju: secret leak")

// minSecret is the shortest string taken as secret material: shorter ones
// (a user name, "admin") would match innocent text.
const minSecret = 6

// secretMaterial lists what must never appear in an output, each with where
// it comes from (never the secret itself):
//   - Sensitive, strings a test declared secret;
//   - the password, or a lone user name, of any URL in a config value or a
//     secret's content (pip-index-url=https://user:token@...);
//   - secret content under keys that hold credentials (password, token) and,
//     in a kubeconfig (key kubeconfig or kubeconfig-base64), every user's
//     token, password, client key and client certificate.
func (s *State) secretMaterial() map[string]string {
	out := map[string]string{}
	add := func(v, from string) {
		if len(v) >= minSecret {
			if _, ok := out[v]; !ok {
				out[v] = from
			}
		}
	}
	for i, v := range s.Sensitive {
		add(v, fmt.Sprintf("sensitive[%d]", i))
	}
	for k, v := range s.Config {
		if str, ok := v.(string); ok {
			for _, c := range urlCredentials(str) {
				add(c, "config "+k+" (URL credentials)")
			}
		}
	}
	for id, sec := range s.Secrets {
		for _, rev := range sec.Revisions {
			for k, v := range rev.Content {
				from := fmt.Sprintf("secret %s revision %d key %s", id, rev.Revision, k)
				for _, c := range urlCredentials(v) {
					add(c, from+" (URL credentials)")
				}
				switch k {
				case "password", "token":
					add(v, from)
				case "kubeconfig", "kubeconfig-base64":
					doc := []byte(v)
					if k == "kubeconfig-base64" {
						if d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil {
							doc = d
						}
					}
					for field, val := range kubeconfigCredentials(doc) {
						add(val, from+" "+field)
					}
				}
			}
		}
	}
	return out
}

// urlCredentials returns the password, or the user name when there is no
// password (https://TOKEN@host), of every URL in text.
func urlCredentials(text string) []string {
	var out []string
	for _, f := range strings.Fields(text) {
		i := strings.Index(f, "://")
		if i < 0 {
			continue
		}
		start := i
		for start > 0 && strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", rune(f[start-1])) {
			start--
		}
		u, err := url.Parse(strings.TrimRight(f[start:], `"'`))
		if err != nil || u.User == nil {
			// Find userinfo by hand in what does not parse.
			rest := f[i+3:]
			at := strings.Index(rest, "@")
			if at < 0 || strings.ContainsAny(rest[:at], "/?#") {
				continue
			}
			info := rest[:at]
			if _, pw, ok := strings.Cut(info, ":"); ok {
				out = append(out, pw)
			} else {
				out = append(out, info)
			}
			continue
		}
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
		} else {
			out = append(out, u.User.Username())
		}
	}
	return out
}

// kubeconfigCredentials returns each user's credentials in a kubeconfig.
func kubeconfigCredentials(doc []byte) map[string]string {
	var cfg struct {
		Users []struct {
			Name string `yaml:"name"`
			User struct {
				Token      string `yaml:"token"`
				Password   string `yaml:"password"`
				ClientKey  string `yaml:"client-key-data"`
				ClientCert string `yaml:"client-certificate-data"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	out := map[string]string{}
	if yaml.Unmarshal(doc, &cfg) != nil {
		return out
	}
	for i, u := range cfg.Users {
		for field, v := range map[string]string{"token": u.User.Token, "password": u.User.Password,
			"client-key-data": u.User.ClientKey, "client-certificate-data": u.User.ClientCert} {
			if v == "" {
				continue
			}
			out[fmt.Sprintf("users[%d].user.%s", i, field)] = v
			if field == "client-key-data" || field == "client-certificate-data" {
				// The decoded PEM's body lines are secret too: a
				// leak may print the PEM rather than its base64.
				if pem, err := base64.StdEncoding.DecodeString(v); err == nil {
					for j, line := range strings.Split(string(pem), "\n") {
						if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
							out[fmt.Sprintf("users[%d].user.%s line %d", i, field, j)] = line
						}
					}
				}
			}
		}
	}
	return out
}

// outputs lists every text the charm made the fake record.
func (s *State) outputs() map[string]string {
	out := map[string]string{"status": s.Status.Message, "action message": s.ActionMessage}
	for i, h := range s.StatusHistory {
		out[fmt.Sprintf("status history[%d]", i)] = h.Message
	}
	if s.ApplicationStatus != nil {
		out["application status"] = s.ApplicationStatus.Message
	}
	for i, l := range s.Logs {
		out[fmt.Sprintf("juju-log[%d]", i)] = l.Message
	}
	for k, v := range s.ActionResults {
		out["action result "+k] = k + "=" + v
	}
	for i, l := range s.ActionLogs {
		out[fmt.Sprintf("action-log[%d]", i)] = l
	}
	// Relation settings the unit writes are read by every unit at the
	// other end, and by anyone who runs juju show-unit.
	for _, r := range s.Relations {
		for what, settings := range map[string]map[string]string{
			"unit settings": r.Units[s.Unit], "pending unit settings": r.PendingUnit,
			"application settings": r.Applications[s.app()], "pending application settings": r.PendingApp,
		} {
			for k, v := range settings {
				out[fmt.Sprintf("relation %s %s %s", r.FakeID(), what, k)] = k + "=" + v
			}
		}
	}
	return out
}

// leaks lists, sorted, each output that holds secret material, saying
// where and whose, never what.
func (s *State) leaks() []string {
	secrets := s.secretMaterial()
	var out []string
	for where, text := range s.outputs() {
		for secret, from := range secrets {
			if strings.Contains(text, secret) {
				out = append(out, where+" holds "+from)
			}
		}
	}
	sort.Strings(out)
	return out
}

// newLeaks is what after leaks that before did not.
func newLeaks(before, after *State) []string {
	old := map[string]bool{}
	for _, l := range before.leaks() {
		old[l] = true
	}
	var out []string
	for _, l := range after.leaks() {
		if !old[l] {
			out = append(out, l)
		}
	}
	return out
}
