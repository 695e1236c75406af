package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const instrumentationName = "github.com/faultline/faultline/loadtest/sim"

// service is one simulated microservice: a real HTTP or gRPC server on 127.0.0.1 with its
// own TracerProvider (and LoggerProvider), as if it were its own process.
type service struct {
	r    *runner
	def  *serviceDef
	rng  *lockedRand
	work time.Duration // mean time of its own work per request
	addr string        // 127.0.0.1:port, kept across restarts
	port int

	mu      sync.Mutex // guards the servers
	httpSrv *http.Server
	grpcSrv *grpc.Server
	serving sync.WaitGroup

	v1       *telemetry
	v2       atomic.Pointer[telemetry] // the bad deploy's
	deployed atomic.Bool               // v2 serves requests

	down             atomic.Bool
	downFrom, downTo atomic.Int64 // Unix nanoseconds of the down window (0: none)

	slots chan struct{} // concurrency limit of its own work; waiting here is queueing

	httpClient *http.Client
	conns      map[string]*grpc.ClientConn // to gRPC callees

	memMu    sync.Mutex
	retained [][]byte
	memBytes atomic.Int64
}

// telemetry is what one deployed version of a service sends through.
type telemetry struct {
	version string
	tp      *sdktrace.TracerProvider
	tracer  trace.Tracer
	lp      *sdklog.LoggerProvider
	logger  otellog.Logger

	inflight atomic.Int64 // requests being served by this version
}

// lockedRand is a seeded RNG safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newRand(seed int64, name string) *lockedRand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(seed), h.Sum64()))} //nolint:gosec // simulation, not crypto
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

// jitter returns d scaled by a random factor in [0.7, 1.3).
func (l *lockedRand) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.7 + 0.6*l.Float64()))
}

func newService(r *runner, def *serviceDef) *service {
	s := &service{r: r, def: def, rng: newRand(r.sc.Seed, "service/"+def.name)}
	s.work = time.Duration(3+s.rng.Uint64()%6) * time.Millisecond
	s.slots = make(chan struct{}, r.topo.slots)
	return s
}

// newTelemetry builds the providers of one deployed version of s.
func (s *service) newTelemetry(version string) *telemetry {
	res := resource.NewSchemaless(
		attribute.String("service.name", s.def.name),
		attribute.String("service.version", version),
		attribute.String("service.instance.id", fmt.Sprintf("%s-%s-%016x", s.def.name, version, s.rng.Uint64())),
		attribute.String("service.namespace", "sim-"+s.r.topo.name),
		attribute.String("host.name", s.def.host),
		attribute.String("deployment.environment.name", "sim"),
	)
	bsp := sdktrace.NewBatchSpanProcessor(s.r.spanExp, sdktrace.WithBatchTimeout(time.Second))
	tel := &telemetry{version: version}
	tel.tp = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(downGate{SpanProcessor: bsp, s: s}),
	)
	tel.tracer = tel.tp.Tracer(instrumentationName)
	if s.r.logExp != nil {
		tel.lp = sdklog.NewLoggerProvider(
			sdklog.WithResource(res),
			sdklog.WithProcessor(sdklog.NewBatchProcessor(s.r.logExp, sdklog.WithExportInterval(time.Second))),
		)
		tel.logger = tel.lp.Logger(instrumentationName)
	}
	return tel
}

// acquireTelemetry returns the version that serves a new request; release it when the
// request is done, so a rollback can wait for the old version to drain.
func (s *service) acquireTelemetry() *telemetry {
	for {
		t := s.v1
		if s.deployed.Load() {
			if v2 := s.v2.Load(); v2 != nil {
				t = v2
			}
		}
		t.inflight.Add(1)
		if t == s.v1 || s.deployed.Load() {
			return t
		}
		t.inflight.Add(-1) // rolled back meanwhile
	}
}

func (t *telemetry) release() { t.inflight.Add(-1) }

// drain waits until no request is served by t, at most limit.
func (t *telemetry) drain(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for t.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
}

// downGate drops every span of a service that is down: a dead process sends nothing.
type downGate struct {
	sdktrace.SpanProcessor
	s *service
}

func (g downGate) OnEnd(sp sdktrace.ReadOnlySpan) {
	if g.s.silenced(sp.StartTime()) {
		return
	}
	g.SpanProcessor.OnEnd(sp)
}

func (s *service) silenced(start time.Time) bool {
	if s.down.Load() {
		return true
	}
	from, to := s.downFrom.Load(), s.downTo.Load()
	t := start.UnixNano()
	return from != 0 && t >= from && (to == 0 || t <= to)
}

