package wiring

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magnum-capi-graft/magnum-capi-graft/charm/files"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/systemd"
	"github.com/magnum-capi-graft/magnum-capi-graft/charm/unitshape"
)

const (
	conductorBlock = "# BEGIN magnum-capi-graft: make magnum-conductor read /etc/magnum/magnum.conf.d (removed with the charm)\n" +
		`DAEMON_ARGS="${DAEMON_ARGS} --config-dir=/etc/magnum/magnum.conf.d"` + "\n" +
		"# END magnum-capi-graft\n"
	apiBlock = "# BEGIN magnum-capi-graft: make magnum-api read /etc/magnum/magnum.conf.d (removed with the charm)\n" +
		`PYARGV="${PYARGV:+$PYARGV }--config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d"` + "\n" +
		"# END magnum-capi-graft\n"
)

// sandbox points /etc/default and /etc/systemd/system into a temporary
// directory for one test.
func sandbox(t *testing.T) (defDir, sysDir string) {
	t.Helper()
	root := t.TempDir()
	defDir, sysDir = filepath.Join(root, "etc/default"), filepath.Join(root, "etc/systemd/system")
	require.NoError(t, os.MkdirAll(defDir, 0o755))
	require.NoError(t, os.MkdirAll(sysDir, 0o755))
	oldDef, oldSys := defaultDir, unitDir
	defaultDir, unitDir = defDir, sysDir
	t.Cleanup(func() { defaultDir, unitDir = oldDef, oldSys })
	return defDir, sysDir
}

func never(string) bool  { return false }
func always(string) bool { return true }

func initScriptSvc() *unitshape.Service {
	return &unitshape.Service{
		Name:        "magnum-conductor",
		Unit:        systemd.Unit{Name: "magnum-conductor.service", LoadState: "loaded", FragmentPath: "/lib/systemd/system/magnum-conductor.service", ExecStart: []string{"/etc/init.d/magnum-conductor", "systemd-start"}},
		Shape:       unitshape.InitScript,
		InitScript:  "/etc/init.d/magnum-conductor",
		DefaultFile: "/etc/default/magnum-conductor",
		PyArgv:      true,
		Daemon:      "/usr/bin/magnum-conductor",
	}
}

func uwsgiSvc() *unitshape.Service {
	return &unitshape.Service{
		Name:        "magnum-api",
		Unit:        systemd.Unit{Name: "magnum-api.service", LoadState: "loaded", FragmentPath: "/lib/systemd/system/magnum-api.service", ExecStart: []string{"/etc/init.d/magnum-api", "systemd-start"}},
		Shape:       unitshape.InitScriptUWSGI,
		InitScript:  "/etc/init.d/magnum-api",
		DefaultFile: "/etc/default/magnum-api",
		PyArgv:      true,
		Daemon:      "uwsgi",
	}
}

// directSvc is an Ubuntu-style unit running the binary itself, with its
// unit file (and any drop-ins) written under dir.
func directSvc(t *testing.T, dir string, dropIns map[string]string) *unitshape.Service {
	t.Helper()
	frag := filepath.Join(dir, "lib/systemd/system/magnum-api.service")
	writeFile(t, frag, "[Unit]\nDescription=OpenStack Magnum API\n\n[Service]\nUser=magnum\n"+
		"ExecStart=/usr/bin/magnum-api --config-file=/etc/magnum/magnum.conf --log-file=/var/log/magnum/magnum-api.log\n"+
		"Restart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n", 0o644)
	svc := &unitshape.Service{
		Name:   "magnum-api",
		Unit:   systemd.Unit{Name: "magnum-api.service", LoadState: "loaded", FragmentPath: frag, ExecStart: []string{"/usr/bin/magnum-api", "--config-file=/etc/magnum/magnum.conf", "--log-file=/var/log/magnum/magnum-api.log"}},
		Shape:  unitshape.Direct,
		Daemon: "/usr/bin/magnum-api",
	}
	names := make([]string, 0, len(dropIns))
	for name := range dropIns {
		names = append(names, name)
	}
	// systemd orders drop-ins by file name.
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, "etc/systemd/system/magnum-api.service.d", name)
		writeFile(t, p, dropIns[name], 0o644)
		svc.DropInPaths = append(svc.DropInPaths, p)
	}
	return svc
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode))
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"auto", "default-file", "systemd-override", "none"} {
		m, err := ParseMode(s)
		require.NoError(t, err)
		assert.Equal(t, Mode(s), m)
	}
	_, err := ParseMode("override")
	assert.EqualError(t, err, `service-wiring "override" is not one of auto, default-file, systemd-override, none`)
}

