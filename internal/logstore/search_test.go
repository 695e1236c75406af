package logstore

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestSearchFilters checks each filter alone and combined on a small fixed set.
func TestSearchFilters(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	t0 := timeBase()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	require.NoError(t, s.Write(ctx, buildLogs(t,
		logSpec{service: "api", host: "h1", time: at(0), sev: 9, body: "r0 GET /orders took 12ms", trace: 1},
		logSpec{service: "api", host: "h2", time: at(1), sev: 13, body: "r1 Timeout after 3s calling payment", trace: 2},
		logSpec{service: "db", host: "h1", time: at(2), sev: 17, body: "r2 connection timeouts exceeded", trace: 2},
		logSpec{service: "db", host: "h2", time: at(3), sev: 21, body: "r3 disk full: cannot write WAL", trace: 3},
	)))
	// A second Write: other blocks, overlapping in time with the first.
	require.NoError(t, s.Write(ctx, buildLogs(t,
		logSpec{service: "api", host: "h1", time: at(2), sevText: "debug", body: "r4 cache miss for user-42", trace: 1},
		logSpec{service: "pay", time: at(4), body: "r5 read-timeout from 10.0.0.1:443"},
		logSpec{service: "api", host: "h1", time: at(5), sev: 17, body: "r6 Straße gesperrt: ÜBERLAUF"},
	)))
	all := []string{"r6", "r5", "r3", "r2", "r4", "r1", "r0"} // r2 and r4 tie in time: the later block first
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{}, all},
		{"limit", Query{Limit: 3}, all[:3]},
		{"service", Query{Service: "api"}, []string{"r6", "r4", "r1", "r0"}},
		{"unknown service", Query{Service: "nope"}, nil},
		{"host", Query{Host: "h2"}, []string{"r3", "r1"}},
		{"no host", Query{Host: "unknown"}, nil},
		{"service+host", Query{Service: "api", Host: "h1"}, []string{"r6", "r4", "r0"}},
		{"severity warn", Query{MinSeverity: SeverityWarn}, []string{"r6", "r3", "r2", "r1"}},
		{"severity fatal", Query{MinSeverity: SeverityFatal}, []string{"r3"}},
		{"severity debug keeps derived", Query{MinSeverity: SeverityDebug}, []string{"r6", "r3", "r2", "r4", "r1", "r0"}},
		{"severity beyond 24", Query{MinSeverity: 25}, nil},
		{"trace", Query{TraceID: traceID(2)}, []string{"r2", "r1"}},
		{"trace unknown", Query{TraceID: traceID(99)}, nil},
		{"trace+service", Query{TraceID: traceID(2), Service: "db"}, []string{"r2"}},
		{"trace+host+severity", Query{TraceID: traceID(1), Host: "h1", MinSeverity: SeverityInfo}, []string{"r0"}},
		{"term whole word", Query{Text: "timeout"}, []string{"r5", "r1"}},
		{"term case", Query{Text: "TIMEOUT"}, []string{"r5", "r1"}},
		{"phrase substring", Query{Text: `"timeout"`}, []string{"r5", "r2", "r1"}},
		{"two terms", Query{Text: "timeout payment"}, []string{"r1"}},
		{"exclusion", Query{Text: "timeout -payment"}, []string{"r5"}},
		{"only exclusion", Query{Text: "-timeout -r0 -r6"}, []string{"r3", "r2", "r4"}},
		{"phrase with space", Query{Text: `"disk full"`}, []string{"r3"}},
		{"term with punctuation", Query{Text: "user-42"}, []string{"r4"}},
		{"term prefix is no match", Query{Text: "user-4"}, nil},
		{"ip", Query{Text: "10.0.0.1"}, []string{"r5"}},
		{"unicode case", Query{Text: "straße überlauf"}, []string{"r6"}},
		{"text+service+severity", Query{Text: "timeout", Service: "api", MinSeverity: SeverityWarn}, []string{"r1"}},
		{"start inclusive", Query{Start: at(4)}, []string{"r6", "r5"}},
		{"end inclusive", Query{Start: at(0), End: at(1)}, []string{"r1", "r0"}},
		{"instant", Query{Start: at(2), End: at(2)}, []string{"r2", "r4"}},
		{"start after end", Query{Start: at(3), End: at(2)}, nil},
		{"before all", Query{Start: t0.Add(-time.Hour), End: t0.Add(-time.Nanosecond)}, nil},
		{"trace window", Query{TraceID: traceID(1), Start: at(1)}, []string{"r4"}},
		{"service window", Query{Service: "db", End: at(2)}, []string{"r2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			if q.Start.IsZero() {
				q.Start = t0
			}
			if q.End.IsZero() {
				q.End = t0.Add(time.Minute)
			}
			got, err := s.Search(ctx, q)
			require.NoError(t, err)
			names := make([]string, len(got))
			for i, r := range got {
				names[i] = r.Body[:2]
			}
			if tc.want == nil {
				tc.want = []string{}
			}
			assert.Equal(t, tc.want, names)
		})
	}

	_, err := s.Search(ctx, Query{Text: `"unbalanced`})
	require.ErrorIs(t, err, ErrBadText)

	// A zero End means now: records in the past are found.
	got, err := s.Search(ctx, Query{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, "r6 Straße gesperrt: ÜBERLAUF", got[0].Body)
}

