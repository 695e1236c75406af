package logtail

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

func parseText(t *testing.T, text string, parseJSON bool) Record {
	t.Helper()
	p := lineParser{parseJSON: parseJSON}
	var rec Record
	p.parse([]byte(text), 0, &rec)
	return rec
}

func TestParseJSON(t *testing.T) {
	trace := [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	span := [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	for _, tc := range []struct {
		name  string
		line  string
		want  Record
		attrs map[string]any
	}{
		{
			name: "zap-like with nested fields",
			line: `{"level":"error","time":"2024-05-01T10:00:00.123456789Z","msg":"payment failed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","service":"checkout","http":{"status":503,"route":"/pay","retry":{"n":2}},"tags":["a",1,{"k":true}],"ok":false,"n":null,"ratio":0.5}`,
			want: Record{
				Time: time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC), Body: "payment failed",
				SeverityText: "error", SeverityNumber: plog.SeverityNumberError,
				TraceID: trace, SpanID: span, Service: "checkout",
			},
			attrs: map[string]any{
				"http.status": int64(503), "http.route": "/pay", "http.retry.n": int64(2),
				"tags": []any{"a", int64(1), map[string]any{"k": true}}, "ok": false, "n": nil, "ratio": 0.5,
			},
		},
		{
			name: "ECS style: @timestamp, log.level, trace.id, span.id, service.name as nested objects",
			line: `{"@timestamp":"2024-05-01T12:00:00+02:00","log":{"level":"WARN","logger":"db"},"message":"slow query","trace":{"id":"4BF92F3577B34DA6A3CE929D0E0E4736"},"span":{"id":"00f067aa0ba902b7"},"service":{"name":"orders"}}`,
			want: Record{
				Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Body: "slow query",
				SeverityText: "WARN", SeverityNumber: plog.SeverityNumberWarn,
				TraceID: trace, SpanID: span, Service: "orders",
			},
			attrs: map[string]any{"log.logger": "db"},
		},
		{
			name:  "pino: numeric level, unix millis, msg beats message",
			line:  `{"level":50,"time":1714557600123,"msg":"a","message":"b","pid":7}`,
			want:  Record{Time: time.UnixMilli(1714557600123), Body: "a", SeverityText: "error", SeverityNumber: plog.SeverityNumberError},
			attrs: map[string]any{"message": "b", "pid": int64(7)},
		},
		{
			name:  "zap production: float seconds ts, lower-ranked level key stays",
			line:  `{"lvl":"info","ts":1714557600.5,"level":"debug","msg":"x"}`,
			want:  Record{Time: time.Unix(1714557600, 500_000_000), Body: "x", SeverityText: "debug", SeverityNumber: plog.SeverityNumberDebug},
			attrs: map[string]any{"lvl": "info"},
		},
		{
			name:  "docker json-file: log with newline",
			line:  `{"log":"GET /health 200\n","stream":"stdout","time":"2024-05-01T10:00:00.5Z"}`,
			want:  Record{Time: time.Date(2024, 5, 1, 10, 0, 0, 500_000_000, time.UTC), Body: "GET /health 200"},
			attrs: map[string]any{"stream": "stdout"},
		},
		{
			name:  "unliftable values stay attributes, body is the line",
			line:  `{"msg":42,"time":"yesterday","level":true,"trace_id":"00000000000000000000000000000000","span_id":"xyz","service":7}`,
			want:  Record{Body: `{"msg":42,"time":"yesterday","level":true,"trace_id":"00000000000000000000000000000000","span_id":"xyz","service":7}`},
			attrs: map[string]any{"msg": int64(42), "time": "yesterday", "level": true, "trace_id": "00000000000000000000000000000000", "span_id": "xyz", "service": int64(7)},
		},
		{
			name:  "uptime-like small ts is not a time",
			line:  `{"ts":12.5,"msg":"m"}`,
			want:  Record{Body: "m"},
			attrs: map[string]any{"ts": 12.5},
		},
		{
			name:  "escapes, surrogate pair and lone surrogate",
			line:  `{"msg":"tab\there \"q\" \u00e9 \ud83d\ude00 \ud800x","big":123456789012345678901234,"huge":1e999}`,
			want:  Record{Body: "tab\there \"q\" é 😀 \uFFFDx"},
			attrs: map[string]any{"big": 1.2345678901234568e23, "huge": "1e999"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseText(t, tc.line, true)
			attrs := got.Attributes
			got.Attributes = nil
			assert.True(t, tc.want.Time.Equal(got.Time), "time %v, want %v", got.Time, tc.want.Time)
			got.Time, tc.want.Time = time.Time{}, time.Time{}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.attrs, attrs)
		})
	}
}

