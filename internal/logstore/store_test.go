package logstore

import (
	"context"
	"flag"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestConfig(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	assert.Equal(t, Config{Retention: 168 * time.Hour, RetentionInterval: time.Minute}, cfg)
	require.NoError(t, cfg.Validate())
	require.NoError(t, fs.Parse([]string{"-logstore.retention=24h", "-logstore.max-disk-bytes=1000", "-logstore.retention-interval=5s"}))
	assert.Equal(t, Config{Retention: 24 * time.Hour, MaxDiskBytes: 1000, RetentionInterval: 5 * time.Second}, cfg)

	err := (&Config{Retention: 0, MaxDiskBytes: -1, RetentionInterval: 0}).Validate()
	require.Error(t, err)
	for _, name := range []string{"logstore.retention", "logstore.max_disk_bytes", "logstore.retention_interval"} {
		assert.Contains(t, err.Error(), name)
	}
	_, err = Open(Config{}, t.TempDir(), false, nil, nil)
	require.ErrorContains(t, err, "log store config")
}

// TestRoundTrip writes records with every field set (and some unset) and reads them back.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	t0 := timeBase()
	deep := map[string]any{}
	cur := deep
	for range 40 {
		next := map[string]any{}
		cur["d"] = next
		cur = next
	}
	long := strings.Repeat("x", 300) // an attribute section longer than 127 bytes
	ld := buildLogs(t,
		logSpec{
			service: "checkout", host: "node-1",
			resAttrs: map[string]any{"k8s.pod.name": "pod-7", "shared": "resource", "pid": 42},
			time:     t0, observed: t0.Add(time.Second),
			sev: 17, sevText: "Error", body: "payment failed: card declined",
			trace: 7, span: 9,
			attrs: map[string]any{
				"shared": "record", "str": "s", "int": int64(-5), "double": 2.5, "bool": true, "false": false,
				"bytes": []byte{1, 2, 3}, "slice": []any{"a", int64(1), []any{true}}, "map": map[string]any{"n": nil, "x": "y"},
				"empty": nil, "long": long,
			},
		},
		logSpec{service: "checkout", host: "node-1", observed: t0.Add(time.Millisecond), sev: 9, body: map[string]any{"msg": "hello", "n": int64(3)}},
		logSpec{sevText: "warning", body: int64(12), time: t0.Add(2 * time.Millisecond)},
		logSpec{
			service: "bad\xffutf8", host: "h\xfe", sevText: "x\xff", body: "invalid \xff\xfe body", time: t0.Add(3 * time.Millisecond),
			attrs: map[string]any{"k\xff": "v\xff", "deep": deep},
		},
		logSpec{service: "checkout", time: t0.Add(4 * time.Millisecond), body: []byte{0xde, 0xad}},
		logSpec{service: "checkout", time: t0.Add(5 * time.Millisecond), sev: 99, sevText: "info"},
	)
	before := time.Now()
	require.NoError(t, s.Write(ctx, ld, buildLogs(t, logSpec{service: "now", body: "no time at all"})))
	after := time.Now()

	got, err := s.Search(ctx, Query{Start: t0, End: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, got, 6)

	want := []Record{
		{
			Time: t0.Add(5 * time.Millisecond), Service: "checkout", SeverityNumber: 9, SeverityText: "info", Body: "",
			Attributes: map[string]any{},
		},
		{
			Time: t0.Add(4 * time.Millisecond), Service: "checkout", Body: "3q0=",
			Attributes: map[string]any{},
		},
		{
			Time: t0.Add(3 * time.Millisecond), Service: "bad\uFFFDutf8", Host: "h\uFFFD", SeverityText: "x\uFFFD",
			Body: "invalid \uFFFD body", Attributes: map[string]any{"k\uFFFD": "v\uFFFD", "deep": got[2].Attributes["deep"]},
		},
		{
			Time: t0.Add(2 * time.Millisecond), SeverityNumber: 13, SeverityText: "warning", Body: "12",
			Attributes: map[string]any{},
		},
		{
			Time: t0.Add(time.Millisecond), Service: "checkout", Host: "node-1", SeverityNumber: 9, SeverityText: "INFO",
			Body: `{"msg":"hello","n":3}`, Attributes: map[string]any{},
		},
		{
			Time: t0, Service: "checkout", Host: "node-1", SeverityNumber: 17, SeverityText: "Error",
			Body: "payment failed: card declined", TraceID: traceID(7), SpanID: spanID(9),
			Attributes: map[string]any{
				"k8s.pod.name": "pod-7", "pid": int64(42), "shared": "record",
				"str": "s", "int": int64(-5), "double": 2.5, "bool": true, "false": false,
				"bytes": []byte{1, 2, 3}, "slice": []any{"a", int64(1), []any{true}}, "map": map[string]any{"n": nil, "x": "y"},
				"empty": nil, "long": long,
			},
		},
	}
	assert.Equal(t, want, got)

	// Values nested deeper than maxValueDepth are kept as their JSON text.
	d := got[2].Attributes["deep"]
	for depth := 0; ; depth++ {
		m, ok := d.(map[string]any)
		if !ok {
			assert.Equal(t, maxValueDepth, depth)
			require.IsType(t, "", d)
			assert.True(t, strings.HasPrefix(d.(string), `{"d":{"d":`), d)
			break
		}
		d = m["d"]
	}

	// A record with neither timestamp gets the time of the Write.
	got, err = s.Search(ctx, Query{Service: "now", End: after.Add(time.Second)})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.False(t, got[0].Time.Before(before.Truncate(0)) || got[0].Time.After(after), "%v not in [%v, %v]", got[0].Time, before, after)
	assert.Equal(t, "no time at all", got[0].Body)

	assert.InDelta(t, 7, testutil.ToFloat64(s.recordsStored), 0)
}

func TestWriteEmptyAndClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(testConfig(), t.TempDir(), false, nil, nil)
	require.NoError(t, err)
	require.NoError(t, s.Write(ctx))
	require.NoError(t, s.Write(ctx, plog.NewLogs()))
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty() // no records
	require.NoError(t, s.Write(ctx, ld))
	assert.Equal(t, 0, s.catalog.len(), "a resource without records makes no stream")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.Write(canceled, buildLogs(t, logSpec{body: "x"})), context.Canceled)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Write(ctx, buildLogs(t, logSpec{body: "x"})), ErrClosed)
	_, err = s.Search(ctx, Query{})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, s.EnforceRetention(ctx, time.Now()), ErrClosed)
	require.ErrorIs(t, s.RunRetention(ctx), ErrClosed)
	assert.Positive(t, s.DiskBytes())
}

