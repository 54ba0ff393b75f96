package command

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxStdout bounds what a program may print on stdout before it is killed:
// apt-get's and dpkg-query's answers, journal lines and the charm's Python
// probes are far smaller. MaxStderr is how much of the end of stderr is
// kept; only its last lines reach an error.
const (
	MaxStdout = 64 << 20
	MaxStderr = 1 << 20
)

// ErrOutputTooLarge is a program that printed more than MaxStdout.
var ErrOutputTooLarge = errors.New("printed more than the charm reads")

// capped is an output buffer of bounded size. With keepTail it keeps the
// last max bytes and never fails; otherwise it fails the write that would
// pass max, which stops the copy from the program's pipe (the program then
// dies of SIGPIPE or is killed by the deadline).
type capped struct {
	buf      bytes.Buffer
	max      int
	keepTail bool
	// overflow is called once the limit is passed: it kills the program,
	// which would otherwise block on a pipe nobody reads.
	overflow func()
	err      error
}

func (c *capped) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) <= c.max {
		return c.buf.Write(p)
	}
	if !c.keepTail {
		if c.err == nil {
			c.err = fmt.Errorf("%w (%d MiB)", ErrOutputTooLarge, c.max>>20)
			if c.overflow != nil {
				c.overflow()
			}
		}
		return 0, c.err
	}
	if len(p) >= c.max {
		c.buf.Reset()
		c.buf.Write(p[len(p)-c.max:])
		return len(p), nil
	}
	drop := c.buf.Len() + len(p) - c.max
	c.buf.Next(drop)
	c.buf.Write(p)
	return len(p), nil
}

func (c *capped) Bytes() []byte { return c.buf.Bytes() }