// TestSearchModel writes random records in random batches (many streams, blocks whose time
// ranges overlap, several hours) and compares random queries with a brute-force answer.
func TestSearchModel(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := timeBase()
	services, hosts := []string{"a", "b", "c", "d"}, []string{"h1", "h2", "h3"}
	words := []string{"alpha", "beta", "gamma", "delta", "error", "timeout", "ok"}
	type rec struct {
		spec logSpec
		id   int
	}
	var model []rec
	used := map[int64]bool{}
	const span = 3 * time.Hour
	for w := range 60 {
		// Each Write covers a random window of up to 20s somewhere in the span, so writes
		// overlap each other in time.
		base := t0.Add(time.Duration(rng.Int64N(int64(span))))
		var specs []logSpec
		for range 1 + rng.IntN(120) {
			var ts time.Time
			for {
				ts = base.Add(time.Duration(rng.Int64N(int64(20 * time.Second))))
				if !used[ts.UnixNano()] { // unique times make the expected order unambiguous
					used[ts.UnixNano()] = true
					break
				}
			}
			id := len(model)
			sp := logSpec{
				service: services[rng.IntN(len(services))], host: hosts[rng.IntN(len(hosts))],
				time: ts, sev: int32(rng.IntN(25)),
				body:  fmt.Sprintf("%s %s #%d", words[rng.IntN(len(words))], words[rng.IntN(len(words))], id),
				trace: uint64(rng.IntN(40)),
			}
			specs = append(specs, sp)
			model = append(model, rec{sp, id})
		}
		ld := buildLogs(t, specs...)
		if w%2 == 0 {
			ld = plog.NewLogs()
			for _, sp := range specs { // group by resource, as SDKs send them
				buildStream(t, sp).ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
			}
		}
		require.NoError(t, s.Write(ctx, ld))
	}

	for i := range 300 {
		q := Query{Limit: 1 + rng.IntN(200)}
		q.Start = t0.Add(time.Duration(rng.Int64N(int64(span))))
		q.End = q.Start.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))
		if rng.IntN(3) == 0 {
			q.Service = services[rng.IntN(len(services))]
		}
		if rng.IntN(3) == 0 {
			q.Host = hosts[rng.IntN(len(hosts))]
		}
		if rng.IntN(3) == 0 {
			q.MinSeverity = int32(rng.IntN(25))
		}
		if rng.IntN(4) == 0 {
			q.TraceID = traceID(uint64(1 + rng.IntN(39)))
		}
		if rng.IntN(3) == 0 {
			q.Text = words[rng.IntN(len(words))]
			if rng.IntN(2) == 0 {
				q.Text = "-" + q.Text
			}
		}
		tq, err := ParseText(q.Text)
		require.NoError(t, err)
		var want []rec
		for _, r := range model {
			sp := r.spec
			if sp.time.Before(q.Start) || sp.time.After(q.End) ||
				(q.Service != "" && sp.service != q.Service) || (q.Host != "" && sp.host != q.Host) ||
				sp.sev < q.MinSeverity || (!q.TraceID.IsEmpty() && traceID(sp.trace) != q.TraceID) ||
				!tq.Match(sp.body.(string)) {
				continue
			}
			want = append(want, r)
		}
		slices.SortFunc(want, func(a, b rec) int { return cmp.Compare(b.spec.time.UnixNano(), a.spec.time.UnixNano()) })
		want = want[:min(len(want), q.Limit)]
		wantBodies := make([]string, len(want))
		for k, r := range want {
			wantBodies[k] = r.spec.body.(string)
		}
		got, err := s.Search(ctx, q)
		require.NoError(t, err)
		require.Equal(t, wantBodies, bodies(got), "query %d: %+v", i, q)
	}
}

