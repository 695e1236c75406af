package bench

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func attrMap(m pcommon.Map) map[string]string {
	out := map[string]string{}
	m.Range(func(k string, v pcommon.Value) bool {
		if v.Type() != pcommon.ValueTypeStr {
			out[k] = "<not a string: " + v.Type().String() + ">"
		} else {
			out[k] = v.Str()
		}
		return true
	})
	return out
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// checkTelemetrygenShape checks td holds only traces of a "lets-go" client parent and an
// "okey-dokey-0" server child with telemetrygen's attributes, and returns its span count.
func checkTelemetrygenShape(t *testing.T, td ptrace.Traces, service string) int {
	t.Helper()
	wantParent, wantChild := ReplayAttributes()
	if td.ResourceSpans().Len() != 1 {
		t.Fatalf("resource spans = %d, want 1", td.ResourceSpans().Len())
	}
	rs := td.ResourceSpans().At(0)
	if got := attrMap(rs.Resource().Attributes()); !sameMap(got, map[string]string{"service.name": service}) {
		t.Errorf("resource attributes = %v, want only service.name=%s", got, service)
	}
	if rs.SchemaUrl() != "https://opentelemetry.io/schemas/1.40.0" {
		t.Errorf("schema URL = %q", rs.SchemaUrl())
	}
	if rs.ScopeSpans().Len() != 1 || rs.ScopeSpans().At(0).Scope().Name() != "telemetrygen" {
		t.Fatalf("want one scope named telemetrygen")
	}
	spans := rs.ScopeSpans().At(0).Spans()
	if spans.Len()%2 != 0 {
		t.Fatalf("odd span count %d", spans.Len())
	}
	for i := 0; i < spans.Len(); i += 2 {
		child, parent := spans.At(i), spans.At(i+1)
		if parent.Name() != "lets-go" || parent.Kind() != ptrace.SpanKindClient || !parent.ParentSpanID().IsEmpty() {
			t.Fatalf("span %d: parent %q kind %v parent ID %v", i+1, parent.Name(), parent.Kind(), parent.ParentSpanID())
		}
		if child.Name() != "okey-dokey-0" || child.Kind() != ptrace.SpanKindServer || child.ParentSpanID() != parent.SpanID() {
			t.Fatalf("span %d: child %q kind %v parent ID %v, want parent %v", i, child.Name(), child.Kind(), child.ParentSpanID(), parent.SpanID())
		}
		if child.TraceID() != parent.TraceID() || child.TraceID().IsEmpty() || child.SpanID().IsEmpty() || parent.SpanID().IsEmpty() {
			t.Fatalf("trace %d: IDs %v/%v %v %v", i/2, child.TraceID(), parent.TraceID(), child.SpanID(), parent.SpanID())
		}
		if got := attrMap(parent.Attributes()); !sameMap(got, wantParent) {
			t.Fatalf("parent attributes = %v, want %v", got, wantParent)
		}
		if got := attrMap(child.Attributes()); !sameMap(got, wantChild) {
			t.Fatalf("child attributes = %v, want %v", got, wantChild)
		}
		for _, s := range []ptrace.Span{child, parent} {
			if d := s.EndTimestamp().AsTime().Sub(s.StartTimestamp().AsTime()); d != 123*time.Microsecond {
				t.Fatalf("span duration %v, want telemetrygen's default 123µs", d)
			}
			if s.Flags() != 0x101 || s.Status().Code() != ptrace.StatusCodeUnset {
				t.Fatalf("flags %#x status %v", s.Flags(), s.Status().Code())
			}
		}
	}
	return spans.Len()
}

func TestReplayBatchShape(t *testing.T) {
	b := NewReplayBatch("svc", 1024)
	if b.Spans() != 2048 || b.Request.Traces().SpanCount() != 2048 {
		t.Fatalf("Spans() = %d, SpanCount = %d, want 2048", b.Spans(), b.Request.Traces().SpanCount())
	}
	now := time.Now()
	b.Stamp(NewIDSource(), now)
	checkTelemetrygenShape(t, b.Request.Traces(), "svc")
	spans := b.Request.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	first, last := spans.At(0).StartTimestamp().AsTime(), spans.At(spans.Len()-1).StartTimestamp().AsTime()
	if first.After(last) || now.Sub(first) > 10*time.Millisecond || last.After(now) {
		t.Errorf("start times %v..%v, want within 10 ms before %v", first, last, now)
	}
	if got := ReplayTraces(2048); got != 1024 {
		t.Errorf("ReplayTraces(2048) = %d", got)
	}
	if got := ReplayTraces(1); got != 1 {
		t.Errorf("ReplayTraces(1) = %d, want at least one trace", got)
	}
}

// Restamping a reused batch from many goroutines must never repeat a trace or span ID.
func TestReplayIDsUniqueAcrossRequestsAndGoroutines(t *testing.T) {
	ids := NewIDSource()
	const goroutines, rounds, traces = 8, 25, 100
	var mu sync.Mutex
	traceIDs := map[pcommon.TraceID]bool{}
	spanIDs := map[pcommon.SpanID]bool{}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			b := NewReplayBatch("telemetrygen", traces)
			for range rounds {
				b.Stamp(ids, time.Now())
				spans := b.Request.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans()
				mu.Lock()
				for i := 0; i < spans.Len(); i++ {
					s := spans.At(i)
					if i%2 == 1 { // one entry per trace
						if traceIDs[s.TraceID()] {
							t.Errorf("trace ID %v repeated", s.TraceID())
						}
						traceIDs[s.TraceID()] = true
					}
					if spanIDs[s.SpanID()] || s.SpanID().IsEmpty() {
						t.Errorf("span ID %v repeated or empty", s.SpanID())
					}
					spanIDs[s.SpanID()] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if want := goroutines * rounds * traces; len(traceIDs) != want || len(spanIDs) != 2*want {
		t.Errorf("%d trace IDs and %d span IDs, want %d and %d", len(traceIDs), len(spanIDs), want, 2*want)
	}
}

// Two runs (two sources) get different IDs for the same trace number.
func TestReplayIDsDifferPerRun(t *testing.T) {
	a, b := NewIDSourceSeeded(1, 2, 3), NewIDSourceSeeded(4, 5, 6)
	if a.TraceID(0) == b.TraceID(0) || a.SpanID(0, 0) == b.SpanID(0, 0) {
		t.Error("differently seeded sources gave the same IDs")
	}
	if a.TraceID(7) != NewIDSourceSeeded(1, 2, 3).TraceID(7) {
		t.Error("IDs are not a function of seed and trace number")
	}
}

// fakeReceiver is an OTLP/gRPC trace server on 127.0.0.1 that refuses its first refuse
// requests with code and then accepts, recording what it accepted.
type fakeReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	refuse   atomic.Int64
	code     codes.Code
	mu       sync.Mutex
	requests []ptrace.Traces
	calls    atomic.Int64
}

func (f *fakeReceiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	f.calls.Add(1)
	if f.refuse.Add(-1) >= 0 {
		return ptraceotlp.NewExportResponse(), status.Error(f.code, "refused by the test")
	}
	td := ptrace.NewTraces()
	req.Traces().CopyTo(td)
	f.mu.Lock()
	f.requests = append(f.requests, td)
	f.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

func startFakeReceiver(t *testing.T, f *fakeReceiver) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestRunReplayStopsAtSpansAndRetries(t *testing.T) {
	f := &fakeReceiver{code: codes.ResourceExhausted}
	f.refuse.Store(3)
	addr := startFakeReceiver(t, f)
	st, err := RunReplay(context.Background(), ReplayConfig{
		Endpoint: addr, Service: "telemetrygen", Senders: 4, BatchSize: 100, Duration: 30 * time.Second, Spans: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 1000 spans in requests of 100: exactly 10 requests, whatever the interleaving.
	if st.Requests != 10 || st.Spans != 1000 || st.Retries != 3 {
		t.Errorf("stats %+v, want 10 requests, 1000 spans, 3 retries", st)
	}
	if got := f.calls.Load(); got != 13 {
		t.Errorf("receiver saw %d calls, want 13 (10 + 3 refused)", got)
	}
	traceIDs := map[pcommon.TraceID]bool{}
	spanIDs := map[pcommon.SpanID]bool{}
	for _, td := range f.requests {
		if n := checkTelemetrygenShape(t, td, "telemetrygen"); n != 100 {
			t.Errorf("request of %d spans, want 100", n)
		}
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			traceIDs[spans.At(i).TraceID()] = true
			spanIDs[spans.At(i).SpanID()] = true
		}
	}
	if len(traceIDs) != 500 || len(spanIDs) != 1000 {
		t.Errorf("receiver got %d distinct trace IDs and %d span IDs, want 500 and 1000", len(traceIDs), len(spanIDs))
	}
	if st.Elapsed <= 0 {
		t.Errorf("Elapsed = %v", st.Elapsed)
	}
}

func TestRunReplayStopsAtDuration(t *testing.T) {
	f := &fakeReceiver{}
	addr := startFakeReceiver(t, f)
	t0 := time.Now()
	st, err := RunReplay(context.Background(), ReplayConfig{Endpoint: addr, Service: "s", Senders: 2, BatchSize: 10, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el < 200*time.Millisecond || el > 5*time.Second {
		t.Errorf("ran for %v, want about 200 ms", el)
	}
	if st.Requests == 0 || st.Spans != 10*st.Requests || st.Retries != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRunReplayFailsOnOtherErrors(t *testing.T) {
	f := &fakeReceiver{code: codes.InvalidArgument}
	f.refuse.Store(1 << 30)
	addr := startFakeReceiver(t, f)
	st, err := RunReplay(context.Background(), ReplayConfig{Endpoint: addr, Service: "s", Senders: 2, BatchSize: 10, Duration: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Fatalf("err = %v, want the InvalidArgument refusal", err)
	}
	if st.Requests != 0 || st.Retries != 0 {
		t.Errorf("stats %+v, want nothing acknowledged or retried", st)
	}
}

func TestRunReplayGivesUpWhenTargetDies(t *testing.T) {
	f := &fakeReceiver{code: codes.Unavailable}
	f.refuse.Store(1 << 30)
	addr := startFakeReceiver(t, f)
	var alive atomic.Int64
	_, err := RunReplay(context.Background(), ReplayConfig{
		Endpoint: addr, Service: "s", Senders: 1, BatchSize: 10, Duration: 10 * time.Second,
		Alive: func() error {
			if alive.Add(1) > 2 {
				return errExitedForTest
			}
			return nil
		},
	})
	if err != errExitedForTest { //nolint:errorlint // the sentinel itself is returned
		t.Fatalf("err = %v, want %v", err, errExitedForTest)
	}
}

var errExitedForTest = &testError{"target exited"}

type testError struct{ s string }

func (e *testError) Error() string { return e.s }
