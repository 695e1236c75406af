package buffer

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// Each Append is one fsync, so these measure the disk under the test's temporary directory
// as much as the code.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			buf, err := Open(testConfig(), b.TempDir(), slog.New(slog.DiscardHandler), nil)
			require.NoError(b, err)
			defer buf.Close()
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := buf.Append(KindLogs, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendAck is the steady state with the collector up: every entry is appended,
// read back and acknowledged (two fsyncs, plus a cut of the log's front per segment).
func BenchmarkAppendAck(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			buf, err := Open(testConfig(), b.TempDir(), slog.New(slog.DiscardHandler), nil)
			require.NoError(b, err)
			defer buf.Close()
			p := make([]byte, size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := buf.Append(KindMetrics, p); err != nil {
					b.Fatal(err)
				}
				e, err := buf.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := buf.Ack(e.Seq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
