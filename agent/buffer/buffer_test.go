package buffer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuf collects a logger's output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("test", flag.PanicOnError))
	return c
}

func open(t testing.TB, cfg Config, dir string) (*Buffer, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	b, err := Open(cfg, dir, slog.New(slog.NewTextHandler(logs, nil)), prometheus.NewRegistry())
	require.NoError(t, err)
	return b, logs
}

func payload(i int) []byte { return fmt.Appendf(nil, "entry-%04d", i) }

func kindOf(i int) Kind {
	if i%2 == 0 {
		return KindLogs
	}
	return KindMetrics
}

// next fails the test instead of blocking when the buffer is unexpectedly empty.
func next(t *testing.T, b *Buffer) Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := b.Next(ctx)
	require.NoError(t, err)
	return e
}

func requireEmpty(t *testing.T, b *Buffer) {
	t.Helper()
	require.Zero(t, b.Len())
	require.Zero(t, b.Bytes())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := b.Next(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// drain acknowledges everything, returning the payloads in delivery order.
func drain(t *testing.T, b *Buffer) []string {
	t.Helper()
	var got []string
	for b.Len() > 0 {
		e := next(t, b)
		got = append(got, string(e.Payload))
		require.NoError(t, b.Ack(e.Seq))
	}
	return got
}

func TestKindString(t *testing.T) {
	require.Equal(t, "logs", KindLogs.String())
	require.Equal(t, "metrics", KindMetrics.String())
	require.Equal(t, "unknown", Kind(0).String())
}

func TestConfig(t *testing.T) {
	c := testConfig()
	require.Equal(t, int64(512<<20), c.MaxBytes)
	require.Equal(t, int64(1<<20), c.SegmentBytes)
	require.NoError(t, c.Validate())
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"zero max", func(c *Config) { c.MaxBytes = 0 }, "buffer.max_bytes must be positive"},
		{"zero segment", func(c *Config) { c.SegmentBytes = 0 }, "buffer.segment_bytes must be positive"},
		{"huge segment", func(c *Config) { c.SegmentBytes, c.MaxBytes = 2<<30, 4<<30 }, "at most 1 GiB"},
		{"segment over max", func(c *Config) { c.MaxBytes = 1 << 19 }, "must not exceed buffer.max_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.mutate(&c)
			require.ErrorContains(t, c.Validate(), tc.want)
			_, err := Open(c, t.TempDir(), slog.New(slog.DiscardHandler), nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestAppendNextAckOrder(t *testing.T) {
	b, _ := open(t, testConfig(), t.TempDir())
	defer b.Close()
	requireEmpty(t, b)

	for i := range 10 {
		seq, err := b.Append(kindOf(i), payload(i))
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), seq)
	}
	require.Equal(t, 10, b.Len())
	require.Equal(t, int64(10*(headerSize+len(payload(0)))), b.Bytes())

	first := next(t, b)
	require.Equal(t, Entry{Seq: 1, Kind: KindLogs, Payload: payload(0)}, first)
	require.Equal(t, first, next(t, b), "without an Ack, Next returns the same entry")

	require.ErrorIs(t, b.Ack(2), ErrNotOldest)
	require.ErrorIs(t, b.Ack(99), ErrNotOldest)
	require.NoError(t, b.Ack(1))
	require.NoError(t, b.Ack(1), "acknowledging an entry already gone is not an error")

	for i := 1; i < 10; i++ {
		e := next(t, b)
		require.Equal(t, uint64(i+1), e.Seq)
		require.Equal(t, kindOf(i), e.Kind)
		require.Equal(t, payload(i), e.Payload)
		require.NoError(t, b.Ack(e.Seq))
	}
	requireEmpty(t, b)
	require.ErrorIs(t, b.Ack(11), ErrNotOldest)
	require.InDelta(t, 5, testutil.ToFloat64(b.appended.WithLabelValues("logs")), 0)
	require.InDelta(t, 5, testutil.ToFloat64(b.appended.WithLabelValues("metrics")), 0)

	_, err := b.Append(Kind(7), nil)
	require.ErrorContains(t, err, "invalid kind")
}

func TestNextWaitsForAppendAndClose(t *testing.T) {
	b, _ := open(t, testConfig(), t.TempDir())

	got := make(chan Entry)
	go func() {
		e, err := b.Next(context.Background())
		if err == nil {
			got <- e
		}
		close(got)
	}()
	select {
	case e := <-got:
		t.Fatalf("Next returned %v from an empty buffer", e)
	case <-time.After(50 * time.Millisecond):
	}
	_, err := b.Append(KindMetrics, []byte("m"))
	require.NoError(t, err)
	require.Equal(t, Entry{Seq: 1, Kind: KindMetrics, Payload: []byte("m")}, <-got)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, b.Ack(1))
	_, err = b.Next(ctx)
	require.ErrorIs(t, err, context.Canceled)

	closed := make(chan error)
	go func() {
		_, err := b.Next(context.Background())
		closed <- err
	}()
	require.NoError(t, b.Close())
	require.ErrorIs(t, <-closed, ErrClosed)
	require.NoError(t, b.Close(), "closing twice is harmless")
	_, err = b.Append(KindLogs, nil)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, b.Ack(1), ErrClosed)
}

