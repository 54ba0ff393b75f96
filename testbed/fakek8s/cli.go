package fakek8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/servecli"
)

// Files the serve command keeps in its state directory, besides the
// credentials.
const (
	// KubeconfigFile exists while the server accepts connections, so a
	// test bed waits for it before running the charm.
	KubeconfigFile = "kubeconfig"
	// RequestLogFile gets one line per request, for a test bed that reads
	// the box's filesystem rather than its journal.
	RequestLogFile = "requests.log"
)

const usage = `usage: fakek8s serve --state-dir DIR [flags]

Serves a fake Kubernetes management-cluster API until SIGTERM or SIGINT.
DIR/kubeconfig (mode 0600) exists while it serves. Credentials are kept in DIR
and reused on the next start. SIGUSR1 makes /readyz fail, SIGUSR2 makes it
pass again.

flags:
`

// Main runs the fakek8s command with args (without the program name) and
// returns its exit status: 0 after a clean stop, 1 on failure, 2 on a usage
// error. It serves until ctx ends.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f *flags
	if code, done := servecli.Parse("fakek8s", usage, args, stdout, stderr,
		func(output io.Writer) *pflag.FlagSet { f = serveFlags(output); return f.fs },
		func() string { return f.stateDir }); done {
		return code
	}
	if f.capo != "" {
		if f.fs.Changed("capi") {
			fmt.Fprintln(stderr, "fakek8s serve: --capo and --capi exclude each other")
			return 2
		}
		f.capi = nil
	}
	if err := serve(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "fakek8s serve: %v\n", err)
		return 1
	}
	return 0
}

type flags struct {
	fs               *pflag.FlagSet
	listen           string
	stateDir         string
	capi             []string
	capo             string
	auth             string
	deny             []string
	missingGroups    []string
	missingResources []string
	notReady         bool
	noReadyz         bool
	printKubeconfig  bool
}

func serveFlags(output io.Writer) *flags {
	f := &flags{fs: pflag.NewFlagSet("fakek8s serve", pflag.ContinueOnError)}
	f.fs.SetOutput(output)
	f.fs.Usage = func() {
		fmt.Fprint(output, usage)
		f.printTo(output)
	}
	f.fs.StringVar(&f.listen, "listen", DefaultListen, "address to listen on (port 0 picks one; the kubeconfig has the real one)")
	f.fs.StringVar(&f.stateDir, "state-dir", "", "directory for the credentials, the kubeconfig and the request log (required)")
	f.fs.StringSliceVar(&f.capi, "capi", []string{DefaultInfraVersion}, "infrastructure.cluster.x-k8s.io versions to serve: "+strings.Join(InfraVersions, ", "))
	f.fs.StringVar(&f.capo, "capo", "", "serve what this cluster-api-provider-openstack release and its Cluster API serve, e.g. v0.10 (excludes --capi)")
	f.fs.StringVar(&f.auth, "auth", string(AuthCert), "credential accepted and written to the kubeconfig: cert or token")
	f.fs.StringSliceVar(&f.deny, "deny", nil, "verb/resource pairs access reviews deny, e.g. create/namespaces,deletecollection/secrets")
	f.fs.StringSliceVar(&f.missingGroups, "missing-group", nil, "API group or group/version not to serve, e.g. addons.stackhpc.com")
	f.fs.StringSliceVar(&f.missingResources, "missing-resource", nil, "resource not to serve, as group/version/plural")
	f.fs.BoolVar(&f.notReady, "not-ready", false, "start with /readyz, /livez and /healthz answering 500")
	f.fs.BoolVar(&f.noReadyz, "no-readyz", false, "answer /readyz and /livez 404, as Kubernetes before 1.16")
	f.fs.BoolVar(&f.printKubeconfig, "print-kubeconfig", false, "also print the kubeconfig on stdout once serving")
	return f
}

func (f *flags) printTo(w io.Writer) {
	f.fs.SetOutput(w)
	f.fs.PrintDefaults()
}

func serve(ctx context.Context, f *flags, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
		return err
	}
	// A kubeconfig left by an earlier run would tell the test bed this one
	// is serving before it is.
	kubeconfigPath := filepath.Join(f.stateDir, KubeconfigFile)
	if err := os.Remove(kubeconfigPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	creds, err := LoadOrCreateCredentials(f.stateDir, time.Now())
	if err != nil {
		return err
	}
	requestLog, err := os.OpenFile(filepath.Join(f.stateDir, RequestLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer requestLog.Close()

	s, err := Start(Options{
		Listen:           f.listen,
		InfraVersions:    f.capi,
		CAPO:             f.capo,
		MissingGroups:    f.missingGroups,
		MissingResources: f.missingResources,
		Auth:             AuthMode(f.auth),
		Deny:             f.deny,
		NotReady:         f.notReady,
		NoReadyz:         f.noReadyz,
		Credentials:      creds,
		Log:              io.MultiWriter(stderr, requestLog),
	})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.WriteKubeconfig(kubeconfigPath); err != nil {
		return err
	}
	// Gone again once not serving, so the file's presence means a server
	// answers (short of SIGKILL, which the next start makes good).
	defer os.Remove(kubeconfigPath)
	infra := strings.Join(f.capi, ",")
	if f.capo != "" {
		r, _ := LookupCAPO(f.capo) // Start has checked it
		infra = r.String()
	}
	fmt.Fprintf(stderr, "fakek8s: serving %s (auth %s, infrastructure %s, deny [%s], missing [%s]), kubeconfig %s\n",
		s.URL(), s.Auth(), infra, strings.Join(f.deny, ","),
		strings.Join(append(append([]string(nil), f.missingGroups...), f.missingResources...), ","), kubeconfigPath)
	if f.printKubeconfig {
		if _, err := stdout.Write(s.Kubeconfig()); err != nil {
			return err
		}
	}

	// Readiness flips by signal so a test can take the management cluster
	// down and back while the charm keeps its kubeconfig:
	// systemctl kill -s USR1 fakek8s.
	readiness := make(chan os.Signal, 1)
	signal.Notify(readiness, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(readiness)
	for {
		select {
		case sig := <-readiness:
			s.SetReady(sig == syscall.SIGUSR2)
			fmt.Fprintf(stderr, "fakek8s: %v: ready=%v\n", sig, sig == syscall.SIGUSR2)
		case <-s.Done():
			if err := s.Err(); err != nil {
				return err
			}
			return errors.New("server stopped")
		case <-ctx.Done():
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(shutdownCtx); err != nil {
				return err
			}
			fmt.Fprintln(stderr, "fakek8s: stopped")
			return nil
		}
	}
}
