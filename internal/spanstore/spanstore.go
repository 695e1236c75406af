// Package spanstore is Faultline's embedded span store: spans grouped by trace in a
// Pebble database under the data directory, with indexes for trace search.
//
// # Why Pebble
//
// An embedded, pure-Go LSM key-value store: sorted keys give cheap prefix and range scans
// (a trace, a service's time range), batches commit atomically with one fsync for many spans,
// blocks are compressed (zstd level 1 below L0, 32 KiB blocks) with key prefix compression, range
// deletions drop whole expired files, and it is what CockroachDB runs in production. No cgo,
// no separate process, one directory to back up.
//
// # Layout
//
// The unit of storage is a chunk: the spans of one trace that arrived in one Write, encoded as
// an OTLP TracesData protobuf message (trace IDs left out of the spans, since the key holds
// it). A chunk is filed under its earliest span start; spans of one Write starting more than
// maxChunkSpread (1s) apart become separate chunks. Rows (integers big-endian):
//
//	'd' start(8) traceID(16) seq(4)         -> chunk            data, ordered by time
//	'i' traceID(16) start(8) seq(4)         -> (empty)          trace index: where a trace's chunks are
//	's' svc(4) start(8) traceID(16) seq(4)  -> first, last      service index: chunks with spans of svc
//	'm' 's' name                            -> svc(4)           service catalog
//	'm' 'o' svc(4) kind(4) name             -> (empty)          operation catalog
//
// seq numbers Writes (random start per Open) so that two Writes of one trace never collide;
// svc is a small id from the catalog. The service-index value holds the first and last span
// start of that service in the chunk, relative to the chunk's start.
//
// Why data is ordered by time and not by trace ID: spans arrive roughly in time order, so new
// data rows append at the end of the key space and compactions mostly move files down the LSM
// instead of rewriting them (a trace-ID order rewrites all data at every level, several times
// over), and retention is a range deletion of the oldest keys, which drops whole files. The
// price is the trace index: Trace is one prefix scan of 'i' plus one point read per chunk.
//
// FindTraces walks the service index (or, without a service, the data rows) newest first from
// Query.End, decodes each candidate chunk and checks its spans; because no span of a chunk
// starts more than maxChunkSpread after the chunk's time, it stops when no older chunk can beat
// the Limit-th best match. Summaries read the whole trace of the selected results only.
// Services and Operations are answered from the catalog, cached in memory and written only
// when a new name appears.
//
// Retention (age: span start before now-Retention; size: oldest first while the store exceeds
// MaxDiskBytes) deletes the trace-index rows of the expired chunks one by one, then the data and
// service-index rows with range deletions, and compacts the deleted data range.
//
// Bloom filters are not configured: with Pebble's default comparer they only serve
// whole-key lookups, and the store reads by prefix and range; a custom comparer (with Split)
// would pin an on-disk comparer name for a gain the 20 ms trace lookup target does not need.
package spanstore

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ErrNotFound is returned by Trace when no span of the trace is stored.
var ErrNotFound = errors.New("trace not found")

// Query selects traces. A trace matches when one of its spans satisfies every span-level
// condition at once (service, operation, attributes, status, duration, time range), as in
// Jaeger. Zero values mean "any".
type Query struct {
	Service   string
	Operation string
	// Attributes must all be present on the span (or its resource) with these string values.
	Attributes map[string]string
	// Status is "" (any), "error" (span status is Error) or "ok" (span status is not Error).
	Status      string
	MinDuration time.Duration
	MaxDuration time.Duration // 0 means no upper bound
	Start, End  time.Time     // span start time within [Start, End]; zero means unbounded
	Limit       int           // maximum traces returned; <= 0 means DefaultLimit
}

// DefaultLimit is the number of traces FindTraces returns when Query.Limit is not set.
const DefaultLimit = 20

// TraceSummary describes one trace found by FindTraces, computed over all of its stored spans.
type TraceSummary struct {
	TraceID       pcommon.TraceID
	RootService   string // service of the root span (no parent); of the earliest span if no root is stored
	RootOperation string
	Start         time.Time     // earliest span start
	Duration      time.Duration // latest span end minus earliest span start
	SpanCount     int
	Error         bool // some span has status Error
}

// Operation is a span name seen for a service, with the span kind it was seen with.
type Operation struct {
	Name     string
	SpanKind ptrace.SpanKind
}

// Reader is what the query service needs from a span store.
type Reader interface {
	// Trace returns every stored span of the trace, or ErrNotFound.
	Trace(ctx context.Context, id pcommon.TraceID) (ptrace.Traces, error)
	// FindTraces returns matching traces newest first (by the matching span's start time).
	FindTraces(ctx context.Context, q Query) ([]TraceSummary, error)
	// Services returns every service name seen, sorted.
	Services(ctx context.Context) ([]string, error)
	// Operations returns the operations seen for a service, sorted by name then kind.
	Operations(ctx context.Context, service string) ([]Operation, error)
}

// Writer is what the collector needs from a span store.
type Writer interface {
	// Write stores the batches atomically; when it returns nil the spans are durable
	// (synced to disk) and survive a crash of the process.
	Write(ctx context.Context, batches ...ptrace.Traces) error
}