func TestStripBlock(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"nil", "", ""},
		{"absent", "USE_SYSLOG=yes\n", "USE_SYSLOG=yes\n"},
		{"only the block", conductorBlock, ""},
		{"at end", "USE_SYSLOG=yes\n" + conductorBlock, "USE_SYSLOG=yes\n"},
		{"in the middle", "USE_SYSLOG=yes\n" + conductorBlock + "USE_LOGFILE=no\n", "USE_SYSLOG=yes\nUSE_LOGFILE=no\n"},
		{"no trailing newline after END", "USE_SYSLOG=yes\n" + strings.TrimSuffix(conductorBlock, "\n"), "USE_SYSLOG=yes\n"},
		{"no trailing newline before BEGIN", "USE_SYSLOG=yes" + conductorBlock, "USE_SYSLOG=yes"},
		{"no trailing newline, no block", "USE_SYSLOG=yes", "USE_SYSLOG=yes"},
		{"BEGIN without END is left alone", "A=1\n# BEGIN magnum-capi-graft: x\nB=2\n", "A=1\n# BEGIN magnum-capi-graft: x\nB=2\n"},
		{"uwsgi block", "PYARGV=--debug\n" + apiBlock, "PYARGV=--debug\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in []byte
			if tc.name != "nil" {
				in = []byte(tc.in)
			}
			once := StripBlock(in)
			assert.Equal(t, tc.want, string(once))
			assert.Equal(t, string(once), string(StripBlock(once)), "a second strip changes nothing")
		})
	}
	assert.Nil(t, StripBlock(nil), "no file stays no file")
	assert.NotNil(t, StripBlock([]byte{}), "an empty file stays an empty file")
}

func TestBlockShapes(t *testing.T) {
	assert.Equal(t, conductorBlock, string(block(initScriptSvc(), nil)))
	assert.Equal(t, apiBlock, string(block(uwsgiSvc(), nil)))
	assert.Equal(t, conductorBlock, string(StripBlock([]byte(conductorBlock+conductorBlock))), "one block is stripped per call")
}

// sourced sources a /etc/default file with sh the way the init script does,
// after it has built DAEMON_ARGS, and returns what the daemon would get.
func sourced(t *testing.T, pre string, file []byte) (daemonArgs, pyargv, useSyslog string) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p := filepath.Join(t.TempDir(), "default")
	require.NoError(t, os.WriteFile(p, file, 0o644))
	out, err := exec.Command(sh, "-c", pre+`; . "$1"; printf '%s|%s|%s' "$DAEMON_ARGS" "$PYARGV" "$USE_SYSLOG"`, "sh", p).CombinedOutput()
	require.NoError(t, err, string(out))
	parts := strings.Split(string(out), "|")
	require.Len(t, parts, 3, string(out))
	return parts[0], parts[1], parts[2]
}

func TestBlockSourcedByShell(t *testing.T) {
	args, _, _ := sourced(t, `DAEMON_ARGS="--config-file=/etc/magnum/magnum.conf"`, []byte(conductorBlock))
	assert.Equal(t, []string{"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d"}, strings.Fields(args))

	_, pyargv, _ := sourced(t, `DAEMON_ARGS="--ini /etc/magnum/magnum-api-uwsgi.ini"`, []byte(apiBlock))
	assert.Equal(t, "--config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d", pyargv)
	_, pyargv, _ = sourced(t, `PYARGV="--debug"`, []byte(apiBlock))
	assert.Equal(t, "--debug --config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d", pyargv,
		"an operator's PYARGV is kept, and magnum.conf is still read before conf.d")
}