// TestRestart: everything written before Close is there after Open, and streams created
// after the restart get ids of their own.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := timeBase()
	s, err := Open(testConfig(), dir, false, nil, nil)
	require.NoError(t, err)
	require.NoError(t, s.Write(ctx, buildLogs(t,
		logSpec{service: "a", host: "h1", time: t0, body: "one", trace: 1},
		logSpec{service: "b", host: "h1", time: t0.Add(time.Second), body: "two", sev: 17},
	)))
	require.NoError(t, s.Close())

	s = openStore(t, dir, testConfig())
	require.NoError(t, s.Write(ctx, buildLogs(t,
		logSpec{service: "c", host: "h2", time: t0.Add(2 * time.Second), body: "three"},
		logSpec{service: "a", host: "h2", time: t0.Add(3 * time.Second), body: "four"},
	)))
	q := Query{Start: t0, End: t0.Add(time.Minute)}
	got, err := s.Search(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, []string{"four", "three", "two", "one"}, bodies(got))
	for _, tc := range []struct {
		q    Query
		want []string
	}{
		{Query{Service: "a"}, []string{"four", "one"}},
		{Query{Service: "a", Host: "h1"}, []string{"one"}},
		{Query{Host: "h2"}, []string{"four", "three"}},
		{Query{TraceID: traceID(1)}, []string{"one"}},
		{Query{MinSeverity: SeverityError}, []string{"two"}},
	} {
		tc.q.Start, tc.q.End = q.Start, q.End
		got, err := s.Search(ctx, tc.q)
		require.NoError(t, err)
		assert.Equal(t, tc.want, bodies(got), "%+v", tc.q)
	}
	assert.Equal(t, 4, s.catalog.len())
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := timeBase()
	_, err := Open(testConfig(), dir+"/missing", true, nil, nil)
	require.Error(t, err, "read-only open does not create a store")

	s, err := Open(testConfig(), dir, false, nil, nil)
	require.NoError(t, err)
	require.NoError(t, s.Write(ctx, buildLogs(t, logSpec{service: "a", time: t0, body: "kept"})))
	require.NoError(t, s.Close())

	ro := openStore(t, dir, testConfig())
	require.NoError(t, ro.Close())
	ro, err = Open(testConfig(), dir, true, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	defer func() { require.NoError(t, ro.Close()) }()
	got, err := ro.Search(ctx, Query{Start: t0, End: t0.Add(time.Second)})
	require.NoError(t, err)
	assert.Equal(t, []string{"kept"}, bodies(got))
	require.ErrorIs(t, ro.Write(ctx, buildLogs(t, logSpec{body: "x"})), ErrReadOnly)
	require.ErrorIs(t, ro.EnforceRetention(ctx, time.Now()), ErrReadOnly)
	require.ErrorIs(t, ro.RunRetention(ctx), ErrReadOnly)
}

