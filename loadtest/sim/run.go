package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// Limits and defaults of a run.
const (
	DefaultRate          = 20.0
	MaxRate              = 1000.0
	DefaultFaultDuration = 60 * time.Second
	DefaultRunTail       = 30 * time.Second // run goes on this long after the fault ends
	DefaultRunDuration   = 60 * time.Second // when there is no fault
	MaxRunDuration       = 10 * time.Minute
	MaxLatency           = time.Minute
	EntryTimeout         = 3 * time.Second // the load driver's timeout on the entry service
	maxEntriesInFlight   = 256
	shutdownGrace        = 2 * time.Second
)

// ErrEndpointNotLoopback is returned when Options.Endpoint is not on this machine.
var ErrEndpointNotLoopback = errors.New("OTLP endpoint must be a loopback address")

// Options are how a run sends its telemetry.
type Options struct {
	Endpoint     string            // OTLP/gRPC host:port of Faultline; must be a loopback address
	Headers      map[string]string // sent with every OTLP request, e.g. authorization
	Logs         bool              // services also send OTLP logs
	Logger       *slog.Logger      // progress; nil: discarded
	SpanExporter sdktrace.SpanExporter
	// LogExporter, when set (and Logs is true), is used instead of OTLP for logs (tests).
	LogExporter sdklog.Exporter
	// TimeScale multiplies the scenario's timeline (fault start and length, run length) so
	// tests run fast; latencies and timeouts are not scaled. Default 1.
	TimeScale float64
}

// runner is one run in progress.
type runner struct {
	opts     Options
	sc       Scenario
	topo     *topology
	log      *slog.Logger
	prop     propagation.TextMapPropagator
	spanExp  sdktrace.SpanExporter
	logExp   sdklog.Exporter
	services map[string]*service
	order    []*service
	fault    *activeFault
	stop     chan struct{} // closed when the run ends: pending waits return
	depRngMu sync.Mutex
	depRngs  map[string]*lockedRand
}

var errStopped = errors.New("simulator stopped")

// pause waits d, or less if ctx is done or the run stops.
func (r *runner) pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stop:
		return errStopped
	}
}

func (r *runner) depRand(name string) *lockedRand {
	r.depRngMu.Lock()
	defer r.depRngMu.Unlock()
	l, ok := r.depRngs[name]
	if !ok {
		l = newRand(r.sc.Seed, "dependency/"+name)
		r.depRngs[name] = l
	}
	return l
}

// Validate checks a scenario without running it.
func Validate(sc Scenario) error {
	_, _, err := prepare(sc)
	return err
}

func validDuration(name string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s %v is negative", name, d)
	}
	return nil
}

