// Package redact hides the credentials a URL can carry (user:password@ or
// token@) before text leaves the charm: in a log, a status, an action
// result or an error. It builds on the standard library's
// url.URL.Redacted, which the charm used on its own until a user-name-only
// URL (https://TOKEN@host/, the form some package indexes hand out) showed
// its gap: Redacted hides only a password.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a hidden credential.
const Mask = "xxxxx"

// URL is u as text with its credentials hidden: a password becomes Mask
// (url.URL.Redacted), and so does a user name given without a password.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	if u.User == nil {
		return u.String()
	}
	if _, has := u.User.Password(); has {
		return u.Redacted()
	}
	c := *u
	c.User = url.User(Mask)
	return c.String()
}

// String is URL for a URL held as text. Text that does not parse as a URL
// is redacted as free text.
func String(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Text(s)
	}
	return URL(u)
}

// userinfo finds the credentials part of any URL in free text: a scheme,
// "://", and what comes before the first "@" of the authority.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/?#\s@"'<>]*)@`)

// Text hides the credentials of every URL in free text (an apt source line,
// a program's error message, a status).
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return userinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfo.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		if user, _, ok := strings.Cut(info, ":"); ok {
			return scheme + user + ":" + Mask + "@"
		}
		return scheme + Mask + "@"
	})
}
