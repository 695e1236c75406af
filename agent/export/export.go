// Package export delivers the agent's buffered data to the Faultline collector over
// OTLP/gRPC, oldest first.
//
// # Delivery guarantee
//
// At least once. An entry leaves the buffer only after the collector accepted it (an OK
// answer, which from Faultline's collector means "stored"), or when it can never be
// delivered (see below). It is delivered exactly once unless (a) an attempt fails on the
// agent's side (timeout, connection lost, the agent shutting down) after the collector had
// already stored it, which resends it, or (b) the agent dies between the collector's answer
// and the buffer's acknowledgement reaching the disk. Entries are sent one at a time, so the
// collector receives them in buffer order.
//
// # Errors
//
// Each failed attempt is counted in faultline_agent_export_failures_total{kind,code}, and
// its gRPC code decides what happens:
//
//   - Unavailable (including connection refused), ResourceExhausted with RetryInfo,
//     DeadlineExceeded, Aborted, Canceled (by the transport, not by shutdown): the collector
//     is away or busy; retried without limit, with exponential backoff and jitter, or after
//     the RetryInfo delay when the collector sends one (capped at five minutes).
//   - Unauthenticated, PermissionDenied: a configuration problem on one side; retried
//     without limit at the longest backoff, so nothing is lost once the operator fixes the
//     token, and logged as an error once.
//   - Unknown, Internal, DataLoss, FailedPrecondition, ResourceExhausted without RetryInfo
//     (which is also how gRPC refuses a message over the server's size limit): may or may
//     not go away; retried up to -collector.retry.max-attempts times, then dropped
//     (reason retries_exhausted), so one bad entry cannot block the queue forever.
//   - InvalidArgument, Unimplemented, NotFound, AlreadyExists, OutOfRange: the entry can
//     never be delivered; dropped at once (reason: the code in snake case).
//
// An entry whose payload does not decode is dropped (reason undecodable). Drops are counted
// in faultline_agent_export_dropped_total and _dropped_items_total and logged at most once a
// minute per kind and reason. Items the collector rejects in a partial success are counted
// in faultline_agent_export_rejected_items_total; the entry counts as delivered.
//
// The collector becoming unreachable is logged once, and its return once, with how long it
// was away and how many entries were waiting; retries in between are not logged.
package export

import (
	stdgzip "compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/faultline/faultline/agent/buffer"
)

// maxRetryHint caps a RetryInfo delay, so a misbehaving server cannot park the agent.
const maxRetryHint = 5 * time.Minute

// noticeInterval is how often a recurring drop is logged.
const noticeInterval = time.Minute

// EncodeLogs is the buffer payload for ld: its record count (uvarint), then an OTLP
// ExportLogsServiceRequest in protobuf, sent as it is.
func EncodeLogs(ld plog.Logs) ([]byte, error) {
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	return withCount(ld.LogRecordCount(), b), err
}

// EncodeMetrics is the buffer payload for md: its data point count (uvarint), then an OTLP
// ExportMetricsServiceRequest in protobuf, sent as it is.
func EncodeMetrics(md pmetric.Metrics) ([]byte, error) {
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	return withCount(md.DataPointCount(), b), err
}

func withCount(n int, proto []byte) []byte {
	out := make([]byte, 0, binary.MaxVarintLen64+len(proto))
	return append(binary.AppendUvarint(out, uint64(n)), proto...)
}

// request is the buffer's oldest entry, read once however often it is retried. The request
// bytes go to the collector as stored: decoding and re-encoding them cost the agent a sixth
// of its CPU at 1,000 lines/s.
type request struct {
	seq      uint64
	kind     buffer.Kind
	proto    []byte
	items    int
	attempts int // failed attempts with an error that may be permanent
}