// prepare fills in a scenario's defaults and validates it.
func prepare(sc Scenario) (Scenario, *topology, error) {
	t, err := lookupTopology(sc.Topology)
	if err != nil {
		return sc, nil, err
	}
	if math.IsNaN(sc.Rate) || sc.Rate < 0 || sc.Rate > MaxRate {
		return sc, nil, fmt.Errorf("rate %v out of range (0, %v]", sc.Rate, MaxRate)
	}
	if sc.Rate == 0 {
		sc.Rate = DefaultRate
	}
	f := &sc.Fault
	if f.Kind == "" {
		f.Kind = FaultNone
	}
	known := false
	for _, k := range FaultKinds {
		known = known || k == f.Kind
	}
	if !known {
		return sc, nil, fmt.Errorf("unknown fault kind %q (known: %s)", f.Kind, strings.Join(FaultKinds, ", "))
	}
	for _, c := range []struct {
		n string
		d time.Duration
	}{{"fault start", f.Start}, {"fault duration", f.Duration}, {"fault latency", f.Latency}, {"duration", sc.Duration}} {
		if err := validDuration(c.n, c.d); err != nil {
			return sc, nil, err
		}
	}
	if math.IsNaN(f.Share) || f.Share < 0 || f.Share > 1 {
		return sc, nil, fmt.Errorf("fault share %v out of range (0, 1]", f.Share)
	}
	if f.Kind == FaultNone {
		if f.Target != "" {
			return sc, nil, fmt.Errorf("fault %q takes no target (got %q)", f.Kind, f.Target)
		}
		*f = Fault{Kind: FaultNone}
		if sc.Duration == 0 {
			sc.Duration = DefaultRunDuration
		}
	} else {
		if f.Target == "" {
			return sc, nil, fmt.Errorf("fault %q needs a target (one of %s)", f.Kind, strings.Join(t.nodeNames(), ", "))
		}
		svc, dep := t.service(f.Target), t.dependency(f.Target)
		switch {
		case svc == nil && dep == nil:
			return sc, nil, fmt.Errorf("unknown fault target %q in topology %s (known: %s)", f.Target, t.name, strings.Join(t.nodeNames(), ", "))
		case dep != nil && f.Kind != FaultError && f.Kind != FaultLatency && f.Kind != FaultDown && f.Kind != FaultDrop:
			return sc, nil, fmt.Errorf("fault %q cannot target dependency %q (a %s sends no spans; use error, latency, down or drop)", f.Kind, f.Target, dep.kind)
		case f.Kind == FaultRetryStorm && len(svc.calls) == 0:
			return sc, nil, fmt.Errorf("fault %q needs a target that calls something; %q calls nothing", f.Kind, f.Target)
		}
		if f.Share == 0 {
			f.Share = 1
		}
		if f.Duration == 0 {
			f.Duration = DefaultFaultDuration
		}
		if f.Kind == FaultLatency {
			if f.Latency == 0 {
				callers := t.maxCallerTimeout(f.Target)
				if callers == 0 {
					callers = EntryTimeout
				}
				f.Latency = 2 * callers
			}
			if f.Latency > MaxLatency {
				return sc, nil, fmt.Errorf("fault latency %v over the maximum %v", f.Latency, MaxLatency)
			}
		} else {
			f.Latency = 0
		}
		if sc.Duration == 0 {
			sc.Duration = f.Start + f.Duration + DefaultRunTail
		}
		if end := f.Start + f.Duration; end > sc.Duration {
			return sc, nil, fmt.Errorf("fault ends at %v, after the run's end at %v", end, sc.Duration)
		}
	}
	if sc.Duration > MaxRunDuration {
		return sc, nil, fmt.Errorf("duration %v over the maximum %v", sc.Duration, MaxRunDuration)
	}
	if sc.Name == "" {
		sc.Name = sc.Topology + "-" + f.Kind
		if f.Target != "" {
			sc.Name += "-" + f.Target
		}
	}
	return sc, t, nil
}

// checkLoopback accepts host:port only when host is a loopback IP or "localhost", and returns
// the address to dial.
func checkLoopback(endpoint string) (string, error) {
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return "", fmt.Errorf("OTLP endpoint %q: %w", endpoint, err)
	}
	if port == "" {
		return "", fmt.Errorf("OTLP endpoint %q: missing port", endpoint)
	}
	if strings.EqualFold(host, "localhost") {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%w: %q is not 127.0.0.0/8, ::1 or localhost", ErrEndpointNotLoopback, endpoint)
	}
	return endpoint, nil
}

// keepOpen hides Shutdown from the TracerProviders that share one exporter: the run shuts
// the exporter down once, and a test's exporter is the test's.
type keepOpen struct{ sdktrace.SpanExporter }

func (keepOpen) Shutdown(context.Context) error { return nil }

type keepOpenLogs struct{ sdklog.Exporter }

func (keepOpenLogs) Shutdown(context.Context) error { return nil }

