// Package buffer is the agent's durable on-disk FIFO. While the collector is away or refusing,
// what the agent collects waits here, up to a size limit, and the sender (agent/export)
// delivers it in order once the collector is back.
//
// # Guarantees
//
// An entry whose Append returned is on disk (fsynced), and survives a crash of the process or
// the machine. It leaves the buffer in exactly three ways: Ack after the sender delivered it,
// dropped as one of the oldest when an Append would exceed MaxBytes (counted per kind in
// faultline_agent_buffer_dropped_total), or dropped because its checksum no longer matches
// (disk damage; counted in faultline_agent_buffer_corrupt_entries_total). An acknowledged
// entry is gone durably when Ack returns, so a restart does not hand it out again. Entries
// come out in Append order; Next hands out the oldest until it is acknowledged.
//
// # On-disk format
//
// The directory holds two things:
//
//   - segments/: a github.com/tidwall/wal log in its binary format. Each segment file is named
//     by the 20-digit sequence number of its first entry and holds records
//     uvarint(length) | data. The sequence number of an entry is its log index. Each record's
//     data is kind (1 byte: 1 logs, 2 metrics) | crc32c(kind | payload) (4 bytes, little
//     endian) | payload. The checksum catches what length framing cannot, such as a tail
//     that a filesystem zero-filled after a power cut.
//   - acked: the sequence number of the newest acknowledged (or dropped) entry, in two
//     checksummed slots written alternately (see marker.go).
//
// Acknowledging only rewrites the marker (one small write and fsync). The log's front is cut
// (TruncateFront) once a segment's worth of data has been acknowledged, which bounds both the
// disk kept for acknowledged entries and the cost of the cut, since tidwall/wal rewrites the
// remainder of the segment it cuts into. On Open, entries up to the marker are skipped; a torn
// last record (the process or machine died mid-write) is cut off and logged, as are trailing
// records whose checksum fails; the entries before it are kept.
package buffer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/tidwall/wal"
)

// Kind says what an entry's payload is.
type Kind uint8

// The kinds of entries.
const (
	KindLogs    Kind = 1
	KindMetrics Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindLogs:
		return "logs"
	case KindMetrics:
		return "metrics"
	}
	return "unknown"
}

func (k Kind) valid() bool { return k == KindLogs || k == KindMetrics }

var (
	// ErrClosed is returned by every method once Close was called.
	ErrClosed = errors.New("buffer is closed")
	// ErrTooLarge means one entry alone exceeds the buffer's MaxBytes.
	ErrTooLarge = errors.New("entry is larger than the whole buffer")
	// ErrNotOldest means Ack was given a sequence number past the oldest unacknowledged entry.
	ErrNotOldest = errors.New("not the oldest unacknowledged entry")
)

// headerSize is the kind byte and the checksum before each payload.
const headerSize = 5

// maxScratch bounds the encode buffer kept between Appends, so one huge entry does not pin
// its size in memory for the agent's lifetime.
const maxScratch = 1 << 20

// Entry is one buffered payload.
type Entry struct {
	Seq     uint64
	Kind    Kind
	Payload []byte
}

// slot is what the buffer remembers in memory about each live entry: enough to drop the
// oldest for space and count them by kind without reading them back.
type slot struct {
	size uint32 // header + payload
	kind Kind   // 0 when the entry failed its checksum on Open
}

// Buffer is a durable FIFO of entries. Its methods are safe for concurrent use.
type Buffer struct {
	cfg    Config
	dir    string
	segDir string
	logger *slog.Logger

	mu            sync.Mutex
	log           *wal.Log
	marker        *ackMarker
	head          uint64 // sequence number of the oldest live entry; last+1 when empty
	last          uint64 // sequence number of the newest entry
	live          []slot // live[i] is entry head+i
	bytes         int64
	sinceTruncate int64 // bytes acknowledged or dropped since the log's front was last cut
	scratch       []byte
	wake          chan struct{} // closed and replaced on Append; closed for good on Close
	closed        bool
	broken        error // set when the log could not be recovered after a failed write

	dropLog struct {
		at             time.Time
		entries, bytes int64
	}

	entries     atomic.Int64
	bytesGauge  atomic.Int64
	appended    *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	droppedB    prometheus.Counter
	corruptSeen prometheus.Counter
}