// decode reads an entry's count and checks that the rest is a well-formed message whose
// top-level fields are all the repeated resource field (1) the export request has, so that
// a damaged entry is dropped here rather than refused by the collector again and again.
func decode(e buffer.Entry) (*request, error) {
	if e.Kind != buffer.KindLogs && e.Kind != buffer.KindMetrics {
		return nil, fmt.Errorf("entry %d has unknown kind %d", e.Seq, e.Kind)
	}
	n, size := binary.Uvarint(e.Payload)
	if size <= 0 || n > uint64(len(e.Payload)) {
		return nil, fmt.Errorf("entry %d: bad item count", e.Seq)
	}
	proto := e.Payload[size:]
	for b := proto; len(b) > 0; {
		num, typ, tagLen := protowire.ConsumeTag(b)
		if tagLen < 0 || num != 1 || typ != protowire.BytesType {
			return nil, fmt.Errorf("entry %d: not an OTLP %s export request", e.Seq, e.Kind)
		}
		valLen := protowire.ConsumeFieldValue(num, typ, b[tagLen:])
		if valLen < 0 {
			return nil, fmt.Errorf("entry %d: truncated OTLP %s export request", e.Seq, e.Kind)
		}
		b = b[tagLen+valLen:]
	}
	return &request{seq: e.Seq, kind: e.Kind, proto: proto, items: int(n)}, nil
}

// rawRequest is an export request already in protobuf; rawCodec sends it as it is and reads
// the collector's answer into the pdata response types.
type rawRequest []byte

type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(rawRequest)
	if !ok {
		return nil, fmt.Errorf("raw codec cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(r)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b := data.Materialize()
	switch r := v.(type) {
	case *plogotlp.ExportResponse:
		return r.UnmarshalProto(b)
	case *pmetricotlp.ExportResponse:
		return r.UnmarshalProto(b)
	default:
		return fmt.Errorf("raw codec cannot unmarshal into %T", v)
	}
}

const (
	logsExportMethod    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
	metricsExportMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
)

// Sender drains the buffer to the collector.
type Sender struct {
	cfg      Config
	buf      *buffer.Buffer
	logger   *slog.Logger
	creds    credentials.TransportCredentials
	callOpts []grpc.CallOption
	auth     metadata.MD

	sent         *prometheus.CounterVec
	items        *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	failures     *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	droppedItems *prometheus.CounterVec
	duration     prometheus.Histogram
	backoffDelay prometheus.Gauge
	lastSuccess  prometheus.Gauge

	// Owned by Run's goroutine.
	outage  outage
	notices map[string]*notice
}

// outage is a run of failed attempts, logged when it starts, when its cause changes, and
// when it ends.
type outage struct {
	since    time.Time // zero while the collector takes entries
	attempts int
	code     codes.Code
}

type notice struct {
	at         time.Time
	suppressed int
}

// New checks the configuration and loads the TLS material; Run connects.
func New(cfg Config, buf *buffer.Buffer, logger *slog.Logger, reg prometheus.Registerer) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if buf == nil {
		return nil, errors.New("export needs a buffer")
	}
	creds, err := cfg.transportCredentials()
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, buf: buf, logger: logger, creds: creds, notices: map[string]*notice{}}
	s.callOpts = append(s.callOpts, grpc.ForceCodecV2(rawCodec{}))
	if cfg.Compression == "snappy" {
		registerSnappy()
		s.callOpts = append(s.callOpts, grpc.UseCompressor(snappyName))
	}
	if cfg.Compression == "gzip" {
		// Level 1: log batches still shrink 5-10x, at a fraction of the default level's CPU,
		// which was a quarter of the agent's own at 1,000 lines/s. gRPC keeps one gzip
		// compressor per process, so this is process-wide (the agent has one sender).
		_ = gzip.SetLevel(stdgzip.BestSpeed)
		s.callOpts = append(s.callOpts, grpc.UseCompressor(gzip.Name))
	}
	if cfg.Token != "" {
		s.auth = metadata.Pairs("authorization", "Bearer "+cfg.Token)
		if !cfg.useTLS() {
			logger.Warn("the collector auth token is sent over a plaintext connection; set -collector.tls or -collector.tls-ca-file if the network is not trusted")
		}
	}
	s.registerMetrics(reg)
	return s, nil
}

