//go:build linux

package hostmetrics

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// metricSchema is what the hostmetrics receiver's metadata says a metric is.
type metricSchema struct {
	collector string
	unit      string
	sum       bool // a cumulative sum; else a gauge
	monotonic bool
	double    bool // value type
	// attrs are the attribute keys every point has, with the values allowed (nil: any
	// non-empty string; intAttr: an int).
	attrs map[string][]string
	// secondScrape: only sent once a previous scrape gives a delta.
	secondScrape bool
}

var intAttr = []string{"<int>"}

var (
	directionRW = []string{"read", "write"}
	directionRT = []string{"receive", "transmit"}
	fsAttrs     = func(states ...string) map[string][]string {
		a := map[string][]string{"device": nil, "mode": {"rw", "ro", "unknown"}, "mountpoint": nil, "type": nil}
		if states != nil {
			a["state"] = states
		}
		return a
	}
	procAttrs = func(extra map[string][]string) map[string][]string {
		a := map[string][]string{"process.pid": intAttr, "process.executable.name": nil, "process.owner": nil}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	memoryStates = []string{"used", "free", "buffered", "cached", "slab_reclaimable", "slab_unreclaimable"}
)

var schema = map[string]metricSchema{
	"system.cpu.time":             {collector: "cpu", unit: "s", sum: true, monotonic: true, double: true, attrs: map[string][]string{"cpu": nil, "state": cpuStates[:]}},
	"system.cpu.utilization":      {collector: "cpu", unit: "1", double: true, attrs: map[string][]string{"cpu": nil, "state": cpuStates[:]}, secondScrape: true},
	"system.cpu.logical.count":    {collector: "cpu", unit: "{cpu}", sum: true},
	"system.cpu.load_average.1m":  {collector: "load", unit: "{thread}", double: true},
	"system.cpu.load_average.5m":  {collector: "load", unit: "{thread}", double: true},
	"system.cpu.load_average.15m": {collector: "load", unit: "{thread}", double: true},

	"system.memory.usage":       {collector: "memory", unit: "By", sum: true, attrs: map[string][]string{"state": memoryStates}},
	"system.memory.utilization": {collector: "memory", unit: "1", double: true, attrs: map[string][]string{"state": memoryStates}},
	"system.paging.usage":       {collector: "memory", unit: "By", sum: true, attrs: map[string][]string{"device": nil, "state": {"used", "free"}}},
	"system.paging.utilization": {collector: "memory", unit: "1", double: true, attrs: map[string][]string{"device": nil, "state": {"used", "free"}}},
	"system.paging.operations":  {collector: "memory", unit: "{operations}", sum: true, monotonic: true, attrs: map[string][]string{"direction": {"page_in", "page_out"}, "type": {"major", "minor"}}},
	"system.paging.faults":      {collector: "memory", unit: "{faults}", sum: true, monotonic: true, attrs: map[string][]string{"type": {"major", "minor"}}},

	"system.filesystem.usage":        {collector: "filesystem", unit: "By", sum: true, attrs: fsAttrs("used", "free", "reserved")},
	"system.filesystem.utilization":  {collector: "filesystem", unit: "1", double: true, attrs: fsAttrs()},
	"system.filesystem.inodes.usage": {collector: "filesystem", unit: "{inodes}", sum: true, attrs: fsAttrs("used", "free")},

	"system.disk.io":                 {collector: "disk", unit: "By", sum: true, monotonic: true, attrs: map[string][]string{"device": nil, "direction": directionRW}},
	"system.disk.operations":         {collector: "disk", unit: "{operations}", sum: true, monotonic: true, attrs: map[string][]string{"device": nil, "direction": directionRW}},
	"system.disk.io_time":            {collector: "disk", unit: "s", sum: true, monotonic: true, double: true, attrs: map[string][]string{"device": nil}},
	"system.disk.operation_time":     {collector: "disk", unit: "s", sum: true, monotonic: true, double: true, attrs: map[string][]string{"device": nil, "direction": directionRW}},
	"system.disk.weighted_io_time":   {collector: "disk", unit: "s", sum: true, monotonic: true, double: true, attrs: map[string][]string{"device": nil}},
	"system.disk.pending_operations": {collector: "disk", unit: "{operations}", sum: true, attrs: map[string][]string{"device": nil}},
	"system.disk.merged":             {collector: "disk", unit: "{operations}", sum: true, monotonic: true, attrs: map[string][]string{"device": nil, "direction": directionRW}},

	"system.network.io":          {collector: "network", unit: "By", sum: true, monotonic: true, attrs: map[string][]string{"device": nil, "direction": directionRT}},
	"system.network.packets":     {collector: "network", unit: "{packets}", sum: true, monotonic: true, attrs: map[string][]string{"device": nil, "direction": directionRT}},
	"system.network.errors":      {collector: "network", unit: "{errors}", sum: true, monotonic: true, attrs: map[string][]string{"device": nil, "direction": directionRT}},
	"system.network.dropped":     {collector: "network", unit: "{packets}", sum: true, monotonic: true, attrs: map[string][]string{"device": nil, "direction": directionRT}},
	"system.network.connections": {collector: "network", unit: "{connections}", sum: true, attrs: map[string][]string{"protocol": {"tcp"}, "state": tcpStates[1:]}},

	"system.processes.count":   {collector: "processes", unit: "{processes}", sum: true, attrs: map[string][]string{"status": processStatuses[:]}},
	"system.processes.created": {collector: "processes", unit: "{processes}", sum: true, monotonic: true},
	"process.cpu.time":         {collector: "processes", unit: "s", sum: true, monotonic: true, double: true, attrs: procAttrs(map[string][]string{"state": {"user", "system"}})},
	"process.cpu.utilization":  {collector: "processes", unit: "1", double: true, attrs: procAttrs(nil), secondScrape: true},
	"process.memory.usage":     {collector: "processes", unit: "By", sum: true, attrs: procAttrs(nil)},
}

// hasSwap says whether this machine has swap, without which system.paging.usage and
// utilization have no point to send.
func hasSwap(t testing.TB) bool {
	return len(procLines(t, "/proc/swaps")) > 1
}

// expected are the metrics a scrape with the given collectors sends.
func expected(t testing.TB, second bool, collectors ...string) []string {
	var names []string
	for name, s := range schema {
		if !slices.Contains(collectors, s.collector) || (s.secondScrape && !second) {
			continue
		}
		if (name == "system.paging.usage" || name == "system.paging.utilization") && !hasSwap(t) {
			continue
		}
		names = append(names, name)
	}
	return names
}

func TestScrapeMetricSchema(t *testing.T) {
	s := newTestScraper(t)
	first := s.scrape(t)
	assert.ElementsMatch(t, expected(t, false, collectorNames()...), keys(first))
	burnCPU(50 * time.Millisecond) // CPU counters move in 10 ms ticks
	before := pcommon.NewTimestampFromTime(time.Now())
	md := s.Scrape(context.Background())
	after := pcommon.NewTimestampFromTime(time.Now())

	res := md.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, map[string]any{"host.name": "test-host"}, res)
	got := map[string]pmetric.Metric{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		got[ms.At(i).Name()] = ms.At(i)
	}
	require.ElementsMatch(t, expected(t, true, collectorNames()...), keys(got))

	for name, m := range got {
		t.Run(name, func(t *testing.T) {
			want := schema[name]
			assert.Equal(t, want.unit, m.Unit())
			assert.NotEmpty(t, m.Description())
			if want.sum {
				require.Equal(t, pmetric.MetricTypeSum, m.Type())
				assert.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
				assert.Equal(t, want.monotonic, m.Sum().IsMonotonic())
			} else {
				require.Equal(t, pmetric.MetricTypeGauge, m.Type())
			}
			dps := dataPoints(m)
			require.Positive(t, dps.Len())
			wantKeys := make([]string, 0, len(want.attrs))
			for k := range want.attrs {
				wantKeys = append(wantKeys, k)
			}
			seen := map[string]bool{}
			for i := range dps.Len() {
				dp := dps.At(i)
				if want.double {
					assert.Equal(t, pmetric.NumberDataPointValueTypeDouble, dp.ValueType())
				} else {
					assert.Equal(t, pmetric.NumberDataPointValueTypeInt, dp.ValueType())
				}
				assert.GreaterOrEqual(t, value(dp), 0.0)
				assert.True(t, dp.Timestamp() >= before && dp.Timestamp() <= after, "timestamp is the scrape's")
				if want.sum {
					assert.Positive(t, dp.StartTimestamp(), "cumulative sums say since when")
					assert.Less(t, dp.StartTimestamp(), dp.Timestamp())
				}
				assert.ElementsMatch(t, wantKeys, attrKeys(dp.Attributes()))
				for k, allowed := range want.attrs {
					v, _ := dp.Attributes().Get(k)
					switch {
					case slices.Equal(allowed, intAttr):
						assert.Equal(t, pcommon.ValueTypeInt, v.Type(), k)
						assert.Positive(t, v.Int(), k)
					case allowed == nil:
						assert.Equal(t, pcommon.ValueTypeStr, v.Type(), k)
						assert.NotEmpty(t, v.Str(), k)
					default:
						assert.Contains(t, allowed, v.Str(), k)
					}
				}
				// No two points of a metric are one series.
				raw := dp.Attributes().AsRaw()
				var id strings.Builder
				for _, k := range slices.Sorted(maps.Keys(raw)) {
					fmt.Fprintf(&id, "%s=%v,", k, raw[k])
				}
				assert.False(t, seen[id.String()], "series %s sent twice", id.String())
				seen[id.String()] = true
			}
		})
	}
}

