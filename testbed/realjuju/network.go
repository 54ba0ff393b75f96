package realjuju

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// network is the test bed's own bridge and /24: the host is .1 on it, the
// machines take the next addresses. Nothing else is ever a target.
type network struct {
	Bridge string
	Prefix netip.Prefix
}

// hostAddr is the host's address on the bridge.
func (n network) hostAddr() netip.Addr { return n.nth(1) }

// nth is the n-th address of the prefix.
func (n network) nth(i int) netip.Addr {
	a := n.Prefix.Addr().As4()
	a[3] = byte(i)
	return netip.AddrFrom4(a)
}

// pickPrefix picks a 10.x.y.0/24 that overlaps none of the host's own
// addresses or routes (the default route aside), starting at a place the
// seed chooses so that concurrent runs do not race for the same one.
func pickPrefix(seed uint32) (netip.Prefix, error) {
	taken, err := hostPrefixes()
	if err != nil {
		return netip.Prefix{}, err
	}
	for i := uint32(0); i < 4096; i++ {
		v := (seed + i*97) % 4096
		cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + v/256%50), byte(v % 256), 0}), 24)
		free := true
		for _, p := range taken {
			if p.Overlaps(cand) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free 10.x.y.0/24 for the test bed's bridge")
}

// hostPrefixes are the host's IPv4 addresses and routes.
func hostPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			out = append(out, p.Masked())
		}
	}
	// /proc/net/route: Iface Destination Gateway Flags ... Mask, addresses
	// as little-endian hex.
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		var d, m [4]byte
		binary.LittleEndian.PutUint32(d[:], uint32(dst))
		binary.LittleEndian.PutUint32(m[:], uint32(mask))
		bits, _ := net.IPMask(m[:]).Size()
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(d), bits).Masked())
	}
	return out, nil
}

// create creates the bridge with the host's address on it. It fails
// if the bridge exists: the test bed deletes only what it created.
func (n network) create(ctx context.Context) error {
	for _, argv := range [][]string{
		{"ip", "link", "add", "name", n.Bridge, "type", "bridge"},
		{"ip", "addr", "add", netip.PrefixFrom(n.hostAddr(), n.Prefix.Bits()).String(), "dev", n.Bridge},
		{"ip", "link", "set", n.Bridge, "up"},
	} {
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
	}
	return nil
}

// delete removes the bridge (the machines' veths go with their machines).
func (n network) delete() error {
	if out, err := exec.Command("ip", "link", "del", n.Bridge).CombinedOutput(); err != nil {
		return fmt.Errorf("ip link del %s: %v: %s", n.Bridge, err, out)
	}
	return nil
}

// networkdFile is a machine's systemd-networkd configuration: a static
// address on host0 (the machine's end of its veth), no DHCP, no gateway.
func (n network) networkdFile(addr netip.Addr) string {
	return fmt.Sprintf(`[Match]
Name=host0

[Network]
Address=%s
DHCP=no
LinkLocalAddressing=no
IPv6AcceptRA=no
`, netip.PrefixFrom(addr, n.Prefix.Bits()))
}

// awaitTCP waits until addr accepts TCP connections.
func awaitTCP(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		var c net.Conn
		d := net.Dialer{Timeout: time.Second}
		if c, err = d.DialContext(ctx, "tcp", addr); err == nil {
			c.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s accepts no connection after %s: %v", addr, limit, err)
}