// listen starts the server on 127.0.0.1, on a free port the first time and on the same port
// after a restart.
func (s *service) listen() error {
	addr := "127.0.0.1:0"
	if s.addr != "" {
		addr = s.addr
	}
	var ln net.Listener
	var err error
	for try := 0; try < 20; try++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || s.addr == "" {
			break
		}
		time.Sleep(50 * time.Millisecond) // the old socket may still be closing
	}
	if err != nil {
		return fmt.Errorf("listen for %s on %s: %w", s.def.name, addr, err)
	}
	if s.addr == "" { // first start; a restart keeps the address callers know
		s.addr = ln.Addr().String()
		s.port = ln.Addr().(*net.TCPAddr).Port
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serving.Add(1)
	if s.def.grpc {
		srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
		srv.RegisterService(s.grpcDesc(), s)
		s.grpcSrv = srv
		go func() {
			defer s.serving.Done()
			_ = srv.Serve(ln)
		}()
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle(s.def.method+" "+s.def.route, s)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	srv.SetKeepAlivesEnabled(true)
	s.httpSrv = srv
	go func() {
		defer s.serving.Done()
		_ = srv.Serve(ln)
	}()
	return nil
}

// kill closes the listener and every connection at once, like a process that died.
func (s *service) kill() {
	s.mu.Lock()
	if s.httpSrv != nil {
		_ = s.httpSrv.Close()
		s.httpSrv = nil
	}
	if s.grpcSrv != nil {
		s.grpcSrv.Stop()
		s.grpcSrv = nil
	}
	s.mu.Unlock()
	s.serving.Wait()
}

// shutdown stops the server gracefully within grace, then forcibly.
func (s *service) shutdown(grace time.Duration) {
	s.mu.Lock()
	h, g := s.httpSrv, s.grpcSrv
	s.httpSrv, s.grpcSrv = nil, nil
	s.mu.Unlock()
	if h != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		if err := h.Shutdown(ctx); err != nil {
			_ = h.Close()
		}
		cancel()
	}
	if g != nil {
		done := make(chan struct{})
		go func() { g.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
			g.Stop()
			<-done
		}
	}
	s.serving.Wait()
}

// failure is why a request failed; it becomes the status, the exception event and the
// HTTP or gRPC status code.
type failure struct {
	typ      string // exception.type
	msg      string
	httpCode int
	grpcCode grpccodes.Code
}

func (f *failure) Error() string { return f.msg }

func recordException(span trace.Span, typ, msg string) {
	span.SetStatus(codes.Error, msg)
	span.AddEvent("exception", trace.WithAttributes(
		attribute.String("exception.type", typ),
		attribute.String("exception.message", msg),
	))
}

// ServeHTTP is the service's one HTTP route.
func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.r.faultOn(s.def.name, FaultDrop) && s.affected() {
		// Drop the connection without an answer and without a span.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	ctx := s.r.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	tel := s.acquireTelemetry()
	defer tel.release()
	ctx, span := tel.tracer.Start(ctx, s.def.method+" "+s.def.route,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", s.def.method),
			attribute.String("http.route", s.def.route),
			attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", "http"),
			attribute.String("server.address", "127.0.0.1"),
			attribute.Int("server.port", s.port),
			attribute.String("network.protocol.version", "1.1"),
		))
	err := s.handle(ctx, tel)
	code := http.StatusOK
	var f *failure
	if errors.As(err, &f) {
		code = f.httpCode
		span.SetAttributes(attribute.String("error.type", fmt.Sprint(code)))
		recordException(span, f.typ, f.msg)
	}
	span.SetAttributes(attribute.Int("http.response.status_code", code))
	s.logRequest(ctx, tel, err)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(code)
	if err != nil {
		_, _ = fmt.Fprintln(w, err.Error())
	}
	span.End()
}

// serveGRPC is the service's one gRPC method.
func (s *service) serveGRPC(ctx context.Context) (any, error) {
	if s.r.faultOn(s.def.name, FaultDrop) && s.affected() {
		return nil, status.Error(grpccodes.Unavailable, "connection dropped")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	ctx = s.r.prop.Extract(ctx, mdCarrier(md))
	tel := s.acquireTelemetry()
	defer tel.release()
	svc := grpcServiceName(s.def.name)
	ctx, span := tel.tracer.Start(ctx, svc+"/"+s.def.route,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", svc),
			attribute.String("rpc.method", s.def.route),
			attribute.String("server.address", "127.0.0.1"),
			attribute.Int("server.port", s.port),
		))
	defer span.End()
	err := s.handle(ctx, tel)
	code := grpccodes.OK
	var f *failure
	if errors.As(err, &f) {
		code = f.grpcCode
		span.SetAttributes(attribute.String("error.type", code.String()))
		recordException(span, f.typ, f.msg)
	}
	span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))
	s.logRequest(ctx, tel, err)
	if err != nil {
		return nil, status.Error(code, err.Error())
	}
	return []byte("ok"), nil
}