// keys are a map's keys.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAlertRuleMetrics pins the metrics Faultline's default alert rules query. The TSDB's
// OTLP translation turns them into:
//
//	system.cpu.utilization (unit 1, gauge)        -> system_cpu_utilization_ratio{cpu, state="idle"}
//	system.memory.utilization (unit 1, gauge)     -> system_memory_utilization_ratio{state="used"}
//	system.filesystem.utilization (unit 1, gauge) -> system_filesystem_utilization_ratio{mountpoint, ...}
//
// and host_name from the resource attribute host.name.
func TestAlertRuleMetrics(t *testing.T) {
	s := newTestScraper(t)
	s.scrape(t)
	burnCPU(50 * time.Millisecond)
	got := s.scrape(t)

	for _, name := range []string{"system.cpu.utilization", "system.memory.utilization", "system.filesystem.utilization"} {
		m, ok := got[name]
		require.True(t, ok, name)
		assert.Equal(t, "1", m.Unit(), name)
		assert.Equal(t, pmetric.MetricTypeGauge, m.Type(), name)
	}
	idle := pointsWith(got["system.cpu.utilization"], "state", "idle")
	require.NotEmpty(t, idle)
	for _, dp := range idle {
		cpu, _ := dp.Attributes().Get("cpu")
		assert.True(t, strings.HasPrefix(cpu.Str(), "cpu"), cpu.Str())
		assert.True(t, value(dp) >= 0 && value(dp) <= 1)
	}
	used := pointsWith(got["system.memory.utilization"], "state", "used")
	require.Len(t, used, 1)
	assert.True(t, value(used[0]) > 0 && value(used[0]) < 1, "used memory share %v", value(used[0]))
	fs := dataPoints(got["system.filesystem.utilization"])
	require.Positive(t, fs.Len())
	for i := range fs.Len() {
		mp, ok := fs.At(i).Attributes().Get("mountpoint")
		require.True(t, ok)
		assert.NotEmpty(t, mp.Str())
	}
}

