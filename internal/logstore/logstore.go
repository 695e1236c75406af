// Package logstore is Faultline's embedded log store: OTLP log records grouped into blocks in
// a Pebble database under the data directory, searched newest first by time, service, host,
// severity, trace ID and free text.
//
// # Why Pebble, and why blocks
//
// The span store's reasons hold (see internal/spanstore): an embedded pure-Go LSM with
// compressed blocks, synced batches, range deletions for retention, one directory. Logs are
// stored like Loki stores chunks, not like a full-text index: records are grouped into blocks
// and searched by scanning, because an inverted index of every word would multiply the write
// cost and the disk use, and the 3 a.m. questions (this service's errors around the incident,
// this trace's lines) narrow the scan by time, service and trace first.
//
// # Layout
//
// A Write groups its records by stream (service.name, host.name) and cuts each stream into
// blocks of records no more than maxBlockSpread (1s) apart; a block is filed under its earliest
// record time. Rows (integers big-endian):
//
//	'd' minTime(8) stream(4) seq(4)             -> block             data, ordered by time
//	's' svc(4) minTime(8) stream(4) seq(4)      -> block header      service index
//	't' hour(4) traceID(16) minTime stream seq  -> (empty)           trace index, per hour bucket
//	'm' 's' uvarint(len) service host           -> stream(4) svc(4)  stream catalog
//
// A block (block.go) starts with a header (time spread, a mask of the severities present, the
// record count) that lets a search skip it unread; then the block's distinct resources once,
// then the records with their time as a delta, severity, IDs, body and attributes, each
// length-prefixed so a search reads a body without parsing the attributes. Pebble compresses
// the blocks (zstd below L0), which is where repeated words and attributes go away.
//
// # Search
//
// Search walks, newest first from Query.End, the trace index (one seek per hour bucket of the
// window) when a trace ID is given, else the service index when a service is given, else the
// data rows. Blocks whose header rules them out are skipped; the others are checked record by
// record in place (severity, host, text on the body) and only a match that beats the current
// Limit-th result is copied out. Because no record of a block is later than maxBlockSpread after
// the block's time, the walk stops once no older block can beat the Limit-th result. Free text
// (ParseText) is terms matched as whole words and quoted phrases as substrings,
// case-insensitively, on the body; there is no word index, so a rare term over a wide window
// reads every block of the window (the benchmarks give the scan rate).
//
// # Retention
//
// By age (record time before now-Retention) and size (oldest first while the store is over
// MaxDiskBytes), in the background every RetentionInterval: range deletions of the expired data
// and service-index rows and of whole hour buckets of the trace index.
//
// # Limits
//
//   - Retention deletes whole blocks by their filing time, so records up to maxBlockSpread
//     (1s) younger than the cutoff go with their block. The trace-index rows of the hour bucket
//     that holds the cutoff outlive their blocks until the whole hour has expired; searches
//     skip the blocks they name that are gone.
//   - Free text matches the body only, not attribute values. Without a word index a search
//     that finds fewer than Limit matches reads every block of its window: on the 2-core
//     development machine about 3.5 million ~100-byte lines per second once they are out of
//     the 64 MiB block cache (BenchmarkSearchText/rare-term: 1M lines in 0.27-0.4 s), about
//     half of it zstd decompression. A service filter reads that service's blocks only.
//   - Not stored: the instrumentation scope, event name, flags, dropped-attribute counts and
//     schema URLs. Invalid UTF-8 becomes U+FFFD (a run of invalid bytes, one U+FFFD) so that
//     every answer is valid JSON; attribute values nested deeper than 32 levels are kept as
//     their JSON text.
//   - Measured (BenchmarkWrite, 1,000-record Writes of ~95-byte bodies with two attributes,
//     half with trace and span IDs, each Write synced): 0.5 to 1.1 million lines/s from one
//     writer on the shared 2-core machine, about 29 bytes per line in the tables (data 26, trace
//     index 3.5), plus Pebble's fixed ~100 MiB of recycled write-ahead logs. A trace's lines
//     are found in 0.12-0.15 ms over an hour or a day (BenchmarkSearchTraceID).
package logstore

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// DefaultLimit is the number of records Search returns when Query.Limit is not set.
const DefaultLimit = 100

// Query selects log records. Zero values mean "any".
type Query struct {
	// Start and End bound the record time, both inclusive. A zero Start is unbounded; a zero
	// End is now.
	Start, End time.Time
	Service    string // exact service.name
	Host       string // exact host.name
	// MinSeverity keeps records whose severity number is at least this (records without a
	// severity are left out when it is set).
	MinSeverity int32
	TraceID     pcommon.TraceID
	Text        string // free text, see ParseText
	Limit       int    // maximum records returned; <= 0 means DefaultLimit
}

// Record is one stored log record.
type Record struct {
	// Time is the record's timestamp, its observed timestamp when it has none, and the time
	// of the Write when it has neither.
	Time    time.Time
	Service string // resource service.name, "" when absent
	Host    string // resource host.name, "" when absent
	// SeverityNumber is the OTLP severity number (1..24), derived from SeverityText (see
	// ParseSeverity) when the record's number is unset or out of range; 0 when unknown.
	SeverityNumber int32
	// SeverityText is as sent, or the short name of SeverityNumber ("INFO") when it was empty.
	SeverityText string
	// Body is a string body as it is; other bodies are rendered as text: maps and slices as
	// JSON, bytes as base64, numbers and booleans as written in JSON.
	Body    string
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID
	// Attributes are the record's attributes merged over its resource's (other than
	// service.name and host.name): a record attribute wins over a resource one of the same
	// key. Values keep their type as pcommon.Value.AsRaw gives it (string, int64, float64,
	// bool, []byte, []any, map[string]any, nil). Never nil.
	Attributes map[string]any
}