func (s *service) logRequest(ctx context.Context, tel *telemetry, err error) {
	if tel.logger == nil || s.down.Load() {
		return
	}
	var rec otellog.Record
	now := time.Now()
	rec.SetTimestamp(now)
	rec.SetObservedTimestamp(now)
	rec.AddAttributes(attribute.String("route", s.def.route))
	if err != nil {
		rec.SetSeverity(otellog.SeverityError)
		rec.SetSeverityText("ERROR")
		rec.SetBody(attribute.StringValue(fmt.Sprintf("%s %s failed: %v", s.def.method, s.def.route, err)))
		var f *failure
		if errors.As(err, &f) {
			rec.AddAttributes(attribute.String("exception.type", f.typ), attribute.String("exception.message", f.msg))
		}
	} else {
		rec.SetSeverity(otellog.SeverityInfo)
		rec.SetSeverityText("INFO")
		rec.SetBody(attribute.StringValue(fmt.Sprintf("%s %s handled", s.def.method, s.def.route)))
	}
	tel.logger.Emit(ctx, rec)
}

// affected decides, with the service's seeded RNG, whether a request falls in the fault's share.
func (s *service) affected() bool {
	return s.rng.Float64() < s.r.fault.Share
}

// handle is one request: queue for a slot, do its own work, call its callees, answer.
func (s *service) handle(ctx context.Context, tel *telemetry) error {
	f := s.r.fault
	mine := f.on.Load() && f.Target == s.def.name
	affected := mine && s.affected()

	// Queue for a slot: a service does a bounded amount of work at once.
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return &failure{
			typ: "Overloaded", msg: "request abandoned while queued: " + ctx.Err().Error(),
			httpCode: http.StatusServiceUnavailable, grpcCode: grpccodes.Unavailable,
		}
	}
	work := s.rng.jitter(s.work)
	if mine && f.Kind == FaultCPU && affected {
		spin(cpuWorkPerRequest)
	}
	if mine && f.Kind == FaultMemory && affected {
		work += memoryDelay(s.memBytes.Load())
	}
	_ = s.r.pause(ctx, work) // a cancelled request stops working early; the caller sees ctx
	<-s.slots

	if affected {
		switch f.Kind {
		case FaultError:
			return &failure{
				typ: "InternalError", msg: "injected failure: " + s.def.name + " cannot serve the request",
				httpCode: http.StatusInternalServerError, grpcCode: grpccodes.Internal,
			}
		case FaultBadDeploy:
			if s.deployed.Load() {
				return &failure{
					typ: "NullPointerException", msg: "version 2.0.0: nil dereference in " + s.def.route,
					httpCode: http.StatusInternalServerError, grpcCode: grpccodes.Internal,
				}
			}
		}
	}
	err := s.callAll(ctx, tel, affected && f.Kind == FaultRetryStorm)
	if affected && f.Kind == FaultLatency {
		// A slow service does not notice its callers gave up: it takes its time.
		_ = s.r.pause(context.Background(), f.Latency)
	}
	return err
}

// callAll calls every callee, in order or concurrently, and fails on the first required
// call that failed.
func (s *service) callAll(ctx context.Context, tel *telemetry, storm bool) error {
	if len(s.def.calls) == 0 {
		return nil
	}
	errs := make([]error, len(s.def.calls))
	if s.def.parallel {
		var wg sync.WaitGroup
		for i, c := range s.def.calls {
			wg.Go(func() { errs[i] = s.call(ctx, tel, c, storm) })
		}
		wg.Wait()
	} else {
		for i, c := range s.def.calls {
			errs[i] = s.call(ctx, tel, c, storm)
			if errs[i] != nil && !c.optional {
				break
			}
		}
	}
	for i, c := range s.def.calls {
		if errs[i] == nil || c.optional {
			continue
		}
		var ce *callError
		if errors.As(errs[i], &ce) && ce.kind == errTimeout {
			return &failure{
				typ: "UpstreamTimeout", msg: fmt.Sprintf("call to %s timed out: %v", c.to, errs[i]),
				httpCode: http.StatusGatewayTimeout, grpcCode: grpccodes.DeadlineExceeded,
			}
		}
		return &failure{
			typ: "UpstreamError", msg: fmt.Sprintf("call to %s failed: %v", c.to, errs[i]),
			httpCode: http.StatusBadGateway, grpcCode: grpccodes.Unavailable,
		}
	}
	return nil
}
