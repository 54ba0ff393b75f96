// Package apiprobe proves that a restarted magnum-api serves, as haproxy's
// health check in front of it would see it: the TCP ports the service's
// processes listen on are observed in /proc (not assumed from a config
// file: Debian's uWSGI ini, charm-magnum's [api] port and haproxy's backend
// port all differ), and each is asked GET / on a fresh connection until one
// answers with a 2xx or 3xx status (haproxy's httpchk).
package apiprobe

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CheckTimeout bounds one GET: haproxy's default check interval, which is
// also a check's whole timeout when no `timeout check` is set.
const CheckTimeout = 2 * time.Second

// Answers waits until one of the addresses pid (or one of its children)
// listens on answers GET / with a 2xx or 3xx status, or until timeout.
// The error says what was tried and the last answer.
func Answers(ctx context.Context, pid int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: CheckTimeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var last error
	for {
		addrs, err := Listening(pid)
		switch {
		case err != nil:
			last = err
		case len(addrs) == 0:
			last = fmt.Errorf("process %d listens on no TCP port", pid)
		}
		for _, a := range addrs {
			code, err := get(ctx, client, a)
			if err == nil && code >= 200 && code < 400 {
				return nil
			}
			if err != nil {
				last = fmt.Errorf("GET http://%s/: %w", a, err)
			} else {
				last = fmt.Errorf("GET http://%s/: HTTP %d", a, code)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer within %s: %w", timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func get(ctx context.Context, client *http.Client, addr string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Listening lists the addresses (host:port, a wildcard address replaced by
// the loopback of its family) that pid and its children listen on.
func Listening(pid int) ([]string, error) {
	inodes := map[string]bool{}
	pids := append([]int{pid}, children(pid)...)
	for _, p := range pids {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p))
		if err != nil {
			if p == pid {
				return nil, fmt.Errorf("cannot read the sockets of process %d: %w", pid, err)
			}
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", p), fd.Name()))
			if err == nil && strings.HasPrefix(target, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
			}
		}
	}
	var addrs []string
	for _, table := range []string{"tcp", "tcp6"} {
		found, err := listeners(fmt.Sprintf("/proc/%d/net/%s", pid, table), inodes)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		addrs = append(addrs, found...)
	}
	return addrs, nil
}

// children are pid's direct children (uWSGI's workers), as the kernel
// lists them per thread (proc(5), /proc/pid/task/tid/children).
func children(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// tcpListen is st 0A in /proc/net/tcp (the kernel's TCP_LISTEN).
const tcpListen = "0A"

// listeners reads a /proc/net/tcp table (proc(5)): the listening sockets
// among inodes.
func listeners(path string, inodes map[string]bool) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	s.Scan() // the header
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 10 || fields[3] != tcpListen || !inodes[fields[9]] {
			continue
		}
		addr, err := parseAddr(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, addr)
		if host, port, _ := net.SplitHostPort(addr); host == "::1" {
			// A wildcard IPv6 socket takes IPv4 too unless it is
			// IPV6_V6ONLY (ipv6(7)), and a unit may have no ::1.
			out = append(out, net.JoinHostPort("127.0.0.1", port))
		}
	}
	return out, s.Err()
}

// parseAddr reads "0100007F:251F" (IPv4) or 32 hex digits and a port
// (IPv6): the address as the kernel stores it, in 32-bit words of host
// byte order (little-endian on the machines Magnum runs on).
func parseAddr(s string) (string, error) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil {
		return "", fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(hexIP)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", fmt.Errorf("bad address %q", s)
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		if len(raw) == 16 {
			ip = net.IPv6loopback
		}
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(port))), nil
}
