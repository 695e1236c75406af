package logstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetentionByAge(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.Retention = 24 * time.Hour
	s := openStore(t, t.TempDir(), cfg)
	now := timeBase()
	old, recent := now.Add(-50*time.Hour), now.Add(-time.Hour)
	require.NoError(t, s.Write(ctx, buildLogs(t,
		logSpec{service: "a", host: "h1", time: old, body: "old a", trace: 1},
		logSpec{service: "b", host: "h1", time: old.Add(time.Minute), body: "old b", trace: 2},
		logSpec{service: "a", host: "h1", time: recent, body: "recent a", trace: 1},
		logSpec{service: "b", host: "h2", time: recent, body: "recent b", trace: 3},
	)))
	require.Equal(t, 4, countKeys(t, s, prefixTrace))
	require.NoError(t, s.EnforceRetention(ctx, now))

	got, err := s.Search(ctx, Query{Start: old.Add(-time.Hour), End: now})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"recent a", "recent b"}, bodies(got))
	got, err = s.Search(ctx, Query{Start: old.Add(-time.Hour), End: now, Service: "b"})
	require.NoError(t, err)
	assert.Equal(t, []string{"recent b"}, bodies(got))
	got, err = s.Search(ctx, Query{Start: old.Add(-time.Hour), End: now, TraceID: traceID(1)})
	require.NoError(t, err)
	assert.Equal(t, []string{"recent a"}, bodies(got))
	assert.Equal(t, 2, countKeys(t, s, prefixData))
	assert.Equal(t, 2, countKeys(t, s, prefixService))
	assert.Equal(t, 2, countKeys(t, s, prefixTrace), "the old hour's trace-index rows are gone")
	assert.InDelta(t, 2, testutil.ToFloat64(s.retentionDeleted.WithLabelValues(reasonAge)), 0)

	// A second pass finds nothing more to delete.
	require.NoError(t, s.EnforceRetention(ctx, now))
	assert.InDelta(t, 2, testutil.ToFloat64(s.retentionDeleted.WithLabelValues(reasonAge)), 0)

	// The trace-index rows of the hour holding the cutoff outlive their block until that
	// hour has expired in full; searches do not see them.
	hour := time.Unix(0, int64(hourOf(uint64(recent.UnixNano())))*int64(time.Hour))
	cut := recent.Add(24*time.Hour + time.Nanosecond) // just after recent's block expires
	require.NoError(t, s.EnforceRetention(ctx, cut))
	assert.Equal(t, 0, countKeys(t, s, prefixData))
	if !hour.Equal(recent) {
		assert.Equal(t, 2, countKeys(t, s, prefixTrace))
	}
	got, err = s.Search(ctx, Query{Start: old, End: now, TraceID: traceID(1)})
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, s.EnforceRetention(ctx, hour.Add(25*time.Hour)))
	assert.Equal(t, 0, countKeys(t, s, prefixTrace), "once the hour has expired, with no data left")
}

func TestRetentionBySize(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.Retention = 365 * 24 * time.Hour
	s := openStore(t, t.TempDir(), cfg)
	now := timeBase()
	rng := rand.New(rand.NewPCG(3, 4))
	start := now.Add(-10 * time.Hour)
	const writes = 100
	for w := range writes {
		specs := make([]logSpec, 200)
		for i := range specs {
			// Random hex bodies do not compress much, so the store grows as they are written.
			specs[i] = logSpec{
				service: "svc", host: "h", time: start.Add(time.Duration(w*200+i) * time.Second),
				body: fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()), trace: rng.Uint64(),
			}
		}
		require.NoError(t, s.Write(ctx, buildStream(t, specs...)))
	}
	require.NoError(t, s.db.Flush())
	full := s.DiskBytes()
	// Pebble keeps write-ahead logs for reuse (about 3 memtables): a fixed part that
	// retention cannot shrink. Cap the store halfway between that and its size now.
	walBytes := int64(s.db.Metrics().WAL.PhysicalSize + s.db.Metrics().WAL.ObsoletePhysicalSize)
	cfg.MaxDiskBytes = walBytes + (full-walBytes)/2
	s.cfg.MaxDiskBytes = cfg.MaxDiskBytes
	require.NoError(t, s.EnforceRetention(ctx, now))
	s.db.TestOnlyWaitForCleaning()
	assert.LessOrEqual(t, s.DiskBytes(), cfg.MaxDiskBytes, "full %d", full)
	deleted := testutil.ToFloat64(s.retentionDeleted.WithLabelValues(reasonSize))
	assert.Greater(t, deleted, 0.0)

	got, err := s.Search(ctx, Query{Start: start, End: now, Limit: writes * 200})
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.InDelta(t, writes*200-deleted, len(got), 0)
	// The newest are kept, the oldest gone: what is left is one unbroken run up to the last.
	assert.Equal(t, start.Add(time.Duration(writes*200-1)*time.Second), got[0].Time)
	assert.Equal(t, start.Add(time.Duration(writes*200-len(got))*time.Second), got[len(got)-1].Time)
}

func TestRunRetention(t *testing.T) {
	cfg := testConfig()
	cfg.Retention = time.Hour
	cfg.RetentionInterval = 10 * time.Millisecond
	reg := prometheus.NewRegistry()
	s, err := Open(cfg, t.TempDir(), false, nil, reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, s.Write(context.Background(), buildLogs(t, logSpec{service: "a", time: old, body: "old"})))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunRetention(ctx) }()
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(s.retentionDeleted.WithLabelValues(reasonAge)) == 1
	}, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.InDelta(t, 0, testutil.ToFloat64(s.retentionFailures), 0)
	n, err := testutil.GatherAndCount(reg, "faultline_logstore_disk_bytes", "faultline_logs_stored_total",
		"faultline_logstore_write_duration_seconds", "faultline_logstore_retention_deleted_records_total",
		"faultline_logstore_retention_failures_total", "faultline_logstore_corrupt_blocks_total")
	require.NoError(t, err)
	assert.Equal(t, 7, n) // the deleted-records counter has two reasons
}