// Open opens the buffer in dir, creating it if needed. Entries appended before a crash are
// kept unless acknowledged; a torn last write is cut off and logged.
func Open(cfg Config, dir string, logger *slog.Logger, reg prometheus.Registerer) (*Buffer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Buffer{
		cfg:    cfg,
		dir:    dir,
		segDir: filepath.Join(dir, "segments"),
		logger: logger,
		wake:   make(chan struct{}),
	}
	if err := os.MkdirAll(b.segDir, 0o750); err != nil {
		return nil, fmt.Errorf("create buffer directory: %w", err)
	}
	if err := b.load(); err != nil {
		if b.log != nil {
			_ = b.log.Close()
		}
		if b.marker != nil {
			_ = b.marker.close()
		}
		return nil, err
	}
	b.registerMetrics(reg)
	b.publish()
	if len(b.live) > 0 {
		logger.Info("buffer opened with undelivered entries", "entries", len(b.live), "bytes", b.bytes, "oldest_seq", b.head)
	}
	return b, nil
}

func (b *Buffer) registerMetrics(reg prometheus.Registerer) {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_agent_buffer_entries", Help: "Entries in the on-disk buffer waiting to be delivered.",
	}, func() float64 { return float64(b.entries.Load()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_agent_buffer_bytes", Help: "Bytes of the entries waiting in the on-disk buffer.",
	}, func() float64 { return float64(b.bytesGauge.Load()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_agent_buffer_capacity_bytes", Help: "The on-disk buffer's bound (buffer.max-bytes); beyond it the oldest entries are dropped.",
	}, func() float64 { return float64(b.cfg.MaxBytes) })
	b.appended = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_buffer_appended_total", Help: "Entries appended to the on-disk buffer, by kind.",
	}, []string{"kind"})
	b.dropped = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_buffer_dropped_total", Help: "Undelivered entries dropped because the buffer was full (oldest first), by kind.",
	}, []string{"kind"})
	for _, k := range []Kind{KindLogs, KindMetrics} {
		b.appended.WithLabelValues(k.String())
		b.dropped.WithLabelValues(k.String())
	}
	b.droppedB = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_agent_buffer_dropped_bytes_total", Help: "Bytes of undelivered entries dropped because the buffer was full.",
	})
	b.corruptSeen = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_agent_buffer_corrupt_entries_total", Help: "Entries dropped because their checksum did not match (disk damage).",
	})
}

// load opens the log and the marker and rebuilds the in-memory index of live entries.
func (b *Buffer) load() error {
	var err error
	if b.log, err = openLog(b.segDir, b.cfg, b.logger); err != nil {
		return err
	}
	marker, acked, found, err := openMarker(b.dir)
	if err != nil {
		return err
	}
	b.marker = marker
	first, err := b.log.FirstIndex()
	if err != nil {
		return fmt.Errorf("buffer log: %w", err)
	}
	last, err := b.log.LastIndex()
	if err != nil {
		return fmt.Errorf("buffer log: %w", err)
	}
	switch {
	case !found:
		if last >= first {
			b.logger.Warn("buffer has no acknowledged-sequence marker; every entry in its log will be sent, some perhaps again", "entries", last-first+1)
		}
		acked = first - 1
	case acked < first-1:
		acked = first - 1
	case acked > last:
		// The log lost entries the marker had seen acknowledged (its files were removed).
		// New entries will reuse those sequence numbers, so the marker must come back down
		// before any of them is appended, or a restart would take them as acknowledged.
		b.logger.Warn("buffer's acknowledged-sequence marker is ahead of its log; resetting it", "marker", acked, "log_last", last)
		acked = last
		if err := b.marker.reset(acked); err != nil {
			return err
		}
	}
	b.head, b.last = acked+1, last

	validEnd := acked
	for seq := acked + 1; seq <= last; seq++ {
		data, err := b.log.Read(seq)
		if err != nil {
			return fmt.Errorf("read buffer entry %d: %w (the buffer's disk data is damaged; move %s away to start empty)", seq, err, b.dir)
		}
		kind, ok := checkRecord(data)
		if ok {
			validEnd = seq
		} else {
			kind = 0
		}
		b.live = append(b.live, slot{size: uint32(len(data)), kind: kind})
		b.bytes += int64(len(data))
	}
	if validEnd < last {
		// Trailing records that fail their checksum are a write the machine did not finish:
		// their Append never returned, so nobody was told they were kept.
		if err := b.log.TruncateBack(validEnd); err != nil {
			return fmt.Errorf("cut damaged buffer tail: %w", err)
		}
		for _, s := range b.live[validEnd-acked:] {
			b.bytes -= int64(s.size)
		}
		b.live = b.live[:validEnd-acked]
		b.last = validEnd
		b.logger.Warn("buffer: cut records with a bad checksum off the end of the log (an unfinished write)", "records", last-validEnd)
	}
	if b.head > first {
		if err := b.log.TruncateFront(b.head); err != nil {
			return fmt.Errorf("remove acknowledged buffer entries: %w", err)
		}
	}
	// tidwall/wal creates, renames and removes files without syncing the directory.
	return errors.Join(syncDir(b.segDir), syncDir(b.dir))
}