func TestRestartKeepsUnackedAndDropsAcked(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 256 // several segments, and front truncations along the way
	dir := t.TempDir()
	b, _ := open(t, cfg, dir)
	for i := range 40 {
		_, err := b.Append(kindOf(i), payload(i))
		require.NoError(t, err)
	}
	for i := range 25 {
		e := next(t, b)
		require.Equal(t, uint64(i+1), e.Seq)
		require.NoError(t, b.Ack(e.Seq))
	}
	require.NoError(t, b.Close())

	b, logs := open(t, cfg, dir)
	require.Equal(t, 15, b.Len())
	require.Equal(t, int64(15*(headerSize+len(payload(0)))), b.Bytes())
	require.Contains(t, logs.String(), "buffer opened with undelivered entries")
	e := next(t, b)
	require.Equal(t, Entry{Seq: 26, Kind: kindOf(25), Payload: payload(25)}, e)
	seq, err := b.Append(KindLogs, payload(40))
	require.NoError(t, err)
	require.Equal(t, uint64(41), seq, "sequence numbers continue across a restart")

	var want []string
	for i := 25; i <= 40; i++ {
		want = append(want, string(payload(i)))
	}
	require.Equal(t, want, drain(t, b))
	require.NoError(t, b.Close())
}

func TestEverythingAckedThenRestartIsEmpty(t *testing.T) {
	for _, tc := range []struct {
		name    string
		segment int64
		entries int
	}{
		// One segment's worth not yet reached: only the marker says the entries are gone.
		{"marker only", 1 << 20, 5},
		// Many segments: the log's front was cut, last time down to an empty log.
		{"log cut", 128, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.SegmentBytes = tc.segment
			dir := t.TempDir()
			b, _ := open(t, cfg, dir)
			for i := range tc.entries {
				_, err := b.Append(kindOf(i), payload(i))
				require.NoError(t, err)
			}
			require.Len(t, drain(t, b), tc.entries)
			require.NoError(t, b.Close())

			for restart := range 2 {
				b, _ = open(t, cfg, dir)
				requireEmpty(t, b)
				seq, err := b.Append(KindLogs, []byte("after"))
				require.NoError(t, err)
				require.Equal(t, uint64(tc.entries+1+restart), seq, "acknowledged sequence numbers are not reused")
				require.Equal(t, []string{"after"}, drain(t, b))
				require.NoError(t, b.Close())
			}
		})
	}
}

