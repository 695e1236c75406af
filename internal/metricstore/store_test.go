package metricstore

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testConfig() Config {
	var cfg Config
	cfg.RegisterFlags(flag.NewFlagSet("test", flag.ContinueOnError))
	return cfg
}

func openTestStore(t testing.TB, cfg Config, dir string, reg prometheus.Registerer) *Store {
	t.Helper()
	s, err := Open(cfg, dir, slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	cfg := testConfig()
	require.Equal(t, 15*24*time.Hour, cfg.Retention)
	require.Equal(t, int64(0), cfg.MaxDiskBytes)
	require.Equal(t, 2*time.Minute, cfg.QueryTimeout)
	require.Equal(t, 50_000_000, cfg.MaxSamples)
	require.Equal(t, 5*time.Minute, cfg.LookbackDelta)
	require.NoError(t, cfg.Validate())

	for name, mutate := range map[string]func(*Config){
		"retention":      func(c *Config) { c.Retention = 0 },
		"short":          func(c *Config) { c.Retention = time.Minute },
		"max disk bytes": func(c *Config) { c.MaxDiskBytes = -1 },
		"query timeout":  func(c *Config) { c.QueryTimeout = 0 },
		"max samples":    func(c *Config) { c.MaxSamples = 0 },
		"lookback":       func(c *Config) { c.LookbackDelta = -time.Second },
	} {
		t.Run(name, func(t *testing.T) {
			c := testConfig()
			mutate(&c)
			require.Error(t, c.Validate())
			_, err := Open(c, t.TempDir(), nil, nil)
			require.Error(t, err)
		})
	}
}

// appendSeries writes value i*10 at base+i*15s for i in [0,n) to a series.
func appendSeries(t testing.TB, s *Store, lset labels.Labels, base time.Time, n int) {
	t.Helper()
	app := s.Appendable().Appender(context.Background())
	for i := range n {
		_, err := app.Append(0, lset, base.Add(time.Duration(i)*15*time.Second).UnixMilli(), float64(i*10))
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
}

func instant(t testing.TB, s *Store, q string, ts time.Time) promql.Vector {
	t.Helper()
	qry, err := s.Engine().NewInstantQuery(context.Background(), s.Queryable(), nil, q, ts)
	require.NoError(t, err)
	defer qry.Close()
	res := qry.Exec(context.Background())
	require.NoError(t, res.Err)
	v, err := res.Vector()
	require.NoError(t, err)
	return v
}

func TestAppendAndQuery(t *testing.T) {
	s := openTestStore(t, testConfig(), t.TempDir(), prometheus.NewRegistry())
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	lset := labels.FromStrings("__name__", "requests_total", "service", "checkout")
	appendSeries(t, s, lset, base, 21) // 0..200 over 5m

	v := instant(t, s, `requests_total{service="checkout"}`, base.Add(5*time.Minute))
	require.Len(t, v, 1)
	require.Equal(t, 200.0, v[0].F)
	require.Equal(t, lset, v[0].Metric)

	// 10 per 15s is 2/3 per second.
	v = instant(t, s, `rate(requests_total[2m])`, base.Add(5*time.Minute))
	require.Len(t, v, 1)
	require.InDelta(t, 10.0/15, v[0].F, 1e-9)

	// @ modifier and negative offset are enabled.
	v = instant(t, s, `requests_total @ `+formatUnix(base.Add(time.Minute))+` offset -1m`, base)
	require.Len(t, v, 1)
	require.Equal(t, 80.0, v[0].F)

	qry, err := s.Engine().NewRangeQuery(context.Background(), s.Queryable(), nil, `requests_total`,
		base, base.Add(2*time.Minute), 30*time.Second)
	require.NoError(t, err)
	defer qry.Close()
	res := qry.Exec(context.Background())
	require.NoError(t, res.Err)
	m, err := res.Matrix()
	require.NoError(t, err)
	require.Len(t, m, 1)
	var got []float64
	for _, p := range m[0].Floats {
		got = append(got, p.F)
	}
	require.Equal(t, []float64{0, 20, 40, 60, 80}, got)
}

func formatUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	s, err := Open(testConfig(), dir, nil, reg)
	require.NoError(t, err)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	lset := labels.FromStrings("__name__", "up", "job", "a")
	appendSeries(t, s, lset, base, 3)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")

	// Same registry: Close unregistered everything, so this must not panic.
	s2 := openTestStore(t, testConfig(), dir, reg)
	require.Equal(t, dir, s2.Dir())
	v := instant(t, s2, `up`, base.Add(30*time.Second))
	require.Len(t, v, 1)
	require.Equal(t, 20.0, v[0].F)
	require.Equal(t, uint64(1), s2.DB().Head().NumSeries())
}

// TestRetentionApplied writes an old and a new block, then opens the store: blocks whose end is
// more than the retention before the newest block's end are deleted on open.
func TestRetentionApplied(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		blocks    int
	}{
		{"default keeps both", DefaultRetention, 2},
		{"1d deletes the 3d-old block", 24 * time.Hour, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Now()
			writeBlock(t, dir, now.Add(-72*time.Hour))
			writeBlock(t, dir, now.Add(-3*time.Hour))

			cfg := testConfig()
			cfg.Retention = tc.retention
			s := openTestStore(t, cfg, dir, nil)
			require.Len(t, s.DB().Blocks(), tc.blocks)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var blockDirs int
			for _, e := range entries {
				if _, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json")); err == nil {
					blockDirs++
				}
			}
			require.Equal(t, tc.blocks, blockDirs)
		})
	}
}

func writeBlock(t *testing.T, dir string, at time.Time) {
	t.Helper()
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, int64(2*time.Hour/time.Millisecond))
	require.NoError(t, err)
	app := w.Appender(context.Background())
	_, err = app.Append(0, labels.FromStrings("__name__", "old", "at", at.Format(time.RFC3339)), at.UnixMilli(), 1)
	require.NoError(t, err)
	require.NoError(t, app.Commit())
	_, err = w.Flush(context.Background())
	require.NoError(t, err)
	require.NoError(t, w.Close())
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTestStore(t, testConfig(), t.TempDir(), reg)
	appendSeries(t, s, labels.FromStrings("__name__", "up"), time.Now(), 1)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, mf := range mfs {
		if mf.GetName() == "faultline_metricstore_disk_bytes" {
			require.Positive(t, mf.GetMetric()[0].GetGauge().GetValue(), "the WAL holds a sample")
		}
	}
	for _, n := range []string{
		"faultline_metric_points_received_total", "faultline_metric_points_stored_total",
		"faultline_metric_points_refused_total", "faultline_metricstore_disk_bytes",
		"prometheus_tsdb_head_series", "prometheus_engine_queries",
	} {
		require.True(t, names[n], n)
	}
}