func TestDesireMatrix(t *testing.T) {
	unknown := &unitshape.Service{Name: "magnum-api", Shape: unitshape.Unknown,
		Why: `magnum-api runs "/etc/init.d/magnum-api start", which is neither an openstack-pkg-tools init script nor magnum-api`}
	missing := &unitshape.Service{Name: "magnum-conductor", Shape: unitshape.Missing, Why: "magnum-conductor.service is not installed"}
	noDefault := initScriptSvc()
	noDefault.DefaultFile = ""
	noPyArgv := uwsgiSvc()
	noPyArgv.PyArgv = false

	for _, tc := range []struct {
		name    string
		svc     func(t *testing.T, dir string) *unitshape.Service
		mode    Mode
		method  Method
		wantErr string
	}{
		{"auto init-script", fixed(initScriptSvc()), Auto, ByDefaultFile, ""},
		{"auto uwsgi", fixed(uwsgiSvc()), Auto, ByDefaultDirs, ""},
		{"auto direct", direct, Auto, BySystemdOverride, ""},
		{"auto unknown", fixed(unknown), Auto, "", "cannot wire magnum-api: " + unknown.Why},
		{"auto missing", fixed(missing), Auto, "", "cannot wire magnum-conductor: magnum-conductor.service is not installed"},
		{"auto init-script not sourcing /etc/default", fixed(noDefault), Auto, "",
			"cannot wire magnum-conductor: /etc/init.d/magnum-conductor does not source /etc/default/magnum-conductor; set service-wiring=systemd-override"},

		{"default-file init-script", fixed(initScriptSvc()), DefaultFile, ByDefaultFile, ""},
		{"default-file uwsgi", fixed(uwsgiSvc()), DefaultFile, ByDefaultFile, ""},
		{"default-file uwsgi without PYARGV", fixed(noPyArgv), DefaultFile, "",
			"service-wiring=default-file: magnum-api runs uwsgi and /etc/init.d/magnum-api does not pass PYARGV"},
		{"default-file direct", direct, DefaultFile, "",
			"service-wiring=default-file: magnum-api does not run an init script that sources /etc/default/magnum-api"},
		{"default-file init-script not sourcing", fixed(noDefault), DefaultFile, "",
			"service-wiring=default-file: magnum-conductor does not run an init script that sources /etc/default/magnum-conductor"},
		{"default-file unknown", fixed(unknown), DefaultFile, "", "cannot wire magnum-api: " + unknown.Why},

		{"systemd-override init-script", fixed(initScriptSvc()), SystemdOverride, BySystemdOverride, ""},
		{"systemd-override uwsgi", fixed(uwsgiSvc()), SystemdOverride, "",
			"service-wiring=systemd-override: magnum-api runs under uwsgi, which a drop-in cannot reproduce; use auto or default-file"},
		{"systemd-override direct", direct, SystemdOverride, BySystemdOverride, ""},
		{"systemd-override missing", fixed(missing), SystemdOverride, "", "cannot wire magnum-conductor: magnum-conductor.service is not installed"},

		{"none init-script", fixed(initScriptSvc()), None, ByNone, ""},
		{"none uwsgi", fixed(uwsgiSvc()), None, ByNone, ""},
		{"none direct", direct, None, ByNone, ""},
		{"none unknown", fixed(unknown), None, ByNone, ""},
		{"none missing", fixed(missing), None, ByNone, ""},

		{"unknown mode", fixed(initScriptSvc()), Mode("manual"), "", `service-wiring "manual" is not known`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defDir, sysDir := sandbox(t)
			svc := tc.svc(t, t.TempDir())
			w, err := Desire(svc, tc.mode, never)
			if tc.wantErr != "" {
				assert.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assertCleanWiring(t, w, svc, tc.method, defDir, sysDir)
		})
	}
}