func (s *Sender) registerMetrics(reg prometheus.Registerer) {
	f := promauto.With(reg)
	s.sent = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_export_sent_total", Help: "Buffer entries the collector accepted, by kind.",
	}, []string{"kind"})
	s.items = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_export_items_total", Help: "Log records or metric data points the collector accepted, by kind.",
	}, []string{"kind"})
	s.rejected = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_export_rejected_items_total", Help: "Log records or metric data points the collector rejected in a partial success, by kind.",
	}, []string{"kind"})
	for _, k := range []string{buffer.KindLogs.String(), buffer.KindMetrics.String()} {
		s.sent.WithLabelValues(k)
		s.items.WithLabelValues(k)
		s.rejected.WithLabelValues(k)
	}
	s.failures = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_export_failures_total", Help: "Failed export attempts, by kind and gRPC code.",
	}, []string{"kind", "code"})
	s.dropped = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_export_dropped_total", Help: "Buffer entries given up on, by kind and reason (undecodable, retries_exhausted, or the permanent gRPC code).",
	}, []string{"kind", "reason"})
	s.droppedItems = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_export_dropped_items_total", Help: "Log records or metric data points in the entries given up on, by kind and reason.",
	}, []string{"kind", "reason"})
	s.duration = f.NewHistogram(prometheus.HistogramOpts{
		Name: "faultline_agent_export_duration_seconds", Help: "Duration of export attempts, failed ones included.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	s.backoffDelay = f.NewGauge(prometheus.GaugeOpts{
		Name: "faultline_agent_export_backoff_seconds", Help: "Current wait before the next export retry; 0 while exports succeed.",
	})
	s.lastSuccess = f.NewGauge(prometheus.GaugeOpts{
		Name: "faultline_agent_export_last_success_timestamp_seconds", Help: "Unix time of the last export the collector accepted.",
	})
}

// Run sends the buffer's entries until ctx is done, then returns nil; an entry whose export
// was in flight stays in the buffer.
func (s *Sender) Run(ctx context.Context) error {
	conn, err := grpc.NewClient(s.cfg.Endpoint,
		grpc.WithTransportCredentials(s.creds),
		grpc.WithUserAgent("faultline-agent"),
		// gRPC's own reconnect backoff would otherwise grow to two minutes while the collector
		// is away and delay delivery that long after it is back.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: grpcbackoff.Config{
				BaseDelay: s.cfg.InitialBackoff, Multiplier: 1.6, Jitter: 0.2, MaxDelay: s.cfg.MaxBackoff,
			},
			MinConnectTimeout: s.cfg.Timeout,
		}),
	)
	if err != nil {
		return fmt.Errorf("collector client for %s: %w", s.cfg.Endpoint, err)
	}
	defer conn.Close()

	bo := &backoff.ExponentialBackOff{
		InitialInterval:     s.cfg.InitialBackoff,
		RandomizationFactor: 0.5,
		Multiplier:          1.5,
		MaxInterval:         s.cfg.MaxBackoff,
	}
	bo.Reset()
	var req *request
	for {
		// Asking the buffer again before each attempt, rather than holding on to the entry,
		// notices when a full buffer dropped it meanwhile.
		e, err := s.buf.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read buffer: %w", err)
		}
		if req == nil || req.seq != e.Seq {
			if req, err = decode(e); err != nil {
				s.drop(e.Kind, "undecodable", 0, err.Error())
				if err := s.buf.Ack(e.Seq); err != nil {
					return err
				}
				continue
			}
		}

		rejected, msg, err := s.export(ctx, conn, req)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			s.delivered(req, rejected, msg)
			if err := s.buf.Ack(req.seq); err != nil {
				return err
			}
			req = nil
			bo.Reset()
			s.backoffDelay.Set(0)
			continue
		}

		v, st, hint := classify(err)
		s.failures.WithLabelValues(req.kind.String(), st.Code().String()).Inc()
		reason := dropReason(st.Code())
		if v == retryLimited {
			if req.attempts++; req.attempts >= s.cfg.MaxAttempts {
				v, reason = dropNow, "retries_exhausted"
			}
		}
		if v == dropNow {
			s.drop(req.kind, reason, req.items, st.Code().String()+": "+st.Message())
			if err := s.buf.Ack(req.seq); err != nil {
				return err
			}
			req = nil
			continue
		}
		s.failed(st)

		delay := min(bo.NextBackOff(), s.cfg.MaxBackoff)
		if c := st.Code(); c == codes.Unauthenticated || c == codes.PermissionDenied {
			delay = s.cfg.MaxBackoff
		}
		if hint > 0 {
			delay = min(hint, maxRetryHint)
		}
		s.backoffDelay.Set(delay.Seconds())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// export makes one attempt, returning the collector's partial-success rejection if any.
