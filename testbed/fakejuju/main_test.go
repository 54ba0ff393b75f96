package fakejuju_test

import "bytes"

// run runs Main in process.
func run(env map[string]string, argv ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = mainWith(argv, &out, &errb, env)
	return out.String(), errb.String(), code
}
