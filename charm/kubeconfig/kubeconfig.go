// Package kubeconfig reads the management-cluster kubeconfig from its Juju
// secret, checks it against what the magnum-capi-helm driver release can use,
// and preflights it from the unit against the live management cluster.
//
// The kubeconfig holds the keys to the management cluster, so nothing this
// package returns (errors, status texts, check evidence, or a formatted
// Kubeconfig) carries its content: messages name fields and problems, never
// values. The one value shown is the API server's host:port, which operators
// need to recognise and which is not a credential.
package kubeconfig

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
)

// Keys of the Juju secret's content that may hold the kubeconfig.
const (
	// SecretKey holds the kubeconfig YAML as it is.
	SecretKey = "kubeconfig"
	// SecretKeyBase64 holds it base64-encoded, for operators whose tooling
	// mangles multi-line values.
	SecretKeyBase64 = "kubeconfig-base64"
)

// MaxSize bounds the kubeconfig document. Real ones are a few kilobytes; the
// bound keeps a wrong secret from costing the hook its memory or time.
const MaxSize = 1 << 20

// ExpiryWarning is how long before a client certificate expires the report
// starts warning. k3s and kubeadm issue one-year client certificates, so an
// operator gets a month to rotate one.
const ExpiryWarning = 30 * 24 * time.Hour

// FromSecret returns the kubeconfig document from a Juju secret's content.
// Errors name the keys involved and never include their values.
func FromSecret(content map[string]string) ([]byte, error) {
	raw := strings.TrimSpace(content[SecretKey])
	encoded := strings.TrimSpace(content[SecretKeyBase64])
	switch {
	case raw != "" && encoded != "":
		// Picking one silently would leave the operator editing the key
		// the charm ignores.
		return nil, fmt.Errorf("kubeconfig secret: set only one of %q and %q", SecretKey, SecretKeyBase64)
	case raw != "":
		if len(raw) > MaxSize {
			return nil, fmt.Errorf("kubeconfig secret: %q is larger than %d bytes", SecretKey, MaxSize)
		}
		return []byte(raw), nil
	case encoded != "":
		if len(encoded) > base64.StdEncoding.EncodedLen(MaxSize)+MaxSize/64 {
			return nil, fmt.Errorf("kubeconfig secret: %q is larger than %d bytes", SecretKeyBase64, MaxSize)
		}
		data, err := decodeBase64(encoded)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig secret: %q is not valid base64: %w", SecretKeyBase64, err)
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			return nil, fmt.Errorf("kubeconfig secret: %q decodes to nothing", SecretKeyBase64)
		}
		if len(data) > MaxSize {
			return nil, fmt.Errorf("kubeconfig secret: %q is larger than %d bytes", SecretKeyBase64, MaxSize)
		}
		return data, nil
	}
	for _, key := range []string{SecretKey, SecretKeyBase64} {
		if _, ok := content[key]; ok {
			return nil, fmt.Errorf("kubeconfig secret: %q is empty", key)
		}
	}
	return nil, fmt.Errorf("kubeconfig secret: no %q or %q key", SecretKey, SecretKeyBase64)
}

// decodeBase64 accepts standard base64 with or without padding, with line
// breaks anywhere: pasted values are often wrapped. Its errors are base64's
// own, which give only a byte offset.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	if data, err := base64.StdEncoding.DecodeString(s); err == nil {
		return data, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// AuthMethod is how the kubeconfig's user authenticates.
type AuthMethod string

const (
	AuthClientCertificate AuthMethod = "client-certificate"
	AuthBearerToken       AuthMethod = "bearer-token"
)

// Kubeconfig is a validated kubeconfig: the current context's cluster and
// user, reduced to what the driver uses.
//
// The credentials are unexported, and Kubeconfig formats itself (with any
// fmt verb) as a one-line summary, so logging one cannot leak them.
type Kubeconfig struct {
	// Server is the API server URL.
	Server *url.URL
	// TLSServerName, when set, overrides the name the server certificate is
	// checked against.
	TLSServerName string
	// Auth is the authentication method the driver will use.
	Auth AuthMethod
	// CAFile is the certificate-authority path on the unit, when the CA is
	// not embedded as certificate-authority-data.
	CAFile string
	// ClientCertNotAfter is when the client certificate expires; zero for
	// bearer-token auth.
	ClientCertNotAfter time.Time

	caPEM      []byte
	clientCert *tls.Certificate
	token      string
}

