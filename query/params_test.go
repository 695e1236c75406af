package query

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/faultline/faultline/internal/spanstore"
)

var (
	testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	testCfg = Config{DefaultLookback: time.Hour, MaxLimit: 1000}
)

func TestParseTraceQuery(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		query string
		want  spanstore.Query
	}{
		{
			name:  "defaults: the last hour, 20 traces",
			query: "",
			want:  spanstore.Query{Start: testNow.Add(-time.Hour), End: testNow, Limit: 20},
		},
		{
			name:  "everything, RFC 3339 and Go durations",
			query: "service=checkout&operation=GET+%2Fcart&attr=http.method%3DGET&attr=region=eu%3Dwest&status=error&minDuration=250ms&maxDuration=2s&start=2026-05-01T10:00:00Z&end=2026-05-01T11:00:00.5%2B01:00&limit=7&unknown=x",
			want: spanstore.Query{
				Service: "checkout", Operation: "GET /cart",
				Attributes:  map[string]string{"http.method": "GET", "region": "eu=west"},
				Status:      "error",
				MinDuration: 250 * time.Millisecond, MaxDuration: 2 * time.Second,
				Start: t0, End: time.Date(2026, 5, 1, 10, 0, 0, 500_000_000, time.UTC), Limit: 7,
			},
		},
		{
			name:  "Unix seconds and plain-second durations, exact to the nanosecond",
			query: "start=1777629600&end=1777629600.123456789&minDuration=0.25&maxDuration=3&status=ok",
			want: spanstore.Query{
				Status:      "ok",
				MinDuration: 250 * time.Millisecond, MaxDuration: 3 * time.Second,
				Start: t0, End: t0.Add(123456789), Limit: 20,
			},
		},
		{
			name:  "only end: start is end minus the lookback",
			query: "end=2026-05-01T10:00:00Z",
			want:  spanstore.Query{Start: t0.Add(-time.Hour), End: t0, Limit: 20},
		},
		{
			name:  "only start: end is now",
			query: "start=2026-05-01T10:00:00Z",
			want:  spanstore.Query{Start: t0, End: testNow, Limit: 20},
		},
		{
			name:  "empty values are absent",
			query: "service=&status=&start=&end=&limit=&minDuration=&maxDuration=",
			want:  spanstore.Query{Start: testNow.Add(-time.Hour), End: testNow, Limit: 20},
		},
		{
			name:  "attr with an empty value, and the same pair twice",
			query: "attr=k=&attr=k=",
			want:  spanstore.Query{Attributes: map[string]string{"k": ""}, Start: testNow.Add(-time.Hour), End: testNow, Limit: 20},
		},
		{
			name:  "start equal to end, limit at the maximum",
			query: "start=1777629600&end=1777629600&limit=1000",
			want:  spanstore.Query{Start: t0, End: t0, Limit: 1000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			got, err := parseTraceQuery(v, testNow, testCfg)
			require.NoError(t, err)
			assert.True(t, tt.want.Start.Equal(got.Start), "start %s, want %s", got.Start, tt.want.Start)
			assert.True(t, tt.want.End.Equal(got.End), "end %s, want %s", got.End, tt.want.End)
			got.Start, got.End, tt.want.Start, tt.want.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestParseTraceQueryErrors pins every 400 of GET /api/v1/traces and its message.
func TestParseTraceQueryErrors(t *testing.T) {
	tests := []struct{ query, msg string }{
		{"start=yesterday", `start: "yesterday" is neither RFC 3339 nor Unix seconds`},
		{"end=2026-13-01T00:00:00Z", `end: "2026-13-01T00:00:00Z" is neither RFC 3339 nor Unix seconds`},
		{"start=2026-05-01", `start: "2026-05-01" is neither RFC 3339 nor Unix seconds`},
		{"start=-5", `start: "-5" is before 1970`},
		{"end=1969-12-31T23:59:59Z", `end: "1969-12-31T23:59:59Z" is out of range (1970 to 2262)`},
		{"end=9999-01-01T00:00:00Z", `end: "9999-01-01T00:00:00Z" is out of range (1970 to 2262)`},
		{"end=99999999999999999999", `end: "99999999999999999999" is neither RFC 3339 nor Unix seconds`},
		{"end=1e9", `end: "1e9" is neither RFC 3339 nor Unix seconds`},
		{"start=1777629601&end=1777629600", `start (2026-05-01T10:00:01Z) must not be after end (2026-05-01T10:00:00Z)`},
		{"start=2026-05-01T13:00:00Z", `start (2026-05-01T13:00:00Z) must not be after end (2026-05-01T12:00:00Z)`},
		{"minDuration=fast", `minDuration: "fast" is neither a Go duration (250ms) nor seconds`},
		{"minDuration=-1s", `minDuration: "-1s" is negative`},
		{"minDuration=-0.5", `minDuration: "-0.5" is negative`},
		{"maxDuration=10parsecs", `maxDuration: "10parsecs" is neither a Go duration (250ms) nor seconds`},
		{"maxDuration=0", `maxDuration: must be positive`},
		{"minDuration=2s&maxDuration=1s", `minDuration (2s) must not be greater than maxDuration (1s)`},
		{"limit=ten", `limit: "ten" is not an integer`},
		{"limit=1.5", `limit: "1.5" is not an integer`},
		{"limit=0", `limit: 0 is not between 1 and 1000`},
		{"limit=-3", `limit: -3 is not between 1 and 1000`},
		{"limit=1001", `limit: 1001 is not between 1 and 1000`},
		{"status=failed", `status: "failed" must be error or ok`},
		{"status=ERROR", `status: "ERROR" must be error or ok`},
		{"attr=novalue", `attr: "novalue" must be key=value with a non-empty key`},
		{"attr==v", `attr: "=v" must be key=value with a non-empty key`},
		{"attr=", `attr: "" must be key=value with a non-empty key`},
		{"attr=k=a&attr=k=b", `attr: key "k" is given twice with different values`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			_, err = parseTraceQuery(v, testNow, testCfg)
			require.Error(t, err)
			assert.True(t, isParamError(err))
			assert.Equal(t, tt.msg, err.Error())
		})
	}
}

func TestParseTraceID(t *testing.T) {
	tests := []struct {
		in, want, msg string
	}{
		{in: "0102030405060708090a0b0c0d0e0f10", want: "0102030405060708090a0b0c0d0e0f10"},
		{in: "0102030405060708090A0B0C0D0E0F10", want: "0102030405060708090a0b0c0d0e0f10"},
		{in: "090a0b0c0d0e0f10", want: "0000000000000000090a0b0c0d0e0f10"},
		{in: "", msg: `trace_id: "" must be 32 hex digits (or 16)`},
		{in: "abc", msg: `trace_id: "abc" must be 32 hex digits (or 16)`},
		{in: "0102030405060708090a0b0c0d0e0f1011", msg: `trace_id: "0102030405060708090a0b0c0d0e0f1011" must be 32 hex digits (or 16)`},
		{in: "0102030405060708090a0b0c0d0e0fzz", msg: `trace_id: "0102030405060708090a0b0c0d0e0fzz" is not hexadecimal`},
		{in: "090a0b0c0d0e0f1g", msg: `trace_id: "090a0b0c0d0e0f1g" is not hexadecimal`},
		{in: "00000000000000000000000000000000", msg: `trace_id: must not be all zeros`},
		{in: "0000000000000000", msg: `trace_id: must not be all zeros`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := parseTraceID(tt.in)
			if tt.msg != "" {
				require.Error(t, err)
				assert.True(t, isParamError(err))
				assert.Equal(t, tt.msg, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, traceIDHex(id))
		})
	}
}

func traceIDHex(id pcommon.TraceID) string { return id.String() }

func TestParseDecimalSeconds(t *testing.T) {
	tests := []struct {
		in    string
		nanos int64
		ok    bool
	}{
		{"0", 0, true},
		{"3", 3e9, true},
		{"0.25", 25e7, true},
		{".5", 5e8, true},
		{"5.", 5e9, true},
		{"-1.5", -15e8, true},
		{"1.0000000019", 1e9 + 1, true}, // digits past the nanosecond are cut
		{"9223372036.854775807", 9223372036854775807, true},
		{"9223372036.854775808", 0, false},
		{"9223372037", 0, false},
		{"", 0, false},
		{".", 0, false},
		{"-", 0, false},
		{"1.2.3", 0, false},
		{"+1", 0, false},
		{"1s", 0, false},
		{" 1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			nanos, ok := parseDecimalSeconds(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.nanos, nanos)
		})
	}
}

func TestParseJaegerTraceQuery(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		query string
		want  spanstore.Query
		ids   []string
	}{
		{
			name:  "as the Jaeger UI sends it",
			query: "service=checkout&operation=all&start=1777629600000000&end=1777633200000000&lookback=1h&limit=20&maxDuration=1.2s&minDuration=100ms&tags=%7B%22error%22%3A%22true%22%2C%22http.status_code%22%3A500%7D",
			want: spanstore.Query{
				Service: "checkout", Operation: "all",
				Attributes:  map[string]string{"error": "true", "http.status_code": "500"},
				MinDuration: 100 * time.Millisecond, MaxDuration: 1200 * time.Millisecond,
				Start: t0, End: t0.Add(time.Hour), Limit: 20,
			},
		},
		{
			name:  "logfmt tags, tag pairs, lookback in days, clamped limit",
			query: `service=s&tags=k%3Dv+k2%3D%22v+2%22&tag=a:b:c&end=1777629600000000&lookback=2d&limit=5000`,
			want: spanstore.Query{
				Service:    "s",
				Attributes: map[string]string{"k": "v", "k2": "v 2", "a": "b:c"},
				Start:      t0.Add(-48 * time.Hour), End: t0, Limit: 1000,
			},
		},
		{
			name:  "no start: default lookback; custom lookback ignored; limit 0 is the default",
			query: "service=s&lookback=custom&limit=0",
			want:  spanstore.Query{Service: "s", Start: testNow.Add(-time.Hour), End: testNow, Limit: 20},
		},
		{
			name:  "trace IDs need no service",
			query: "traceID=abc&traceID=0102030405060708090a0b0c0d0e0f10",
			ids:   []string{"00000000000000000000000000000abc", "0102030405060708090a0b0c0d0e0f10"},
			want:  spanstore.Query{Start: testNow.Add(-time.Hour), End: testNow, Limit: 20},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			jq, err := parseJaegerTraceQuery(v, testNow, testCfg)
			require.NoError(t, err)
			var ids []string
			for _, id := range jq.traceIDs {
				ids = append(ids, id.String())
			}
			assert.Equal(t, tt.ids, ids)
			got := jq.query
			assert.True(t, tt.want.Start.Equal(got.Start), "start %s, want %s", got.Start, tt.want.Start)
			assert.True(t, tt.want.End.Equal(got.End), "end %s, want %s", got.End, tt.want.End)
			got.Start, got.End, tt.want.Start, tt.want.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestParseJaegerTraceQueryErrors pins every 400 of GET /jaeger/api/traces and its message.
func TestParseJaegerTraceQueryErrors(t *testing.T) {
	tests := []struct{ query, msg string }{
		{"", `parameter 'service' is required`},
		{"operation=x", `parameter 'service' is required`},
		{"service=s&start=2026-05-01T10:00:00Z", `start: "2026-05-01T10:00:00Z" is not an integer number of microseconds since the epoch`},
		{"service=s&end=1.5", `end: "1.5" is not an integer number of microseconds since the epoch`},
		{"service=s&end=-1", `end: "-1" is out of range (1970 to 2262)`},
		{"service=s&end=9223372036854775807", `end: "9223372036854775807" is out of range (1970 to 2262)`},
		{"service=s&start=2000&end=1000", `start (2000) must not be after end (1000)`},
		{"service=s&limit=-1", `limit: "-1" is not a non-negative integer`},
		{"service=s&limit=x", `limit: "x" is not a non-negative integer`},
		{"service=s&minDuration=1parsec", `minDuration: "1parsec" is neither a Go duration (250ms) nor seconds`},
		{"service=s&maxDuration=-1s", `maxDuration: "-1s" is negative`},
		{"service=s&minDuration=2s&maxDuration=1s", `minDuration (2s) must not be greater than maxDuration (1s)`},
		{"service=s&tag=nocolon", `tag: "nocolon" must be key:value`},
		{"service=s&tag=:v", `tag: ":v" must be key:value`},
		{"service=s&traceID=xyz", `trace_id: "00000000000000000000000000000xyz" is not hexadecimal`},
		{"service=s&traceID=0", `trace_id: must not be all zeros`},
		{`service=s&tags={"k":`, `tags: not a JSON object of strings: unexpected EOF`},
		{`service=s&tags={"k":"v"}x`, `tags: unexpected data after the JSON object`},
		{`service=s&tags={"k":["v"]}`, `tags: value of "k" must be a string, number or boolean`},
		{`service=s&tags={"k":null}`, `tags: value of "k" must be a string, number or boolean`},
		{`service=s&tags={"":"v"}`, `tags: empty key`},
		{`service=s&tags=k`, `tags: "k" has no value (want key=value)`},
		{`service=s&tags==v`, `tags: expected a key at offset 0 of "=v"`},
		{`service=s&tags=k="v`, `tags: unterminated quote in the value of "k"`},
		{`service=s&tags=k="v"x`, `tags: expected a space after the quoted value of "k"`},
		{`service=s&tags=k="\q"`, `tags: bad quoted value of "k": invalid syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			_, err = parseJaegerTraceQuery(v, testNow, testCfg)
			require.Error(t, err)
			assert.True(t, isParamError(err))
			assert.Equal(t, tt.msg, err.Error())
		})
	}
}

func TestParseLogfmtTags(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{`k=v`, map[string]string{"k": "v"}},
		{`  a=1   b=2 `, map[string]string{"a": "1", "b": "2"}},
		{`http.url=http://x/?a=b`, map[string]string{"http.url": "http://x/?a=b"}},
		{`k= other=x`, map[string]string{"k": "", "other": "x"}},
		{`msg="say \"hi\"" n=""`, map[string]string{"msg": `say "hi"`, "n": ""}},
		{"k=\"tab\\there\"\tz=1", map[string]string{"k": "tab\there", "z": "1"}},
		{`{"json":"too"}`, map[string]string{"json": "too"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseJaegerTags([]string{tt.in}, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConfig(t *testing.T) {
	var cfg Config
	fs := flagSet(&cfg)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, Config{DefaultLookback: time.Hour, MaxLimit: 1000}, cfg)
	require.NoError(t, cfg.Validate())

	require.NoError(t, fs.Parse([]string{"-query.default-lookback=15m", "-query.max-limit=5"}))
	assert.Equal(t, Config{DefaultLookback: 15 * time.Minute, MaxLimit: 5}, cfg)
	assert.Equal(t, 5, cfg.defaultLimit())

	assert.EqualError(t, (&Config{DefaultLookback: 0, MaxLimit: 1}).Validate(), "query.default-lookback must be positive")
	assert.EqualError(t, (&Config{DefaultLookback: time.Hour, MaxLimit: 0}).Validate(), "query.max-limit must be at least 1")
	_, err := NewAPI(Config{}, errReader{}, nil, nil)
	assert.EqualError(t, err, "query.default-lookback must be positive")
}

func FuzzParseTraceQuery(f *testing.F) {
	for _, s := range []string{
		"", "service=a&attr=k=v&status=error&minDuration=1s&maxDuration=2&start=1&end=2026-01-01T00:00:00Z&limit=5",
		"start=99999999999.999999999", "minDuration=-0&maxDuration=.", "attr==&attr=a", "limit=%zz", "end=9223372036.854775807",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseTraceQuery(v, testNow, testCfg)
		if err != nil {
			if !isParamError(err) {
				t.Fatalf("error %v is not a parameter error", err)
			}
			return
		}
		if q.Start.After(q.End) || q.Limit < 1 || q.Limit > testCfg.MaxLimit || q.MinDuration < 0 || q.MaxDuration < 0 ||
			(q.MaxDuration != 0 && q.MinDuration > q.MaxDuration) {
			t.Fatalf("%q: invalid query accepted: %+v", raw, q)
		}
		jq, err := parseJaegerTraceQuery(v, testNow, testCfg)
		if err == nil && jq.query.Start.After(jq.query.End) {
			t.Fatalf("%q: Jaeger query with start after end accepted: %+v", raw, jq.query)
		}
	})
}

func FuzzParseTraceID(f *testing.F) {
	for _, s := range []string{"", "0102030405060708090a0b0c0d0e0f10", "090a0b0c0d0e0f10", "00000000000000000000000000000000", "xyz", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseTraceID(s)
		if err == nil && (id.IsEmpty() || !strings.EqualFold(strings.TrimLeft(id.String(), "0"), strings.TrimLeft(s, "0"))) {
			t.Fatalf("%q parsed as %s", s, id)
		}
		id, err = parseJaegerTraceID(s)
		if err == nil && id.IsEmpty() {
			t.Fatalf("%q parsed as the empty ID", s)
		}
	})
}

func FuzzParseJaegerTags(f *testing.F) {
	for _, s := range []string{`k=v`, `k="v 2" a=b`, `{"k":"v","n":1,"b":true}`, `k="\"`, `{"k":`, `=`, `k="\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := parseJaegerTags([]string{s}, []string{s})
		if err != nil {
			if !isParamError(err) {
				t.Fatalf("error %v is not a parameter error", err)
			}
			return
		}
		for k := range tags {
			if k == "" {
				t.Fatalf("%q: empty key accepted", s)
			}
		}
	})
}