func openLog(segDir string, cfg Config, logger *slog.Logger) (*wal.Log, error) {
	opts := func() *wal.Options {
		return &wal.Options{
			SegmentSize:      int(cfg.SegmentBytes),
			SegmentCacheSize: 2,
			// Read hands out the segment's own bytes: Next copies the payload out under the
			// buffer's lock, and segment buffers are only ever appended to or replaced.
			NoCopy:     true,
			AllowEmpty: true,
			DirPerms:   0o750,
			FilePerms:  0o640,
		}
	}
	lg, err := wal.Open(segDir, opts())
	if err == nil {
		return lg, nil
	}
	if !errors.Is(err, wal.ErrCorrupt) {
		return nil, fmt.Errorf("open buffer log: %w", err)
	}
	cut, name, rerr := repairTail(segDir)
	if rerr != nil {
		return nil, fmt.Errorf("repair buffer log: %w", rerr)
	}
	if cut == 0 {
		return nil, fmt.Errorf("open buffer log: %w (not a torn last write; move %s away to start empty)", err, segDir)
	}
	logger.Warn("buffer: cut a torn write off the last segment (the agent died while writing it)", "segment", name, "bytes", cut)
	lg, err = wal.Open(segDir, opts())
	if err != nil {
		return nil, fmt.Errorf("open buffer log after repair: %w", err)
	}
	return lg, nil
}

// repairTail cuts an incomplete last record off the newest segment file, returning how many
// bytes it cut. tidwall/wal refuses to open a log whose last segment ends mid-record.
func repairTail(segDir string) (cut int64, name string, err error) {
	entries, err := os.ReadDir(segDir)
	if err != nil {
		return 0, "", err
	}
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && isSegmentName(n) {
			name = n // ReadDir sorts by name, and names are zero-padded indexes
		}
	}
	if name == "" {
		return 0, "", nil
	}
	path := filepath.Join(segDir, name)
	data, err := os.ReadFile(path) //nolint:gosec // a segment file of the buffer's own directory
	if err != nil {
		return 0, "", err
	}
	good := completeRecords(data)
	if good == len(data) {
		return 0, name, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0) //nolint:gosec // a segment file of the buffer's own directory
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	if err := f.Truncate(int64(good)); err != nil {
		return 0, "", err
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return int64(len(data) - good), name, nil
}

