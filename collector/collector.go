// Package collector receives OTLP traces, metrics and logs on gRPC and HTTP with the
// OpenTelemetry Collector's otlpreceiver. Spans pass the ingest limits and a bounded queue to
// the span store, and a request is acknowledged only once its spans are durable; then the
// service-graph generator sees them. Log records take the same way (limits, their own bounded
// queue, acknowledged once durable) into the log store. Metrics go to the embedded TSDB.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configmiddleware"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/faultline/faultline/internal/auth"
	"github.com/faultline/faultline/internal/logging"
	"github.com/faultline/faultline/internal/spanstore"
)

// retryAfter is what clients are told to wait when the queue is full; long enough for the
// writers to drain a full queue at the throughput this machine class reaches.
const retryAfter = time.Second

// Sinks are where received data goes. Spans is required; the others are optional.
type Sinks struct {
	// Spans stores spans durably; a request is acknowledged once it returns.
	Spans spanstore.Writer
	// SpanObserver sees every batch of spans once stored (the service-graph generator); it
	// must be cheap and never block.
	SpanObserver func(ptrace.Traces)
	// Metrics stores OTLP metrics (the embedded TSDB); without it the metrics service is off.
	Metrics func(context.Context, pmetric.Metrics) error
	// Logs stores log records durably (the log store); without it the logs service is off.
	Logs func(context.Context, ...plog.Logs) error
}

// Collector is the OTLP ingest path as a dskit service.
type Collector struct {
	services.Service

	cfg      Config
	sinks    Sinks
	logger   *slog.Logger
	queue    *queue[ptrace.Traces]
	logQueue *queue[plog.Logs]
	receiver component.Component

	received  prometheus.Counter
	refused   *prometheus.CounterVec
	truncated *prometheus.CounterVec

	logsReceived  prometheus.Counter
	logsRefused   *prometheus.CounterVec
	logsTruncated *prometheus.CounterVec
}

// New builds the collector; it listens once started.
func New(cfg Config, sinks Sinks, logger *slog.Logger, reg prometheus.Registerer) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sinks.Spans == nil {
		return nil, errors.New("collector needs a span store")
	}
	c := &Collector{cfg: cfg, sinks: sinks, logger: logger, queue: newQueue(cfg.Queue.size(), sinks.Spans.Write, "spans", logger)}
	f := promauto.With(reg)
	if sinks.Logs != nil {
		c.logQueue = newQueue(cfg.LogsQueue.size(), sinks.Logs, "log records", logger)
		c.registerLogMetrics(f)
	}
	c.received = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_spans_received_total", Help: "Spans received over OTLP, before limits and queueing.",
	})
	c.refused = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_spans_refused_total", Help: "Spans not stored, by reason: queue_full, too_many_spans, invalid_id, store_error, shutting_down.",
	}, []string{"reason"})
	for _, r := range []string{"queue_full", "too_many_spans", "invalid_id", "store_error", "shutting_down"} {
		c.refused.WithLabelValues(r)
	}
	c.truncated = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_spans_truncated_total", Help: "Items cut by the ingest limits, by what: attribute, event, attribute_value.",
	}, []string{"what"})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_ingest_queue_spans", Help: "Spans waiting in the ingest queue to be stored.",
	}, func() float64 { _, s := c.queue.depth(); return float64(s) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_ingest_queue_requests", Help: "Requests waiting in the ingest queue to be stored.",
	}, func() float64 { r, _ := c.queue.depth(); return float64(r) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_ingest_queue_capacity_spans", Help: "The ingest queue's bound in spans.",
	}, func() float64 { return float64(cfg.Queue.MaxSpans) })

	c.Service = services.NewBasicService(c.starting, c.running, c.stopping)
	return c, nil
}

func (c *Collector) registerLogMetrics(f promauto.Factory) {
	c.logsReceived = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_logs_received_total", Help: "Log records received over OTLP, before limits and queueing.",
	})
	c.logsRefused = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_logs_refused_total", Help: "Log records not stored, by reason: queue_full, too_many_records, store_error, shutting_down.",
	}, []string{"reason"})
	for _, r := range []string{"queue_full", "too_many_records", "store_error", "shutting_down"} {
		c.logsRefused.WithLabelValues(r)
	}
	c.logsTruncated = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_logs_truncated_total", Help: "Log record parts cut by the ingest limits, by what: attribute, attribute_value, body.",
	}, []string{"what"})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_ingest_queue_log_records", Help: "Log records waiting in the ingest queue to be stored.",
	}, func() float64 { _, n := c.logQueue.depth(); return float64(n) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_ingest_queue_capacity_log_records", Help: "The log ingest queue's bound in records.",
	}, func() float64 { return float64(c.cfg.LogsQueue.MaxRecords) })
}