func TestDropOldestOverMaxBytes(t *testing.T) {
	cfg := testConfig()
	entry := int64(headerSize + len(payload(0)))
	cfg.MaxBytes = 10 * entry
	cfg.SegmentBytes = 4 * entry
	dir := t.TempDir()
	b, logs := open(t, cfg, dir)
	for i := range 10 {
		_, err := b.Append(kindOf(i), payload(i))
		require.NoError(t, err)
	}
	require.Zero(t, testutil.ToFloat64(b.droppedB))

	// The sender holds the oldest entry while the next Appends push it out.
	inFlight := next(t, b)
	for i := 10; i < 13; i++ {
		_, err := b.Append(kindOf(i), payload(i))
		require.NoError(t, err)
	}
	require.Equal(t, 10, b.Len())
	require.Equal(t, cfg.MaxBytes, b.Bytes())
	require.InDelta(t, 2, testutil.ToFloat64(b.dropped.WithLabelValues("logs")), 0) // entries 0 and 2
	require.InDelta(t, 1, testutil.ToFloat64(b.dropped.WithLabelValues("metrics")), 0)
	require.InDelta(t, float64(3*entry), testutil.ToFloat64(b.droppedB), 0)
	require.Equal(t, 1, strings.Count(logs.String(), "buffer full"), "drops are logged once a minute, not per entry")
	require.NoError(t, b.Ack(inFlight.Seq), "the entry in flight was dropped meanwhile")
	require.Equal(t, uint64(4), next(t, b).Seq)
	require.NoError(t, b.Close())

	// The drops are durable.
	b, _ = open(t, cfg, dir)
	defer b.Close()
	var want []string
	for i := 3; i < 13; i++ {
		want = append(want, string(payload(i)))
	}
	require.Equal(t, want, drain(t, b))

	_, err := b.Append(KindLogs, make([]byte, cfg.MaxBytes))
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestConcurrentAppend(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 4096
	dir := t.TempDir()
	b, _ := open(t, cfg, dir)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	seqs := make([][]uint64, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq, err := b.Append(kindOf(w), fmt.Appendf(nil, "%d/%d", w, i))
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], seq)
			}
		})
	}
	wg.Wait()
	var all []uint64
	for _, s := range seqs {
		require.True(t, sort.SliceIsSorted(s, func(i, j int) bool { return s[i] < s[j] }))
		all = append(all, s...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i, s := range all {
		require.Equal(t, uint64(i+1), s, "sequence numbers are unique and without gaps")
	}
	require.NoError(t, b.Close())

	b, _ = open(t, cfg, dir)
	defer b.Close()
	nextOf := make([]int, writers)
	for _, p := range drain(t, b) {
		var w, i int
		_, err := fmt.Sscanf(p, "%d/%d", &w, &i)
		require.NoError(t, err)
		require.Equal(t, nextOf[w], i, "each writer's entries come out in its order")
		nextOf[w]++
	}
	for w := range writers {
		require.Equal(t, each, nextOf[w])
	}
}

// lastSegment is the path of the newest segment file.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "segments", "[0-9]*"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	sort.Strings(names)
	return names[len(names)-1]
}

func TestTornTailRepairedOnOpen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantLog string
		tear    func(t *testing.T, path string)
	}{
		{"cut mid-record", "cut a torn write", func(t *testing.T, path string) {
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, st.Size()-3))
		}},
		{"cut inside the length", "cut a torn write", func(t *testing.T, path string) {
			// The last record is 1 MiB: its length takes 3 bytes, of which 2 stay.
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			off := len(data) - (1<<20 + headerSize) - 3
			require.NoError(t, os.Truncate(path, int64(off+2)))
		}},
		{"zero-filled tail", "bad checksum", func(t *testing.T, path string) {
			// What a filesystem may leave after a power cut: the size grew, the data did not land.
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			off := len(data) - (1<<20 + headerSize) - 3
			clear(data[off+3:])
			require.NoError(t, os.WriteFile(path, data, 0o640))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.SegmentBytes = 2 << 20
			dir := t.TempDir()
			b, _ := open(t, cfg, dir)
			for i := range 4 {
				_, err := b.Append(kindOf(i), payload(i))
				require.NoError(t, err)
			}
			_, err := b.Append(KindLogs, bytes.Repeat([]byte{'x'}, 1<<20))
			require.NoError(t, err)
			require.NoError(t, b.Ack(1))
			require.NoError(t, b.Close())

			tc.tear(t, lastSegment(t, dir))

			b, logs := open(t, cfg, dir)
			defer b.Close()
			require.Contains(t, logs.String(), tc.wantLog)
			require.Equal(t, 3, b.Len(), "the torn entry is gone, the ones before it stay")
			seq, err := b.Append(KindMetrics, []byte("new"))
			require.NoError(t, err)
			require.Equal(t, uint64(5), seq)
			require.Equal(t, []string{"entry-0001", "entry-0002", "entry-0003", "new"}, drain(t, b))
		})
	}
}

