package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Retry storm shape: every outgoing call is sent stormCopies times at once and each copy is
// retried up to stormRetries times with no backoff.
const (
	stormCopies  = 4
	stormRetries = 3
)

// Kinds of call failures (error.type on CLIENT spans).
const (
	errTimeout = "timeout"
	errRefused = "connection_refused"
	errReset   = "connection_reset"
	errStatus  = "status"
	errOther   = "transport"
	errCancel  = "cancelled"
)

// callError is a failed outgoing call as its caller sees it.
type callError struct {
	kind    string // errTimeout, ...
	errType string // error.type
	excType string // exception.type
	msg     string
}

func (e *callError) Error() string { return e.msg }

func (e *callError) record(span trace.Span) {
	span.SetAttributes(attribute.String("error.type", e.errType))
	recordException(span, e.excType, e.msg)
}

// call makes one logical call; during a retry storm it becomes many.
func (s *service) call(ctx context.Context, tel *telemetry, c callDef, storm bool) error {
	one := func() error {
		if d := s.r.topo.dependency(c.to); d != nil {
			return s.callDependency(ctx, tel, c, d)
		}
		return s.callService(ctx, tel, c, s.r.services[c.to])
	}
	if !storm {
		return one()
	}
	var ok atomic.Bool
	var mu sync.Mutex
	var last error
	var wg sync.WaitGroup
	for range stormCopies {
		wg.Go(func() {
			for range 1 + stormRetries {
				err := one()
				if err == nil {
					ok.Store(true)
					return
				}
				mu.Lock()
				last = err
				mu.Unlock()
				if ctx.Err() != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() {
		return nil
	}
	return last
}

func (s *service) callService(ctx context.Context, tel *telemetry, c callDef, callee *service) error {
	ctx, cancel := context.WithTimeout(ctx, s.r.topo.callTimeout(c))
	defer cancel()
	if callee.def.grpc {
		return s.callGRPC(ctx, tel, callee)
	}
	return s.callHTTP(ctx, tel, callee)
}

func (s *service) callHTTP(ctx context.Context, tel *telemetry, callee *service) error {
	url := "http://" + callee.addr + callee.def.route
	ctx, span := tel.tracer.Start(ctx, callee.def.method+" "+callee.def.route,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", callee.def.method),
			attribute.String("url.full", url),
			attribute.String("server.address", "127.0.0.1"),
			attribute.Int("server.port", callee.port),
			attribute.String("peer.service", callee.def.name),
		))
	defer span.End()
	req, err := http.NewRequestWithContext(ctx, callee.def.method, url, http.NoBody)
	if err != nil {
		ce := &callError{kind: errOther, errType: errOther, excType: "*url.Error", msg: err.Error()}
		ce.record(span)
		return ce
	}
	s.r.prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := s.httpClient.Do(req)
	if err != nil {
		ce := classify(ctx, err)
		ce.record(span)
		return ce
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		ce := &callError{
			kind: errStatus, errType: fmt.Sprint(resp.StatusCode), excType: "HTTPError",
			msg: fmt.Sprintf("%s %s: %s", callee.def.method, url, resp.Status),
		}
		ce.record(span)
		return ce
	}
	return nil
}

func (s *service) callGRPC(ctx context.Context, tel *telemetry, callee *service) error {
	svc := grpcServiceName(callee.def.name)
	ctx, span := tel.tracer.Start(ctx, svc+"/"+callee.def.route,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", svc),
			attribute.String("rpc.method", callee.def.route),
			attribute.String("server.address", "127.0.0.1"),
			attribute.Int("server.port", callee.port),
			attribute.String("peer.service", callee.def.name),
		))
	defer span.End()
	md := metadata.MD{}
	s.r.prop.Inject(ctx, mdCarrier(md))
	ctx = metadata.NewOutgoingContext(ctx, md)
	var resp []byte
	err := s.conns[callee.def.name].Invoke(ctx, "/"+svc+"/"+callee.def.route, []byte("request"), &resp)
	code := status.Code(err)
	span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))
	if err == nil {
		return nil
	}
	ce := &callError{kind: errStatus, errType: code.String(), excType: "grpc.Status", msg: err.Error()}
	switch {
	case code == grpccodes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded):
		ce.kind, ce.errType = errTimeout, errTimeout
	case code == grpccodes.Canceled:
		ce.kind, ce.errType = errCancel, errCancel
	case code == grpccodes.Unavailable && strings.Contains(err.Error(), "connection refused"):
		ce.kind, ce.errType = errRefused, errRefused
	}
	ce.record(span)
	return ce
}