func TestParseText(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want string // String() of the parsed query, or the error
	}{
		{"", ""},
		{"   ", ""},
		{"Timeout", "timeout"},
		{"a  b\tc", "a b c"},
		{`"Disk Full" -debug -"no such"`, `"disk full" -debug -"no such"`},
		{`"say \"hi\" \\o/"`, `"say \"hi\" \\o/"`},
		{`"a\b"`, `"a\\b"`},
		{`key=value`, `key=value`},
		{`-`, "bad text query: '-' at position 1 is not followed by a term or phrase"},
		{`a - b`, "bad text query: '-' at position 3 is not followed by a term or phrase"},
		{`"open`, "bad text query: unbalanced quote at position 1"},
		{`a -"open`, "bad text query: unbalanced quote at position 3"},
		{`a"b"`, "bad text query: quote inside a term at position 2 (quote the whole phrase)"},
		{`"a"b`, "bad text query: phrase ending at position 3 must be followed by a space"},
		{`""`, "bad text query: empty phrase at position 1"},
		{string(make([]byte, 1025)), "bad text query: longer than 1024 bytes"},
		{"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33", "bad text query: more than 32 terms"},
	} {
		tq, err := ParseText(tc.q)
		if err != nil {
			require.ErrorIs(t, err, ErrBadText)
			assert.Equal(t, tc.want, err.Error(), tc.q)
			continue
		}
		assert.Equal(t, tc.want, tq.String(), tc.q)
	}
}

func TestTextMatch(t *testing.T) {
	for _, tc := range []struct {
		q, body string
		want    bool
	}{
		{"", "anything", true},
		{"timeout", "Timeout after 3s", true},
		{"timeout", "timeouts", false},
		{"timeout", "read-timeout", true},
		{"timeout", "read_timeout", true}, // '_' is no letter or digit
		{"timeout", "timeout2", false},
		{"timeout", "timeouts and a timeout", true}, // a later occurrence is a whole word
		{"3s", "after 3s.", true},
		{"user-42", "login user-42 failed", true},
		{"user-42", "login user-420 failed", false},
		{"10.0.0.1", "from 10.0.0.1:80", true},
		{"10.0.0.1", "from 110.0.0.1", false},
		{"=>", "a=>b", true},
		{"->", "a->b", false}, // a leading '-' excludes: this is "no '>'"
		{`"->"`, "a->b", true},
		{`"imeou"`, "Timeout", true},
		{`"disk full"`, "DISK FULL now", true},
		{`"disk full"`, "disk  full", false},
		{"-debug", "debug line", false},
		{"-debug", "debugging line", true},
		{`-"debug"`, "debugging line", false},
		{"a b", "b a", true},
		{"a b", "a", false},
		{"ÉCHEC", "échec total", true},
		{"échec", "Échecs", false},
		{"日本", "東京 日本 大阪", true},
		{"日本", "日本語", false}, // CJK characters are letters: no word boundary inside
		{"\uFFFD", "bad \uFFFD byte", true},
	} {
		tq, err := ParseText(tc.q)
		require.NoError(t, err)
		assert.Equal(t, tc.want, tq.Match(tc.body), "%q in %q", tc.q, tc.body)
	}
}

func FuzzParseText(f *testing.F) {
	for _, q := range []string{"", "a b", `"x y" -z`, `-"a\"b"`, `"unbalanced`, "a\"b", "ÉCHEC -\xff", `\\"`} {
		f.Add(q, "some Body with ÉCHEC and \xff")
	}
	f.Fuzz(func(t *testing.T, q, body string) {
		tq, err := ParseText(q)
		if err != nil {
			return
		}
		again, err := ParseText(tq.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", q, tq.String(), err)
		}
		if again.String() != tq.String() {
			t.Fatalf("%q -> %q -> %q", q, tq.String(), again.String())
		}
		if tq.Match(body) != again.Match(body) {
			t.Fatalf("%q and its String() %q disagree on %q", q, tq.String(), body)
		}
	})
}

// TestAppendLower compares the eight-bytes-at-a-time lower-casing with a plain one on every
// ASCII byte in every position, and on mixed text.
func TestAppendLower(t *testing.T) {
	plain := func(s []byte) []byte {
		var out []byte
		for _, r := range string(s) {
			out = utf8.AppendRune(out, unicode.ToLower(r))
		}
		return out
	}
	for c := range 128 {
		for pos := range 17 {
			s := []byte("abcdefghIJKLMNOPqrs")
			s[pos] = byte(c)
			require.Equal(t, string(plain(s)), string(appendLower(nil, s)), "byte %#x at %d", c, pos)
		}
	}
	for _, s := range []string{"", "A", "ÀÉÎÕÜ STRASSE Straße", "MIXED ascii ÄND ünicode 12345678 ΑΒΓΔ", "\xff\xfeINVALID"} {
		want := plain([]byte(s))
		if s == "\xff\xfeINVALID" {
			want = []byte("\xff\xfeinvalid") // invalid bytes are kept as they are
		}
		assert.Equal(t, string(want), string(appendLower([]byte("pre:"), []byte(s)))[4:], s)
	}
}