func TestDamagedEntryInTheMiddleIsDropped(t *testing.T) {
	cfg := testConfig()
	dir := t.TempDir()
	b, _ := open(t, cfg, dir)
	for i := range 4 {
		_, err := b.Append(kindOf(i), payload(i))
		require.NoError(t, err)
	}
	require.NoError(t, b.Close())

	// Flip a payload byte of the second record.
	path := lastSegment(t, dir)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	size, n := binary.Uvarint(data)
	second := n + int(size)
	data[second+1+headerSize] ^= 0xff
	require.NoError(t, os.WriteFile(path, data, 0o640))

	b, logs := open(t, cfg, dir)
	defer b.Close()
	require.Equal(t, 4, b.Len())
	require.Equal(t, []string{"entry-0000", "entry-0002", "entry-0003"}, drain(t, b))
	require.InDelta(t, 1, testutil.ToFloat64(b.corruptSeen), 0)
	require.Contains(t, logs.String(), "checksum does not match")
}

func TestTornMarkerSlotFallsBackToThePreviousValue(t *testing.T) {
	cfg := testConfig()
	dir := t.TempDir()
	b, _ := open(t, cfg, dir)
	for i := range 3 {
		_, err := b.Append(KindLogs, payload(i))
		require.NoError(t, err)
	}
	require.NoError(t, b.Ack(1)) // slot 0
	require.NoError(t, b.Ack(2)) // slot 1
	require.NoError(t, b.Close())

	f, err := os.OpenFile(filepath.Join(dir, markerName), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xde, 0xad}, markerSlotOffset+3)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	b, _ = open(t, cfg, dir)
	defer b.Close()
	// At least once: the entry whose acknowledgement was torn comes again.
	require.Equal(t, []string{"entry-0001", "entry-0002"}, drain(t, b))
}

func TestMarkerAheadOfLogIsReset(t *testing.T) {
	cfg := testConfig()
	dir := t.TempDir()
	b, _ := open(t, cfg, dir)
	for i := range 3 {
		_, err := b.Append(KindLogs, payload(i))
		require.NoError(t, err)
	}
	require.Len(t, drain(t, b), 3)
	require.NoError(t, b.Close())
	// Someone removed the segments but not the marker.
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "segments")))

	b, logs := open(t, cfg, dir)
	require.Contains(t, logs.String(), "marker is ahead")
	seq, err := b.Append(KindLogs, []byte("fresh"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), seq)
	require.NoError(t, b.Close())

	b, _ = open(t, cfg, dir)
	defer b.Close()
	require.Equal(t, []string{"fresh"}, drain(t, b), "the new entry is not taken as acknowledged")
}

