package outside

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/canonical/pebble/internals/osutil"
	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/servecli"
)

// Files the serve command keeps in its state directory, besides the CA.
const (
	// ConnectionFile holds the Connection (JSON). It exists while both
	// servers accept connections, so a test bed waits for it.
	ConnectionFile = "outside.json"
	// RequestsFile gets one JSON line (a ProxyRequest) per request the
	// proxy answers.
	RequestsFile = "proxy-requests.jsonl"
)

// Connection is how to use the outside world: the proxy a model's
// juju-https-proxy names, and the chart repository behind it.
type Connection struct {
	// ProxyURL is http://HOST:PORT, without credentials.
	ProxyURL string `json:"proxy-url"`
	// ProxyUser is the user the proxy wants credentials for ("" none); the
	// password is the one the serve command was given.
	ProxyUser string `json:"proxy-user,omitempty"`
	// RepoURL is the chart repository as clients name it
	// (https://charts.example).
	RepoURL string `json:"repo-url"`
	// RepoAddr is the repository's loopback listener.
	RepoAddr string `json:"repo-addr"`
	// CAFile is the CA (PEM) that signed the repository's certificate.
	CAFile string `json:"ca-file"`
	// RequestsFile is the proxy's request log.
	RequestsFile string  `json:"requests-file"`
	Charts       []Chart `json:"charts"`
}

const usage = `usage: outside serve --state-dir DIR [flags]

Serves the world outside a unit until SIGTERM or SIGINT: a forward proxy
(CONNECT and plain HTTP) and an HTTPS helm chart repository whose host name only
the proxy resolves (to the repository's loopback listener). DIR gets the CA to
trust (ca.pem; kept and reused on the next start), how to use both
(outside.json, present while serving) and the proxy's request log
(proxy-requests.jsonl: one JSON line per request, method and host:port).
SIGUSR1 makes the repository answer 503, SIGUSR2 makes it serve again.

flags:
`

// Main runs the outside command with args (without the program name) and
// returns its exit status: 0 after a clean stop, 1 on failure, 2 on a usage
// error. It serves until ctx ends.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f *flags
	if code, done := servecli.Parse("outside", usage, args, stdout, stderr,
		func(output io.Writer) *pflag.FlagSet { f = serveFlags(output); return f.fs },
		func() string { return f.stateDir }); done {
		return code
	}
	charts, err := ParseCharts(f.charts)
	if err != nil {
		fmt.Fprintf(stderr, "outside serve: %v\n", err)
		return 2
	}
	var user, password string
	if f.proxyAuth != "" {
		var ok bool
		if user, password, ok = strings.Cut(f.proxyAuth, ":"); !ok || user == "" {
			fmt.Fprintln(stderr, "outside serve: --proxy-auth: want USER:PASSWORD")
			return 2
		}
	}
	hosts := map[string]string{}
	for _, m := range f.maps {
		from, to, ok := strings.Cut(m, "=")
		if !ok || !strings.Contains(from, ":") || !strings.Contains(to, ":") {
			fmt.Fprintf(stderr, "outside serve: --map %q: want HOST:PORT=ADDR:PORT\n", m)
			return 2
		}
		hosts[strings.ToLower(from)] = to
	}
	if err := serve(ctx, f, charts, user, password, hosts, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "outside serve: %v\n", err)
		return 1
	}
	return 0
}

type flags struct {
	fs          *pflag.FlagSet
	stateDir    string
	proxyListen string
	repoListen  string
	repoHost    string
	charts      []string
	proxyAuth   string
	maps        []string
	repoDown    bool
	print       bool
}