// assertCleanWiring checks the wiring of svc by method on a clean unit
// (defDir and sysDir hold nothing of the charm's yet).
func assertCleanWiring(t *testing.T, w Wiring, svc *unitshape.Service, method Method, defDir, sysDir string) {
	t.Helper()
	assert.Equal(t, svc.Name, w.Service)
	assert.Equal(t, method, w.Method)
	assert.Empty(t, w.Absent, "nothing to remove on a clean unit")
	defPath := filepath.Join(defDir, svc.Name)
	dropIn := filepath.Join(sysDir, svc.Name+".service.d", DropInName)
	switch method {
	case ByDefaultFile:
		want := conductorBlock
		if svc.Shape == unitshape.InitScriptUWSGI {
			want = apiBlock
		}
		assert.Empty(t, w.Dirs)
		assert.Equal(t, []files.File{{Path: defPath, Content: []byte(want), Mode: 0o644,
			Owner: "root", Group: "root", Restarts: []string{svc.Name}}}, w.Files)
	case BySystemdOverride:
		assert.Equal(t, []files.Dir{{Path: filepath.Dir(dropIn), Mode: 0o755, Owner: "root", Group: "root"}}, w.Dirs)
		require.Len(t, w.Files, 1)
		f := w.Files[0]
		assert.Equal(t, dropIn, f.Path)
		assert.Equal(t, os.FileMode(0o644), f.Mode)
		assert.Equal(t, []string{svc.Name}, f.Restarts)
		assert.True(t, f.UnitFile, "a drop-in needs a daemon-reload")
		assert.Equal(t, [2]string{"root", "root"}, [2]string{f.Owner, f.Group})
	default:
		assert.Empty(t, w.Files)
		assert.Empty(t, w.Dirs)
	}
}

func fixed(svc *unitshape.Service) func(*testing.T, string) *unitshape.Service {
	return func(*testing.T, string) *unitshape.Service { c := *svc; return &c }
}

func direct(t *testing.T, dir string) *unitshape.Service { return directSvc(t, dir, nil) }

func TestDesireKeepsOperatorContentAndMode(t *testing.T) {
	defDir, _ := sandbox(t)
	p := filepath.Join(defDir, "magnum-conductor")
	writeFile(t, p, "# operator\nUSE_SYSLOG=yes\n", 0o640)

	w, err := Desire(initScriptSvc(), Auto, always)
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	assert.Equal(t, "# operator\nUSE_SYSLOG=yes\n"+conductorBlock, string(w.Files[0].Content))
	assert.Equal(t, os.FileMode(0o640), w.Files[0].Mode, "the file's mode is kept")

	// Written, the next Desire wants exactly what is there: converged.
	writeFile(t, p, string(w.Files[0].Content), 0o640)
	again, err := Desire(initScriptSvc(), Auto, always)
	require.NoError(t, err)
	assert.Equal(t, w.Files, again.Files)
}

func TestDesireBlockOnFileWithoutTrailingNewline(t *testing.T) {
	defDir, _ := sandbox(t)
	p := filepath.Join(defDir, "magnum-conductor")
	writeFile(t, p, "USE_SYSLOG=yes", 0o644)

	w, err := Desire(initScriptSvc(), Auto, always)
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	content := w.Files[0].Content
	assert.Equal(t, "USE_SYSLOG=yes\n"+conductorBlock, string(content), "the block starts on a line of its own")
	args, _, syslog := sourced(t, `DAEMON_ARGS="--config-file=/etc/magnum/magnum.conf"`, content)
	assert.Equal(t, "yes", syslog, "the operator's last line still takes effect")
	assert.Contains(t, strings.Fields(args), "--config-dir=/etc/magnum/magnum.conf.d")

	writeFile(t, p, string(content), 0o644)
	again, err := Desire(initScriptSvc(), Auto, always)
	require.NoError(t, err)
	assert.Equal(t, w.Files, again.Files, "converged after one write")
}

