//go:build linux

package hostmetrics

import (
	"os"
	"os/user"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// pointsOfPid are a process metric's points for one pid.
func pointsOfPid(m pmetric.Metric, pid int) []pmetric.NumberDataPoint {
	var out []pmetric.NumberDataPoint
	dps := dataPoints(m)
	for i := range dps.Len() {
		if v, ok := dps.At(i).Attributes().Get("process.pid"); ok && v.Int() == int64(pid) {
			out = append(out, dps.At(i))
		}
	}
	return out
}

func pids(m pmetric.Metric) map[int64]bool {
	out := map[int64]bool{}
	dps := dataPoints(m)
	for i := range dps.Len() {
		v, _ := dps.At(i).Attributes().Get("process.pid")
		out[v.Int()] = true
	}
	return out
}

// cpuTimeSelf is the CPU time this process used, from getrusage(2).
func cpuTimeSelf(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestTopProcesses has this test process take 512 MiB and burn CPU on every core between
// two scrapes, and finds it among the top 10 by memory and by CPU. By CPU it cannot be
// crowded out: the utilizations of all processes add up to at most the number of CPUs, and
// with a busy thread per CPU this process gets its fair share of them even on a loaded
// machine (with 8 other busy threads on 2 CPUs, 0.4 of a core: at most 4 processes can use
// more).
func TestTopProcesses(t *testing.T) {
	s := newTestScraper(t, only("processes"))
	first := s.scrape(t)
	assert.NotContains(t, first, "process.cpu.utilization", "the first scrape has nothing to compare with")
	assert.Contains(t, first, "process.memory.usage")

	const size = 512 << 20
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += os.Getpagesize() {
		buf[i] = 1
	}
	begin, startWall := cpuTimeSelf(t), time.Now()
	for cpuTimeSelf(t)-begin < 400*time.Millisecond && time.Since(startWall) < 10*time.Second {
		var wg sync.WaitGroup
		for range runtime.NumCPU() {
			wg.Go(func() { burnCPU(20 * time.Millisecond) })
		}
		wg.Wait()
	}
	require.GreaterOrEqual(t, cpuTimeSelf(t)-begin, 400*time.Millisecond)
	second := s.scrape(t)
	runtime.KeepAlive(buf)
	burnt := cpuTimeSelf(t)

	self := os.Getpid()
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	me, err := user.Current()
	require.NoError(t, err)

	mem := pointsOfPid(second["process.memory.usage"], self)
	require.Len(t, mem, 1, "this process is among the top by memory")
	assert.GreaterOrEqual(t, mem[0].IntValue(), int64(size))
	attrs := mem[0].Attributes().AsRaw()
	assert.Equal(t, strings.TrimSpace(string(comm)), attrs["process.executable.name"])
	assert.Equal(t, me.Username, attrs["process.owner"])

	util := pointsOfPid(second["process.cpu.utilization"], self)
	require.Len(t, util, 1, "this process is among the top by CPU")
	assert.Greater(t, util[0].DoubleValue(), 0.0)
	assert.LessOrEqual(t, util[0].DoubleValue(), float64(runtime.NumCPU())+0.5)

	cpu := pointsOfPid(second["process.cpu.time"], self)
	require.Len(t, cpu, 2)
	total := 0.0
	for _, dp := range cpu {
		total += dp.DoubleValue()
		assert.Less(t, dp.StartTimestamp(), dp.Timestamp(), "counted from the process's start")
	}
	// /proc counts in 10 ms ticks.
	assert.InDelta(t, burnt.Seconds(), total, 0.1+0.05*burnt.Seconds())

	n := len(pids(second["process.memory.usage"]))
	assert.True(t, n >= 10 && n <= 20, "the union of two top-10s: %d processes", n)
	assert.Equal(t, pids(second["process.memory.usage"]), pids(second["process.cpu.time"]))
}

func TestTopProcessesSettings(t *testing.T) {
	got := newTestScraper(t, only("processes"), func(c *Config) { c.TopProcesses = 0 }).scrape(t)
	assert.ElementsMatch(t, []string{"system.processes.count", "system.processes.created"}, keys(got))

	got = newTestScraper(t, only("processes"), func(c *Config) { c.TopProcesses = 2 }).scrape(t)
	n := len(pids(got["process.memory.usage"]))
	assert.True(t, n >= 2 && n <= 4, "%d processes", n)
	assert.Equal(t, 2*n, dataPoints(got["process.cpu.time"]).Len())
}

func TestProcessCounts(t *testing.T) {
	got := newTestScraper(t, only("processes")).scrape(t)
	counts := map[string]float64{}
	for _, dp := range pointsWith(got["system.processes.count"]) {
		st, _ := dp.Attributes().Get("status")
		counts[st.Str()] = value(dp)
	}
	assert.Len(t, counts, len(processStatuses))
	assert.GreaterOrEqual(t, counts["running"], 1.0, "the thread reading /proc/stat runs")
	assert.Positive(t, counts["sleeping"])

	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	procs := 0.0
	for _, e := range entries {
		if _, ok := parseUint([]byte(e.Name())); ok {
			procs++
		}
	}
	// The states other than running and blocked count processes; the processes whose main
	// thread runs or waits on I/O are in neither.
	byProcess := counts["sleeping"] + counts["idle"] + counts["stopped"] + counts["zombies"] + counts["unknown"]
	assert.InDelta(t, procs, byProcess, procs/5+5, "every process is counted (others start and end meanwhile)")
	created := value(dataPoints(got["system.processes.created"]).At(0))
	assert.GreaterOrEqual(t, created, procs-5)
}

func TestParseProcStat(t *testing.T) {
	var p procSample
	line := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 123456 1000000 2048 18446744073709551615\n"
	require.True(t, parseProcStat([]byte(line), &p))
	assert.Equal(t, "a (b) c", string(p.comm[:p.commLen]))
	assert.Equal(t, byte('S'), p.state)
	assert.Equal(t, uint64(250), p.utime)
	assert.Equal(t, uint64(75), p.stime)
	assert.Equal(t, uint64(123456), p.start)
	assert.Equal(t, uint64(2048), p.rss)

	for _, bad := range []string{"", "4242 a S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 x 75 0 0 20 0 1 0 1 1 1"} {
		assert.False(t, parseProcStat([]byte(bad), &p), bad)
	}

	// This process's own stat file parses, and names this process.
	data, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	require.True(t, parseProcStat(data, &p))
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(comm)), string(p.comm[:p.commLen]))
	assert.Contains(t, "RSD", string(p.state))
}

func TestParseStatusUID(t *testing.T) {
	uid, ok := parseStatusUID([]byte("Name:\tx\nUmask:\t0022\nUid:\t1000\t1001\t1001\t1001\nGid:\t5\n"))
	assert.True(t, ok)
	assert.Equal(t, uint32(1000), uid)
	_, ok = parseStatusUID([]byte("Name:\tx\n"))
	assert.False(t, ok)
}