func serveFlags(output io.Writer) *flags {
	f := &flags{fs: pflag.NewFlagSet("outside serve", pflag.ContinueOnError)}
	f.fs.SetOutput(output)
	f.fs.Usage = func() {
		fmt.Fprint(output, usage)
		f.printTo(output)
	}
	f.fs.StringVar(&f.stateDir, "state-dir", "", "directory for the CA, outside.json and the proxy's request log (required)")
	f.fs.StringVar(&f.proxyListen, "proxy-listen", DefaultProxyListen, "address the proxy listens on (port 0 picks one; outside.json has the real one)")
	f.fs.StringVar(&f.repoListen, "repo-listen", DefaultRepoListen, "loopback address the chart repository listens on")
	f.fs.StringVar(&f.repoHost, "repo-host", DefaultRepoHost, "host name of the chart repository, resolved only by the proxy")
	f.fs.StringArrayVar(&f.charts, "chart", []string{DefaultChart + "=" + strings.Join(DefaultVersions, ",")}, "chart the repository serves: NAME=VERSION[,VERSION...]; repeatable")
	f.fs.StringVar(&f.proxyAuth, "proxy-auth", "", "USER:PASSWORD the proxy requires (basic Proxy-Authorization)")
	f.fs.StringArrayVar(&f.maps, "map", nil, "more names the proxy resolves: HOST:PORT=ADDR:PORT; repeatable")
	f.fs.BoolVar(&f.repoDown, "repo-down", false, "start with the repository answering 503 (SIGUSR2 brings it up)")
	f.fs.BoolVar(&f.print, "print-connection", false, "also print outside.json on stdout once serving")
	return f
}

func (f *flags) printTo(w io.Writer) {
	f.fs.SetOutput(w)
	f.fs.PrintDefaults()
}

func serve(ctx context.Context, f *flags, charts []Chart, user, password string, hosts map[string]string, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(f.stateDir, 0o755); err != nil {
		return err
	}
	dir, err := filepath.Abs(f.stateDir)
	if err != nil {
		return err
	}
	connPath := filepath.Join(dir, ConnectionFile)
	if err := os.Remove(connPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ca, err := LoadOrCreateCA(dir, time.Now())
	if err != nil {
		return err
	}
	repo, err := StartRepo(RepoOptions{Listen: f.repoListen, Host: f.repoHost, CA: ca, Charts: charts, Log: stderr})
	if err != nil {
		return err
	}
	defer repo.Close()
	if f.repoDown {
		repo.SetStatus(http.StatusServiceUnavailable)
	}
	hosts[repo.HostPort()] = repo.Addr()
	requests := filepath.Join(dir, RequestsFile)
	proxy, err := StartProxy(ProxyOptions{Listen: f.proxyListen, Hosts: hosts, User: user, Password: password,
		RequestsFile: requests, Log: stderr})
	if err != nil {
		return err
	}
	defer proxy.Close()

	// Signals are caught before the connection file says the server is
	// up: one sent as soon as it appears must not kill the process.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	conn := Connection{ProxyURL: proxy.URL(), ProxyUser: user, RepoURL: repo.URL(), RepoAddr: repo.Addr(),
		CAFile: filepath.Join(dir, CAFile), RequestsFile: requests, Charts: charts}
	data, err := json.MarshalIndent(conn, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := osutil.AtomicWriteFile(connPath, data, 0o644, 0); err != nil {
		return err
	}
	defer os.Remove(connPath)
	fmt.Fprintf(stderr, "outside: proxy %s, chart repository %s on %s\n", proxy.URL(), repo.URL(), repo.Addr())
	if f.print {
		if _, err := stdout.Write(data); err != nil {
			return err
		}
	}

	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				repo.SetStatus(http.StatusServiceUnavailable)
				fmt.Fprintln(stderr, "outside: chart repository answers 503")
			} else {
				repo.SetStatus(0)
				fmt.Fprintln(stderr, "outside: chart repository serves")
			}
		case <-repo.Done():
			return fmt.Errorf("chart repository stopped: %v", repo.Err())
		case <-proxy.Done():
			return fmt.Errorf("proxy stopped: %v", proxy.Err())
		case <-ctx.Done():
			fmt.Fprintln(stderr, "outside: stopped")
			return nil
		}
	}
}

// ReadConnection reads a serve command's ConnectionFile.
func ReadConnection(path string) (Connection, error) {
	var c Connection
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return c, nil
}
