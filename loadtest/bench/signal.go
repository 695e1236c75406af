package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Signals -signal accepts (the telemetrygen subcommand of the same name).
const (
	SignalTraces  = "traces"
	SignalLogs    = "logs"
	SignalMetrics = "metrics"
)

// Metric names a faultline that ingests logs or metrics must export for this harness to
// measure them (it reads them when present and reports "not supported yet" when absent).
// They follow the span counters: items received over OTLP before limits, items durably
// stored, and items refused (label reason, optional: absent counts as 0).
const (
	MetricLogsReceived         = "faultline_logs_received_total"
	MetricLogsStored           = "faultline_logs_stored_total"
	MetricLogsRefused          = "faultline_logs_refused_total"
	MetricMetricPointsReceived = "faultline_metric_points_received_total"
	MetricMetricPointsStored   = "faultline_metric_points_stored_total"
	MetricMetricPointsRefused  = "faultline_metric_points_refused_total"
)

// SignalInfo names what one signal's run counts and where faultline reports it.
type SignalInfo struct {
	Signal   string
	Item     string // singular noun for the table: "span"
	Items    string // plural: "spans"
	Received string // counter names on /metrics
	Stored   string
	Refused  string
	Queue    string // ingest queue gauge; "" when the signal has none
	Disk     string // store size gauge; "" when the signal has none (the data dir is summed instead)
}

// SignalFor describes signal; an empty signal is traces.
func SignalFor(signal string) (SignalInfo, bool) {
	switch signal {
	case SignalTraces, "":
		return SignalInfo{SignalTraces, "span", "spans", MetricReceived, MetricStored, MetricRefused, MetricQueue, MetricDiskBytes}, true
	case SignalLogs:
		return SignalInfo{SignalLogs, "log record", "log records", MetricLogsReceived, MetricLogsStored, MetricLogsRefused, "", ""}, true
	case SignalMetrics:
		return SignalInfo{SignalMetrics, "metric point", "metric points", MetricMetricPointsReceived, MetricMetricPointsStored, MetricMetricPointsRefused, "", ""}, true
	}
	return SignalInfo{}, false
}

// ProbeSignal sends one OTLP/gRPC export request holding a single log record or metric
// point (for SignalLogs / SignalMetrics) to endpoint and returns the export's error: nil
// when faultline accepted it, a status error (codes.Unimplemented when faultline has no
// receiver for the signal) otherwise. For traces it does nothing.
func ProbeSignal(ctx context.Context, endpoint, signal string) error {
	if signal != SignalLogs && signal != SignalMetrics {
		return nil
	}
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", endpoint, err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	now := time.Now()
	if signal == SignalLogs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "ingestbench-probe")
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr("ingestbench probe")
		_, err = plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
		return err
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "ingestbench-probe")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("ingestbench.probe")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(now))
	dp.SetIntValue(1)
	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
	return err
}

// ExportFailure is the first export failure telemetrygen logged (the gRPC error text, e.g.
// "rpc error: code = Unimplemented desc = unknown service ...") and how many lines
// reported one; "" and 0 when it logged none.
func ExportFailure(logPath string) (string, int) {
	f, err := os.Open(logPath) //nolint:gosec // a log the harness wrote
	if err != nil {
		return "", 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	first, n := "", 0
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "failed to export") && !strings.Contains(line, "export failed") {
			continue
		}
		n++
		if first == "" {
			first = exportErrorText(line)
		}
	}
	return first, n
}

// exportErrorText cuts the gRPC error out of a telemetrygen log line such as
// `... FATAL logs/worker.go:143 failed to export batched logs {"worker": 0, "error": "rpc error: code = Unimplemented desc = ..."}`,
// or returns the trimmed line when it holds none.
func exportErrorText(line string) string {
	i := strings.Index(line, "rpc error:")
	if i < 0 {
		return strings.TrimSpace(line)
	}
	s := line[i:]
	if j := strings.IndexByte(s, '"'); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSpace(s)
}

// UnsupportedReason explains why a logs or metrics run stored nothing, from what the
// harness saw: the received counter absent from /metrics, the probe's error, and
// telemetrygen's first export failure. It is "" when none of them points at missing
// support (then a run that stored nothing is a harness failure, not a finding).
func UnsupportedReason(info SignalInfo, receivedMetricPresent bool, probeErr error, tgFailure string, tgFailures int) string {
	var parts []string
	if !receivedMetricPresent {
		parts = append(parts, "faultline exports no "+info.Received)
	}
	if probeErr != nil {
		code := status.Code(probeErr)
		if code == codes.Unimplemented || code == codes.Unknown && strings.Contains(probeErr.Error(), "unknown service") {
			parts = append(parts, "its OTLP/gRPC receiver answered a one-"+info.Item+" export with "+grpcErrorText(probeErr))
		} else if len(parts) > 0 {
			parts = append(parts, "a one-"+info.Item+" probe export failed: "+grpcErrorText(probeErr))
		}
	}
	if tgFailures > 0 && (len(parts) > 0 || strings.Contains(tgFailure, "Unimplemented")) {
		parts = append(parts, fmt.Sprintf("telemetrygen logged %d failed export(s), the first: %s", tgFailures, tgFailure))
	}
	return strings.Join(parts, "; ")
}

func grpcErrorText(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Code().String() + " (" + s.Message() + ")"
	}
	return err.Error()
}