func TestDesireSwitchAwayFromDefaultFile(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    *string // nil: no file
		prior     func(string) bool
		svc       func() *unitshape.Service
		mode      Mode
		absent    bool
		wantFile  *string
		wantMode  os.FileMode
		wantMetho Method
	}{
		{name: "only our block, created by the charm", before: ptr(conductorBlock), prior: never,
			svc: initScriptSvc, mode: SystemdOverride, absent: true, wantMetho: BySystemdOverride},
		{name: "only our block, file existed before (empty)", before: ptr(conductorBlock), prior: always,
			svc: initScriptSvc, mode: SystemdOverride, wantFile: ptr(""), wantMode: 0o600, wantMetho: BySystemdOverride},
		{name: "our block after the operator's lines", before: ptr("USE_SYSLOG=yes\n" + apiBlock), prior: always,
			svc: uwsgiSvc, mode: Auto, wantFile: ptr("USE_SYSLOG=yes\n"), wantMode: 0o600, wantMetho: ByDefaultDirs},
		{name: "our block after the operator's lines, file created by the charm", before: ptr("USE_SYSLOG=yes\n" + apiBlock), prior: never,
			svc: uwsgiSvc, mode: Auto, wantFile: ptr("USE_SYSLOG=yes\n"), wantMode: 0o600, wantMetho: ByDefaultDirs},
		{name: "only whitespace and our block", before: ptr("\n" + conductorBlock + "\n"), prior: never,
			svc: initScriptSvc, mode: None, absent: true, wantMetho: ByNone},
		{name: "no file", svc: uwsgiSvc, prior: never, mode: Auto, wantMetho: ByDefaultDirs},
		{name: "operator's file without our block", before: ptr("USE_SYSLOG=yes\n"), prior: never,
			svc: uwsgiSvc, mode: Auto, wantMetho: ByDefaultDirs},
		{name: "operator's empty file the charm never touched", before: ptr(""), prior: never,
			svc: uwsgiSvc, mode: Auto, wantMetho: ByDefaultDirs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defDir, _ := sandbox(t)
			svc := tc.svc()
			p := filepath.Join(defDir, svc.Name)
			if tc.before != nil {
				writeFile(t, p, *tc.before, 0o600)
			}
			asked := ""
			w, err := Desire(svc, tc.mode, func(q string) bool { asked = q; return tc.prior(q) })
			require.NoError(t, err)
			assert.Equal(t, tc.wantMetho, w.Method)
			if tc.absent {
				assert.Equal(t, []files.File{{Path: p, Restarts: []string{svc.Name}}}, w.Absent)
				assert.Equal(t, p, asked, "the footprint is asked about the default file")
			} else {
				assert.Empty(t, w.Absent)
			}
			var got []files.File
			for _, f := range w.Files {
				if f.Path == p {
					got = append(got, f)
				}
			}
			if tc.wantFile == nil {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, []files.File{{Path: p, Content: []byte(*tc.wantFile), Mode: tc.wantMode,
				Owner: "root", Group: "root", Restarts: []string{svc.Name}}}, got)
		})
	}
}

func ptr(s string) *string { return &s }

func TestDesireRemovesStaleDropIn(t *testing.T) {
	_, sysDir := sandbox(t)
	dropIn := filepath.Join(sysDir, "magnum-conductor.service.d", DropInName)
	writeFile(t, dropIn, "[Service]\nExecStart=\n", 0o644)
	for _, mode := range []Mode{Auto, DefaultFile, None} {
		w, err := Desire(initScriptSvc(), mode, never)
		require.NoError(t, err)
		assert.Equal(t, []files.File{{Path: dropIn, Restarts: []string{"magnum-conductor"}, UnitFile: true}}, w.Absent, mode)
	}
	w, err := Desire(initScriptSvc(), SystemdOverride, never)
	require.NoError(t, err)
	assert.Empty(t, w.Absent)
}

