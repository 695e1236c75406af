package query

import (
	"cmp"
	"encoding/hex"
	"math"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// rfc3339Nanos is RFC 3339 with all nine fractional digits, so summaries sort as strings.
const rfc3339Nanos = "2006-01-02T15:04:05.000000000Z07:00"

type servicesJSON struct {
	Services []string `json:"services"`
}

func (a *API) serveServices(w http.ResponseWriter, r *http.Request) {
	services, err := a.reader.Services(r.Context())
	if err != nil {
		a.fail(w, r, err, false)
		return
	}
	if services == nil {
		services = []string{}
	}
	writeJSON(w, http.StatusOK, servicesJSON{Services: services})
}

type traceSummaryJSON struct {
	TraceID       string  `json:"trace_id"`
	RootService   string  `json:"root_service"`
	RootOperation string  `json:"root_operation"`
	Start         string  `json:"start"`
	DurationMs    float64 `json:"duration_ms"`
	SpanCount     int     `json:"span_count"`
	Error         bool    `json:"error"`
}

type tracesJSON struct {
	Traces []traceSummaryJSON `json:"traces"`
}

func (a *API) serveTraceSearch(w http.ResponseWriter, r *http.Request) {
	values, err := parseQueryString(r)
	if err != nil {
		a.fail(w, r, err, false)
		return
	}
	q, err := parseTraceQuery(values, time.Now(), a.cfg)
	if err != nil {
		a.fail(w, r, err, false)
		return
	}
	found, err := a.reader.FindTraces(r.Context(), q)
	if err != nil {
		a.fail(w, r, err, false)
		return
	}
	out := tracesJSON{Traces: make([]traceSummaryJSON, 0, len(found))}
	for _, t := range found {
		out.Traces = append(out.Traces, traceSummaryJSON{
			TraceID:       hex.EncodeToString(t.TraceID[:]),
			RootService:   t.RootService,
			RootOperation: t.RootOperation,
			Start:         t.Start.UTC().Format(rfc3339Nanos),
			DurationMs:    durationMs(t.Duration),
			SpanCount:     t.SpanCount,
			Error:         t.Error,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func durationMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type traceJSON struct {
	TraceID string     `json:"trace_id"`
	Spans   []spanJSON `json:"spans"`
}

type spanJSON struct {
	SpanID        string         `json:"span_id"`
	ParentSpanID  string         `json:"parent_span_id"`
	Service       string         `json:"service"`
	Name          string         `json:"name"`
	Kind          string         `json:"kind"`
	StartUnixNano uint64         `json:"start_unix_nano"`
	EndUnixNano   uint64         `json:"end_unix_nano"`
	DurationMs    float64        `json:"duration_ms"`
	Status        statusJSON     `json:"status"`
	Attributes    map[string]any `json:"attributes"`
	Events        []eventJSON    `json:"events"`
	Links         []linkJSON     `json:"links"`
	Resource      map[string]any `json:"resource"`
	Scope         scopeJSON      `json:"scope"`
}

type statusJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type eventJSON struct {
	Name         string         `json:"name"`
	TimeUnixNano uint64         `json:"time_unix_nano"`
	Attributes   map[string]any `json:"attributes"`
}

type linkJSON struct {
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	TraceState string         `json:"trace_state"`
	Attributes map[string]any `json:"attributes"`
}

type scopeJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (a *API) serveTrace(w http.ResponseWriter, r *http.Request) {
	id, err := parseTraceID(r.PathValue("trace_id"))
	if err != nil {
		a.fail(w, r, err, false)
		return
	}
	td, err := a.reader.Trace(r.Context(), id)
	if err != nil {
		a.fail(w, r, err, false)
		return
	}
	writeJSON(w, http.StatusOK, traceToJSON(id, td))
}

// located is a span with the resource and scope it was sent under.
type located struct {
	span     ptrace.Span
	resource int // index into the trace's ResourceSpans
	scope    pcommon.InstrumentationScope
}

// sortedSpans flattens a trace's spans, ordered by start time, then end time, then span ID.
func sortedSpans(td ptrace.Traces) []located {
	spans := make([]located, 0, td.SpanCount())
	for i, rss := 0, td.ResourceSpans(); i < rss.Len(); i++ {
		for j, sss := 0, rss.At(i).ScopeSpans(); j < sss.Len(); j++ {
			ss := sss.At(j)
			for k, s := 0, ss.Spans(); k < s.Len(); k++ {
				spans = append(spans, located{span: s.At(k), resource: i, scope: ss.Scope()})
			}
		}
	}
	slices.SortStableFunc(spans, func(x, y located) int {
		if c := cmp.Compare(x.span.StartTimestamp(), y.span.StartTimestamp()); c != 0 {
			return c
		}
		if c := cmp.Compare(x.span.EndTimestamp(), y.span.EndTimestamp()); c != 0 {
			return c
		}
		xs, ys := x.span.SpanID(), y.span.SpanID()
		return slices.Compare(xs[:], ys[:])
	})
	return spans
}

func traceToJSON(id pcommon.TraceID, td ptrace.Traces) traceJSON {
	rss := td.ResourceSpans()
	resources := make([]map[string]any, rss.Len())
	services := make([]string, rss.Len())
	for i := range rss.Len() {
		attrs := rss.At(i).Resource().Attributes()
		resources[i] = attributesJSON(attrs)
		if v, ok := attrs.Get("service.name"); ok {
			services[i] = v.AsString()
		}
	}
	spans := sortedSpans(td)
	out := traceJSON{TraceID: hex.EncodeToString(id[:]), Spans: make([]spanJSON, 0, len(spans))}
	for _, l := range spans {
		s := l.span
		sid := s.SpanID()
		js := spanJSON{
			SpanID:        hex.EncodeToString(sid[:]),
			Service:       services[l.resource],
			Name:          s.Name(),
			Kind:          spanKindName(s.Kind()),
			StartUnixNano: uint64(s.StartTimestamp()),
			EndUnixNano:   uint64(s.EndTimestamp()),
			Status:        statusJSON{Code: statusCodeName(s.Status().Code()), Message: s.Status().Message()},
			Attributes:    attributesJSON(s.Attributes()),
			Events:        make([]eventJSON, 0, s.Events().Len()),
			Links:         make([]linkJSON, 0, s.Links().Len()),
			Resource:      resources[l.resource],
			Scope:         scopeJSON{Name: l.scope.Name(), Version: l.scope.Version()},
		}
		if p := s.ParentSpanID(); !p.IsEmpty() {
			js.ParentSpanID = hex.EncodeToString(p[:])
		}
		if s.EndTimestamp() > s.StartTimestamp() {
			js.DurationMs = durationMs(time.Duration(s.EndTimestamp() - s.StartTimestamp()))
		}
		for i, evs := 0, s.Events(); i < evs.Len(); i++ {
			e := evs.At(i)
			js.Events = append(js.Events, eventJSON{Name: e.Name(), TimeUnixNano: uint64(e.Timestamp()), Attributes: attributesJSON(e.Attributes())})
		}
		for i, links := 0, s.Links(); i < links.Len(); i++ {
			lk := links.At(i)
			tid, sid := lk.TraceID(), lk.SpanID()
			js.Links = append(js.Links, linkJSON{
				TraceID:    hex.EncodeToString(tid[:]),
				SpanID:     hex.EncodeToString(sid[:]),
				TraceState: lk.TraceState().AsRaw(),
				Attributes: attributesJSON(lk.Attributes()),
			})
		}
		out.Spans = append(out.Spans, js)
	}
	return out
}

func spanKindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return "server"
	case ptrace.SpanKindClient:
		return "client"
	case ptrace.SpanKindProducer:
		return "producer"
	case ptrace.SpanKindConsumer:
		return "consumer"
	case ptrace.SpanKindInternal:
		return "internal"
	default:
		return "unspecified"
	}
}

func statusCodeName(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "ok"
	case ptrace.StatusCodeError:
		return "error"
	default:
		return "unset"
	}
}

// attributesJSON is m as a JSON object; never nil, so no attributes is {}.
func attributesJSON(m pcommon.Map) map[string]any {
	out := make(map[string]any, m.Len())
	for k, v := range m.All() {
		out[k] = rawValue(v)
	}
	return out
}

// rawValue is v.AsRaw(), except that NaN and infinite doubles, which encoding/json refuses,
// become the strings "NaN", "+Inf" and "-Inf".
func rawValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return jsonFloat(v.Double())
	case pcommon.ValueTypeMap:
		return attributesJSON(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := range s.Len() {
			out[i] = rawValue(s.At(i))
		}
		return out
	default:
		return v.AsRaw()
	}
}

// jsonFloat is f, or its name as a string if JSON cannot carry it.
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}