// ConsumeTraces is the receivers' consumer: limits, then queue, then wait for durability.
func (c *Collector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	c.received.Add(float64(n))
	if n > c.cfg.Limits.MaxSpansPerRequest {
		c.refused.WithLabelValues("too_many_spans").Add(float64(n))
		return status.Errorf(codes.InvalidArgument, "request has %d spans, more than otlp.max-spans-per-request=%d", n, c.cfg.Limits.MaxSpansPerRequest)
	}
	st := c.cfg.Limits.enforce(td)
	c.countLimits(st)
	if st.invalidSpans > 0 {
		c.refused.WithLabelValues("invalid_id").Add(float64(st.invalidSpans))
		n -= st.invalidSpans
		if n == 0 {
			return status.Error(codes.InvalidArgument, "every span has an empty trace ID or span ID")
		}
	}
	err := c.queue.enqueue(ctx, td, n)
	if err == nil && c.sinks.SpanObserver != nil {
		c.sinks.SpanObserver(td)
	}
	return enqueueStatus(err, n, c.refused, "spans")
}

// ConsumeLogs is the logs receivers' consumer: limits, then the log queue, then wait for
// durability, like spans.
func (c *Collector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	c.logsReceived.Add(float64(n))
	if n > c.cfg.Limits.MaxLogRecordsPerRequest {
		c.logsRefused.WithLabelValues("too_many_records").Add(float64(n))
		return status.Errorf(codes.InvalidArgument, "request has %d log records, more than otlp.max-log-records-per-request=%d", n, c.cfg.Limits.MaxLogRecordsPerRequest)
	}
	if n == 0 {
		return nil
	}
	st := c.cfg.Limits.enforceLogs(ld)
	for what, k := range map[string]int{"attribute": st.droppedAttributes, "attribute_value": st.truncatedValues, "body": st.truncatedBodies} {
		if k > 0 {
			c.logsTruncated.WithLabelValues(what).Add(float64(k))
		}
	}
	return enqueueStatus(c.logQueue.enqueue(ctx, ld, n), n, c.logsRefused, "log records")
}

// enqueueStatus turns a queue's answer into the status the client gets, counting refusals.
func enqueueStatus(err error, n int, refused *prometheus.CounterVec, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrQueueFull):
		refused.WithLabelValues("queue_full").Add(float64(n))
		return retryLater(codes.ResourceExhausted, "ingest queue is full: retry later")
	case errors.Is(err, ErrClosed):
		refused.WithLabelValues("shutting_down").Add(float64(n))
		return retryLater(codes.Unavailable, "shutting down: retry against another collector or later")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	default:
		refused.WithLabelValues("store_error").Add(float64(n))
		return retryLater(codes.Unavailable, "store "+what+": "+err.Error())
	}
}

// retryLater is a retryable refusal carrying RetryInfo, which the OTLP/HTTP receiver turns
// into a Retry-After header (on 429 and 503) and gRPC clients read from the status details.
func retryLater(code codes.Code, msg string) error {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)}); err == nil {
		st = d
	}
	return st.Err()
}

// ConsumeMetrics is the metrics receivers' consumer: points go straight to the TSDB, whose
// own write-ahead log makes them durable (it syncs on its own schedule, not per request).
func (c *Collector) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if err := c.sinks.Metrics(ctx, md); err != nil {
		return retryLater(codes.Unavailable, "store metrics: "+err.Error())
	}
	return nil
}

func (c *Collector) countLimits(st limitStats) {
	if st.droppedAttributes > 0 {
		c.truncated.WithLabelValues("attribute").Add(float64(st.droppedAttributes))
	}
	if st.droppedEvents > 0 {
		c.truncated.WithLabelValues("event").Add(float64(st.droppedEvents))
	}
	if st.truncatedValues > 0 {
		c.truncated.WithLabelValues("attribute_value").Add(float64(st.truncatedValues))
	}
}