// classify turns a transport error into a callError.
func classify(ctx context.Context, err error) *callError {
	ce := &callError{kind: errOther, errType: errOther, excType: fmt.Sprintf("%T", err), msg: err.Error()}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		ce.kind, ce.errType, ce.excType = errTimeout, errTimeout, "context.DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		ce.kind, ce.errType, ce.excType = errCancel, errCancel, "context.Canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		ce.kind, ce.errType, ce.excType = errRefused, errRefused, "syscall.ECONNREFUSED"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		ce.kind, ce.errType, ce.excType = errReset, errReset, "io.EOF"
	}
	return ce
}

// callDependency simulates a call to something that sends no spans: the caller waits a
// seeded small latency and records a CLIENT span with the semantic-convention attributes.
func (s *service) callDependency(ctx context.Context, tel *telemetry, c callDef, d *dependencyDef) error {
	ctx, cancel := context.WithTimeout(ctx, s.r.topo.callTimeout(c))
	defer cancel()
	attrs := []attribute.KeyValue{
		attribute.String("peer.service", d.name),
		attribute.String("server.address", d.address),
		attribute.Int("server.port", d.port),
	}
	var name string
	switch d.kind {
	case KindExternal:
		name = d.op
		attrs = append(attrs,
			attribute.String("http.request.method", d.op),
			attribute.String("url.full", d.url))
	default:
		name = d.op + " " + d.dbName
		attrs = append(attrs,
			attribute.String("db.system", d.system),
			attribute.String("db.system.name", d.system),
			attribute.String("db.name", d.dbName),
			attribute.String("db.namespace", d.dbName),
			attribute.String("db.operation.name", d.op))
		if d.kind == KindCache {
			name = d.op
		}
	}
	ctx, span := tel.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	f := s.r.fault
	kind := ""
	if f.on.Load() && f.Target == d.name && (f.Kind == FaultDown || s.affected()) {
		kind = f.Kind
	}
	rng := s.r.depRand(d.name)
	lat := rng.jitter(time.Duration(1+rng.Uint64()%2)*time.Millisecond + 2*time.Millisecond)
	var ce *callError
	addr := fmt.Sprintf("%s:%d", d.address, d.port)
	switch kind {
	case FaultDown:
		lat = time.Millisecond
		ce = &callError{
			kind: errRefused, errType: errRefused, excType: "syscall.ECONNREFUSED",
			msg: "dial tcp " + addr + ": connect: connection refused",
		}
	case FaultDrop:
		ce = &callError{
			kind: errReset, errType: errReset, excType: "syscall.ECONNRESET",
			msg: "read tcp " + addr + ": read: connection reset by peer",
		}
	case FaultError:
		ce = dependencyError(d, addr)
		if d.kind != KindExternal {
			attrs := []attribute.KeyValue{attribute.String("db.response.status_code", ce.errType)}
			span.SetAttributes(attrs...)
		}
	case FaultLatency:
		lat = f.Latency
	}
	if err := s.r.pause(ctx, lat); err != nil && ce == nil {
		ce = classify(ctx, err)
	}
	if ce == nil {
		if d.kind == KindExternal {
			span.SetAttributes(attribute.Int("http.response.status_code", 200))
		}
		return nil
	}
	if ce.kind == errStatus && d.kind == KindExternal {
		span.SetAttributes(attribute.Int("http.response.status_code", 503))
	}
	ce.record(span)
	return ce
}

// dependencyError is the error a dependency answers during an error fault.
func dependencyError(d *dependencyDef, addr string) *callError {
	switch {
	case d.kind == KindExternal:
		return &callError{
			kind: errStatus, errType: "503", excType: "HTTPError",
			msg: fmt.Sprintf("%s %s: 503 Service Unavailable", d.op, d.url),
		}
	case d.system == "redis":
		return &callError{
			kind: errStatus, errType: "ERR", excType: "redis.Error",
			msg: "ERR internal error executing command on " + addr,
		}
	case d.system == "postgresql":
		return &callError{
			kind: errStatus, errType: "XX000", excType: "pgconn.PgError",
			msg: "ERROR: could not read block in relation (SQLSTATE XX000)",
		}
	default:
		return &callError{
			kind: errStatus, errType: "500", excType: d.system + ".Error",
			msg: d.system + " at " + addr + ": internal server error",
		}
	}
}