// Address returns the API server's host:port, with the https default port
// filled in.
func (k *Kubeconfig) Address() string {
	if k == nil || k.Server == nil {
		return ""
	}
	port := k.Server.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(k.Server.Hostname(), port)
}

// String summarises k without credentials.
func (k Kubeconfig) String() string {
	return fmt.Sprintf("kubeconfig for https://%s (%s auth)", k.Address(), k.Auth)
}

// Format writes the String summary for every verb, including %#v and %+v,
// which would otherwise print the unexported credential fields.
func (k Kubeconfig) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, k.String())
}

// ValidateOptions adjusts Validate to its environment.
type ValidateOptions struct {
	// FileExists reports whether a path exists on the unit. Nil checks the
	// real filesystem.
	FileExists func(path string) bool
}

// rawConfig is the part of a kubeconfig document this package reads. Fields
// the driver would refuse are read only to say so.
type rawConfig struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string     `yaml:"name"`
		Cluster rawCluster `yaml:"cluster"`
	} `yaml:"clusters"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	Users []struct {
		Name string  `yaml:"name"`
		User rawUser `yaml:"user"`
	} `yaml:"users"`
}

type rawCluster struct {
	Server                string `yaml:"server"`
	CertificateAuthority  string `yaml:"certificate-authority"`
	CertificateAuthData   string `yaml:"certificate-authority-data"`
	InsecureSkipTLSVerify bool   `yaml:"insecure-skip-tls-verify"`
	TLSServerName         string `yaml:"tls-server-name"`
}

type rawUser struct {
	ClientCertificate     string    `yaml:"client-certificate"`
	ClientCertificateData string    `yaml:"client-certificate-data"`
	ClientKey             string    `yaml:"client-key"`
	ClientKeyData         string    `yaml:"client-key-data"`
	Token                 string    `yaml:"token"`
	TokenFile             string    `yaml:"tokenFile"`
	Username              string    `yaml:"username"`
	Password              string    `yaml:"password"`
	Exec                  yaml.Node `yaml:"exec"`
	AuthProvider          yaml.Node `yaml:"auth-provider"`
}

// Check names Validate reports, in order.
const (
	checkParse      = "kubeconfig-parse"
	checkContext    = "kubeconfig-context"
	checkServer     = "kubeconfig-server"
	checkCA         = "kubeconfig-ca"
	checkAuth       = "kubeconfig-auth"
	checkClientCert = "kubeconfig-client-certificate"
)

// Validate checks a kubeconfig document against what the given driver
// release can use, as of now, without touching the network.
//
// The Kubeconfig is nil whenever the report has problems, so a caller cannot
// go on to use credentials that were found wanting.
func Validate(data []byte, driverVersion string, now time.Time, opts ValidateOptions) (*Kubeconfig, Report) {
	var r Report
	caProblem := func(path string) string {
		if opts.FileExists != nil {
			if !opts.FileExists(path) {
				return "kubeconfig: certificate-authority file does not exist on the unit"
			}
			return ""
		}
		return caFileProblem(path)
	}

	cfg, problem := parse(data)
	if problem != "" {
		r.fail(checkParse, problem)
		return nil, r
	}
	r.pass(checkParse, "YAML document parsed")

	cluster, user, problem := resolveContext(cfg)
	if problem != "" {
		r.fail(checkContext, problem)
		return nil, r
	}
	r.pass(checkContext, "current-context resolves to a cluster and a user")

	kc := &Kubeconfig{TLSServerName: cluster.TLSServerName}
	if server, problem := checkServerURL(cluster.Server); problem != "" {
		r.fail(checkServer, problem)
	} else {
		kc.Server = server
		r.pass(checkServer, "https://"+kc.Address())
	}

	checkAuthority(&r, kc, cluster, caProblem)
	if checkUser(&r, kc, user, driverVersion) {
		checkClientCertificate(&r, kc, user, now)
	}

	if !r.OK() {
		return nil, r
	}
	return kc, r
}

// yamlLine finds the line number in a YAML error. Only the number is kept:
// yaml.v3 quotes the offending value in type errors, and that value may be a
// key.
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

func parse(data []byte) (cfg *rawConfig, problem string) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, "kubeconfig: document is empty"
	}
	if len(data) > MaxSize {
		return nil, fmt.Sprintf("kubeconfig: document is larger than %d bytes", MaxSize)
	}
	cfg = &rawConfig{}
	err := safeUnmarshal(data, cfg)
	if err == nil {
		return cfg, ""
	}
	where := ""
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		where = " (line " + m[1] + ")"
	}
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		return nil, "kubeconfig: not a kubeconfig document" + where
	}
	return nil, "kubeconfig: not valid YAML" + where
}

// safeUnmarshal turns a panic in the YAML parser into an error. The document
// comes from an operator, and a hook that panics says nothing useful.
func safeUnmarshal(data []byte, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("yaml parser failed")
		}
	}()
	return yaml.Unmarshal(data, v)
}

// resolveContext follows current-context to its cluster and user the way the
// driver does: the first entry with a matching name wins.
func resolveContext(cfg *rawConfig) (*rawCluster, *rawUser, string) {
	if cfg.CurrentContext == "" {
		return nil, nil, "kubeconfig: current-context is not set"
	}
	ctxIndex := -1
	for i, c := range cfg.Contexts {
		if c.Name == cfg.CurrentContext {
			ctxIndex = i
			break
		}
	}
	if ctxIndex < 0 {
		return nil, nil, "kubeconfig: current-context names no context in contexts"
	}
	ctx := cfg.Contexts[ctxIndex].Context
	var cluster *rawCluster
	for i, c := range cfg.Clusters {
		if ctx.Cluster != "" && c.Name == ctx.Cluster {
			cluster = &cfg.Clusters[i].Cluster
			break
		}
	}
	if cluster == nil {
		return nil, nil, "kubeconfig: current context's cluster is not in clusters"
	}
	var user *rawUser
	for i, u := range cfg.Users {
		if ctx.User != "" && u.Name == ctx.User {
			user = &cfg.Users[i].User
			break
		}
	}
	if user == nil {
		return nil, nil, "kubeconfig: current context's user is not in users"
	}
	return cluster, user, ""
}

func checkServerURL(server string) (*url.URL, string) {
	if strings.TrimSpace(server) == "" {
		return nil, "kubeconfig: cluster has no server URL"
	}
	// url.Parse's errors quote the URL, which may carry credentials, so
	// they are not passed on.
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil {
		return nil, "kubeconfig: cluster server is not a valid URL"
	}
	if u.Scheme != "https" {
		return nil, "kubeconfig: cluster server URL must use https"
	}
	if u.User != nil {
		return nil, "kubeconfig: cluster server URL must not carry credentials"
	}
	if u.Hostname() == "" {
		return nil, "kubeconfig: cluster server URL has no host"
	}
	// The driver appends API paths to the server with any trailing slash
	// removed; doing the same keeps a path prefix (a proxy in front of the
	// API server) working identically.
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, ""
}

func checkAuthority(r *Report, kc *Kubeconfig, cluster *rawCluster, caFileProblem func(string) string) {
	if cluster.InsecureSkipTLSVerify {
		// The driver never reads it and verifies the server anyway.
		r.warn("kubeconfig: insecure-skip-tls-verify is ignored by the driver")
	}
	switch {
	case cluster.CertificateAuthData != "":
		der, err := decodeBase64(cluster.CertificateAuthData)
		if err != nil {
			r.fail(checkCA, "kubeconfig: certificate-authority-data is not valid base64")
			return
		}
		n := len(certificates(der))
		if n == 0 {
			r.fail(checkCA, "kubeconfig: certificate-authority-data holds no PEM certificate")
			return
		}
		kc.caPEM = der
		r.pass(checkCA, fmt.Sprintf("certificate-authority-data holds %d certificate(s)", n))
	case cluster.CertificateAuthority != "":
		if problem := caFileProblem(cluster.CertificateAuthority); problem != "" {
			r.fail(checkCA, problem)
			return
		}
		kc.CAFile = cluster.CertificateAuthority
		r.pass(checkCA, "certificate-authority file exists on the unit")
	default:
		r.fail(checkCA, "kubeconfig: cluster has no certificate-authority-data or certificate-authority")
	}
}

// certificates are the PEM certificates in data that parse, in order.
func certificates(data []byte) []*x509.Certificate {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return certs
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			certs = append(certs, cert)
		}
	}
}

// checkUser picks the auth method the driver release would use and reports
// whether a client certificate remains to be checked.
func checkUser(r *Report, kc *Kubeconfig, user *rawUser, driverVersion string) bool {
	var problems []string
	// Plugins and indirections the driver never reads: each would leave it
	// without credentials (or with different ones than helm uses).
	if present(user.Exec) {
		problems = append(problems, "kubeconfig: exec plugins are not supported by the driver")
	}
	if present(user.AuthProvider) {
		problems = append(problems, "kubeconfig: auth-provider plugins are not supported by the driver")
	}
	if user.TokenFile != "" {
		problems = append(problems, "kubeconfig: tokenFile is not supported by the driver")
	}
	if user.Username != "" || user.Password != "" {
		problems = append(problems, "kubeconfig: username/password auth is not supported by the driver")
	}
	if user.ClientCertificate != "" || user.ClientKey != "" {
		// The driver can read these paths, but the charm delivers the
		// kubeconfig from a secret and cannot check or keep files it did
		// not write.
		problems = append(problems, "kubeconfig: client-certificate and client-key files are not supported, embed client-certificate-data and client-key-data")
	}

	hasCert, hasKey := user.ClientCertificateData != "", user.ClientKeyData != ""
	switch {
	case hasCert && hasKey:
		kc.Auth = AuthClientCertificate
	case hasCert:
		problems = append(problems, "kubeconfig: client-certificate-data has no client-key-data")
	case hasKey:
		problems = append(problems, "kubeconfig: client-key-data has no client-certificate-data")
	case user.Token != "":
		kc.Auth = AuthBearerToken
		v, err := parseVersion(driverVersion)
		switch {
		case err != nil:
			problems = append(problems, badDriverVersion)
		case v.less(tokenAuthSince):
			// v is digits and dots only, so it is safe to show.
			problems = append(problems, fmt.Sprintf("kubeconfig: bearer token auth needs driver-version >= 1.3.0 (have %s)", versionString(v)))
		}
		if !validHeaderValue(user.Token) {
			problems = append(problems, "kubeconfig: token has characters not allowed in an HTTP header")
		}
		kc.token = user.Token
	case len(problems) == 0:
		problems = append(problems, "kubeconfig: user has no client certificate or token")
	}

	if len(problems) > 0 {
		kc.Auth = ""
		r.failAll(checkAuth, problems)
		return false
	}
	r.pass(checkAuth, string(kc.Auth)+" auth")
	return kc.Auth == AuthClientCertificate
}

// present reports whether a YAML field was given a non-null value.
func present(n yaml.Node) bool {
	return n.Kind != 0 && !(n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func versionString(v version) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ".")
}

// validHeaderValue reports whether a token can go in an Authorization header
// as is: visible ASCII only.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func checkClientCertificate(r *Report, kc *Kubeconfig, user *rawUser, now time.Time) {
	certPEM, err := decodeBase64(user.ClientCertificateData)
	if err != nil {
		r.fail(checkClientCert, "kubeconfig: client-certificate-data is not valid base64")
		return
	}
	keyPEM, err := decodeBase64(user.ClientKeyData)
	if err != nil {
		r.fail(checkClientCert, "kubeconfig: client-key-data is not valid base64")
		return
	}
	leaf := firstCertificate(certPEM)
	if leaf == nil {
		r.fail(checkClientCert, "kubeconfig: client-certificate-data holds no PEM certificate")
		return
	}
	if !hasPrivateKey(keyPEM) {
		r.fail(checkClientCert, "kubeconfig: client-key-data holds no usable PEM private key")
		return
	}
	// tls.X509KeyPair's errors are fixed texts, but the check only needs to
	// know that it failed: both halves parse, so they do not match.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		r.fail(checkClientCert, "kubeconfig: client certificate and key do not match")
		return
	}
	switch {
	case now.After(leaf.NotAfter):
		r.fail(checkClientCert, "kubeconfig: client certificate expired "+leaf.NotAfter.UTC().Format(time.DateOnly))
		return
	case now.Before(leaf.NotBefore):
		r.fail(checkClientCert, "kubeconfig: client certificate not valid until "+leaf.NotBefore.UTC().Format("2006-01-02 15:04 UTC"))
		return
	}
	kc.clientCert = &pair
	kc.ClientCertNotAfter = leaf.NotAfter
	evidence := "client certificate and key match, valid until " + leaf.NotAfter.UTC().Format(time.DateOnly)
	if left := leaf.NotAfter.Sub(now); left < ExpiryWarning {
		warning := "kubeconfig: client certificate expires " + inDays(left)
		r.warn(warning)
		evidence += "; " + warning
	}
	r.pass(checkClientCert, evidence)
}

// CertTextChanges is the next moment after now at which what validation
// says of the client certificate changes: the expiry warning begins, its
// count of days goes down by one, or the certificate expires. It is zero
// when the kubeconfig has no client certificate. A glance at a converged
// unit (charm/glance) may not outlive it.
func (kc *Kubeconfig) CertTextChanges(now time.Time) time.Time {
	if kc == nil || kc.ClientCertNotAfter.IsZero() {
		return time.Time{}
	}
	end := kc.ClientCertNotAfter
	if warn := end.Add(-ExpiryWarning); now.Before(warn) {
		return warn
	}
	if !now.Before(end) {
		return time.Time{}
	}
	// inDays counts whole days left: the count drops when the time left
	// reaches that many days exactly.
	days := end.Sub(now) / (24 * time.Hour)
	return end.Add(-days * 24 * time.Hour)
}

func inDays(d time.Duration) string {
	switch days := int(d / (24 * time.Hour)); days {
	case 0:
		return "in less than a day"
	case 1:
		return "in 1 day"
	default:
		return fmt.Sprintf("in %d days", days)
	}
}

// firstCertificate returns the first PEM certificate that parses.
func firstCertificate(data []byte) *x509.Certificate {
	if certs := certificates(data); len(certs) > 0 {
		return certs[0]
	}
	return nil
}

// hasPrivateKey reports whether data holds a PEM private key in a form
// crypto/tls reads (PKCS #1, SEC 1 or PKCS #8), so that a key that merely
// fails to parse is not reported as a mismatch.
func hasPrivateKey(data []byte) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			return true
		}
		if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return true
		}
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return true
		}
	}
}

// maxCAFile bounds a certificate-authority file read from the unit: a
// bundle of every public CA is about 200 KiB.
const maxCAFile = 1 << 20

// caFileProblem checks the certificate-authority file a kubeconfig names
// on the unit: it must be a regular file (a FIFO would block the hook that
// reads it, /dev/zero would never end). Preflight reads it, through
// files.ReadFile, which checks the same again on the file it opens.
func caFileProblem(path string) string {
	// Even a stat is done by the bounded reader: on a hung filesystem a
	// plain os.Stat would never return.
	_, problem := readCAFile(path)
	return problem
}

const (
	problemCANotRegular = "kubeconfig: certificate-authority is not a regular file on the unit"
	problemCATooLarge   = "kubeconfig: certificate-authority file is larger than 1 MiB"
)

// readCAFile reads the certificate-authority file for preflight.
func readCAFile(path string) ([]byte, string) {
	data, err := files.ReadFile(path, maxCAFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "kubeconfig: certificate-authority file does not exist on the unit"
	case errors.Is(err, files.ErrNotRegular):
		return nil, problemCANotRegular
	case errors.Is(err, files.ErrTooLarge):
		return nil, problemCATooLarge
	case err != nil:
		return nil, "kubeconfig: cannot read the certificate-authority file on the unit"
	}
	return data, ""
}
