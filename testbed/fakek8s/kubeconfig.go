package fakek8s

import (
	"encoding/base64"

	"gopkg.in/yaml.v3"
)

// Names in the kubeconfig the server writes, as kubeadm's admin.conf has
// them.
const (
	KubeconfigCluster = "fakek8s"
	KubeconfigUser    = "magnum"
	KubeconfigContext = KubeconfigUser + "@" + KubeconfigCluster
)

type kubeconfigDoc struct {
	APIVersion     string             `yaml:"apiVersion"`
	Kind           string             `yaml:"kind"`
	Clusters       []namedKubeCluster `yaml:"clusters"`
	Contexts       []namedKubeContext `yaml:"contexts"`
	CurrentContext string             `yaml:"current-context"`
	Users          []namedKubeUser    `yaml:"users"`
}

type namedKubeCluster struct {
	Name    string `yaml:"name"`
	Cluster struct {
		Server                   string `yaml:"server"`
		CertificateAuthorityData string `yaml:"certificate-authority-data"`
	} `yaml:"cluster"`
}

type namedKubeContext struct {
	Name    string `yaml:"name"`
	Context struct {
		Cluster string `yaml:"cluster"`
		User    string `yaml:"user"`
	} `yaml:"context"`
}

type namedKubeUser struct {
	Name string `yaml:"name"`
	User struct {
		ClientCertificateData string `yaml:"client-certificate-data,omitempty"`
		ClientKeyData         string `yaml:"client-key-data,omitempty"`
		Token                 string `yaml:"token,omitempty"`
	} `yaml:"user"`
}

// Kubeconfig returns a kubeconfig for the server, with its CA embedded and
// the credential its auth mode accepts: client-certificate-data and
// client-key-data, or token. The server is URL().
func (s *Server) Kubeconfig() []byte {
	b64 := base64.StdEncoding.EncodeToString
	var cluster namedKubeCluster
	cluster.Name = KubeconfigCluster
	cluster.Cluster.Server = s.URL()
	cluster.Cluster.CertificateAuthorityData = b64(s.creds.CACertPEM)
	var context namedKubeContext
	context.Name = KubeconfigContext
	context.Context.Cluster = KubeconfigCluster
	context.Context.User = KubeconfigUser
	var user namedKubeUser
	user.Name = KubeconfigUser
	if s.auth == AuthToken {
		user.User.Token = s.creds.Token
	} else {
		user.User.ClientCertificateData = b64(s.creds.ClientCertPEM)
		user.User.ClientKeyData = b64(s.creds.ClientKeyPEM)
	}
	out, err := yaml.Marshal(&kubeconfigDoc{
		APIVersion:     "v1",
		Kind:           "Config",
		Clusters:       []namedKubeCluster{cluster},
		Contexts:       []namedKubeContext{context},
		CurrentContext: KubeconfigContext,
		Users:          []namedKubeUser{user},
	})
	if err != nil {
		// Plain strings in fixed structs always marshal.
		panic(err)
	}
	return out
}

// WriteKubeconfig writes Kubeconfig to path, mode 0600, atomically: a test
// bed polling for the file reads all of it or nothing.
func (s *Server) WriteKubeconfig(path string) error {
	return writeFileAtomic(path, s.Kubeconfig())
}