func TestOverrideDropInDirect(t *testing.T) {
	sandbox(t)
	dir := t.TempDir()
	svc := directSvc(t, dir, map[string]string{
		// An operator's earlier drop-in resets ExecStart and runs it with
		// other arguments: the original is the last one in effect.
		"10-operator.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/magnum-api --log-file=/var/log/magnum/api.log\nEnvironment=X=1\n",
		// The charm's own drop-in from an earlier hook must not feed back.
		DropInName:       "[Service]\nExecStart=\nExecStart=/usr/bin/false --config-dir=/etc/magnum/magnum.conf.d\n",
		"90-limits.conf": "[Service]\nLimitNOFILE=65535\n",
	})
	w, err := Desire(svc, Auto, never)
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	content := string(w.Files[0].Content)
	assert.Equal(t, "# Managed by the magnum-capi-graft charm: makes magnum-api read /etc/magnum/magnum.conf.d.\n"+
		"[Service]\nExecStart=\n"+
		"ExecStart=/usr/bin/magnum-api --log-file=/var/log/magnum/api.log --config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d\n",
		content)

	opts, err := unit.DeserializeOptions(strings.NewReader(content))
	require.NoError(t, err)
	require.Len(t, opts, 2)
	assert.Equal(t, "", opts[0].Value, "the first ExecStart= resets the list")

	// Without the operator's drop-in, the unit file's ExecStart already
	// names magnum.conf: it is not added twice.
	svc = directSvc(t, t.TempDir(), map[string]string{DropInName: "[Service]\nExecStart=\nExecStart=/bin/true\n"})
	w, err = Desire(svc, SystemdOverride, never)
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	assert.Contains(t, string(w.Files[0].Content),
		"\nExecStart=/usr/bin/magnum-api --config-file=/etc/magnum/magnum.conf --log-file=/var/log/magnum/magnum-api.log --config-dir=/etc/magnum/magnum.conf.d\n")
	assert.Equal(t, 1, strings.Count(string(w.Files[0].Content), "--config-file"))

	// A unit file that cannot be read blocks the wiring.
	svc.FragmentPath = filepath.Join(dir, "nope.service")
	_, err = Desire(svc, Auto, never)
	assert.ErrorContains(t, err, "nope.service")
}

func TestOverrideDropInInitScript(t *testing.T) {
	sandbox(t)
	w, err := Desire(initScriptSvc(), SystemdOverride, never)
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	assert.Equal(t, "# Managed by the magnum-capi-graft charm: makes magnum-conductor read /etc/magnum/magnum.conf.d.\n"+
		"[Service]\nExecStart=\n"+
		"ExecStart=/usr/bin/magnum-conductor --config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d --log-file=/var/log/magnum/magnum-conductor.log\n",
		string(w.Files[0].Content), "the log file the init script would have added is kept")
}