func TestDisableCollector(t *testing.T) {
	for _, name := range collectorNames() {
		t.Run(name, func(t *testing.T) {
			s := newTestScraper(t, func(c *Config) { c.Collectors[name] = false })
			assert.NotContains(t, s.Collectors(), name)
			others := slices.DeleteFunc(collectorNames(), func(n string) bool { return n == name })
			assert.ElementsMatch(t, expected(t, false, others...), keys(s.scrape(t)))
			assert.ElementsMatch(t, others, selfMetricCollectors(t, s), "self-metrics only for the enabled collectors")

			alone := newTestScraper(t, only(name))
			assert.Equal(t, []string{name}, alone.Collectors())
			assert.ElementsMatch(t, expected(t, false, name), keys(alone.scrape(t)))
		})
	}
	none := newTestScraper(t, only())
	assert.Zero(t, none.Scrape(context.Background()).DataPointCount())
}

func TestSelfMetrics(t *testing.T) {
	s := newTestScraper(t)
	s.scrape(t)
	for _, name := range collectorNames() {
		assert.Equal(t, 1.0, testutil.ToFloat64(s.success.WithLabelValues(name)), name)
		assert.Zero(t, testutil.ToFloat64(s.errors.WithLabelValues(name)), name)
		d := testutil.ToFloat64(s.duration.WithLabelValues(name))
		assert.True(t, d > 0 && d < 5, "%s took %vs", name, d)
	}
	n, err := testutil.GatherAndCount(s.reg, "faultline_agent_scrape_collector_duration_seconds", "faultline_agent_scrape_collector_success", "faultline_agent_scrape_errors_total")
	require.NoError(t, err)
	assert.Equal(t, 3*len(collectorNames()), n)
	assert.Empty(t, s.logs.String())
}

