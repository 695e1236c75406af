// Package metricstore is Faultline's embedded Prometheus TSDB under the data directory, with
// the PromQL engine over it and the conversion of OTLP metrics into Prometheus series. It is the
// one place that touches Prometheus's Go API, so that a Prometheus upgrade changes one package.
package metricstore

// Span-derived RED series, written by collector/servicegraph. Labels are documented beside
// each name; values are cumulative since the process started (counters reset on restart, as
// Prometheus expects). Durations are classic histograms in seconds (see DurationBuckets).
const (
	// Per service and operation, from SERVER and CONSUMER spans (labels: service, operation,
	// span_kind = server|consumer).
	ServiceRequests = "faultline_service_requests_total"
	ServiceErrors   = "faultline_service_errors_total"     // span status Error
	ServiceDuration = "faultline_service_duration_seconds" // histogram: _bucket{le}, _sum, _count

	// Per edge, caller → callee, from CLIENT/PRODUCER spans, paired with the callee's
	// SERVER/CONSUMER span when one arrives (labels: caller, callee, callee_kind =
	// service|database|cache|external|uninstrumented). Duration is the caller's CLIENT span.
	EdgeRequests = "faultline_edge_requests_total"
	EdgeErrors   = "faultline_edge_errors_total"     // the CLIENT span or the paired SERVER span failed
	EdgeDuration = "faultline_edge_duration_seconds" // histogram
)

// Which service runs on which host, written by collector/servicegraph from the resource of the
// spans it consumes (labels: service, host_name = the resources' service.name and host.name,
// resources without host.name left out). Value 1, appended at a flush only for the pairs seen
// since the previous flush, so that presence over a window is
// last_over_time(faultline_service_host_info[window]) and a service that moved away stops being
// reported. host_name is the label the host agent's metrics carry (OTLP's host.name promoted).
const ServiceHostInfo = "faultline_service_host_info"

// DurationBuckets are the histogram bucket bounds in seconds, for both service and edge series.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Label names of the RED series, and of ServiceHostInfo (service, host_name).
const (
	LabelService    = "service"
	LabelOperation  = "operation"
	LabelSpanKind   = "span_kind"
	LabelCaller     = "caller"
	LabelCallee     = "callee"
	LabelCalleeKind = "callee_kind"
	LabelHostName   = "host_name"
)

// Node kinds, as in shared/DESIGN.md and the topology API.
const (
	KindService        = "service"
	KindDatabase       = "database"
	KindCache          = "cache"
	KindExternal       = "external"
	KindUninstrumented = "uninstrumented"
)