func TestCheck(t *testing.T) {
	const (
		file = "--config-file=/etc/magnum/magnum.conf"
		dir  = "--config-dir=/etc/magnum/magnum.conf.d"
		log  = "--log-file=/var/log/magnum/magnum-conductor.log"
	)
	conductor := func(args ...string) []string {
		return append([]string{"/usr/bin/python3", "/usr/bin/magnum-conductor"}, args...)
	}
	uwsgi := func(args ...string) []string {
		return append([]string{"/usr/bin/uwsgi_python311", "--http-socket", "[::]:9511", "--ini", "/etc/magnum/magnum-api-uwsgi.ini"}, args...)
	}
	for _, tc := range []struct {
		name    string
		method  Method
		cmdline []string
		wantErr string
	}{
		{"not running", ByDefaultFile, nil, "not running"},
		{"not running, default-dirs", ByDefaultDirs, []string{}, "not running"},

		{"default-file ok", ByDefaultFile, conductor(file, dir, log), ""},
		{"default-file config-dir missing", ByDefaultFile, conductor(file, log), "live command line lacks " + dir},
		{"default-file other config-dir", ByDefaultFile, conductor(file, "--config-dir=/tmp", log), "live command line lacks " + dir},
		{"default-file conf.d before magnum.conf", ByDefaultFile, conductor(dir, file, log), "live command line reads conf.d before magnum.conf"},
		{"default-file --pyargv", ByDefaultFile, uwsgi("--pyargv", file+" "+dir), ""},
		{"default-file --pyargv lacks config-dir", ByDefaultFile, uwsgi("--pyargv", file), "live command line lacks " + dir},
		{"default-file --pyargv wrong order", ByDefaultFile, uwsgi("--pyargv", dir+" "+file), "live command line reads conf.d before magnum.conf"},
		{"default-file config-dir outside --pyargv does not count", ByDefaultFile, uwsgi(dir, "--pyargv", file), "live command line lacks " + dir},

		{"systemd-override ok", BySystemdOverride, []string{"/usr/bin/python3", "/usr/bin/magnum-api", file, dir}, ""},
		{"systemd-override config-dir missing", BySystemdOverride, []string{"/usr/bin/python3", "/usr/bin/magnum-api", file}, "live command line lacks " + dir},
		{"systemd-override wrong order", BySystemdOverride, []string{"/usr/bin/python3", "/usr/bin/magnum-api", dir, file}, "live command line reads conf.d before magnum.conf"},

		{"default-dirs ok", ByDefaultDirs, uwsgi(), ""},
		{"default-dirs with config-file only", ByDefaultDirs, uwsgi("--pyargv", file), ""},
		{"default-dirs explicit config-dir", ByDefaultDirs, conductor(file, "--config-dir", "/etc/magnum/magnum.conf.d"),
			"live command line names its own --config-dir=/etc/magnum/magnum.conf.d, so the default conf.d is not read"},
		{"default-dirs explicit config-dir=", ByDefaultDirs, conductor(file, dir),
			"live command line names its own " + dir + ", so the default conf.d is not read"},
		{"default-dirs config-dir in --pyargv", ByDefaultDirs, uwsgi("--pyargv", file+" --config-dir=/srv/conf.d"),
			"live command line names its own --config-dir=/srv/conf.d, so the default conf.d is not read"},

		{"none", ByNone, conductor(), ""},
		{"paused", ByPaused, conductor(dir, file), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.method, tc.cmdline)
			if tc.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tc.wantErr)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	assert.Equal(t, "/etc/default/magnum-api", DefaultFilePath("magnum-api"))
	assert.Equal(t, "/etc/systemd/system/magnum-conductor.service.d/50-magnum-capi-graft.conf", DropInPath("magnum-conductor"))
}

func TestConfigArgs(t *testing.T) {
	args, prog := ConfigArgs([]string{"/usr/bin/python3", "/usr/bin/magnum-conductor",
		"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d",
		"--log-file=/var/log/magnum/magnum-conductor.log"})
	assert.Equal(t, []string{"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d"}, args)
	assert.Equal(t, "magnum-conductor", prog)

	// uwsgi hands the app only what --pyargv carries.
	args, prog = ConfigArgs([]string{"/usr/bin/uwsgi_python311", "--http-socket", ":9511", "--ini",
		"/etc/magnum/magnum-api-uwsgi.ini", "--pyargv",
		"--config-file=/etc/magnum/magnum.conf --config-dir=/etc/magnum/magnum.conf.d"})
	assert.Equal(t, []string{"--config-file=/etc/magnum/magnum.conf", "--config-dir=/etc/magnum/magnum.conf.d"}, args)
	assert.Equal(t, "uwsgi_python311", prog)

	args, _ = ConfigArgs([]string{"/usr/bin/magnum-api", "--config-file", "/etc/magnum/magnum.conf"})
	assert.Equal(t, []string{"--config-file=/etc/magnum/magnum.conf"}, args)

	args, _ = ConfigArgs([]string{"/usr/bin/uwsgi_python311", "--ini", "/etc/magnum/magnum-api-uwsgi.ini"})
	assert.Empty(t, args, "default discovery: no explicit arguments")
}

