// Package pebbleopts holds what Faultline's embedded Pebble stores (spans, logs) share: the
// database options measured for them, Pebble's log messages routed to slog, and the size of a
// store's directory when the database is closed.
package pebbleopts

import (
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// Options are the stores' Pebble settings; name ("span store", "log store") labels Pebble's
// messages and its fatal panic.
//
// Larger blocks than Pebble's 4 KiB default and zstd make chunks and index rows compress several
// times better. L0 (memtable flushes, always rewritten by the next compaction because index keys
// are spread over the whole key range) uses the cheapest compression instead: zstd there would
// cost about as much CPU as the writes themselves.
func Options(name string, readOnly bool, logger *slog.Logger) *pebble.Options {
	opts := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		ReadOnly:           readOnly,
		MemTableSize:       32 << 20,
		// Pebble keeps this many + 1 write-ahead log files for reuse, each about the size of a
		// memtable: a fixed ~100 MiB of disk with 32 MiB memtables.
		MemTableStopWritesThreshold: 2,
		CacheSize:                   64 << 20,
		// Fewer, larger levels: less rewriting of the random-keyed trace indexes by compactions.
		// Measured with loadtest/ingestbench: 7.26 -> 7.00 µs of CPU per span at 10M spans,
		// 6.09 -> 5.31 at 4M.
		L0CompactionThreshold: 8,
		LBaseMaxBytes:         512 << 20,
		Logger:                logger2pebble{l: logger, name: name},
	}
	for i := range opts.Levels {
		opts.Levels[i].BlockSize = 32 << 10
		profile := levelCompression
		if i == 0 {
			profile = sstable.FastestCompression
		}
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return profile }
	}
	return opts
}

// levelCompression: zstd level 1 for data and index blocks. Measured on telemetrygen-shaped
// spans, zstd level 3 saves about 4% of the bytes for about 20% more write CPU.
var levelCompression = sstable.BalancedCompression

// logger2pebble sends Pebble's own messages to slog: informational ones at debug level.
type logger2pebble struct {
	l    *slog.Logger
	name string
}

func (p logger2pebble) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (p logger2pebble) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// Fatalf is called by Pebble on unrecoverable corruption; it must not return.
func (p logger2pebble) Fatalf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	p.l.Error("pebble fatal: " + msg)
	panic(p.name + ": " + msg)
}

// DirBytes adds up the sizes of the regular files under dir, best effort: a closed store's
// size, when the database cannot be asked.
func DirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // best effort: skip unreadable entries
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}