func isSegmentName(n string) bool {
	if len(n) != 20 {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// completeRecords is the length of data's prefix made of whole uvarint-framed records.
func completeRecords(data []byte) int {
	off := 0
	for off < len(data) {
		size, n := binary.Uvarint(data[off:])
		if n <= 0 || uint64(len(data)-off-n) < size {
			break
		}
		off += n + int(size)
	}
	return off
}

// checkRecord reports a record's kind and whether its checksum matches.
func checkRecord(data []byte) (Kind, bool) {
	if len(data) < headerSize {
		return 0, false
	}
	kind := Kind(data[0])
	if !kind.valid() {
		return 0, false
	}
	sum := crc32.Update(crc32.Checksum(data[:1], castagnoli), castagnoli, data[headerSize:])
	return kind, sum == binary.LittleEndian.Uint32(data[1:5])
}

func (b *Buffer) usable() error {
	if b.closed {
		return ErrClosed
	}
	return b.broken
}

// Append adds an entry and returns its sequence number once it is on disk. When the buffer
// would exceed MaxBytes, the oldest entries are dropped first.
func (b *Buffer) Append(kind Kind, payload []byte) (uint64, error) {
	if !kind.valid() {
		return 0, fmt.Errorf("append to buffer: invalid kind %d", kind)
	}
	size := int64(headerSize + len(payload))
	if size > b.cfg.MaxBytes {
		return 0, fmt.Errorf("append %d bytes (buffer.max-bytes=%d): %w", size, b.cfg.MaxBytes, ErrTooLarge)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return 0, err
	}
	if over := b.bytes + size - b.cfg.MaxBytes; over > 0 {
		if err := b.dropOldest(over); err != nil {
			return 0, err
		}
	}

	data := b.encode(kind, payload)
	seq := b.last + 1
	if err := b.log.Write(seq, data); err != nil {
		b.recoverLog()
		return 0, fmt.Errorf("append to buffer: %w", err)
	}
	// A write that started a segment created its file; the directory entry must be as
	// durable as the data in it.
	if _, err := os.Stat(filepath.Join(b.segDir, fmt.Sprintf("%020d", seq))); err == nil {
		if err := syncDir(b.segDir); err != nil {
			return 0, fmt.Errorf("append to buffer: %w", err)
		}
	}
	b.live = append(b.live, slot{size: uint32(size), kind: kind})
	b.last = seq
	b.bytes += size
	b.appended.WithLabelValues(kind.String()).Inc()
	b.publish()
	close(b.wake)
	b.wake = make(chan struct{})
	return seq, nil
}

func (b *Buffer) encode(kind Kind, payload []byte) []byte {
	n := headerSize + len(payload)
	var data []byte
	if n <= maxScratch {
		if cap(b.scratch) < n {
			b.scratch = make([]byte, n, max(n, 4096))
		}
		data = b.scratch[:n]
	} else {
		data = make([]byte, n)
	}
	data[0] = byte(kind)
	copy(data[headerSize:], payload)
	sum := crc32.Update(crc32.Checksum(data[:1], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(data[1:5], sum)
	return data
}

// dropOldest removes the oldest entries until at least need bytes are free.
func (b *Buffer) dropOldest(need int64) error {
	n := 0
	var freed int64
	for freed < need && n < len(b.live) {
		freed += int64(b.live[n].size)
		n++
	}
	dropped := b.live[:n]
	if err := b.advance(n); err != nil {
		return fmt.Errorf("drop oldest buffer entries for space: %w", err)
	}
	for _, s := range dropped {
		b.dropped.WithLabelValues(s.kind.String()).Inc()
	}
	b.droppedB.Add(float64(freed))
	b.dropLog.entries += int64(n)
	b.dropLog.bytes += freed
	if now := time.Now(); now.Sub(b.dropLog.at) >= time.Minute {
		b.logger.Warn("buffer full: dropping the oldest undelivered entries", "entries", b.dropLog.entries, "bytes", b.dropLog.bytes, "max_bytes", b.cfg.MaxBytes)
		b.dropLog.at, b.dropLog.entries, b.dropLog.bytes = now, 0, 0
	}
	return nil
}

// advance removes the n oldest entries durably: the marker first, the log's front later.
func (b *Buffer) advance(n int) error {
	if n == 0 {
		return nil
	}
	if err := b.marker.write(b.head + uint64(n) - 1); err != nil {
		return err
	}
	var freed int64
	for _, s := range b.live[:n] {
		freed += int64(s.size)
	}
	b.live = b.live[n:]
	b.head += uint64(n)
	b.bytes -= freed
	b.sinceTruncate += freed
	b.publish()
	if b.sinceTruncate >= b.cfg.SegmentBytes {
		if err := b.log.TruncateFront(b.head); err != nil {
			// The marker already holds the acknowledgement; the log keeps the entries on disk
			// until the next cut, which reopening the log makes possible again.
			b.logger.Warn("buffer: could not remove acknowledged entries from disk", "err", err)
			b.recoverLog()
		}
		b.sinceTruncate = 0
	}
	return nil
}

// recoverLog reopens the log after a failed operation. A failed write leaves tidwall/wal's
// in-memory segment holding the entry that failed, so the next entry would be read back
// wrongly; a failed truncation leaves it refusing everything. Reopening reads the segment
// from disk again (cutting a partial write), and an entry that did reach the disk although
// its write failed is removed, since its Append reported the failure.
func (b *Buffer) recoverLog() {
	_ = b.log.Close()
	lg, err := openLog(b.segDir, b.cfg, b.logger)
	if err != nil {
		b.broken = fmt.Errorf("buffer unusable after a failed disk operation: %w", err)
		return
	}
	b.log = lg
	last, err := lg.LastIndex()
	switch {
	case err != nil:
		b.broken = fmt.Errorf("buffer unusable after a failed disk operation: %w", err)
	case last > b.last:
		if err := lg.TruncateBack(b.last); err != nil {
			b.broken = fmt.Errorf("buffer unusable after a failed disk operation: %w", err)
		}
	case last < b.last:
		b.broken = fmt.Errorf("buffer unusable: its log lost entries %d to %d after a failed disk operation", last+1, b.last)
	}
}

func (b *Buffer) publish() {
	b.entries.Store(int64(len(b.live)))
	b.bytesGauge.Store(b.bytes)
}

// Next returns the oldest unacknowledged entry, waiting for one until ctx is done. Calls
// without an Ack in between return the same entry.
func (b *Buffer) Next(ctx context.Context) (Entry, error) {
	for {
		b.mu.Lock()
		if err := b.usable(); err != nil {
			b.mu.Unlock()
			return Entry{}, err
		}
		if len(b.live) > 0 {
			e, ok, err := b.readHead()
			if err == nil && ok {
				b.mu.Unlock()
				return e, nil
			}
			if err == nil {
				err = b.dropCorruptHead()
			}
			b.mu.Unlock()
			if err != nil {
				return Entry{}, err
			}
			continue
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		case <-wake:
		}
	}
}

// readHead reads the oldest entry; ok is false when its checksum does not match.
func (b *Buffer) readHead() (e Entry, ok bool, err error) {
	data, err := b.log.Read(b.head)
	if err != nil {
		return Entry{}, false, fmt.Errorf("read buffer entry %d: %w", b.head, err)
	}
	kind, ok := checkRecord(data)
	if !ok {
		return Entry{}, false, nil
	}
	return Entry{Seq: b.head, Kind: kind, Payload: append([]byte(nil), data[headerSize:]...)}, true, nil
}

func (b *Buffer) dropCorruptHead() error {
	b.logger.Warn("buffer: dropping an entry whose checksum does not match (disk damage)", "seq", b.head)
	b.corruptSeen.Inc()
	return b.advance(1)
}

// Ack removes the entry seq, which must be the oldest, durably: a restart will not return it.
// Acknowledging an entry that is already gone (acknowledged, or dropped for space while it
// was being delivered) is not an error.
func (b *Buffer) Ack(seq uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return err
	}
	if seq < b.head {
		return nil
	}
	if seq != b.head || len(b.live) == 0 {
		return fmt.Errorf("ack %d: %w (oldest is %d, newest %d)", seq, ErrNotOldest, b.head, b.last)
	}
	if err := b.advance(1); err != nil {
		return fmt.Errorf("ack %d: %w", seq, err)
	}
	return nil
}

// Len is the number of entries waiting.
func (b *Buffer) Len() int { return int(b.entries.Load()) }

// Bytes is the size of the entries waiting, headers included.
func (b *Buffer) Bytes() int64 { return b.bytesGauge.Load() }

// Close closes the buffer's files; waiting Next calls return ErrClosed. Everything appended
// is already durable, so Close loses nothing.
func (b *Buffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	close(b.wake)
	var errs []error
	if err := b.log.Close(); err != nil && !errors.Is(err, wal.ErrClosed) {
		errs = append(errs, fmt.Errorf("close buffer log: %w", err))
	}
	if err := b.marker.close(); err != nil {
		errs = append(errs, fmt.Errorf("close buffer marker: %w", err))
	}
	return errors.Join(errs...)
}
