package fakecloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/canonical/pebble/internals/osutil"
	"github.com/spf13/pflag"

	"github.com/magnum-capi-graft/magnum-capi-graft/testbed/servecli"
)

// Files the serve command keeps in its state directory, besides the CA.
const (
	// ConnectionFile holds the Connection (JSON, mode 0600: it has the
	// password). It exists while the server accepts connections, so a test
	// bed waits for it.
	ConnectionFile = "cloud.json"
	// RecordsFile holds the Records, rewritten after every request.
	RecordsFile = "records.json"
)

// DefaultListen is where the serve command listens unless told otherwise:
// Keystone's usual port, on loopback.
const DefaultListen = "127.0.0.1:5000"

const usage = `usage: fakecloud serve --state-dir DIR [flags]

Serves the smoke test's contract server (Keystone v3, Glance, Nova, Neutron and
Magnum, in the shapes of their API references) over HTTPS until SIGTERM or
SIGINT. DIR gets the CA to trust (ca.pem; kept and reused on the next start),
what an operator needs to call the cloud (cloud.json, present while serving)
and the records of every request (records.json). Clusters and templates live
in memory only: a restart forgets them.

flags:
`

// Main runs the fakecloud command with args (without the program name) and
// returns its exit status: 0 after a clean stop, 1 on failure, 2 on a usage
// error. It serves until ctx ends.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f *flags
	if code, done := servecli.Parse("fakecloud", usage, args, stdout, stderr,
		func(output io.Writer) *pflag.FlagSet { f = serveFlags(output); return f.fs },
		func() string { return f.stateDir }); done {
		return code
	}
	faults, err := parseFaults(f.faults)
	if err != nil {
		fmt.Fprintf(stderr, "fakecloud serve: %v\n", err)
		return 2
	}
	if err := serve(ctx, f, faults, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "fakecloud serve: %v\n", err)
		return 1
	}
	return 0
}

type flags struct {
	fs        *pflag.FlagSet
	listen    string
	advertise string
	stateDir  string
	b         Behaviour
	faults    []string
	print     bool
}

func serveFlags(output io.Writer) *flags {
	f := &flags{fs: pflag.NewFlagSet("fakecloud serve", pflag.ContinueOnError)}
	f.fs.SetOutput(output)
	f.fs.Usage = func() {
		fmt.Fprint(output, usage)
		f.printTo(output)
	}
	d := DefaultBehaviour()
	f.fs.StringVar(&f.listen, "listen", DefaultListen, "address to listen on (port 0 picks one; cloud.json has the real one)")
	f.fs.StringVar(&f.advertise, "advertise", "", "host name or IP clients reach the server by, in its URLs and certificate (default: the listen host, or 127.0.0.1)")
	f.fs.StringVar(&f.stateDir, "state-dir", "", "directory for the CA, cloud.json and records.json (required)")
	f.fs.DurationVar(&f.b.Hold, "hold", 0, "keep a created cluster CREATE_IN_PROGRESS at least this long")
	f.fs.IntVar(&f.b.PollsToFinish, "polls", d.PollsToFinish, "GETs of a created cluster that answer CREATE_IN_PROGRESS before it may finish")
	f.fs.StringVar(&f.b.Finish, "finish", d.Finish, "status a created cluster finishes in, e.g. CREATE_FAILED")
	f.fs.StringVar(&f.b.FinishReason, "finish-reason", "", "status_reason of a finished cluster")
	f.fs.IntVar(&f.b.DeletePolls, "delete-polls", d.DeletePolls, "GETs of a deleting cluster that answer DELETE_IN_PROGRESS before it is gone")
	f.fs.IntVar(&f.b.DeleteLag, "delete-lag", 0, "GETs after a DELETE that still show the cluster's old status")
	f.fs.StringVar(&f.b.DeleteFails, "delete-fails", "", "end deletes in DELETE_FAILED with this reason")
	f.fs.IntVar(&f.b.AuthStatus, "auth-status", 0, "answer every login with this HTTP status")
	f.fs.BoolVar(&f.b.EchoAuth, "echo-auth", false, "put the login's request body into a failed login's answer, as a careless proxy might")
	f.fs.BoolVar(&f.b.NoLoadBalancer, "no-load-balancer", false, "leave Octavia out of the service catalog")
	f.fs.StringArrayVar(&f.faults, "fault", nil, "fail requests: METHOD:PATH-PREFIX:CODE:COUNT[:after] (after: carry the request out, lose the answer); repeatable")
	f.fs.BoolVar(&f.print, "print-connection", false, "also print cloud.json on stdout once serving")
	return f
}

func (f *flags) printTo(w io.Writer) {
	f.fs.SetOutput(w)
	f.fs.PrintDefaults()
}

// parseFaults reads --fault values.
func parseFaults(specs []string) ([]Fault, error) {
	var out []Fault
	for _, s := range specs {
		parts := strings.Split(s, ":")
		if len(parts) < 4 || len(parts) > 5 || (len(parts) == 5 && parts[4] != "after") {
			return nil, fmt.Errorf("--fault %q: want METHOD:PATH-PREFIX:CODE:COUNT[:after]", s)
		}
		code, err := strconv.Atoi(parts[2])
		if err != nil || code < 100 || code > 599 {
			return nil, fmt.Errorf("--fault %q: %q is not an HTTP status", s, parts[2])
		}
		count, err := strconv.Atoi(parts[3])
		if err != nil || count < 1 {
			return nil, fmt.Errorf("--fault %q: count %q is not a positive number", s, parts[3])
		}
		if !strings.HasPrefix(parts[1], "/") {
			return nil, fmt.Errorf("--fault %q: the path prefix must start with /", s)
		}
		out = append(out, Fault{Method: strings.ToUpper(parts[0]), Path: parts[1], Code: code, Count: count, After: len(parts) == 5})
	}
	return out, nil
}

func serve(ctx context.Context, f *flags, faults []Fault, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
		return err
	}
	dir, err := filepath.Abs(f.stateDir)
	if err != nil {
		return err
	}
	// A connection file left by an earlier run would tell the test bed this
	// one is serving before it is.
	connPath := filepath.Join(dir, ConnectionFile)
	if err := os.Remove(connPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ca, err := LoadOrCreateCA(dir, time.Now())
	if err != nil {
		return err
	}
	c, err := Start(Options{
		Listen:      f.listen,
		Advertise:   f.advertise,
		CA:          ca,
		Behaviour:   &f.b,
		RecordsFile: filepath.Join(dir, RecordsFile),
		Log:         stderr,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, flt := range faults {
		c.Inject(flt)
	}
	conn := c.Connection()
	conn.CAFile = filepath.Join(dir, CAFile)
	data, err := json.MarshalIndent(conn, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := osutil.AtomicWriteFile(connPath, data, 0o600, 0); err != nil {
		return err
	}
	// Gone again once not serving, so the file's presence means a server
	// answers (short of SIGKILL, which the next start makes good).
	defer os.Remove(connPath)
	fmt.Fprintf(stderr, "fakecloud: serving %s (hold %s, polls %d, finish %s, faults %d), connection %s\n",
		c.URL(), f.b.Hold, f.b.PollsToFinish, f.b.Finish, len(faults), connPath)
	if f.print {
		if _, err := stdout.Write(data); err != nil {
			return err
		}
	}
	select {
	case <-c.Done():
		if err := c.Err(); err != nil {
			return err
		}
		return http.ErrServerClosed
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Shutdown(shutdownCtx); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "fakecloud: stopped")
		return nil
	}
}
