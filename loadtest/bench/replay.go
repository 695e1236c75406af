package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Generators -generator accepts.
const (
	GeneratorTelemetrygen = "telemetrygen" // the OpenTelemetry project's load generator, as separate processes
	GeneratorReplay       = "replay"       // the in-process sender in this file
)

// The shape of a telemetrygen v0.161.0 trace with its defaults (`telemetrygen traces
// --child-spans=1`, no --telemetry-attributes), from its pkg/traces/worker.go and traces.go
// and the Go SDK's OTLP transform.
const (
	replaySpansPerTrace = 2
	replayScopeName     = "telemetrygen"                            // otel.Tracer("telemetrygen")
	replaySchemaURL     = "https://opentelemetry.io/schemas/1.40.0" // resource.NewWithAttributes(semconv/v1.40.0.SchemaURL, ...)
	replayParentName    = "lets-go"
	replayChildName     = "okey-dokey-0"
	replayFakeIP        = "1.2.3.4"
	// replaySpanDuration is telemetrygen's --span-duration default; the parent ends when
	// its (only) child does, so both spans have the same start and end.
	replaySpanDuration = 123 * time.Microsecond
	// replayTraceStep spaces the start times of the traces in one request, as a generator
	// producing them one after another would, instead of giving them all the same instant.
	replayTraceStep = time.Microsecond
	// replaySpanFlags is what the SDK's exporter writes for a span whose parent is local
	// (or absent): the sampled W3C flag plus SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK.
	replaySpanFlags = 0x1 | 0x100

	attrNetworkPeerAddress = "network.peer.address"
	attrServicePeerName    = "service.peer.name"
)

// ReplayAttributes are the span attributes telemetrygen sets on the parent and on the child
// span of each trace (the resource carries only service.name).
func ReplayAttributes() (parent, child map[string]string) {
	return map[string]string{attrNetworkPeerAddress: replayFakeIP, attrServicePeerName: "telemetrygen-server"},
		map[string]string{attrNetworkPeerAddress: replayFakeIP, attrServicePeerName: "telemetrygen-client"}
}

// IDSource hands out trace numbers, unique for the run, and turns them into trace and span
// IDs that look random (so the store sees keys spread like the SDK's random IDs, not a
// sequence) but cannot repeat: the low half of a trace ID and every span ID are bijections
// of the trace number, seeded per run.
type IDSource struct {
	next                     atomic.Uint64
	seedHi, seedLo, seedSpan uint64
}

// NewIDSource is an IDSource with random per-run seeds.
func NewIDSource() *IDSource {
	var b [24]byte
	_, _ = crand.Read(b[:]) // never fails on supported platforms
	return NewIDSourceSeeded(binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:]))
}

// NewIDSourceSeeded is an IDSource with the given seeds, for tests.
func NewIDSourceSeeded(hi, lo, span uint64) *IDSource {
	return &IDSource{seedHi: hi, seedLo: lo, seedSpan: span}
}

// Reserve returns the first of n consecutive trace numbers no other caller gets.
func (s *IDSource) Reserve(n int) uint64 { return s.next.Add(uint64(n)) - uint64(n) } //nolint:gosec // n is a positive batch size

// TraceID is the trace ID of trace number n.
func (s *IDSource) TraceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[0:8], mix64(n^s.seedHi))
	binary.BigEndian.PutUint64(id[8:16], mix64(n+s.seedLo)) // bijective in n: no two traces share it
	return id
}

// SpanID is the ID of span j (0 the parent, 1 the child) of trace number n.
func (s *IDSource) SpanID(n uint64, j int) pcommon.SpanID {
	v := mix64((n*replaySpansPerTrace + uint64(j)) ^ s.seedSpan) //nolint:gosec // j is 0 or 1
	if v == 0 {                                                  // one input in 2^64 maps to the invalid ID
		v = ^uint64(0)
	}
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], v)
	return id
}

// mix64 is the SplitMix64 finalizer, a bijection on uint64 that scatters consecutive inputs.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// ReplayBatch is one reusable export request of telemetrygen-shaped traces. Stamp rewrites
// only the IDs and timestamps, so sending it again costs little more than marshalling.
type ReplayBatch struct {
	Request ptraceotlp.ExportRequest
	spans   ptrace.SpanSlice
	traces  int
}

