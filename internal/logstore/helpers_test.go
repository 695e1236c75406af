package logstore

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testConfig() Config {
	return Config{Retention: 7 * 24 * time.Hour, RetentionInterval: time.Minute}
}

// openStore opens a store in dir, closed when the test ends.
func openStore(t testing.TB, dir string, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg, dir, false, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func traceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	if n == 0 {
		return id
	}
	binary.BigEndian.PutUint64(id[:8], 0x10c5)
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

func spanID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

// logSpec describes a test record; unset fields stay unset.
type logSpec struct {
	service, host string // "" leaves the attribute out
	resAttrs      map[string]any
	time          time.Time
	observed      time.Time
	sev           int32
	sevText       string
	body          any // string, or anything pcommon.Value.FromRaw takes
	trace, span   uint64
	attrs         map[string]any
}

// buildLogs makes one plog.Logs with a ResourceLogs per record.
func buildLogs(t testing.TB, specs ...logSpec) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	for _, sp := range specs {
		rl := ld.ResourceLogs().AppendEmpty()
		ra := rl.Resource().Attributes()
		require.NoError(t, ra.FromRaw(sp.resAttrs))
		if sp.service != "" {
			ra.PutStr("service.name", sp.service)
		}
		if sp.host != "" {
			ra.PutStr("host.name", sp.host)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("test")
		appendRecord(t, sl.LogRecords(), sp)
	}
	return ld
}

// buildStream makes one plog.Logs with a single ResourceLogs holding every record of specs;
// the resource is taken from the first spec.
func buildStream(t testing.TB, specs ...logSpec) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	require.NoError(t, ra.FromRaw(specs[0].resAttrs))
	if specs[0].service != "" {
		ra.PutStr("service.name", specs[0].service)
	}
	if specs[0].host != "" {
		ra.PutStr("host.name", specs[0].host)
	}
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(len(specs))
	for _, sp := range specs {
		appendRecord(t, lrs, sp)
	}
	return ld
}

func appendRecord(t testing.TB, lrs plog.LogRecordSlice, sp logSpec) {
	lr := lrs.AppendEmpty()
	if !sp.time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(sp.time))
	}
	if !sp.observed.IsZero() {
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(sp.observed))
	}
	lr.SetSeverityNumber(plog.SeverityNumber(sp.sev))
	lr.SetSeverityText(sp.sevText)
	switch b := sp.body.(type) {
	case nil:
	case string:
		lr.Body().SetStr(b)
	default:
		require.NoError(t, lr.Body().FromRaw(b))
	}
	lr.SetTraceID(traceID(sp.trace))
	if sp.span != 0 {
		lr.SetSpanID(spanID(sp.span))
	}
	require.NoError(t, lr.Attributes().FromRaw(sp.attrs))
}

func timeBase() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC) }

// bodies returns the bodies of recs in order.
func bodies(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Body
	}
	return out
}