// Run runs a scenario: it starts every service of the topology on 127.0.0.1, sends load
// to the entry service, switches the fault on and off, stops everything (flushing the
// telemetry) and returns what happened. On cancellation it stops early and returns the
// ground truth so far with the context's error.
func Run(ctx context.Context, opts Options, sc Scenario) (GroundTruth, error) {
	sc, topo, err := prepare(sc)
	if err != nil {
		return GroundTruth{}, err
	}
	if opts.TimeScale < 0 || math.IsNaN(opts.TimeScale) || math.IsInf(opts.TimeScale, 0) {
		return GroundTruth{}, fmt.Errorf("time scale %v must be positive", opts.TimeScale)
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 1
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &runner{
		opts: opts, sc: sc, topo: topo, log: logger,
		prop:     propagation.TraceContext{},
		services: map[string]*service{},
		fault:    &activeFault{Fault: sc.Fault},
		stop:     make(chan struct{}),
		depRngs:  map[string]*lockedRand{},
	}
	gt := GroundTruth{Scenario: sc.Name, Seed: sc.Seed, Topology: topo.info(), Fault: sc.Fault}
	if opts.TimeScale != 1 {
		gt.TimeScale = opts.TimeScale
	}
	if sc.Fault.Kind != FaultNone {
		gt.FaultyService = sc.Fault.Target
	}

	// Exporters.
	var ownSpanExp sdktrace.SpanExporter
	var ownLogExp sdklog.Exporter
	endpoint := ""
	if opts.Endpoint != "" {
		if endpoint, err = checkLoopback(opts.Endpoint); err != nil {
			return gt, err
		}
	}
	if opts.SpanExporter != nil {
		r.spanExp = keepOpen{opts.SpanExporter}
	} else {
		if endpoint == "" {
			return gt, errors.New("no OTLP endpoint and no span exporter")
		}
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithHeaders(opts.Headers))
		if err != nil {
			return gt, fmt.Errorf("create OTLP trace exporter: %w", err)
		}
		ownSpanExp = exp
		r.spanExp = keepOpen{exp}
	}
	if opts.Logs {
		switch {
		case opts.LogExporter != nil:
			r.logExp = keepOpenLogs{opts.LogExporter}
		case endpoint != "":
			exp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure(),
				otlploggrpc.WithHeaders(opts.Headers))
			if err != nil {
				return gt, fmt.Errorf("create OTLP log exporter: %w", err)
			}
			ownLogExp = exp
			r.logExp = keepOpenLogs{exp}
		default:
			return gt, errors.New("logs need an OTLP endpoint or a log exporter")
		}
	}

	// Start the services: servers first, so every client knows its callees' ports.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if ownSpanExp != nil {
			_ = ownSpanExp.Shutdown(sctx)
		}
		if ownLogExp != nil {
			_ = ownLogExp.Shutdown(sctx)
		}
	}()
	for _, def := range topo.services {
		s := newService(r, def)
		s.v1 = s.newTelemetry("1.0.0")
		r.services[def.name] = s
		r.order = append(r.order, s)
	}
	defer r.shutdown()
	for _, s := range r.order {
		if err := s.listen(); err != nil {
			return gt, err
		}
	}
	for _, s := range r.order {
		if err := s.connect(); err != nil {
			return gt, err
		}
	}
	logger.Info("simulator started", "topology", topo.name, "services", len(topo.services),
		"dependencies", len(topo.deps), "fault", sc.Fault.Kind, "target", sc.Fault.Target)

	// The timeline.
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * opts.TimeScale) }
	gt.RunStart = time.Now()
	runEnd := gt.RunStart.Add(scale(sc.Duration))
	driver := newDriver(r, r.services[topo.services[0].name])
	driverDone := make(chan struct{})
	go func() {
		defer close(driverDone)
		driver.run(runEnd)
	}()

	var runErr error
	wait := func(until time.Time) bool {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			runErr = ctx.Err()
			return false
		}
	}
	if sc.Fault.Kind != FaultNone {
		if wait(gt.RunStart.Add(scale(sc.Fault.Start))) {
			gt.FaultStart, _ = r.activate()
			wait(gt.FaultStart.Add(scale(sc.Fault.Duration)))
			var err error
			gt.FaultEnd, err = r.deactivate()
			if err != nil {
				runErr = err
			}
		}
	}
	if runErr == nil {
		wait(runEnd)
	}
	// Stop sending and let the requests in flight finish (each is bounded by EntryTimeout),
	// then cut short whatever still waits (a slow service's sleep), then stop the servers.
	driver.halt()
	<-driverDone
	close(r.stop)
	gt.RunEnd = time.Now()
	gt.Requests, gt.FailedEntries = driver.sent.Load(), driver.failed.Load()
	logger.Info("simulator finished", "requests", gt.Requests, "failed_entries", gt.FailedEntries)
	return gt, runErr
}

