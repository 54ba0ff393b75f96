// Package confprobe proves what a running Magnum service reads: it replays
// the service's live configuration arguments (--config-file, --config-dir,
// also inside uwsgi's --pyargv) through oslo.config, in Magnum's interpreter,
// as user magnum, and reports the value each graft key resolves to. Comparing
// files on disk proves nothing about a process; this is what the process's
// own parser would see, including whether conf.d wins over magnum.conf.
package confprobe

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/ini.v1"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/command"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/wiring"
)

// script registers each asked-for key as a plain string option (the probe
// compares text, not types), parses the given arguments the way Magnum does
// (project magnum, the service's prog), and prints what each key resolved to.
const script = `
import json, sys
from oslo_config import cfg
req = json.load(sys.stdin)
conf = cfg.ConfigOpts()
for group, key in req["keys"]:
    conf.register_opt(cfg.StrOpt(key), group=group)
conf(args=req["args"], project="magnum", prog=req["prog"], validate_default_values=False)
out = {}
for group, key in req["keys"]:
    v = getattr(getattr(conf, group), key)
    out[group + "." + key] = None if v is None else str(v)
print(json.dumps({"values": out, "files": list(conf.config_file or []), "dirs": list(conf.config_dir or [])}))
`

// Result is what oslo.config resolved for one service.
type Result struct {
	Values map[string]*string `json:"values"`
	Files  []string           `json:"files"`
	Dirs   []string           `json:"dirs"`
}

// Keys lists the group.key pairs an ini file sets.
func Keys(conf []byte) ([][2]string, error) {
	f, err := ini.Load(conf)
	if err != nil {
		return nil, err
	}
	var keys [][2]string
	for _, s := range f.Sections() {
		group := s.Name()
		if group == ini.DefaultSection {
			group = "DEFAULT"
			if len(s.Keys()) == 0 {
				continue
			}
		}
		for _, k := range s.Keys() {
			keys = append(keys, [2]string{group, k.Name()})
		}
	}
	return keys, nil
}

// Probe resolves keys with a service's live command line, as user.
func Probe(ctx context.Context, python, user string, cmdline []string, keys [][2]string) (*Result, error) {
	args, prog := wiring.ConfigArgs(cmdline)
	req, err := json.Marshal(map[string]any{"args": nonNil(args), "prog": prog, "keys": keys})
	if err != nil {
		return nil, err
	}
	out, err := command.Output(ctx, command.Cmd{
		Argv: []string{python, "-B", "-c", script},
		User: user, Dir: "/", Stdin: req, Timeout: 30 * time.Second,
		Env: []string{"PATH=/sbin:/usr/sbin:/bin:/usr/bin", "HOME=/var/lib/" + user, "LANG=C.UTF-8"},
	})
	if err != nil {
		return nil, fmt.Errorf("oslo.config probe as %s: %w", user, err)
	}
	var res Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("oslo.config probe: unreadable output")
	}
	return &res, nil
}

// Mismatches compares what the probe resolved with what conf sets.
func Mismatches(conf []byte, res *Result) ([]string, error) {
	f, err := ini.Load(conf)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, s := range f.Sections() {
		group := s.Name()
		if group == ini.DefaultSection {
			group = "DEFAULT"
		}
		for _, k := range s.Keys() {
			name := group + "." + k.Name()
			got := res.Values[name]
			if got == nil {
				bad = append(bad, name+" unset")
			} else if *got != k.Value() {
				bad = append(bad, name+" resolves to another value")
			}
		}
	}
	return bad, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
