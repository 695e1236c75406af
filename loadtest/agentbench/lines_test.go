package agentbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLinesDue(t *testing.T) {
	for _, tc := range []struct {
		rate    int
		elapsed time.Duration
		want    int64
	}{
		{1000, 0, 0},
		{1000, -time.Second, 0},
		{1000, time.Millisecond, 1},
		{1000, 999 * time.Microsecond, 0},
		{1000, 10 * time.Millisecond, 10},
		{1000, 70 * time.Second, 70_000},
		{3, 500 * time.Millisecond, 1},
		{3, 1500 * time.Millisecond, 4},
		{1_000_000, 24 * time.Hour, 86_400_000_000},
		{0, time.Second, 0},
	} {
		assert.Equal(t, tc.want, LinesDue(tc.rate, tc.elapsed), "rate %d elapsed %s", tc.rate, tc.elapsed)
	}
}

func TestLineGenerator(t *testing.T) {
	ts := time.Date(2025, 11, 22, 5, 38, 0, 123_000_000, time.UTC)
	for _, tc := range []struct {
		format           string
		minAvg, maxAvg   float64
		firstLinePrefix  string
		checkLineContent func(t *testing.T, line []byte)
	}{
		{
			format: FormatText, minAvg: 110, maxAvg: 130, firstLinePrefix: "2025-11-22T05:38:00.123Z INFO checkout ",
			checkLineContent: func(t *testing.T, line []byte) {
				assert.Contains(t, string(line), " user_id=")
			},
		},
		{
			format: FormatJSON, minAvg: 150, maxAvg: 250, firstLinePrefix: `{"time":"2025-11-22T05:38:00.123Z","level":"info","service":"checkout",`,
			checkLineContent: func(t *testing.T, line []byte) {
				var rec map[string]any
				require.NoError(t, json.Unmarshal(line, &rec), "%s", line)
				for _, k := range []string{"time", "level", "service", "msg", "user_id", "duration_ms", "trace_id"} {
					assert.Contains(t, rec, k, "%s", line)
				}
				assert.Len(t, rec["trace_id"], 32)
			},
		},
	} {
		t.Run(tc.format, func(t *testing.T) {
			g, err := NewLineGenerator(tc.format)
			require.NoError(t, err)
			const n = 1000
			var total int
			levels := map[string]int{}
			for i := range uint64(n) {
				line := g.Append(nil, i, ts)
				require.Equal(t, byte('\n'), line[len(line)-1])
				require.Equal(t, 1, bytes.Count(line, []byte("\n")), "one line, no embedded newline: %q", line)
				tc.checkLineContent(t, line[:len(line)-1])
				total += len(line)
				for _, l := range []string{"INFO", "WARN", "ERROR", `"info"`, `"warn"`, `"error"`} {
					if bytes.Contains(line, []byte(l)) {
						levels[l]++
					}
				}
				// Line n is the same every time: runs are comparable.
				require.Equal(t, line, g.Append(nil, i, ts))
			}
			avg := float64(total) / n
			assert.GreaterOrEqual(t, avg, tc.minAvg)
			assert.LessOrEqual(t, avg, tc.maxAvg)
			assert.True(t, bytes.HasPrefix(g.Append(nil, 0, ts), []byte(tc.firstLinePrefix)), "%s", g.Append(nil, 0, ts))
			if tc.format == FormatText {
				assert.Equal(t, map[string]int{"INFO": 950, "WARN": 40, "ERROR": 10}, levels)
			} else {
				assert.Equal(t, map[string]int{`"info"`: 950, `"warn"`: 40, `"error"`: 10}, levels)
			}
			// Appending extends dst.
			two := g.Append(g.Append(nil, 1, ts), 2, ts)
			assert.Equal(t, append(g.Append(nil, 1, ts), g.Append(nil, 2, ts)...), two)
		})
	}
	_, err := NewLineGenerator("logfmt")
	require.Error(t, err)
}

// timedWriter records when each write happened and how many lines it held.
type timedWriter struct {
	mu     sync.Mutex
	start  time.Time
	w      *os.File
	writes []timedWrite
}

type timedWrite struct {
	at    time.Duration
	lines int
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, timedWrite{time.Since(w.start), bytes.Count(p, []byte("\n"))})
	w.mu.Unlock()
	return w.w.Write(p)
}

func TestLineWriterRate(t *testing.T) {
	for _, perWrite := range []int{1, 7} {
		t.Run(fmt.Sprintf("%d lines per write", perWrite), func(t *testing.T) {
			g, err := NewLineGenerator(FormatText)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "app.log")
			f, err := os.Create(path)
			require.NoError(t, err)
			defer f.Close()

			const rate, d = 2000, 600 * time.Millisecond
			tw := &timedWriter{w: f, start: time.Now()}
			lw := &LineWriter{W: tw, Gen: g, Rate: rate, LinesPerWrite: perWrite}
			n, err := lw.Run(context.Background(), d)
			elapsed := time.Since(tw.start)
			require.NoError(t, err)
			require.Equal(t, int64(1200), n)
			assert.Equal(t, n, lw.Written())
			assert.GreaterOrEqual(t, elapsed, d, "the run lasts its duration")

			// The file holds exactly the lines, whole, in order.
			require.NoError(t, f.Sync())
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, int64(len(b)), lw.Bytes())
			sc := bufio.NewScanner(bytes.NewReader(b))
			var lines int
			for sc.Scan() {
				lines++
			}
			require.Equal(t, 1200, lines)

			// Never ahead of the schedule (the writer only lags, never leads, so this holds on
			// a loaded machine too), and no write holds more than asked.
			var sum int
			for _, w := range tw.writes {
				require.LessOrEqual(t, w.lines, perWrite)
				sum += w.lines
				require.LessOrEqual(t, int64(sum), LinesDue(rate, w.at),
					"%d lines written by %s, due %d", sum, w.at, LinesDue(rate, w.at))
			}
		})
	}
}

func TestLineWriterCancel(t *testing.T) {
	g, err := NewLineGenerator(FormatJSON)
	require.NoError(t, err)
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lw := &LineWriter{W: &buf, Gen: g, Rate: 1000, LinesPerWrite: 1}
	n, err := lw.Run(ctx, time.Hour)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, n, int64(1000), "a cancelled run stops at once")

	_, err = (&LineWriter{W: &buf, Gen: g}).Run(context.Background(), time.Second)
	require.Error(t, err, "rate 0")
}

func TestLineWriterWriteError(t *testing.T) {
	g, err := NewLineGenerator(FormatText)
	require.NoError(t, err)
	f, err := os.Create(filepath.Join(t.TempDir(), "app.log"))
	require.NoError(t, err)
	require.NoError(t, f.Close()) // writing to a closed file fails
	lw := &LineWriter{W: f, Gen: g, Rate: 1000, LinesPerWrite: 1}
	n, err := lw.Run(context.Background(), time.Second)
	require.ErrorIs(t, err, os.ErrClosed)
	assert.Zero(t, n)
}