func TestParseJSONDisabledOrInvalid(t *testing.T) {
	for _, line := range []string{`{"level":"error"`, `{"a":1} trailing`, `{"a":01}`, `{'a':1}`, `{"a":"\x"}`} {
		rec := parseText(t, line, true)
		assert.Equal(t, line, rec.Body, line)
		assert.Empty(t, rec.Attributes, line)
	}
	rec := parseText(t, `{"level":"error","msg":"m"}`, false)
	assert.Equal(t, `{"level":"error","msg":"m"}`, rec.Body)
	assert.Empty(t, rec.Attributes)
	assert.Equal(t, plog.SeverityNumberUnspecified, rec.SeverityNumber)

	deep := strings.Repeat(`{"a":`, maxJSONDepth+1) + "1" + strings.Repeat("}", maxJSONDepth+1)
	rec = parseText(t, deep, true)
	assert.Equal(t, deep, rec.Body, "nesting beyond the limit leaves the line as text")
}

func TestParsePlain(t *testing.T) {
	local := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.Local)
	}
	trace := [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	span := [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	for _, tc := range []struct {
		line     string
		sevText  string
		sev      plog.SeverityNumber
		time     time.Time
		trace    [16]byte
		span     [8]byte
		noTimeOK bool
	}{
		{line: "ERROR could not connect", sevText: "ERROR", sev: plog.SeverityNumberError},
		{line: "2024-05-01 10:00:00,123 WARN [main] c.e.App - disk almost full", sevText: "WARN", sev: plog.SeverityNumberWarn, time: local(2024, 5, 1, 10, 0, 0, 123_000_000)},
		{line: "2024-05-01T10:00:00Z [error] upstream timed out", sevText: "error", sev: plog.SeverityNumberError, time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{line: "[2024-05-01 10:00:00.5 +0200] <Info> started", sevText: "Info", sev: plog.SeverityNumberInfo, time: time.Date(2024, 5, 1, 8, 0, 0, 500_000_000, time.UTC)},
		{line: "2024-05-01 10:00:00,000 - app.db - CRITICAL - pool exhausted", sevText: "CRITICAL", sev: plog.SeverityNumberFatal, time: local(2024, 5, 1, 10, 0, 0, 0)},
		{line: "ERROR:root:python default format", sevText: "ERROR", sev: plog.SeverityNumberError},
		{line: "warning: deprecated flag", sevText: "warning", sev: plog.SeverityNumberWarn},
		{line: "E0501 10:00:00.123456   12345 controller.go:42] sync failed", sevText: "ERROR", sev: plog.SeverityNumberError},
		{
			line:    `time="2024-05-01T10:00:00Z" level=error msg="boom" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7`,
			sevText: "error", sev: plog.SeverityNumberError, time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), trace: trace, span: span,
		},
		{line: "GET /checkout?traceId=4bf92f3577b34da6a3ce929d0e0e4736&spanId=00f067aa0ba902b7 200", trace: trace, span: span},
		{line: "level=WARN lvl=bogus", sevText: "WARN", sev: plog.SeverityNumberWarn},
		// Message words are not levels: lower case without brackets or colon, or too far in.
		{line: "Error connecting to db"},
		{line: "user alice logged in and saw an ERROR page"},
		{line: "trace_id=4bf92f3577b34da6 too short, xtrace_id=4bf92f3577b34da6a3ce929d0e0e4736 not a key"},
		{line: "trace_id=00000000000000000000000000000000 invalid all-zero"},
		{line: "2024-02-30 10:00:00 INFO not a date", sevText: "INFO", sev: plog.SeverityNumberInfo},
		{line: ""},
	} {
		t.Run(tc.line, func(t *testing.T) {
			rec := parseText(t, tc.line, true)
			assert.Equal(t, tc.line, rec.Body)
			assert.Equal(t, tc.sevText, rec.SeverityText)
			assert.Equal(t, tc.sev, rec.SeverityNumber)
			assert.True(t, tc.time.Equal(rec.Time), "time %v, want %v", rec.Time, tc.time)
			assert.Equal(t, tc.trace, rec.TraceID)
			assert.Equal(t, tc.span, rec.SpanID)
			assert.Empty(t, rec.Attributes)
		})
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		n    int
	}{
		{"2024-05-01T10:00:00Z", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), 20},
		{"2024-05-01T10:00:00.1234567891Z rest", time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC), 31},
		{"2024-05-01 10:00:00-05:30", time.Date(2024, 5, 1, 15, 30, 0, 0, time.UTC), 25},
		{"2024-05-01t10:00:00+01", time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC), 22},
		{"2024-12-31T23:59:60Z", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 20},
	} {
		got, n, ok := parseTimestamp([]byte(tc.in))
		require.True(t, ok, tc.in)
		assert.True(t, tc.want.Equal(got), "%s: %v, want %v", tc.in, got, tc.want)
		assert.Equal(t, tc.n, n, tc.in)
	}
	for _, in := range []string{"2024-13-01T10:00:00Z", "2024-05-01T25:00:00Z", "2024-05-01X10:00:00", "24-05-01T10:00:00", "2024-05-01T10:00", "2024-04-31 10:00:00"} {
		_, _, ok := parseTimestamp([]byte(in))
		assert.False(t, ok, in)
	}
}