// TestConcurrentWrites: writers in parallel, each record stored once.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	t0 := timeBase()
	const writers, writes, perWrite = 4, 20, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				specs := make([]logSpec, perWrite)
				for k := range specs {
					n := (w*writes+i)*perWrite + k
					specs[k] = logSpec{
						service: []string{"a", "b", "c"}[n%3], host: []string{"h1", "h2"}[w%2],
						time: t0.Add(time.Duration(n) * time.Microsecond), body: "line", trace: uint64(n%17 + 1),
					}
				}
				assert.NoError(t, s.Write(ctx, buildLogs(t, specs...)))
			}
		})
	}
	wg.Wait()
	total := writers * writes * perWrite
	got, err := s.Search(ctx, Query{Start: t0, End: t0.Add(time.Hour), Limit: total + 10})
	require.NoError(t, err)
	require.Len(t, got, total)
	for i := range got {
		assert.Equal(t, t0.Add(time.Duration(total-1-i)*time.Microsecond), got[i].Time)
	}
	assert.InDelta(t, total, testutil.ToFloat64(s.recordsStored), 0)
	assert.Equal(t, 6, s.catalog.len())
	got, err = s.Search(ctx, Query{Start: t0, End: t0.Add(time.Hour), TraceID: traceID(3), Limit: total})
	require.NoError(t, err)
	assert.Len(t, got, total/17+1) // n%17 == 2 for n = 2, 19, ..., 3994
}

