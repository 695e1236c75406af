//go:build linux

package hostmetrics

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// defaultConfig is the configuration the flags give by default.
func defaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("hostmetrics", flag.ContinueOnError))
	return c
}

// only enables the named collectors and disables the others.
func only(names ...string) func(*Config) {
	return func(c *Config) {
		for name := range c.Collectors {
			c.Collectors[name] = false
		}
		for _, name := range names {
			c.Collectors[name] = true
		}
	}
}

type testScraper struct {
	*Scraper
	reg  *prometheus.Registry
	logs *syncBuffer
}

func newTestScraper(t testing.TB, modify ...func(*Config)) *testScraper {
	t.Helper()
	cfg := defaultConfig()
	for _, m := range modify {
		m(&cfg)
	}
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	s, err := New(cfg, map[string]string{"host.name": "test-host"}, slog.New(slog.NewTextHandler(logs, nil)), reg)
	require.NoError(t, err)
	return &testScraper{Scraper: s, reg: reg, logs: logs}
}

// scrape returns the metrics of one scrape by name, failing on a name sent twice.
func (s *testScraper) scrape(t testing.TB) map[string]pmetric.Metric {
	t.Helper()
	md := s.Scrape(context.Background())
	require.Equal(t, 1, md.ResourceMetrics().Len())
	rm := md.ResourceMetrics().At(0)
	require.Equal(t, 1, rm.ScopeMetrics().Len())
	sm := rm.ScopeMetrics().At(0)
	require.Equal(t, ScopeName, sm.Scope().Name())
	out := map[string]pmetric.Metric{}
	for i := range sm.Metrics().Len() {
		m := sm.Metrics().At(i)
		_, dup := out[m.Name()]
		require.False(t, dup, "metric %s sent twice", m.Name())
		out[m.Name()] = m
	}
	return out
}

// dataPoints are a sum's or a gauge's points; none for a metric not sent (the zero Metric).
func dataPoints(m pmetric.Metric) pmetric.NumberDataPointSlice {
	if m == (pmetric.Metric{}) {
		return pmetric.NewNumberDataPointSlice()
	}
	if m.Type() == pmetric.MetricTypeSum {
		return m.Sum().DataPoints()
	}
	return m.Gauge().DataPoints()
}

// pointsWith are the points whose attributes include all of the given key, value pairs.
func pointsWith(m pmetric.Metric, kv ...string) []pmetric.NumberDataPoint {
	var out []pmetric.NumberDataPoint
	dps := dataPoints(m)
outer:
	for i := range dps.Len() {
		dp := dps.At(i)
		for j := 0; j+1 < len(kv); j += 2 {
			v, ok := dp.Attributes().Get(kv[j])
			if !ok || v.AsString() != kv[j+1] {
				continue outer
			}
		}
		out = append(out, dp)
	}
	return out
}

// attrValues are the distinct values of an attribute over a metric's points.
func attrValues(m pmetric.Metric, key string) map[string]bool {
	out := map[string]bool{}
	dps := dataPoints(m)
	for i := range dps.Len() {
		if v, ok := dps.At(i).Attributes().Get(key); ok {
			out[v.AsString()] = true
		}
	}
	return out
}

func value(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func attrKeys(attrs pcommon.Map) []string {
	var keys []string
	for k := range attrs.All() {
		keys = append(keys, k)
	}
	return keys
}

// collectorOf finds an enabled collector by name.
func collectorOf[T collector](t testing.TB, s *Scraper, name string) T {
	t.Helper()
	for _, nc := range s.collectors {
		if nc.name == name {
			c, ok := nc.c.(T)
			require.True(t, ok, "collector %s is a %T", name, nc.c)
			return c
		}
	}
	require.FailNow(t, "collector not enabled", name)
	var zero T
	return zero
}

// procLines reads a /proc file's lines.
func procLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// syncBuffer is a log sink safe for the scraper and the test to use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