// The model's proxy rides in the wiring: after the conf.d line in the
// default file's block, in a block of its own for a default-dirs service
// whose init script sources the file, and as [Service] lines of the
// drop-in. Without extra lines each is exactly what it was.
func TestDesireWithExtraLines(t *testing.T) {
	defDir, sysDir := sandbox(t)
	extra := Extra{BlockLines: []string{"export HTTPS_PROXY='http://squid:3128'"}, ServiceLines: []string{`Environment="HTTPS_PROXY=http://squid:3128"`}}

	w, err := DesireWith(initScriptSvc(), Auto, never, extra)
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	want := strings.Replace(conductorBlock, "\n# END", "\nexport HTTPS_PROXY='http://squid:3128'\n# END", 1)
	assert.Equal(t, want, string(w.Files[0].Content))
	assert.Equal(t, "", string(StripBlock(w.Files[0].Content)), "the whole block comes out with the charm")

	// default-dirs: nothing to wire, but the environment has a block.
	w, err = DesireWith(uwsgiSvc(), Auto, never, extra)
	require.NoError(t, err)
	assert.Equal(t, ByDefaultDirs, w.Method)
	require.Len(t, w.Files, 1)
	assert.Equal(t, filepath.Join(defDir, "magnum-api"), w.Files[0].Path)
	assert.Equal(t, "# BEGIN magnum-capi-graft: the environment of magnum-api (removed with the charm)\n"+
		"export HTTPS_PROXY='http://squid:3128'\n# END magnum-capi-graft\n", string(w.Files[0].Content))
	assert.Equal(t, []string{"magnum-api"}, w.Files[0].Restarts)

	// ...and once the proxy goes, the block goes: a file the charm
	// created is removed, an operator's keeps its own lines.
	writeFile(t, w.Files[0].Path, string(w.Files[0].Content), 0o644)
	w, err = DesireWith(uwsgiSvc(), Auto, never, Extra{})
	require.NoError(t, err)
	assert.Empty(t, w.Files)
	assert.Equal(t, []files.File{{Path: filepath.Join(defDir, "magnum-api"), Restarts: []string{"magnum-api"}}}, w.Absent)
	writeFile(t, filepath.Join(defDir, "magnum-api"), "PYARGV=--debug\n"+string(envBlock(uwsgiSvc(), extra.BlockLines)), 0o644)
	w, err = DesireWith(uwsgiSvc(), Auto, always, Extra{})
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	assert.Equal(t, "PYARGV=--debug\n", string(w.Files[0].Content))

	// A default-dirs service whose script sources no default file gets
	// nothing: there is nowhere to put it.
	require.NoError(t, os.Remove(filepath.Join(defDir, "magnum-api")))
	noDefault := uwsgiSvc()
	noDefault.DefaultFile = ""
	w, err = DesireWith(noDefault, Auto, never, extra)
	require.NoError(t, err)
	assert.Empty(t, w.Files)

	// systemd-override: the lines end the drop-in's [Service] section.
	svc := directSvc(t, filepath.Dir(filepath.Dir(sysDir)), nil)
	plain, err := DesireWith(svc, Auto, never, Extra{})
	require.NoError(t, err)
	w, err = DesireWith(svc, Auto, never, extra)
	require.NoError(t, err)
	require.Len(t, w.Files, 1)
	assert.Equal(t, string(plain.Files[0].Content)+`Environment="HTTPS_PROXY=http://squid:3128"`+"\n", string(w.Files[0].Content))
	opts, err := unit.DeserializeOptions(strings.NewReader(string(w.Files[0].Content)))
	require.NoError(t, err)
	last := opts[len(opts)-1]
	assert.Equal(t, [3]string{"Service", "Environment", "HTTPS_PROXY=http://squid:3128"}, [3]string{last.Section, last.Name, strings.Trim(last.Value, `"`)})
}