// NewReplayBatch builds a request of traces traces (2 spans each) for service.
func NewReplayBatch(service string, traces int) *ReplayBatch {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl(replaySchemaURL)
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(replayScopeName)
	spans := ss.Spans()
	spans.EnsureCapacity(traces * replaySpansPerTrace)
	parentAttrs, childAttrs := ReplayAttributes()
	for range traces {
		// The SDK's batch processor queues spans as they end: the child first, then the parent.
		child := spans.AppendEmpty()
		child.SetName(replayChildName)
		child.SetKind(ptrace.SpanKindServer)
		child.SetFlags(replaySpanFlags)
		child.Attributes().PutStr(attrNetworkPeerAddress, childAttrs[attrNetworkPeerAddress])
		child.Attributes().PutStr(attrServicePeerName, childAttrs[attrServicePeerName])
		parent := spans.AppendEmpty()
		parent.SetName(replayParentName)
		parent.SetKind(ptrace.SpanKindClient)
		parent.SetFlags(replaySpanFlags)
		parent.Attributes().PutStr(attrNetworkPeerAddress, parentAttrs[attrNetworkPeerAddress])
		parent.Attributes().PutStr(attrServicePeerName, parentAttrs[attrServicePeerName])
	}
	return &ReplayBatch{Request: ptraceotlp.NewExportRequestFromTraces(td), spans: spans, traces: traces}
}

// Spans is the number of spans in the request.
func (b *ReplayBatch) Spans() int { return b.traces * replaySpansPerTrace }

// Stamp gives every trace in the request new IDs from ids and start times just before now.
func (b *ReplayBatch) Stamp(ids *IDSource, now time.Time) {
	first := ids.Reserve(b.traces)
	start := now.Add(-time.Duration(b.traces) * replayTraceStep)
	for i := range b.traces {
		n := first + uint64(i) //nolint:gosec // i >= 0
		traceID := ids.TraceID(n)
		parentID := ids.SpanID(n, 0)
		s := pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * replayTraceStep))
		e := s + pcommon.Timestamp(replaySpanDuration)
		child := b.spans.At(i * replaySpansPerTrace)
		child.SetTraceID(traceID)
		child.SetSpanID(ids.SpanID(n, 1))
		child.SetParentSpanID(parentID)
		child.SetStartTimestamp(s)
		child.SetEndTimestamp(e)
		parent := b.spans.At(i*replaySpansPerTrace + 1)
		parent.SetTraceID(traceID)
		parent.SetSpanID(parentID)
		parent.SetStartTimestamp(s)
		parent.SetEndTimestamp(e)
	}
}

// ReplayConfig configures RunReplay.
type ReplayConfig struct {
	Endpoint  string // host:port of the OTLP/gRPC receiver
	Service   string
	Senders   int           // goroutines, each with its own connection and one request in flight
	BatchSize int           // spans per request, rounded down to whole traces (at least one)
	Duration  time.Duration // no request is started after this long
	Spans     int64         // if > 0, also stop once this many spans have been sent (whole requests)
	// Alive reports an error once the receiving process has gone; checked while retrying.
	Alive func() error
	// RequestTimeout bounds one export call (default 30 s).
	RequestTimeout time.Duration
	// RetryFor is how long a request may keep being refused before the run fails (default 60 s).
	RetryFor time.Duration
	Logger   *slog.Logger
}

// ReplayStats is what RunReplay did.
type ReplayStats struct {
	Requests int64 // acknowledged export requests
	Spans    int64 // spans in them
	Rejected int64 // spans the receiver reported rejected in a partial success
	Retries  int64 // sends repeated after RESOURCE_EXHAUSTED or UNAVAILABLE
	Elapsed  time.Duration
	// CPU is the user+system time of this whole process while sending (the generator and
	// anything else the process ran meanwhile); CPUKnown is false where it cannot be read.
	CPU      time.Duration
	CPUKnown bool
}

// ReplayTraces is the number of traces per request for a batch size in spans.
func ReplayTraces(batchSize int) int { return max(batchSize/replaySpansPerTrace, 1) }