func (s *Sender) export(ctx context.Context, conn *grpc.ClientConn, req *request) (rejected int64, msg string, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if s.auth != nil {
		ctx = metadata.NewOutgoingContext(ctx, s.auth)
	}
	start := time.Now()
	defer func() { s.duration.Observe(time.Since(start).Seconds()) }()
	if req.kind == buffer.KindLogs {
		resp := plogotlp.NewExportResponse()
		if err := conn.Invoke(ctx, logsExportMethod, rawRequest(req.proto), &resp, s.callOpts...); err != nil {
			return 0, "", err
		}
		ps := resp.PartialSuccess()
		return ps.RejectedLogRecords(), ps.ErrorMessage(), nil
	}
	resp := pmetricotlp.NewExportResponse()
	if err := conn.Invoke(ctx, metricsExportMethod, rawRequest(req.proto), &resp, s.callOpts...); err != nil {
		return 0, "", err
	}
	ps := resp.PartialSuccess()
	return ps.RejectedDataPoints(), ps.ErrorMessage(), nil
}

type verdict int

const (
	retryForever verdict = iota
	retryLimited
	dropNow
)

// classify decides what a failed attempt means; see the package documentation.
func classify(err error) (verdict, *status.Status, time.Duration) {
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err) // Unknown unless err is a context error
	}
	var hint time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			hint = ri.GetRetryDelay().AsDuration()
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Canceled,
		codes.Unauthenticated, codes.PermissionDenied:
		return retryForever, st, hint
	case codes.ResourceExhausted:
		if hint > 0 {
			return retryForever, st, hint
		}
		return retryLimited, st, hint
	case codes.InvalidArgument, codes.Unimplemented, codes.NotFound, codes.AlreadyExists, codes.OutOfRange:
		return dropNow, st, hint
	default:
		return retryLimited, st, hint
	}
}

// dropReason is a permanent code as a metric label: InvalidArgument -> invalid_argument.
func dropReason(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Sender) delivered(req *request, rejected int64, msg string) {
	kind := req.kind.String()
	s.sent.WithLabelValues(kind).Inc()
	s.items.WithLabelValues(kind).Add(float64(int64(req.items) - rejected))
	s.lastSuccess.SetToCurrentTime()
	if rejected > 0 {
		s.rejected.WithLabelValues(kind).Add(float64(rejected))
		s.notice("partial/"+kind, "collector rejected part of an export", "kind", kind, "rejected", rejected, "of", req.items, "reason", msg)
	}
	if !s.outage.since.IsZero() {
		s.logger.Info("collector reachable again",
			"endpoint", s.cfg.Endpoint,
			"down_for", time.Since(s.outage.since).Round(time.Millisecond),
			"failed_attempts", s.outage.attempts,
			"waiting_entries", s.buf.Len())
		s.outage = outage{}
	}
}

// failed logs the start of an outage, and a change of its cause, not each retry.
func (s *Sender) failed(st *status.Status) {
	s.outage.attempts++
	if !s.outage.since.IsZero() && st.Code() == s.outage.code {
		return
	}
	if s.outage.since.IsZero() {
		s.outage.since = time.Now()
	}
	s.outage.code = st.Code()
	attrs := []any{"endpoint", s.cfg.Endpoint, "code", st.Code().String(), "err", st.Message(), "waiting_entries", s.buf.Len()}
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied:
		s.logger.Error("collector refuses the agent's credentials (check -collector.auth-token); entries stay in the buffer and are retried", attrs...)
	default:
		s.logger.Warn("collector unreachable or refusing; entries stay in the buffer and are retried", attrs...)
	}
}

func (s *Sender) drop(kind buffer.Kind, reason string, items int, detail string) {
	s.dropped.WithLabelValues(kind.String(), reason).Inc()
	s.droppedItems.WithLabelValues(kind.String(), reason).Add(float64(items))
	s.notice("drop/"+kind.String()+"/"+reason, "dropped an entry the collector will never accept", "kind", kind.String(), "reason", reason, "items", items, "detail", detail)
}

// notice logs at most once per noticeInterval per key, saying how many it held back.
func (s *Sender) notice(key, msg string, attrs ...any) {
	n := s.notices[key]
	if n == nil {
		n = &notice{}
		s.notices[key] = n
	}
	now := time.Now()
	if !n.at.IsZero() && now.Sub(n.at) < noticeInterval {
		n.suppressed++
		return
	}
	if n.suppressed > 0 {
		attrs = append(attrs, "similar_since_last_log", n.suppressed)
	}
	s.logger.Warn(msg, attrs...)
	n.at, n.suppressed = now, 0
}