func TestCopyTo(t *testing.T) {
	rec := parseText(t, `{"level":"warn","time":"2024-05-01T10:00:00Z","msg":"m","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","a":{"b":1},"l":[1,"x"],"f":1.5,"t":true,"z":null}`, true)
	rec.Attributes[AttrFilePath] = "/var/log/app.log"
	rec.ObservedTime = time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	lr := plog.NewLogRecord()
	rec.CopyTo(lr)
	assert.Equal(t, "m", lr.Body().Str())
	assert.Equal(t, "warn", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lr.TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", lr.SpanID().String())
	assert.Equal(t, rec.Time, lr.Timestamp().AsTime())
	assert.Equal(t, rec.ObservedTime, lr.ObservedTimestamp().AsTime())
	assert.Equal(t, map[string]any{
		"a.b": int64(1), "l": []any{int64(1), "x"}, "f": 1.5, "t": true, "z": nil, AttrFilePath: "/var/log/app.log",
	}, lr.Attributes().AsRaw())
	assert.Equal(t, "/var/log/app.log", rec.File())
}

// FuzzParseLine: any bytes, once made valid UTF-8 as the tailer does, parse without panic
// into a record whose strings are valid UTF-8 and whose IDs are set only from valid hex.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`{"level":"error","time":"2024-05-01T10:00:00Z","msg":"m","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","a":{"b":[1,{"c":null}]}}`,
		`{"ts":1714557600.5,"lvl":30,"message":"\ud83d\ude00\u0000"}`,
		"2024-05-01 10:00:00,123 [ERROR] x trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
		"E0102 15:04:05.000000 1 a.go:1] b", "level=\"warn\" ts=2024-05-01T10:00:00+0100", "\xff\x00{\"", "{", "[",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, _, _ := validUTF8(nil, data, 1<<20)
		for _, parseJSON := range []bool{true, false} {
			p := lineParser{parseJSON: parseJSON}
			var rec Record
			p.parse(text, 2, &rec)
			require.True(t, utf8.ValidString(rec.Body))
			require.True(t, utf8.ValidString(rec.SeverityText))
			require.True(t, utf8.ValidString(rec.Service))
			require.NotNil(t, rec.Attributes)
			for k, v := range rec.Attributes {
				require.True(t, utf8.ValidString(k))
				if s, ok := v.(string); ok {
					require.True(t, utf8.ValidString(s))
				}
			}
			if rec.TraceID != ([16]byte{}) {
				require.True(t, bytes.Contains(bytes.ToLower(text), []byte(hexLower(rec.TraceID[:]))) || bytes.Contains(text, []byte(`\u`)))
			}
			if rec.SeverityNumber != plog.SeverityNumberUnspecified {
				require.NotEmpty(t, rec.SeverityText)
			}
		}
	})
}