// TestCollectorFailure runs the collectors on a host root whose /proc has only the stat
// file: the CPU collector works, the ones that need other files fail, each is counted,
// logged once however often it fails, and does not stop the others.
func TestCollectorFailure(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "proc"), 0o755))
	stat, err := os.ReadFile("/proc/stat")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "proc", "stat"), stat, 0o600))

	s := newTestScraper(t, func(c *Config) { c.RootPath = root })
	failing := []string{"memory", "filesystem", "disk", "network", "processes"}
	for range 3 {
		got := s.scrape(t)
		assert.Contains(t, got, "system.cpu.time")
		assert.Contains(t, got, "system.cpu.load_average.1m", "gopsutil falls back to sysinfo(2)")
		for name := range got {
			assert.NotContains(t, failing, schema[name].collector, "%s from a failing collector", name)
		}
	}
	assert.Equal(t, 1.0, testutil.ToFloat64(s.success.WithLabelValues("cpu")))
	logs := s.logs.String()
	for _, name := range failing {
		assert.Zero(t, testutil.ToFloat64(s.success.WithLabelValues(name)), name)
		assert.Equal(t, 3.0, testutil.ToFloat64(s.errors.WithLabelValues(name)), name)
		assert.Equal(t, 1, strings.Count(logs, "collector="+name+" "), "%s logged once: %s", name, logs)
	}
	assert.Zero(t, testutil.ToFloat64(s.errors.WithLabelValues("cpu")))
}

func TestRootPath(t *testing.T) {
	_, err := New(Config{MountTimeout: time.Second, RootPath: filepath.Join(t.TempDir(), "missing")}, nil, nil, nil)
	assert.ErrorContains(t, err, "collector.root-path")
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = New(Config{MountTimeout: time.Second, RootPath: file}, nil, nil, nil)
	assert.ErrorContains(t, err, "is not a directory")

	// "/" as the root is the agent's own view: everything works.
	s := newTestScraper(t, func(c *Config) { c.RootPath = "/" })
	s.scrape(t)
	for _, name := range collectorNames() {
		assert.Equal(t, 1.0, testutil.ToFloat64(s.success.WithLabelValues(name)), name)
	}
}

func TestScrapeCanceled(t *testing.T) {
	s := newTestScraper(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Zero(t, s.Scrape(ctx).DataPointCount())
	for _, name := range collectorNames() {
		assert.Zero(t, testutil.ToFloat64(s.errors.WithLabelValues(name)), "%s: a scrape cut short is no failure", name)
	}
}

// selfMetricCollectors are the collector label values of the scraper's own metrics.
func selfMetricCollectors(t testing.TB, s *testScraper) []string {
	t.Helper()
	mfs, err := s.reg.Gather()
	require.NoError(t, err)
	var out []string
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "faultline_agent_scrape_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "collector" && !slices.Contains(out, l.GetValue()) {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	return out
}

// burnCPU keeps this goroutine busy for d of wall time, so that every CPU's counters move
// and this process has used CPU.
func burnCPU(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 10000 {
			x += i
		}
	}
	sink.Add(int64(x))
}

// sink keeps the compiler from dropping burnCPU's loop.
var sink atomic.Int64
