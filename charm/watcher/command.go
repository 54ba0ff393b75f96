package watcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"

	"github.com/spf13/pflag"
)

// jujuUnitRE is a Juju unit name: application name, slash, number.
var jujuUnitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*/[0-9]+$`) })

// ParseFlags turns the arguments after `watch` into a Config:
//
//	--unit U --watch-list P [--debounce 500ms] [--min-interval 30s]
//	[--juju-exec PATH] [--trigger-timeout 24h]
//
// Usage errors are printed to stderr; --help prints the usage to stdout and
// returns pflag.ErrHelp.
func ParseFlags(args []string, stdout, stderr io.Writer) (Config, error) {
	var cfg Config
	fs := pflag.NewFlagSet("magnum-capi-graft watch", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Unit, "unit", "", "Juju unit whose update-status hook re-grafts (required)")
	fs.StringVar(&cfg.WatchList, "watch-list", "", "absolute path of the watch list the charm saves (required)")
	fs.DurationVar(&cfg.Debounce, "debounce", DefaultDebounce, "quiet time after the last change before a re-graft")
	fs.DurationVar(&cfg.MinInterval, "min-interval", DefaultMinInterval, "least time between two re-grafts")
	fs.StringVar(&cfg.JujuExec, "juju-exec", "", "juju-exec binary (default: PATH, then "+DefaultJujuExec+")")
	fs.DurationVar(&cfg.TriggerTimeout, "trigger-timeout", DefaultTriggerTimeout, "time limit for one re-graft, its wait for the unit agent included")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: magnum-capi-graft watch --unit UNIT --watch-list PATH [flags]\n\n"+
			"Watch the graft's files, Magnum's services and packages, and run the charm's\n"+
			"update-status hook through juju-exec when they change.\n\n")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return cfg, err
	}
	switch {
	case err != nil:
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case !jujuUnitRE().MatchString(cfg.Unit):
		err = fmt.Errorf("--unit %q is not a Juju unit name (like magnum-capi-graft/0)", cfg.Unit)
	case !filepath.IsAbs(cfg.WatchList):
		err = fmt.Errorf("--watch-list %q must be an absolute path", cfg.WatchList)
	case cfg.Debounce <= 0 || cfg.MinInterval <= 0 || cfg.TriggerTimeout <= 0:
		err = errors.New("--debounce, --min-interval and --trigger-timeout must be positive")
	case cfg.JujuExec != "" && !filepath.IsAbs(cfg.JujuExec):
		err = fmt.Errorf("--juju-exec %q must be an absolute path", cfg.JujuExec)
	}
	if err != nil {
		fmt.Fprintf(stderr, "magnum-capi-graft watch: %v\n", err)
		return cfg, err
	}
	return cfg, nil
}

// Command is the `magnum-capi-graft watch` verb: args are the arguments
// after "watch". It runs until SIGTERM or SIGINT and returns the exit code:
// 0 when stopped, 1 when the watcher failed (systemd restarts it), 2 on
// usage errors.
func Command(args []string, stdout, stderr io.Writer) int {
	cfg, err := ParseFlags(args, stdout, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	cfg.Stderr = stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "magnum-capi-graft watch: %v\n", err)
		return 1
	}
	return 0
}
