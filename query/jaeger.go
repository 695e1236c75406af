package query

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/faultline/faultline/internal/spanstore"
)

// jaegerResponse is the envelope of every answer of Jaeger's HTTP query API.
type jaegerResponse struct {
	Data   any           `json:"data"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
	Errors []jaegerError `json:"errors"`
}

type jaegerError struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

func writeJaeger(w http.ResponseWriter, data any, total int, errs []jaegerError) {
	writeJSON(w, http.StatusOK, jaegerResponse{Data: data, Total: total, Errors: errs})
}

func writeJaegerError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, jaegerResponse{Errors: []jaegerError{{Code: status, Msg: msg}}})
}

// The Jaeger UI model of a trace, as Jaeger's query service writes it.
type (
	jaegerTrace struct {
		TraceID   string                   `json:"traceID"`
		Spans     []jaegerSpan             `json:"spans"`
		Processes map[string]jaegerProcess `json:"processes"`
		Warnings  []string                 `json:"warnings"`
	}
	jaegerSpan struct {
		TraceID       string            `json:"traceID"`
		SpanID        string            `json:"spanID"`
		OperationName string            `json:"operationName"`
		References    []jaegerReference `json:"references"`
		Flags         uint32            `json:"flags"`
		StartTime     uint64            `json:"startTime"` // µs since the epoch
		Duration      uint64            `json:"duration"`  // µs
		Tags          []jaegerKeyValue  `json:"tags"`
		Logs          []jaegerLog       `json:"logs"`
		ProcessID     string            `json:"processID"`
		Warnings      []string          `json:"warnings"`
	}
	jaegerReference struct {
		RefType string `json:"refType"` // CHILD_OF or FOLLOWS_FROM
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	}
	jaegerKeyValue struct {
		Key   string `json:"key"`
		Type  string `json:"type"` // string, bool, int64, float64 or binary
		Value any    `json:"value"`
	}
	jaegerLog struct {
		Timestamp uint64           `json:"timestamp"` // µs since the epoch
		Fields    []jaegerKeyValue `json:"fields"`
	}
	jaegerProcess struct {
		ServiceName string           `json:"serviceName"`
		Tags        []jaegerKeyValue `json:"tags"`
	}
	jaegerOperation struct {
		Name     string `json:"name"`
		SpanKind string `json:"spanKind"` // server, client, producer, consumer, internal or "" (unspecified)
	}
)

// Tag keys of the OpenTelemetry Collector's OTLP-to-Jaeger translator.
const (
	jaegerNoServiceName   = "OTLPResourceNoServiceName"
	tagSpanKind           = "span.kind"
	tagStatusCode         = "otel.status_code"
	tagStatusDescription  = "otel.status_description"
	tagError              = "error"
	tagScopeName          = "otel.scope.name"
	tagScopeVersion       = "otel.scope.version"
	tagW3CTraceState      = "w3c.tracestate"
	tagEventName          = "event"
	refChildOf            = "CHILD_OF"
	refFollowsFrom        = "FOLLOWS_FROM"
	jaegerParamServiceReq = "parameter 'service' is required"
)

func (a *API) serveJaegerServices(w http.ResponseWriter, r *http.Request) {
	services, err := a.reader.Services(r.Context())
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	if services == nil {
		services = []string{}
	}
	writeJaeger(w, services, len(services), nil)
}

// serveJaegerServiceOperations answers the operation names of a service (the older Jaeger UI
// and Grafana use it), each name once whatever kinds it was seen with.
func (a *API) serveJaegerServiceOperations(w http.ResponseWriter, r *http.Request) {
	ops, err := a.reader.Operations(r.Context(), r.PathValue("service"))
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	names := make([]string, 0, len(ops))
	seen := make(map[string]bool, len(ops))
	for _, op := range ops {
		if !seen[op.Name] {
			seen[op.Name] = true
			names = append(names, op.Name)
		}
	}
	writeJaeger(w, names, len(names), nil)
}

// serveJaegerOperations answers /api/operations?service=&spanKind=, which the newer Jaeger UI uses.
func (a *API) serveJaegerOperations(w http.ResponseWriter, r *http.Request) {
	values, err := parseQueryString(r)
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	service := values.Get("service")
	if service == "" {
		a.fail(w, r, badParam(jaegerParamServiceReq), true)
		return
	}
	kind := values.Get("spanKind")
	switch kind {
	case "", "server", "client", "producer", "consumer", "internal", "unspecified":
	default:
		a.fail(w, r, badParam("spanKind: %q must be server, client, producer, consumer, internal or unspecified", kind), true)
		return
	}
	ops, err := a.reader.Operations(r.Context(), service)
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	out := make([]jaegerOperation, 0, len(ops))
	for _, op := range ops {
		if kind != "" && spanKindName(op.SpanKind) != kind {
			continue
		}
		out = append(out, jaegerOperation{Name: op.Name, SpanKind: jaegerSpanKind(op.SpanKind)})
	}
	writeJaeger(w, out, len(out), nil)
}

// jaegerSpanKind is the span.kind tag value of k, "" for unspecified.
func jaegerSpanKind(k ptrace.SpanKind) string {
	if k == ptrace.SpanKindUnspecified {
		return ""
	}
	return spanKindName(k)
}

func (a *API) serveJaegerTrace(w http.ResponseWriter, r *http.Request) {
	id, err := parseJaegerTraceID(r.PathValue("trace_id"))
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	td, err := a.reader.Trace(r.Context(), id)
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	writeJaeger(w, []jaegerTrace{toJaegerTrace(id, td)}, 1, nil)
}

// jaegerTraceQuery is a parsed Jaeger trace search: either trace IDs to fetch, or a query.
type jaegerTraceQuery struct {
	traceIDs []pcommon.TraceID
	query    spanstore.Query
}

func (a *API) serveJaegerTraceSearch(w http.ResponseWriter, r *http.Request) {
	values, err := parseQueryString(r)
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	jq, err := parseJaegerTraceQuery(values, time.Now(), a.cfg)
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	ids := jq.traceIDs
	var errs []jaegerError
	if len(ids) == 0 {
		found, err := a.reader.FindTraces(r.Context(), jq.query)
		if err != nil {
			a.fail(w, r, err, true)
			return
		}
		for _, s := range found {
			ids = append(ids, s.TraceID)
		}
	}
	traces := make([]jaegerTrace, 0, len(ids))
	for _, id := range ids {
		td, err := a.reader.Trace(r.Context(), id)
		if errors.Is(err, spanstore.ErrNotFound) {
			// Asked for by ID but unknown, or gone since the search: Jaeger reports it and goes on.
			if len(jq.traceIDs) > 0 {
				errs = append(errs, jaegerError{Code: http.StatusNotFound, Msg: "trace not found", TraceID: hex.EncodeToString(id[:])})
			}
			continue
		}
		if err != nil {
			a.fail(w, r, err, true)
			return
		}
		traces = append(traces, toJaegerTrace(id, td))
	}
	writeJaeger(w, traces, len(traces), errs)
}

// parseJaegerTraceQuery reads Jaeger's trace search parameters: service (required unless
// traceID is given), operation, start and end in microseconds since the epoch, lookback (used
// only when start is missing), limit (clamped to MaxLimit), minDuration and maxDuration (Go
// durations), tags (a JSON object or logfmt, repeatable), tag (key:value, repeatable) and
// traceID (repeatable: fetch these traces instead of searching).
func parseJaegerTraceQuery(v map[string][]string, now time.Time, cfg Config) (jaegerTraceQuery, error) {
	var jq jaegerTraceQuery
	for _, s := range v["traceID"] {
		id, err := parseJaegerTraceID(s)
		if err != nil {
			return jq, err
		}
		jq.traceIDs = append(jq.traceIDs, id)
	}
	get := func(name string) string {
		if vs := v[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	q := spanstore.Query{Service: get("service"), Operation: get("operation"), Limit: cfg.defaultLimit()}
	if q.Service == "" && len(jq.traceIDs) == 0 {
		return jq, badParam(jaegerParamServiceReq)
	}
	var err error
	q.End = now.UTC()
	if s := get("end"); s != "" {
		if q.End, err = parseMicros("end", s); err != nil {
			return jq, err
		}
	}
	if s := get("start"); s != "" {
		if q.Start, err = parseMicros("start", s); err != nil {
			return jq, err
		}
	} else {
		lookback := cfg.DefaultLookback
		if d, ok := parseLookback(get("lookback")); ok {
			lookback = d
		}
		q.Start = q.End.Add(-lookback)
		if q.Start.Before(time.Unix(0, 0)) {
			q.Start = time.Unix(0, 0).UTC()
		}
	}
	if q.Start.After(q.End) {
		return jq, badParam("start (%d) must not be after end (%d)", q.Start.UnixMicro(), q.End.UnixMicro())
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return jq, badParam("limit: %q is not a non-negative integer", s)
		}
		if n > 0 {
			q.Limit = min(n, cfg.MaxLimit)
		}
	}
	if s := get("minDuration"); s != "" {
		if q.MinDuration, err = parseDuration("minDuration", s); err != nil {
			return jq, err
		}
	}
	if s := get("maxDuration"); s != "" {
		if q.MaxDuration, err = parseDuration("maxDuration", s); err != nil {
			return jq, err
		}
	}
	if q.MaxDuration != 0 && q.MinDuration > q.MaxDuration {
		return jq, badParam("minDuration (%s) must not be greater than maxDuration (%s)", q.MinDuration, q.MaxDuration)
	}
	if q.Attributes, err = parseJaegerTags(v["tags"], v["tag"]); err != nil {
		return jq, err
	}
	jq.query = q
	return jq, nil
}

// parseMicros reads Jaeger's times: integer microseconds since the epoch.
func parseMicros(name, s string) (time.Time, error) {
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, badParam("%s: %q is not an integer number of microseconds since the epoch", name, s)
	}
	if us < 0 || us > maxTime.UnixMicro() {
		return time.Time{}, badParam("%s: %q is out of range (1970 to 2262)", name, s)
	}
	return time.UnixMicro(us).UTC(), nil
}

// parseLookback reads the Jaeger UI's lookback ("1h", "2d"); "custom" and anything else
// unreadable are not lookbacks (Jaeger's own server ignores the parameter).
func parseLookback(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// parseJaegerTraceID reads a Jaeger trace ID: up to 32 hex digits, left-padded with zeros
// (Jaeger writes 64-bit IDs as 16 digits and drops leading zeros).
func parseJaegerTraceID(s string) (pcommon.TraceID, error) {
	if len(s) > 0 && len(s) < 32 && len(s) != 16 {
		s = strings.Repeat("0", 32-len(s)) + s
	}
	return parseTraceID(s)
}

// parseJaegerTags merges the tags parameters, each a JSON object ({"k":"v"}, as the Jaeger UI
// and Grafana send) or logfmt (k=v k2="v 2"), and the tag parameters (k:v), later ones winning.
func parseJaegerTags(tags, tag []string) (map[string]string, error) {
	var out map[string]string
	put := func(k, v string) {
		if out == nil {
			out = make(map[string]string)
		}
		out[k] = v
	}
	for _, kv := range tag {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return nil, badParam("tag: %q must be key:value", kv)
		}
		put(k, v)
	}
	for _, s := range tags {
		if err := parseJaegerTagsValue(s, put); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseJaegerTagsValue reads one tags parameter: a JSON object if it starts with "{", else logfmt.
func parseJaegerTagsValue(s string, put func(k, v string)) error {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return nil
	}
	if trimmed[0] == '{' {
		return parseJSONTags(trimmed, put)
	}
	return parseLogfmtTags(trimmed, put)
}

func parseJSONTags(s string, put func(k, v string)) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return badParam("tags: not a JSON object of strings: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badParam("tags: unexpected data after the JSON object")
	}
	for k, v := range m {
		if k == "" {
			return badParam("tags: empty key")
		}
		switch v := v.(type) {
		case string:
			put(k, v)
		case json.Number:
			put(k, v.String())
		case bool:
			put(k, strconv.FormatBool(v))
		default:
			return badParam("tags: value of %q must be a string, number or boolean", k)
		}
	}
	return nil
}

// parseLogfmtTags reads space-separated key=value pairs; a value may be double-quoted with Go
// escapes (k="a \"b\"").
func parseLogfmtTags(s string, put func(k, v string)) error {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	i, n := 0, len(s)
	for {
		for i < n && isSpace(s[i]) {
			i++
		}
		if i == n {
			return nil
		}
		start := i
		for i < n && s[i] != '=' && s[i] != '"' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		if key == "" {
			return badParam("tags: expected a key at offset %d of %q", start, s)
		}
		if i == n || s[i] != '=' {
			return badParam("tags: %q has no value (want key=value)", key)
		}
		i++
		var val string
		if i < n && s[i] == '"' {
			j := i + 1
			for j < n && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= n {
				return badParam("tags: unterminated quote in the value of %q", key)
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return badParam("tags: bad quoted value of %q: %v", key, err)
			}
			val, i = v, j+1
			if i < n && !isSpace(s[i]) {
				return badParam("tags: expected a space after the quoted value of %q", key)
			}
		} else {
			start = i
			for i < n && !isSpace(s[i]) {
				i++
			}
			val = s[start:i]
		}
		put(key, val)
	}
}

// toJaegerTrace maps an OTLP trace to Jaeger's model as the OpenTelemetry Collector's Jaeger
// translator does: the resource becomes the process (service.name its service name, the other
// attributes its tags); the scope, span kind and status become otel.scope.name,
// otel.scope.version, span.kind, otel.status_code, error=true and otel.status_description tags
// after the span's attributes; the parent becomes a CHILD_OF reference and links FOLLOWS_FROM
// ones; events become logs whose first field, "event", is the event's name. Map and slice
// values become JSON strings, bytes "binary" (base64). Spans are sorted by start time, and
// identical resources share one process ("p1", "p2", ... in order of first appearance).
func toJaegerTrace(id pcommon.TraceID, td ptrace.Traces) jaegerTrace {
	traceID := hex.EncodeToString(id[:])
	rss := td.ResourceSpans()
	out := jaegerTrace{TraceID: traceID, Processes: make(map[string]jaegerProcess, rss.Len())}
	processIDs := make([]string, rss.Len())
	byKey := make(map[string]string, rss.Len())
	for i := range rss.Len() {
		p := toJaegerProcess(rss.At(i).Resource())
		key, _ := json.Marshal(p) // cannot fail: jaegerValue keeps every value encodable
		pid, ok := byKey[string(key)]
		if !ok {
			pid = "p" + strconv.Itoa(len(byKey)+1)
			byKey[string(key)] = pid
			out.Processes[pid] = p
		}
		processIDs[i] = pid
	}
	spans := sortedSpans(td)
	out.Spans = make([]jaegerSpan, 0, len(spans))
	for _, l := range spans {
		out.Spans = append(out.Spans, toJaegerSpan(traceID, l.span, l.scope, processIDs[l.resource]))
	}
	return out
}

func toJaegerProcess(res pcommon.Resource) jaegerProcess {
	attrs := res.Attributes()
	p := jaegerProcess{ServiceName: jaegerNoServiceName, Tags: make([]jaegerKeyValue, 0, attrs.Len())}
	if v, ok := attrs.Get("service.name"); ok {
		p.ServiceName = v.AsString()
	}
	for k, v := range attrs.All() {
		if k != "service.name" {
			p.Tags = append(p.Tags, jaegerTag(k, v))
		}
	}
	return p
}

func toJaegerSpan(traceID string, s ptrace.Span, scope pcommon.InstrumentationScope, processID string) jaegerSpan {
	sid := s.SpanID()
	js := jaegerSpan{
		TraceID:       traceID,
		SpanID:        hex.EncodeToString(sid[:]),
		OperationName: s.Name(),
		References:    make([]jaegerReference, 0, s.Links().Len()+1),
		Flags:         s.Flags() & 0xff, // the W3C trace flags; bit 0, sampled, is Jaeger's too
		StartTime:     uint64(s.StartTimestamp()) / 1000,
		Logs:          make([]jaegerLog, 0, s.Events().Len()),
		ProcessID:     processID,
	}
	if s.EndTimestamp() > s.StartTimestamp() {
		js.Duration = uint64(s.EndTimestamp()-s.StartTimestamp()) / 1000
	}
	if p := s.ParentSpanID(); !p.IsEmpty() {
		js.References = append(js.References, jaegerReference{RefType: refChildOf, TraceID: traceID, SpanID: hex.EncodeToString(p[:])})
	}
	for i, links := 0, s.Links(); i < links.Len(); i++ {
		lk := links.At(i)
		tid, lsid := lk.TraceID(), lk.SpanID()
		js.References = append(js.References, jaegerReference{RefType: refFollowsFrom, TraceID: hex.EncodeToString(tid[:]), SpanID: hex.EncodeToString(lsid[:])})
	}

	attrs := s.Attributes()
	js.Tags = make([]jaegerKeyValue, 0, attrs.Len()+7)
	if name := scope.Name(); name != "" {
		js.Tags = append(js.Tags, jaegerKeyValue{Key: tagScopeName, Type: "string", Value: name})
	}
	if version := scope.Version(); version != "" {
		js.Tags = append(js.Tags, jaegerKeyValue{Key: tagScopeVersion, Type: "string", Value: version})
	}
	for k, v := range attrs.All() {
		js.Tags = append(js.Tags, jaegerTag(k, v))
	}
	if kind := jaegerSpanKind(s.Kind()); kind != "" {
		js.Tags = append(js.Tags, jaegerKeyValue{Key: tagSpanKind, Type: "string", Value: kind})
	}
	switch status := s.Status(); status.Code() {
	case ptrace.StatusCodeOk:
		js.Tags = append(js.Tags, jaegerKeyValue{Key: tagStatusCode, Type: "string", Value: "OK"})
	case ptrace.StatusCodeError:
		js.Tags = append(js.Tags,
			jaegerKeyValue{Key: tagStatusCode, Type: "string", Value: "ERROR"},
			jaegerKeyValue{Key: tagError, Type: "bool", Value: true})
	}
	if msg := s.Status().Message(); msg != "" {
		js.Tags = append(js.Tags, jaegerKeyValue{Key: tagStatusDescription, Type: "string", Value: msg})
	}
	if ts := s.TraceState().AsRaw(); ts != "" {
		js.Tags = append(js.Tags, jaegerKeyValue{Key: tagW3CTraceState, Type: "string", Value: ts})
	}

	for i, evs := 0, s.Events(); i < evs.Len(); i++ {
		e := evs.At(i)
		ea := e.Attributes()
		fields := make([]jaegerKeyValue, 0, ea.Len()+1)
		if name := e.Name(); name != "" {
			if _, has := ea.Get(tagEventName); !has {
				fields = append(fields, jaegerKeyValue{Key: tagEventName, Type: "string", Value: name})
			}
		}
		for k, v := range ea.All() {
			fields = append(fields, jaegerTag(k, v))
		}
		js.Logs = append(js.Logs, jaegerLog{Timestamp: uint64(e.Timestamp()) / 1000, Fields: fields})
	}
	return js
}

// jaegerTag is an attribute as a Jaeger tag, typed as the Collector's translator types it.
func jaegerTag(k string, v pcommon.Value) jaegerKeyValue {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return jaegerKeyValue{Key: k, Type: "bool", Value: v.Bool()}
	case pcommon.ValueTypeInt:
		return jaegerKeyValue{Key: k, Type: "int64", Value: v.Int()}
	case pcommon.ValueTypeDouble:
		return jaegerKeyValue{Key: k, Type: "float64", Value: jsonFloat(v.Double())}
	case pcommon.ValueTypeBytes:
		return jaegerKeyValue{Key: k, Type: "binary", Value: v.Bytes().AsRaw()}
	default: // strings, and maps and slices as their JSON
		return jaegerKeyValue{Key: k, Type: "string", Value: v.AsString()}
	}
}
