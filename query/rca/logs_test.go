package rca

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/faultline/faultline/internal/logstore"
)

func TestRootCauseCarriesItsErrorLogs(t *testing.T) {
	w := newWorld(t, shop(), scenarioPerStep, during("cart", scenarioFault, 0, effect{errRate: 0.3}))
	w.runUntil(scenarioEnd)

	var cfg logstore.Config
	cfg.RegisterFlags(flag.NewFlagSet("logs", flag.ContinueOnError))
	logs, err := logstore.Open(cfg, filepath.Join(t.TempDir(), "logs"), false, discardLogger(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, logs.Close()) })

	ld := plog.NewLogs()
	add := func(service string, sev plog.SeverityNumber, at time.Time, body string, trace byte) {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(at))
		r.SetSeverityNumber(sev)
		r.Body().SetStr(body)
		r.SetTraceID(pcommon.TraceID{trace})
	}
	for i := range 5 {
		add("cart", plog.SeverityNumberError, at(scenarioFault+time.Duration(i)*time.Second),
			fmt.Sprintf("redis GET cart:%d failed after 3%d ms\n\tat cart.load", 1000+i, i), byte(i+1))
	}
	add("cart", plog.SeverityNumberError, at(scenarioFault+10*time.Second), "cart lock lost", 9)
	add("cart", plog.SeverityNumberInfo, at(scenarioFault+11*time.Second), "cart saved", 10)
	add("cart", plog.SeverityNumberError, at(scenarioFault-10*time.Minute), "long before the fault", 11)
	add("checkout", plog.SeverityNumberError, at(scenarioFault+time.Second), "cart call failed", 12)
	require.NoError(t, logs.Write(context.Background(), ld))

	e := w.engine(defaultConfig())
	e.SetLogs(logs)
	res, err := e.Analyze(context.Background(), at(scenarioFrom), at(scenarioEnd))
	require.NoError(t, err)
	rc := requireTop(t, res, "cart", KindError, "service")
	var got []Evidence
	for _, ev := range rc.Evidence {
		if ev.Type == "error_log" {
			got = append(got, ev)
		}
	}
	require.Len(t, got, 2, "two message shapes; the info line and the error long before are not evidence")
	require.Equal(t, 5, got[0].Count, "the redis failures differ only in numbers: one group, most frequent first")
	require.Equal(t, "redis GET cart:1000 failed after 30 ms", got[0].Message, "the earliest example, first line only")
	require.Equal(t, at(scenarioFault).UTC(), got[0].Since)
	require.Len(t, got[0].TraceIDs, 3)
	require.Equal(t, 1, got[1].Count)
	require.Equal(t, "cart lock lost", got[1].Message)
	for _, r := range res.RootCauses {
		if r.Service != "cart" {
			for _, ev := range r.Evidence {
				require.NotEqual(t, "error_log", ev.Type, "only a root cause's own logs are its evidence")
			}
		}
	}
}

func TestMessageShape(t *testing.T) {
	for in, want := range map[string]string{
		"user 42 not found":                   "user # not found",
		"trace 0af7651916cd43dd failed in 3s": "trace # failed in #s",
		"no digits":                           "no digits",
		"deadbeef alone":                      "deadbeef alone", // hex words without a digit stay
	} {
		require.Equal(t, want, messageShape(in), in)
	}
}