func hexLower(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// FuzzJSONObject checks the hand-written JSON reader against encoding/json: the same inputs
// accepted (bar nesting beyond maxJSONDepth), and the same values, flattened.
func FuzzJSONObject(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":{"c":1}},"d":[1,2.5,-0,1e3,{"e":"f"}],"g":"\u00e9\ud83d\ude00\ud800","h":true,"i":null,"j":{}}`,
		`{"n":-9223372036854775808,"m":9223372036854775808,"x":1e400,"y":-1.5E-3}`,
		` {"a" : "b" } `, `{"a":1,}`, `{"a":01}`, `{"a":"\u12"}`, `{"a":[}`, `{}`, `{"a":"b"}x`, "{\"a\":\"\t\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return // the tailer hands the reader valid UTF-8 only
		}
		sink := &mapSink{m: map[string]any{}}
		err := parseJSONObject(data, sink, nil)
		var keys keyCache
		sink2 := &mapSink{m: map[string]any{}}
		err2 := parseJSONObject(data, sink2, &keys)
		require.Equal(t, err, err2, "interning keys changes nothing")
		require.Equal(t, sink.m, sink2.m)
		var want map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		wantErr := dec.Decode(&want)
		if wantErr == nil {
			if _, tokErr := dec.Token(); !errors.Is(tokErr, io.EOF) {
				wantErr = errors.New("trailing data")
			}
		}
		if errors.Is(err, errJSONDepth) {
			return
		}
		if (err == nil) != (wantErr == nil && want != nil) {
			t.Fatalf("reader err %v, encoding/json err %v (value %v) for %q", err, wantErr, want, data)
		}
		if err != nil || sink.collided {
			return
		}
		flat := map[string]any{}
		flatten("", want, flat)
		require.Equal(t, len(flat), len(sink.m), "%q", data)
		for k, w := range flat {
			got, ok := sink.m[k]
			require.True(t, ok, "key %q missing for %q", k, data)
			requireSameJSON(t, w, got)
		}
	})
}

type mapSink struct {
	m        map[string]any
	collided bool
}

func (s *mapSink) put(k string, v any) {
	if _, ok := s.m[k]; ok {
		s.collided = true // "a.b" and {"a":{"b"}}, or a repeated key: order decides, which a map cannot replay
	}
	s.m[k] = v
}

func flatten(prefix string, v map[string]any, out map[string]any) {
	for k, x := range v {
		if prefix != "" {
			k = prefix + "." + k
		}
		if m, ok := x.(map[string]any); ok && len(m) > 0 {
			flatten(k, m, out)
			continue
		}
		out[k] = x
	}
}

func requireSameJSON(t *testing.T, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case json.Number:
		switch g := got.(type) {
		case int64:
			i, err := w.Int64()
			require.NoError(t, err)
			require.Equal(t, i, g)
		case float64:
			f, err := w.Float64()
			require.NoError(t, err)
			require.Equal(t, f, g)
		case string:
			require.Equal(t, w.String(), g)
		default:
			t.Fatalf("number %s read as %T", w, got)
		}
	case []any:
		g, ok := got.([]any)
		require.True(t, ok, "array read as %T", got)
		require.Len(t, g, len(w))
		for i := range w {
			requireSameJSON(t, w[i], g[i])
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		require.True(t, ok, "object read as %T", got)
		require.Len(t, g, len(w))
		for k := range w {
			requireSameJSON(t, w[k], g[k])
		}
	default:
		require.Equal(t, want, got)
	}
}
