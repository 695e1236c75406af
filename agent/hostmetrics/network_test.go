//go:build linux

package hostmetrics

import (
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// interfaceNames reads the interfaces of /proc/net/dev.
func interfaceNames(t *testing.T) []string {
	var out []string
	for _, line := range procLines(t, "/proc/net/dev")[2:] {
		name, _, ok := strings.Cut(line, ":")
		require.True(t, ok, line)
		out = append(out, strings.TrimSpace(name))
	}
	return out
}

func TestNetworkInterfaces(t *testing.T) {
	all := interfaceNames(t)
	require.Contains(t, all, "lo")
	re := regexp.MustCompile(DefaultInterfacesExclude)
	var want []string
	for _, n := range all {
		if !re.MatchString(n) {
			want = append(want, n)
		}
	}
	require.NotEmpty(t, want)

	got := newTestScraper(t, only("network")).scrape(t)
	for _, name := range []string{"system.network.io", "system.network.packets", "system.network.errors", "system.network.dropped"} {
		assert.ElementsMatch(t, want, keys(attrValues(got[name], "device")), name)
		for _, dev := range want {
			assert.Len(t, pointsWith(got[name], "device", dev), 2, "%s %s: receive and transmit", name, dev)
		}
	}

	got = newTestScraper(t, only("network"), func(c *Config) { c.InterfacesExclude = "" }).scrape(t)
	assert.ElementsMatch(t, all, keys(attrValues(got["system.network.io"], "device")), "an empty regexp excludes nothing")
	lo := pointsWith(got["system.network.io"], "device", "lo", "direction", "transmit")
	require.Len(t, lo, 1)

	got = newTestScraper(t, only("network"), func(c *Config) { c.InterfacesExclude = "^" + regexp.QuoteMeta(want[0]) + "$" }).scrape(t)
	assert.False(t, attrValues(got["system.network.io"], "device")[want[0]])
	assert.True(t, attrValues(got["system.network.io"], "device")["lo"])
}

func TestNetworkConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server, ok := <-accepted
	require.True(t, ok)
	defer server.Close()

	got := newTestScraper(t, only("network")).scrape(t)
	conns := got["system.network.connections"]
	require.Len(t, pointsWith(conns), len(tcpStates)-1, "every state, counted or not")
	count := func(state string) float64 {
		pts := pointsWith(conns, "protocol", "tcp", "state", state)
		require.Len(t, pts, 1, state)
		return value(pts[0])
	}
	assert.GreaterOrEqual(t, count("LISTEN"), 1.0)
	assert.GreaterOrEqual(t, count("ESTABLISHED"), 2.0, "both ends of this test's connection")

	off := newTestScraper(t, only("network"), func(c *Config) { c.NetworkConnections = false }).scrape(t)
	assert.NotContains(t, off, "system.network.connections")
	assert.Contains(t, off, "system.network.io")
}

func TestParseHexByte(t *testing.T) {
	for in, want := range map[string]byte{"01": 1, "0A": 10, "0b": 11, "FF": 255} {
		v, ok := parseHexByte([]byte(in))
		assert.True(t, ok, in)
		assert.Equal(t, want, v, in)
	}
	for _, bad := range []string{"", "1", "0G", "123"} {
		_, ok := parseHexByte([]byte(bad))
		assert.False(t, ok, bad)
	}
}
