package spanstore

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// encodeAll encodes td the way writeChunk does, every span in one chunk.
func encodeAll(td ptrace.Traces) []byte {
	var v []byte
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		var rsStart int
		v, rsStart = beginMessage(v, 1)
		v = appendResource(v, rs.Resource())
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			var ssStart int
			v, ssStart = beginMessage(v, 2)
			v = appendScope(v, ss.Scope())
			for k := range ss.Spans().Len() {
				v = appendSpan(v, ss.Spans().At(k))
			}
			v = endScopeSpans(v, ss, ssStart)
		}
		v = endResourceSpans(v, rs, rsStart)
	}
	return v
}

// requireSameEncoding checks that our encoding of td decodes to td.
func requireSameEncoding(t *testing.T, td ptrace.Traces, id pcommon.TraceID) {
	t.Helper()
	got, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(encodeAll(td))
	require.NoError(t, err)
	restoreTraceIDs(got, id)
	var m ptrace.ProtoMarshaler
	want, err := m.MarshalTraces(td)
	require.NoError(t, err)
	gotBytes, err := m.MarshalTraces(got)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, gotBytes), "encoding differs:\nwant %x\ngot  %x", want, gotBytes)
}

func TestEncodeMatchesPdata(t *testing.T) {
	first, second := richTraces(t, timeBase())
	for name, td := range map[string]ptrace.Traces{
		"rich":   onlyTrace(first, traceID(42)),
		"second": second,
		"empty":  ptrace.NewTraces(),
	} {
		t.Run(name, func(t *testing.T) { requireSameEncoding(t, td, traceID(42)) })
	}
	t.Run("long lengths", func(t *testing.T) {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(traceID(1))
		for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
			sp.Attributes().PutStr(strings.Repeat("k", n%1000+1), strings.Repeat("v", n))
		}
		requireSameEncoding(t, td, traceID(1))
	})
}

// FuzzEncode builds spans with attribute values taken from the fuzzer's bytes and checks
// that they survive the encoder.
func FuzzEncode(f *testing.F) {
	f.Add([]byte("hello"), int64(-1), 3.5, "name")
	f.Add([]byte{}, int64(math.MinInt64), math.Inf(-1), "")
	f.Add(bytes.Repeat([]byte{0xff}, 300), int64(1<<40), math.NaN(), "\x00\xff")
	f.Fuzz(func(t *testing.T, data []byte, i int64, d float64, s string) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s)
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		id := traceID(uint64(i))
		sp.SetTraceID(id)
		sp.SetName(s)
		sp.SetKind(ptrace.SpanKind(i % 7))
		sp.SetStartTimestamp(pcommon.Timestamp(uint64(i)))
		sp.SetFlags(uint32(i))
		m := sp.Attributes()
		m.PutInt("i", i)
		m.PutDouble("d", d)
		m.PutEmptyBytes("b").FromRaw(data)
		m.PutStr(s, string(data))
		nested := m.PutEmptyMap("nested")
		list := nested.PutEmptySlice("list")
		for len(data) > 0 {
			n := int(data[0])%len(data) + 1
			switch data[0] % 4 {
			case 0:
				list.AppendEmpty().SetStr(string(data[:n]))
			case 1:
				list.AppendEmpty().SetInt(int64(binary.LittleEndian.Uint16(append(data[:n:n], 0, 0))))
			case 2:
				list = list.AppendEmpty().SetEmptySlice()
			default:
				list.AppendEmpty().SetBool(n%2 == 0)
			}
			data = data[n:]
		}
		got, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(encodeAll(td))
		require.NoError(t, err)
		restoreTraceIDs(got, id)
		var pm ptrace.ProtoMarshaler
		want, err := pm.MarshalTraces(td)
		require.NoError(t, err)
		gotBytes, err := pm.MarshalTraces(got)
		require.NoError(t, err)
		require.Equal(t, want, gotBytes)
	})
}

// FuzzParseKeys feeds arbitrary bytes to every row decoder: none may panic, and whatever
// decodes must encode back to the same bytes.
func FuzzParseKeys(f *testing.F) {
	c := chunkRef{start: 1 << 60, trace: traceID(9), seq: 7}
	f.Add(appendDataKey(nil, c), []byte{})
	f.Add(appendTraceKey(nil, c), []byte{})
	f.Add(appendServiceKey(nil, 3, c), appendServiceValue(nil, 1, 2))
	f.Add(metaServiceKey("svc"), []byte{0, 0, 0, 1})
	f.Add(metaOpKey(2, ptrace.SpanKindServer, "GET /"), []byte{})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		if c, err := parseDataKey(k); err == nil {
			require.Equal(t, k, appendDataKey(nil, c))
		}
		if c, err := parseTraceKey(k); err == nil {
			require.Equal(t, k, appendTraceKey(nil, c))
		}
		if svc, c, err := parseServiceKey(k); err == nil {
			require.Equal(t, k, appendServiceKey(nil, svc, c))
		}
		if first, last, err := parseServiceValue(v); err == nil {
			require.LessOrEqual(t, first, last)
			f2, l2, err := parseServiceValue(appendServiceValue(nil, first, last))
			require.NoError(t, err)
			require.Equal(t, []uint64{first, last}, []uint64{f2, l2})
		}
		if isSvc, svc, kind, name, err := parseMetaKey(k, v); err == nil {
			if isSvc {
				require.Equal(t, k, metaServiceKey(name))
			} else {
				require.Equal(t, k, metaOpKey(svc, kind, name))
			}
		}
	})
}
