package logtail

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var benchLines = []struct {
	name string
	line func(i int) string
}{
	{"plain", func(i int) string {
		return fmt.Sprintf("2024-05-01T10:00:00.123Z INFO [http] GET /api/orders/%d 200 12ms trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7", i)
	}},
	{"json", func(i int) string {
		return fmt.Sprintf(`{"level":"info","ts":"2024-05-01T10:00:00.123Z","msg":"request done","method":"GET","path":"/api/orders/%d","status":200,"duration_ms":12.5,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","service":"orders","http":{"client_ip":"10.0.0.1","user_agent":"curl/8.0"}}`, i)
	}},
}

// BenchmarkTail is the cost of one line, from the file to a record in a batch handed to emit:
// read, split, UTF-8 check, parse, record. One op is one line; the checkpoint is written once
// per 10,000 lines.
func BenchmarkTail(b *testing.B) {
	for _, bl := range benchLines {
		b.Run(bl.name, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "app.log")
			var buf bytes.Buffer
			for i := range b.N {
				buf.WriteString(bl.line(i))
				buf.WriteByte('\n')
			}
			require.NoError(b, os.WriteFile(path, buf.Bytes(), 0o644))
			cfg := testConfig(b, path)
			cfg.MaxBatchRecords = 10_000
			cfg.MaxBatchBytes = math.MaxInt
			tl, err := New(cfg, b.TempDir(), nil, nil)
			require.NoError(b, err)
			defer tl.closeAll()
			emitted := 0
			emit := func(_ context.Context, batch Batch) error {
				emitted += len(batch.Records)
				return nil
			}
			b.SetBytes(int64(buf.Len() / b.N))
			b.ReportAllocs()
			b.ResetTimer()
			require.NoError(b, tl.poll(context.Background(), emit))
			b.StopTimer()
			require.Equal(b, b.N, emitted)
		})
	}
}

// BenchmarkParse is the parsing part of BenchmarkTail alone.
func BenchmarkParse(b *testing.B) {
	for _, bl := range benchLines {
		b.Run(bl.name, func(b *testing.B) {
			line := []byte(bl.line(12345))
			p := lineParser{parseJSON: true}
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				var rec Record
				p.parse(line, 2, &rec)
			}
		})
	}
}

// BenchmarkIdlePoll is the cost of a poll that finds nothing new in 10 files: the glob and a
// stat per file.
func BenchmarkIdlePoll(b *testing.B) {
	dir := b.TempDir()
	for i := range 10 {
		require.NoError(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("app%d.log", i)), []byte("x\n"), 0o644))
	}
	tl, err := New(testConfig(b, filepath.Join(dir, "*.log")), b.TempDir(), nil, nil)
	require.NoError(b, err)
	defer tl.closeAll()
	emit := func(context.Context, Batch) error { return nil }
	require.NoError(b, tl.poll(context.Background(), emit))
	b.ReportAllocs()
	for b.Loop() {
		require.NoError(b, tl.poll(context.Background(), emit))
	}
}
