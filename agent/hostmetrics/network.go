package hostmetrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/shirou/gopsutil/v4/net"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func init() {
	registerCollector(registration{
		name: "network",
		help: "network interface traffic and TCP connection counts (system.network.*)",
		new:  newNetworkCollector,
	})
}

// tcpStates names the states of /proc/net/tcp's st column (1 to 11) as gopsutil, and so the
// OpenTelemetry hostmetrics receiver on Linux, names them.
var tcpStates = [...]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
	7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}

type networkCollector struct {
	env         *collectorEnv
	exclude     *regexp.Regexp
	connections bool
	br          *bufio.Reader
	counts      [len(tcpStates)]int64
}

func newNetworkCollector(env *collectorEnv) (collector, error) {
	re, err := compileExclude(env.cfg.InterfacesExclude)
	if err != nil {
		return nil, err
	}
	return &networkCollector{env: env, exclude: re, connections: env.cfg.NetworkConnections}, nil
}

func (c *networkCollector) collect(ctx context.Context, ms pmetric.MetricSlice) error {
	var errs []error
	if err := c.interfaces(ctx, ms); err != nil {
		errs = append(errs, err)
	}
	if c.connections {
		if err := c.tcpConnections(ms); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *networkCollector) interfaces(ctx context.Context, ms pmetric.MetricSlice) error {
	nics, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		return fmt.Errorf("read interface counters: %w", err)
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	start := c.env.bootTime
	bytes := newSum(ms, "system.network.io", "By", "Bytes received and transmitted.", true, start, now)
	packets := newSum(ms, "system.network.packets", "{packets}", "Packets received and transmitted.", true, start, now)
	errs := newSum(ms, "system.network.errors", "{errors}", "Receive and transmit errors.", true, start, now)
	dropped := newSum(ms, "system.network.dropped", "{packets}", "Packets dropped on receive and transmit.", true, start, now)
	for i := range nics {
		n := &nics[i]
		if excluded(c.exclude, n.Name) {
			continue
		}
		bytes.int(clampInt64(n.BytesRecv), "device", n.Name, "direction", "receive")
		bytes.int(clampInt64(n.BytesSent), "device", n.Name, "direction", "transmit")
		packets.int(clampInt64(n.PacketsRecv), "device", n.Name, "direction", "receive")
		packets.int(clampInt64(n.PacketsSent), "device", n.Name, "direction", "transmit")
		errs.int(clampInt64(n.Errin), "device", n.Name, "direction", "receive")
		errs.int(clampInt64(n.Errout), "device", n.Name, "direction", "transmit")
		dropped.int(clampInt64(n.Dropin), "device", n.Name, "direction", "receive")
		dropped.int(clampInt64(n.Dropout), "device", n.Name, "direction", "transmit")
	}
	return nil
}

// tcpConnections counts sockets by state from /proc/net/tcp and tcp6. gopsutil's
// net.Connections also walks every process's file descriptors to find the owner of each
// socket, which costs milliseconds per scrape for a number this does not need.
func (c *networkCollector) tcpConnections(ms pmetric.MetricSlice) error {
	clear(c.counts[:])
	read := 0
	var errs []error
	for _, file := range []string{"tcp", "tcp6"} {
		err := c.countTCP(c.env.procPath("net", file))
		if err == nil {
			read++
			continue
		}
		if !errors.Is(err, os.ErrNotExist) { // tcp6 is absent when IPv6 is disabled
			errs = append(errs, err)
		}
	}
	if read == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("read tcp connections: neither net/tcp nor net/tcp6 exists"))
	}
	if read > 0 {
		now := pcommon.NewTimestampFromTime(time.Now())
		conns := newSum(ms, "system.network.connections", "{connections}", "TCP sockets in each state.", false, c.env.bootTime, now)
		for st := 1; st < len(tcpStates); st++ {
			conns.int(c.counts[st], "protocol", "tcp", "state", tcpStates[st])
		}
	}
	return errors.Join(errs...)
}

func (c *networkCollector) countTCP(path string) error {
	f, err := os.Open(path) //nolint:gosec // a file of the configured /proc
	if err != nil {
		return fmt.Errorf("read tcp connections: %w", err)
	}
	defer f.Close()
	if c.br == nil {
		c.br = bufio.NewReaderSize(f, 64<<10)
	} else {
		c.br.Reset(f)
	}
	header := true
	for {
		line, err := c.br.ReadSlice('\n')
		if len(line) > 0 && !header {
			// "  0: 0100007F:0CEA 00000000:0000 0A ..."; the fourth field is the state in hex.
			_, rest := nextField(line)
			_, rest = nextField(rest)
			_, rest = nextField(rest)
			st, _ := nextField(rest)
			if v, ok := parseHexByte(st); ok && v > 0 && int(v) < len(tcpStates) {
				c.counts[v]++
			}
		}
		header = false
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
}

func parseHexByte(b []byte) (byte, bool) {
	if len(b) != 2 {
		return 0, false
	}
	hi, ok1 := hexDigit(b[0])
	lo, ok2 := hexDigit(b[1])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