func TestBigPayloads(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 256 << 10 // entries larger than a segment
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	b, _ := open(t, cfg, dir)
	for _, n := range []int{3 << 20, 10, 700 << 10, 256 << 10, 1} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		want = append(want, p)
		_, err := b.Append(KindMetrics, p)
		require.NoError(t, err)
	}
	e := next(t, b)
	require.Equal(t, want[0], e.Payload)
	require.NoError(t, b.Ack(e.Seq))
	require.NoError(t, b.Close())

	b, _ = open(t, cfg, dir)
	defer b.Close()
	for _, w := range want[1:] {
		e := next(t, b)
		require.True(t, bytes.Equal(w, e.Payload), "payload of %d bytes read back intact", len(w))
		require.NoError(t, b.Ack(e.Seq))
	}
	requireEmpty(t, b)
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	b, err := Open(testConfig(), t.TempDir(), slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.Append(KindLogs, []byte("abc"))
	require.NoError(t, err)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP faultline_agent_buffer_bytes Bytes of the entries waiting in the on-disk buffer.
# TYPE faultline_agent_buffer_bytes gauge
faultline_agent_buffer_bytes 8
# HELP faultline_agent_buffer_entries Entries in the on-disk buffer waiting to be delivered.
# TYPE faultline_agent_buffer_entries gauge
faultline_agent_buffer_entries 1
# HELP faultline_agent_buffer_capacity_bytes The on-disk buffer's bound (buffer.max-bytes); beyond it the oldest entries are dropped.
# TYPE faultline_agent_buffer_capacity_bytes gauge
faultline_agent_buffer_capacity_bytes 5.36870912e+08
`), "faultline_agent_buffer_bytes", "faultline_agent_buffer_entries", "faultline_agent_buffer_capacity_bytes"))
	n, err := testutil.GatherAndCount(reg, "faultline_agent_buffer_appended_total", "faultline_agent_buffer_dropped_total",
		"faultline_agent_buffer_dropped_bytes_total", "faultline_agent_buffer_corrupt_entries_total")
	require.NoError(t, err)
	require.Equal(t, 6, n)
}

func TestOpenFailsOnDamageThatIsNotATornWrite(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 64
	dir := t.TempDir()
	b, _ := open(t, cfg, dir)
	for i := range 20 {
		_, err := b.Append(KindLogs, payload(i))
		require.NoError(t, err)
	}
	require.NoError(t, b.Close())
	// Cut the first segment in the middle of a record: acknowledged-durable data is gone.
	names, err := filepath.Glob(filepath.Join(dir, "segments", "[0-9]*"))
	require.NoError(t, err)
	sort.Strings(names)
	require.Greater(t, len(names), 2)
	require.NoError(t, os.Truncate(names[0], 5))

	_, err = Open(cfg, dir, slog.New(slog.DiscardHandler), nil)
	require.Error(t, err)
	require.ErrorContains(t, err, "move "+dir+" away")
	require.False(t, errors.Is(err, ErrClosed))
}

// A write that fails with ENOSPC or EIO cannot be produced on demand here, so this drives the
// recovery directly: the log holds an entry the buffer never acknowledged to its caller.
func TestRecoverLogAfterAFailedWrite(t *testing.T) {
	cfg := testConfig()
	dir := t.TempDir()
	b, _ := open(t, cfg, dir)
	_, err := b.Append(KindLogs, payload(0))
	require.NoError(t, err)
	require.NoError(t, b.log.Write(2, b.encode(KindLogs, []byte("failed write that reached the disk"))))

	b.mu.Lock()
	b.recoverLog()
	b.mu.Unlock()
	require.NoError(t, b.broken)
	seq, err := b.Append(KindMetrics, payload(1))
	require.NoError(t, err)
	require.Equal(t, uint64(2), seq)
	require.NoError(t, b.Close())

	b, _ = open(t, cfg, dir)
	defer b.Close()
	require.Equal(t, []string{"entry-0000", "entry-0001"}, drain(t, b))
}

const childDirEnv = "FAULTLINE_BUFFER_TEST_CHILD_DIR"

// TestKilledWhileWriting SIGKILLs a process that is appending and acknowledging (no Close,
// no deferred anything) and checks that everything whose Append returned, and nothing whose
// Ack returned, is there after reopening. The process is this test binary, rerun as a child.
func TestKilledWhileWriting(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		runKilledChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWhileWriting$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())

	var appended, acked uint64
	sc := bufio.NewScanner(out)
	for lines := 0; sc.Scan(); lines++ {
		var op string
		var seq uint64
		_, err := fmt.Sscanf(sc.Text(), "%s %d", &op, &seq)
		require.NoError(t, err, sc.Text())
		switch op {
		case "append":
			require.Equal(t, appended+1, seq)
			appended = seq
		case "ack":
			require.Equal(t, acked+1, seq)
			acked = seq
		}
		if lines == 400 {
			require.NoError(t, cmd.Process.Kill())
		}
	}
	require.Error(t, cmd.Wait(), "the child was killed")
	require.Greater(t, appended, uint64(300))

	cfg := testConfig()
	cfg.SegmentBytes = 16 << 10
	b, _ := open(t, cfg, dir)
	defer b.Close()
	// One operation may have completed without its line being printed.
	first := next(t, b).Seq
	require.Contains(t, []uint64{acked + 1, acked + 2}, first)
	n := uint64(b.Len())
	last := first + n - 1
	require.Contains(t, []uint64{appended, appended + 1}, last)
	for seq := first; seq <= last; seq++ {
		e := next(t, b)
		require.Equal(t, seq, e.Seq)
		require.Equal(t, childPayload(seq), e.Payload)
		require.NoError(t, b.Ack(seq))
	}
}

func childPayload(seq uint64) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "%d;", seq), 1+int(seq%7)*100)
}

func runKilledChild(dir string) {
	cfg := testConfig()
	cfg.SegmentBytes = 16 << 10
	b, err := Open(cfg, dir, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		panic(err)
	}
	for want := uint64(1); ; want++ {
		seq, err := b.Append(KindLogs, childPayload(want))
		if err != nil || seq != want {
			panic(fmt.Sprint(seq, err))
		}
		fmt.Printf("append %d\n", seq)
		if seq%3 == 0 {
			e, err := b.Next(context.Background())
			if err != nil {
				panic(err)
			}
			if err := b.Ack(e.Seq); err != nil {
				panic(err)
			}
			fmt.Printf("ack %d\n", e.Seq)
		}
	}
}
