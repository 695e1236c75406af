//go:build linux

package hostmetrics

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onlineCPUs counts the processors /proc/cpuinfo lists, a source the collector does not read.
func onlineCPUs(t *testing.T) int {
	n := 0
	for _, line := range procLines(t, "/proc/cpuinfo") {
		if strings.HasPrefix(line, "processor") {
			n++
		}
	}
	require.Positive(t, n)
	return n
}

func uptime(t *testing.T) float64 {
	f := strings.Fields(procLines(t, "/proc/uptime")[0])
	v, err := strconv.ParseFloat(f[0], 64)
	require.NoError(t, err)
	return v
}

func TestCPU(t *testing.T) {
	s := newTestScraper(t, only("cpu"))
	ncpu := onlineCPUs(t)
	var wantCPUs []string
	for i := range ncpu {
		wantCPUs = append(wantCPUs, fmt.Sprintf("cpu%d", i))
	}

	first := s.scrape(t)
	assert.NotContains(t, first, "system.cpu.utilization", "the first scrape has nothing to compare with")
	count := dataPoints(first["system.cpu.logical.count"])
	require.Equal(t, 1, count.Len())
	assert.Equal(t, int64(ncpu), count.At(0).IntValue())

	times := first["system.cpu.time"]
	assert.ElementsMatch(t, wantCPUs, keys(attrValues(times, "cpu")))
	up := uptime(t)
	before := map[string]float64{}
	for _, cpu := range wantCPUs {
		pts := pointsWith(times, "cpu", cpu)
		require.Len(t, pts, len(cpuStates), cpu)
		total := 0.0
		for _, dp := range pts {
			st, _ := dp.Attributes().Get("state")
			before[cpu+"/"+st.Str()] = dp.DoubleValue()
			total += dp.DoubleValue()
		}
		// A CPU cannot have spent more time in all its states than the host has been up.
		assert.Positive(t, total, cpu)
		assert.LessOrEqual(t, total, up*1.01+1, cpu)
	}

	burnCPU(50 * time.Millisecond)
	second := s.scrape(t)
	for _, dp := range pointsWith(second["system.cpu.time"]) {
		cpu, _ := dp.Attributes().Get("cpu")
		st, _ := dp.Attributes().Get("state")
		assert.GreaterOrEqual(t, dp.DoubleValue(), before[cpu.Str()+"/"+st.Str()], "%s %s went back", cpu.Str(), st.Str())
	}
	util := second["system.cpu.utilization"]
	require.Equal(t, "1", util.Unit())
	assert.ElementsMatch(t, wantCPUs, keys(attrValues(util, "cpu")), "50ms of wall time moves every CPU's counters")
	busy := 0.0
	for _, cpu := range wantCPUs {
		pts := pointsWith(util, "cpu", cpu)
		require.Len(t, pts, len(cpuStates), cpu)
		sum := 0.0
		for _, dp := range pts {
			v := dp.DoubleValue()
			assert.True(t, v >= 0 && v <= 1, "%s: %v", cpu, v)
			sum += v
			if st, _ := dp.Attributes().Get("state"); st.Str() != "idle" {
				busy += v
			}
		}
		assert.InDelta(t, 1, sum, 1e-9, "the states of %s add up to its time", cpu)
	}
	assert.Positive(t, busy, "this test kept a CPU busy")
}

func TestParseCPUTimes(t *testing.T) {
	stat := "cpu  10 20 30 40 50 60 70 80 90 100\n" +
		"cpu0 1 2 3 4 5 6 7 8 9 10\n" +
		"cpu1 1 2 3 4 5 6 7\n" + // before Linux 2.6.11: no steal
		"intr 1 2 3\nctxt 5\nbtime 1700000000\n"
	got, err := parseCPUTimes([]byte(stat), nil, nil)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, cpuTimes{id: "cpu0", ticks: [8]uint64{1, 2, 3, 4, 5, 6, 7, 8}}, got[0], "guest columns are not states")
	assert.Equal(t, cpuTimes{id: "cpu1", ticks: [8]uint64{1, 2, 3, 4, 5, 6, 7, 0}}, got[1])

	// The id strings of the previous reading are reused.
	again, err := parseCPUTimes([]byte(stat), nil, got)
	require.NoError(t, err)
	assert.Equal(t, got, again)
	b := []byte(stat)
	assert.Zero(t, testing.AllocsPerRun(10, func() { again, _ = parseCPUTimes(b, again[:0], got) }))

	for _, bad := range []string{
		"",
		"intr 1 2\n",
		"cpu  1 2 3 4\ncpu0 1 2 x 4\n",
		"cpu0 1 2 3\n",
	} {
		_, err := parseCPUTimes([]byte(bad), nil, nil)
		assert.Error(t, err, "%q", bad)
	}
}

func TestCPUDelta(t *testing.T) {
	prev := cpuTimes{id: "cpu0", ticks: [8]uint64{100, 0, 50, 1000}}
	cur := cpuTimes{id: "cpu0", ticks: [8]uint64{110, 0, 60, 1080}}
	d, ok := cpuDelta(&cur, &prev)
	require.True(t, ok)
	assert.Equal(t, [8]uint64{10, 0, 10, 80}, d)

	_, ok = cpuDelta(&prev, &prev)
	assert.False(t, ok, "no time passed")
	reset := cpuTimes{id: "cpu0", ticks: [8]uint64{5, 0, 5, 2000}}
	_, ok = cpuDelta(&reset, &prev)
	assert.False(t, ok, "a CPU back online restarts its counters")
}