// TestCorruptBlock: a block that does not decode is skipped and counted; the others are
// still found.
func TestCorruptBlock(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	t0 := timeBase()
	require.NoError(t, s.Write(ctx, buildLogs(t,
		logSpec{service: "a", time: t0, body: "old"},
		logSpec{service: "a", time: t0.Add(3 * time.Second), body: "new"},
	)))
	ref := blockRef{minTime: uint64(t0.Add(time.Second).UnixNano()), stream: 0, seq: 1}
	require.NoError(t, s.db.Set(appendDataKey(nil, ref), []byte{blockVersion, 0, 1, 0, 0, 0, 5, 0, 1, 2}, nil))
	got, err := s.Search(ctx, Query{Start: t0, End: t0.Add(time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, []string{"new", "old"}, bodies(got))
	assert.InDelta(t, 1, testutil.ToFloat64(s.corruptBlocks), 0)
}

func TestSeverity(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int32
		ok bool
	}{
		{"TRACE", 1, true},
		{"trace2", 2, true},
		{"Debug", 5, true},
		{"DEBUG4", 8, true},
		{"info", 9, true},
		{"INFO3", 11, true},
		{"warn", 13, true},
		{"WARNING", 13, true},
		{"error", 17, true},
		{"ERR", 17, true},
		{"Error2", 18, true},
		{"fatal", 21, true},
		{"CRITICAL", 21, true},
		{"crit", 21, true},
		{"emerg", 21, true},
		{"panic", 21, true},
		{"notice", 10, true},
		{"information", 9, true},
		{"", 0, false},
		{"info5", 0, false},
		{"warning2", 0, false},
		{"2", 0, false},
		{"bogus", 0, false},
		{strings.Repeat("x", 100), 0, false},
	} {
		n, ok := ParseSeverity(tc.in)
		assert.Equal(t, tc.n, n, tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
	}
	assert.Equal(t, "WARN2", SeverityName(14))
	assert.Empty(t, SeverityName(0))
	assert.Empty(t, SeverityName(25))
	assert.Empty(t, SeverityName(-1))

	for _, tc := range []struct {
		num      int32
		text     string
		wantNum  int32
		wantText string
	}{
		{0, "", 0, ""},
		{9, "", 9, "INFO"},
		{0, " Error ", 17, " Error "},
		{18, "whatever", 18, "whatever"},
		{25, "debug", 5, "debug"},
		{-3, "", 0, ""},
		{math.MaxInt32, "FATAL", 21, "FATAL"},
	} {
		n, text := recordSeverity(tc.num, tc.text)
		assert.Equal(t, tc.wantNum, n, "%d %q", tc.num, tc.text)
		assert.Equal(t, tc.wantText, text, "%d %q", tc.num, tc.text)
	}
}

// TestBlockSplit: a Write whose records of one stream lie more than maxBlockSpread apart, or
// exceed maxBlockRecords, is stored as several blocks, and every record is found.
func TestBlockSplit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	t0 := timeBase()
	var specs []logSpec
	for i := range maxBlockRecords + 10 { // one block's worth at one instant, and more
		specs = append(specs, logSpec{service: "a", time: t0, body: "same instant", attrs: map[string]any{"i": int64(i)}})
	}
	// 10 records 0.5s apart. Blocks: 4096 at t0; 10 at t0 with those at 0.5s and 1s; 1.5s to
	// 2.5s; 3s to 4s; 4.5s and 5s.
	for i := range 10 {
		specs = append(specs, logSpec{service: "a", time: t0.Add(time.Duration(i+1) * 500 * time.Millisecond), body: "spread"})
	}
	require.NoError(t, s.Write(ctx, buildStream(t, specs...)))
	blocks := countKeys(t, s, prefixData)
	assert.Equal(t, 5, blocks)
	assert.Equal(t, blocks, countKeys(t, s, prefixService))
	got, err := s.Search(ctx, Query{Start: t0, End: t0.Add(time.Minute), Limit: len(specs)})
	require.NoError(t, err)
	require.Len(t, got, len(specs))
	for i := range 10 {
		assert.Equal(t, t0.Add(time.Duration(10-i)*500*time.Millisecond), got[i].Time)
	}
}

// countKeys counts the rows of one key family.
func countKeys(t testing.TB, s *Store, prefix byte) int {
	t.Helper()
	it, err := s.db.NewIter(nil)
	require.NoError(t, err)
	defer it.Close()
	n := 0
	for valid := it.SeekGE([]byte{prefix}); valid && it.Key()[0] == prefix; valid = it.Next() {
		n++
	}
	require.NoError(t, it.Error())
	return n
}