// connect creates the clients of s to its callees.
func (s *service) connect() error {
	s.httpClient = &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}}
	s.conns = map[string]*grpc.ClientConn{}
	for _, c := range s.def.calls {
		callee := s.r.services[c.to]
		if callee == nil || !callee.def.grpc || s.conns[c.to] != nil {
			continue
		}
		conn, err := grpc.NewClient(callee.addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})),
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
				MinConnectTimeout: time.Second,
			}))
		if err != nil {
			return fmt.Errorf("connect %s to %s: %w", s.def.name, c.to, err)
		}
		s.conns[c.to] = conn
	}
	return nil
}

// shutdown stops servers, then clients, then flushes every provider. Servers stop first so
// no new spans start while the providers flush.
//
// Idle client connections close first: a server's graceful shutdown waits for connections
// that were dialled but never carried a request.
func (r *runner) shutdown() {
	for _, s := range r.order {
		if s.httpClient != nil {
			s.httpClient.CloseIdleConnections()
		}
	}
	var wg sync.WaitGroup
	for _, s := range r.order {
		wg.Go(func() { s.shutdown(shutdownGrace) })
	}
	wg.Wait()
	for _, s := range r.order {
		if s.httpClient != nil {
			s.httpClient.CloseIdleConnections()
		}
		for _, c := range s.conns {
			_ = c.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range r.order {
		for _, tel := range []*telemetry{s.v1, s.v2.Load()} {
			if tel == nil {
				continue
			}
			wg.Go(func() {
				_ = tel.tp.Shutdown(ctx)
				if tel.lp != nil {
					_ = tel.lp.Shutdown(ctx)
				}
			})
		}
	}
	wg.Wait()
}

// driver sends the load: GET requests to the entry service at the scenario's rate.
type driver struct {
	r      *runner
	entry  *service
	rng    *lockedRand
	client *http.Client
	halted chan struct{}
	once   sync.Once
	sent   atomic.Int64
	failed atomic.Int64
}

func newDriver(r *runner, entry *service) *driver {
	return &driver{
		r: r, entry: entry, rng: newRand(r.sc.Seed, "driver"),
		client: &http.Client{Timeout: EntryTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		halted: make(chan struct{}),
	}
}

func (d *driver) halt() { d.once.Do(func() { close(d.halted) }) }

// run sends requests until end or halt, then waits for the ones in flight.
func (d *driver) run(end time.Time) {
	defer d.client.CloseIdleConnections()
	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := make(chan struct{}, maxEntriesInFlight)
	mean := time.Duration(float64(time.Second) / d.r.sc.Rate)
	next := time.Now()
	for {
		next = next.Add(d.rng.jitter(mean))
		if next.After(end) {
			return
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-t.C:
		case <-d.halted:
			t.Stop()
			return
		}
		d.sent.Add(1)
		select {
		case inflight <- struct{}{}:
		default:
			d.failed.Add(1) // too many entry requests outstanding: count it as failed
			continue
		}
		wg.Go(func() {
			defer func() { <-inflight }()
			if !d.send() {
				d.failed.Add(1)
			}
		})
	}
}

func (d *driver) send() bool {
	url := "http://" + d.entry.addr + d.entry.def.route
	req, err := http.NewRequest(d.entry.def.method, url, http.NoBody) //nolint:noctx // the client's timeout bounds it
	if err != nil {
		return false
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode < 400
}
