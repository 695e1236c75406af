package agentbench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/bench"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func sampleResult() *Result {
	return &Result{
		Rate: 1000, Format: FormatText, LinesPerWrite: 1, Interval: 10 * time.Second, Warmup: 10 * time.Second,
		Written: 70_000, Bytes: 8_526_000, Delivered: 69_990, DeliveredKnown: true, Drain: 1500 * time.Millisecond,
		WindowWritten: 60_000, WindowDelivered: 59_940,
		Agent:               Usage{CPUSeconds: 0.372, Elapsed: 60 * time.Second, RSSAvg: 19 << 20, RSSPeak: 22 << 20, Samples: 61},
		Faultline:           Usage{CPUSeconds: 3.6, Elapsed: 60 * time.Second, RSSAvg: 150 << 20, RSSPeak: 160 << 20, Samples: 61},
		NodeExporter:        &Usage{CPUSeconds: 0.18, Elapsed: 60 * time.Second, RSSAvg: 12 << 20, RSSPeak: 14 << 20, Samples: 61},
		NodeExporterPath:    DefaultNodeExporter,
		NodeExporterScrapes: Scrapes{OK: 7, Bytes: 7 * 150 * 1024},
	}
}

func TestReport(t *testing.T) {
	missing := sampleResult()
	missing.NodeExporter, missing.NodeExporterScrapes = nil, Scrapes{}
	missing.DeliveredKnown, missing.Delivered, missing.WindowDelivered = false, 0, 0
	missing.Agent = Usage{CPUSeconds: 0.9, Elapsed: 60 * time.Second, RSSAvg: 40 << 20, RSSPeak: 45 << 20, Samples: 61}
	missing.Warnings = []string{"faultline-agent: killed: not stopped 30s after SIGTERM (faultline-agent did not stop within 30s of SIGTERM)"}

	for _, tc := range []struct {
		name    string
		r       *Result
		summary string
	}{
		{
			name:    "with-node-exporter",
			r:       sampleResult(),
			summary: "agent_cpu_pct=0.62 agent_rss_peak_mib=22.0 node_exporter_cpu_pct=0.30 node_exporter_rss_peak_mib=14.0 delivered=69990/70000",
		},
		{
			name:    "agent-alone",
			r:       missing,
			summary: "agent_cpu_pct=1.50 agent_rss_peak_mib=45.0 node_exporter_cpu_pct=n/a node_exporter_rss_peak_mib=n/a delivered=n/a/70000",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.summary, tc.r.Summary())
			var buf bytes.Buffer
			require.NoError(t, tc.r.WriteMarkdown(&buf))
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o750))
				require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), buf.String(), "report differs from %s (go test -update to accept)", path)
		})
	}
}

func TestGoals(t *testing.T) {
	r := sampleResult()
	assert.True(t, r.CPUGoalMet())
	assert.True(t, r.RSSGoalMet())
	r.Agent.CPUSeconds = 0.6 // exactly 1% of a core over 60 s is not under 1%
	assert.False(t, r.CPUGoalMet())
	r.Agent.RSSPeak = GoalRSSBytes
	assert.False(t, r.RSSGoalMet())
	r.Agent.RSSPeak = 39 << 20 // 40.9 MB
	assert.False(t, r.RSSGoalMet(), "40 MB is 40,000,000 bytes")
}

func TestRates(t *testing.T) {
	r := sampleResult()
	assert.InDelta(t, 1000.0, r.WrittenPerSecond(), 1e-9)
	assert.InDelta(t, 999.0, r.DeliveredPerSecond(), 1e-9)
	r.DeliveredKnown = false
	assert.True(t, r.DeliveredPerSecond() != r.DeliveredPerSecond(), "NaN when faultline does not count stored logs")
	assert.Equal(t, "1,234,568", bench.Thousands(1234567.8))
	assert.Equal(t, "-1,000", bench.Thousands(-1000))
	assert.Equal(t, "n/a", bench.Fixed(r.DeliveredPerSecond(), 1))
}
