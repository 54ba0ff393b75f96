package testbed

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// APIPort is where magnum-api listens on a unit (Debian's uWSGI ini: 9511).
const APIPort = 9511

// APICheck polls every unit's magnum-api the way haproxy's health check
// does in front of Magnum: a fresh connection and GET / each time, and a
// unit answers when it returns a 2xx or 3xx status (haproxy's httpchk)
// within CheckTimeout. Each poll is a sample of which units answered.
//
// A box has a private network: the check reaches each unit's API through
// the box's network namespace, entered by the one OS thread that opens the
// connection (setns(2) on /proc/<box PID 1>/ns/net), so nothing runs
// inside the box and the test bed's own load stays small.
type APICheck struct {
	url     string
	units   []string
	nets    []*os.File
	client  []*http.Client
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
}

// Sample is one poll of every unit.
type Sample struct {
	At time.Time
	// Answered are the units whose magnum-api answered.
	Answered []string
}

// CheckTimeout bounds one check: haproxy's default check interval, which
// is also a check's whole timeout when no `timeout check` is set
// (haproxy's configuration manual, "timeout check").
const CheckTimeout = 2 * time.Second

// StartAPICheck starts polling the boxes' magnum-api every interval.
func StartAPICheck(boxes []*Box, interval time.Duration) (*APICheck, error) {
	var targets []checkTarget
	for _, b := range boxes {
		pid, err := b.PID1()
		if err != nil {
			return nil, err
		}
		targets = append(targets, checkTarget{unit: b.UnitName(), netns: fmt.Sprintf("/proc/%d/ns/net", pid)})
	}
	return startAPICheck(targets, fmt.Sprintf("http://127.0.0.1:%d/", APIPort), interval)
}

// checkTarget is a unit to check, and the network namespace it serves in.
type checkTarget struct{ unit, netns string }

func startAPICheck(targets []checkTarget, url string, interval time.Duration) (*APICheck, error) {
	c := &APICheck{url: url, stop: make(chan struct{}), done: make(chan struct{})}
	for _, t := range targets {
		ns, err := os.Open(t.netns)
		if err != nil {
			c.closeNets()
			return nil, fmt.Errorf("cannot open the network namespace of %s: %w", t.unit, err)
		}
		c.units = append(c.units, t.unit)
		c.nets = append(c.nets, ns)
		c.client = append(c.client, &http.Client{
			Timeout: CheckTimeout,
			Transport: &http.Transport{
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					return dialIn(ctx, ns, network, addr)
				},
				DisableKeepAlives: true,
			},
		})
	}
	go c.run(interval)
	return c, nil
}

func (c *APICheck) closeNets() {
	for _, ns := range c.nets {
		ns.Close()
	}
}

func (c *APICheck) run(interval time.Duration) {
	defer close(c.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// A sample does not wait for the one before: a unit that hangs
		// holds only its own checks.
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.sample()
		}()
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
	}
}

func (c *APICheck) sample() {
	s := Sample{At: time.Now()}
	answered := make([]bool, len(c.units))
	var wg sync.WaitGroup
	for i := range c.units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answered[i] = check(c.client[i], c.url)
		}()
	}
	wg.Wait()
	for i, ok := range answered {
		if ok {
			s.Answered = append(s.Answered, c.units[i])
		}
	}
	c.mu.Lock()
	c.samples = append(c.samples, s)
	c.mu.Unlock()
}

func check(client *http.Client, url string) bool {
	resp, err := client.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// Last is the latest sample taken so far (zero before the first).
func (c *APICheck) Last() Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last Sample
	for _, s := range c.samples {
		if s.At.After(last.At) {
			last = s
		}
	}
	return last
}

// Stop ends the polling and returns every sample, in the order taken.
func (c *APICheck) Stop() Samples {
	close(c.stop)
	<-c.done
	c.closeNets()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.samples)
	slices.SortFunc(out, func(a, b Sample) int { return a.At.Compare(b.At) })
	return out
}

// dialIn opens a connection from inside the network namespace ns. Only
// the new socket needs the namespace: the goroutine enters it on a thread
// of its own and never leaves, and a goroutine that ends locked to its
// thread takes the thread with it (runtime.LockOSThread), so no other
// goroutine ever runs in the box's network.
func dialIn(ctx context.Context, ns *os.File, network, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("cannot enter the box's network: %w", err)}
			return
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}

// Samples are an APICheck's samples in time order.
type Samples []Sample

// NoneAnswered is how long no unit answered: each sample in which none
// did counts until the next sample.
func (s Samples) NoneAnswered() time.Duration {
	var total time.Duration
	for i, sm := range s {
		if len(sm.Answered) == 0 && i+1 < len(s) {
			total += s[i+1].At.Sub(sm.At)
		}
	}
	return total
}

// Down is how long a unit did not answer, counted as NoneAnswered counts.
func (s Samples) Down(unit string) time.Duration {
	var total time.Duration
	for i, sm := range s {
		if !slices.Contains(sm.Answered, unit) && i+1 < len(s) {
			total += s[i+1].At.Sub(sm.At)
		}
	}
	return total
}

// Silent lists the samples in which no unit answered.
func (s Samples) Silent() Samples {
	return slices.DeleteFunc(slices.Clone(s), func(sm Sample) bool { return len(sm.Answered) > 0 })
}

func (s Samples) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d samples", len(s))
	if len(s) > 1 {
		fmt.Fprintf(&b, " over %.1fs", s[len(s)-1].At.Sub(s[0].At).Seconds())
	}
	fmt.Fprintf(&b, "; no unit answered for %.1fs", s.NoneAnswered().Seconds())
	return b.String()
}