// RunReplay sends telemetrygen-shaped traces to rc.Endpoint over OTLP/gRPC from rc.Senders
// goroutines until rc.Duration has passed or rc.Spans have been sent, and waits for the
// requests in flight. Refusals that ask for a retry (RESOURCE_EXHAUSTED, UNAVAILABLE) are
// retried after a short backoff; any other error ends the run with that error.
func RunReplay(ctx context.Context, rc ReplayConfig) (ReplayStats, error) {
	if rc.Senders < 1 {
		return ReplayStats{}, errors.New("replay: at least one sender is needed")
	}
	if rc.RequestTimeout <= 0 {
		rc.RequestTimeout = 30 * time.Second
	}
	if rc.RetryFor <= 0 {
		rc.RetryFor = time.Minute
	}
	if rc.Alive == nil {
		rc.Alive = func() error { return nil }
	}
	traces := ReplayTraces(rc.BatchSize)
	perRequest := int64(traces * replaySpansPerTrace)
	ids := NewIDSource()

	conns := make([]*grpc.ClientConn, rc.Senders)
	for i := range conns {
		conn, err := grpc.NewClient(rc.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			for _, c := range conns[:i] {
				_ = c.Close()
			}
			return ReplayStats{}, fmt.Errorf("replay: dial %s: %w", rc.Endpoint, err)
		}
		conns[i] = conn
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	batches := make([]*ReplayBatch, rc.Senders)
	for i := range batches {
		batches[i] = NewReplayBatch(rc.Service, traces)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		st       ReplayStats
		reserved atomic.Int64
		requests atomic.Int64
		sent     atomic.Int64
		rejected atomic.Int64
		retries  atomic.Int64
	)
	cpu0, cpuOK := processCPU()
	start := time.Now()
	deadline := start.Add(rc.Duration)
	more := func() bool {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return false
		}
		return rc.Spans <= 0 || reserved.Add(perRequest)-perRequest < rc.Spans
	}

	var progress sync.WaitGroup
	stopProgress := make(chan struct{})
	if rc.Logger != nil {
		progress.Go(func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					el := time.Since(start)
					rc.Logger.Info("replay progress", "spans_acknowledged", sent.Load(), "spans_per_s", int64(float64(sent.Load())/el.Seconds()), "retries", retries.Load())
				}
			}
		})
	}

	var wg sync.WaitGroup
	for i := range rc.Senders {
		client := ptraceotlp.NewGRPCClient(conns[i])
		batch := batches[i]
		wg.Go(func() {
			for more() {
				batch.Stamp(ids, time.Now())
				resp, err := exportWithRetry(ctx, client, batch.Request, rc, &retries)
				if err != nil {
					cancel(err)
					return
				}
				requests.Add(1)
				sent.Add(perRequest)
				rejected.Add(resp.PartialSuccess().RejectedSpans())
			}
		})
	}
	wg.Wait()
	close(stopProgress)
	progress.Wait()

	st.Elapsed = time.Since(start)
	if cpu1, ok := processCPU(); ok && cpuOK {
		st.CPU, st.CPUKnown = cpu1-cpu0, true
	}
	st.Requests, st.Spans, st.Rejected, st.Retries = requests.Load(), sent.Load(), rejected.Load(), retries.Load()
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// exportWithRetry sends req until it is acknowledged, backing off on RESOURCE_EXHAUSTED and
// UNAVAILABLE (the same request, IDs unchanged: a refused request was not stored).
func exportWithRetry(ctx context.Context, client ptraceotlp.GRPCClient, req ptraceotlp.ExportRequest, rc ReplayConfig, retries *atomic.Int64) (ptraceotlp.ExportResponse, error) {
	backoff := 5 * time.Millisecond
	var firstRefusal time.Time
	for {
		rctx, cancel := context.WithTimeout(ctx, rc.RequestTimeout)
		resp, err := client.Export(rctx, req)
		cancel()
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, context.Cause(ctx)
		}
		code := status.Code(err)
		if code != codes.ResourceExhausted && code != codes.Unavailable {
			return resp, fmt.Errorf("replay: export: %w", err)
		}
		if aerr := rc.Alive(); aerr != nil {
			return resp, aerr
		}
		now := time.Now()
		if firstRefusal.IsZero() {
			firstRefusal = now
		} else if now.Sub(firstRefusal) > rc.RetryFor {
			return resp, fmt.Errorf("replay: export still refused after retrying for %s: %w", rc.RetryFor, err)
		}
		retries.Add(1)
		select {
		case <-ctx.Done():
			return resp, context.Cause(ctx)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 200*time.Millisecond)
	}
}