func (c *Collector) starting(ctx context.Context) error {
	c.queue.start()
	if c.logQueue != nil {
		c.logQueue.start()
	}
	factory := otlpreceiver.NewFactory()
	rcfg := factory.CreateDefaultConfig().(*otlpreceiver.Config)
	guard := []configmiddleware.Config{{ID: guardID}}
	var tlsCfg configoptional.Optional[configtls.ServerConfig]
	if c.cfg.TLSCertFile != "" {
		t := configtls.NewDefaultServerConfig()
		t.CertFile, t.KeyFile = c.cfg.TLSCertFile, c.cfg.TLSKeyFile
		tlsCfg = configoptional.Some(t)
	}
	if c.cfg.GRPCAddr != "" {
		g := rcfg.Protocols.GRPC.GetOrInsertDefault()
		g.NetAddr.Endpoint = c.cfg.GRPCAddr
		g.MaxRecvMsgSizeMiB = c.cfg.Limits.MaxRequestMiB
		g.Middlewares = guard
		g.TLS = tlsCfg
	} else {
		rcfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	}
	if c.cfg.HTTPAddr != "" {
		h := rcfg.Protocols.HTTP.GetOrInsertDefault()
		h.ServerConfig.NetAddr.Endpoint = c.cfg.HTTPAddr
		h.ServerConfig.MaxRequestBodySize = int64(c.cfg.Limits.MaxRequestMiB) << 20
		h.ServerConfig.Middlewares = guard
		h.ServerConfig.TLS = tlsCfg
	} else {
		rcfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()
	}
	set := receiver.Settings{
		ID: component.NewID(factory.Type()),
		TelemetrySettings: component.TelemetrySettings{
			Logger:         logging.Zap(c.logger.With("component", "otlpreceiver")),
			TracerProvider: tracenoop.NewTracerProvider(),
			MeterProvider:  metricnoop.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.NewDefaultBuildInfo(),
	}
	next, err := consumer.NewTraces(c.ConsumeTraces, consumer.WithCapabilities(consumer.Capabilities{MutatesData: true}))
	if err != nil {
		return err
	}
	// The factory shares one receiver (one gRPC and one HTTP server) between the signals
	// created from the same config, so Start and Shutdown happen once, on c.receiver.
	c.receiver, err = factory.CreateTraces(ctx, set, rcfg, next)
	if err != nil {
		return fmt.Errorf("create OTLP receiver: %w", err)
	}
	if c.sinks.Metrics != nil {
		nextMetrics, err := consumer.NewMetrics(c.ConsumeMetrics)
		if err != nil {
			return err
		}
		if _, err := factory.CreateMetrics(ctx, set, rcfg, nextMetrics); err != nil {
			return fmt.Errorf("create OTLP metrics receiver: %w", err)
		}
	}
	if c.logQueue != nil {
		nextLogs, err := consumer.NewLogs(c.ConsumeLogs, consumer.WithCapabilities(consumer.Capabilities{MutatesData: true}))
		if err != nil {
			return err
		}
		if _, err := factory.CreateLogs(ctx, set, rcfg, nextLogs); err != nil {
			return fmt.Errorf("create OTLP logs receiver: %w", err)
		}
	}
	if err := c.receiver.Start(ctx, host{guard: guardExtension{token: c.cfg.AuthToken}}); err != nil {
		c.closeQueues()
		return fmt.Errorf("start OTLP receiver: %w", err)
	}
	c.logger.Info("OTLP receivers listening", "grpc", c.cfg.GRPCAddr, "http", c.cfg.HTTPAddr, "tls", c.cfg.TLSCertFile != "")
	return nil
}

func (c *Collector) running(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// stopping stops the receivers first (in-flight requests finish and wait for their writes),
// then drains the queue into the store; the store is closed after this by its own module.
func (c *Collector) stopping(_ error) error {
	var err error
	if c.receiver != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = c.receiver.Shutdown(ctx)
		cancel()
	}
	c.closeQueues()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop OTLP receiver: %w", err)
	}
	c.logger.Info("OTLP receivers stopped and ingest queue drained")
	return nil
}

func (c *Collector) closeQueues() {
	c.queue.close()
	if c.logQueue != nil {
		c.logQueue.close()
	}
}

var guardID = component.MustNewID("faultline_guard")

// host gives the receiver its only extension: the guard middleware.
type host struct{ guard guardExtension }

func (h host) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{guardID: h.guard}
}

// guardExtension is a middleware extension for both receivers: it checks the bearer token and
// refuses empty HTTP bodies, which the OTLP receiver would otherwise acknowledge silently.
type guardExtension struct{ token string }

var (
	_ extensionmiddleware.HTTPServer = guardExtension{}
	_ extensionmiddleware.GRPCServer = guardExtension{}
)

func (guardExtension) Start(context.Context, component.Host) error { return nil }
func (guardExtension) Shutdown(context.Context) error              { return nil }

func (g guardExtension) GetHTTPHandler(context.Context) (extensionmiddleware.WrapHTTPHandlerFunc, error) {
	return func(_ context.Context, next http.Handler) (http.Handler, error) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.ContentLength == 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"code":3,"message":"empty request body: expected an OTLP export request"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
		return auth.HTTP(g.token, h, nil), nil
	}, nil
}

func (g guardExtension) GetGRPCServerOptions(context.Context) ([]grpc.ServerOption, error) {
	return auth.GRPCServerOptions(g.token), nil
}
