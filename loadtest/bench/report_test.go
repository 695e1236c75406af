package bench

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func sampleResult() *Result {
	return &Result{
		Senders: 4, Workers: 4, BatchSize: 512, TelemetrygenVersion: "v0.161.0", CPUs: 2,
		SendTime:         30*time.Second + 400*time.Millisecond,
		IngestWindow:     31 * time.Second,
		DiskSettleTime:   3 * time.Second,
		Received:         3_410_000,
		Stored:           3_400_000,
		Refused:          10_000,
		RefusedByReason:  map[string]float64{"queue_full": 10_000, "store_error": 0},
		CPUSeconds:       27.2,            // 8 µs per span; 0.8 cores over 31 s + 3 s
		SenderCPUSeconds: 30.4,            // 1 core over 30.4 s
		PeakRSS:          612 * (1 << 20), // MiB
		DiskBytesMetric:  3_400_000 * 61.5,
		DiskMetricExists: true,
		DiskBytesWalk:    3_400_000 * 64,
		DiskBytesSST:     3_400_000 * 50,
		DiskBytesWAL:     3_400_000 * 13.5,
		TracesFound:      100,
		TraceByID:        Latency{N: 200, P50: 1200 * time.Microsecond, P99: 4500 * time.Microsecond, Max: 9 * time.Millisecond},
		Search:           Latency{N: 49, Errors: 1, P50: 80 * time.Millisecond, P99: 240 * time.Millisecond, Max: 251 * time.Millisecond},
		UnderLoad: UnderLoad{
			Rate: 5, Elapsed: 30 * time.Second, SearchesWithData: 148,
			TraceByID: Latency{N: 148, P50: 2500 * time.Microsecond, P99: 31 * time.Millisecond, Max: 40 * time.Millisecond},
			Search:    Latency{N: 149, Errors: 1, P50: 12 * time.Millisecond, P99: 95 * time.Millisecond, Max: 120 * time.Millisecond},
		},
	}
}

// logsUnsupportedResult is a -signal=logs run against today's faultline.
func logsUnsupportedResult() *Result {
	return &Result{
		Generator: GeneratorTelemetrygen, Signal: SignalLogs, Senders: 2, Workers: 4, BatchSize: 2048, TelemetrygenVersion: "v0.161.0", CPUs: 2,
		SendTime: 150 * time.Millisecond, IngestWindow: 150 * time.Millisecond,
		CPUSeconds: 0.05, SenderCPUSeconds: 0.1, PeakRSS: 40 << 20, DiskBytesWalk: 2851,
		Unsupported: true,
		UnsupportedReason: "faultline exports no faultline_logs_received_total; its OTLP/gRPC receiver answered a one-log record export with " +
			"Unimplemented (unknown service opentelemetry.proto.collector.logs.v1.LogsService)",
		UnderLoad: UnderLoad{Rate: 5}, // ignored: no trace queries in a logs run
	}
}

// simResult is a -generator=sim run.
func simResult() *Result {
	r := sampleResult()
	r.Generator, r.Senders, r.Workers, r.BatchSize, r.TelemetrygenVersion = GeneratorSim, 0, 0, 0, ""
	r.SimTopology, r.SimRate, r.SimSeed, r.SimDuration, r.SimRequests, r.SimFailedEntries = "shop", 200, 1, 20*time.Second, 3998, 2
	r.SenderCPUSeconds = 15.2 // 0.5 cores over 30.4 s
	return r
}

func replayResult() *Result {
	r := sampleResult()
	r.Generator, r.Senders, r.Workers, r.BatchSize, r.TelemetrygenVersion, r.SpansTarget = GeneratorReplay, 8, 8, 2048, "", 4_000_000
	r.Retries = 12
	r.SenderCPUSeconds = 3.04 // 0.1 cores over 30.4 s
	return r
}

func TestWriteMarkdownReplay(t *testing.T) {
	var buf bytes.Buffer
	if err := replayResult().WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Load: replay generator (in-process; telemetrygen-shaped traces of 2 spans) over OTLP/gRPC from 8 goroutines (one request in flight each; batches of 2048), target 4,000,000 spans, 12 retries after RESOURCE_EXHAUSTED/UNAVAILABLE; 2 CPUs shared by the generator and faultline.",
		"| CPU use, cores: faultline until settled (replay generator while sending) | 0.80 (0.10) | context: 2 CPUs |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "telemetrygen v") {
		t.Errorf("replay table names a telemetrygen version:\n%s", out)
	}
}

func TestDerivedFigures(t *testing.T) {
	r := sampleResult()
	if got := r.SpansPerSecond(); math.Abs(got-3_400_000.0/31) > 1e-6 {
		t.Errorf("SpansPerSecond = %v", got)
	}
	if got := r.CPUMicrosPerSpan(); math.Abs(got-8) > 1e-9 {
		t.Errorf("CPUMicrosPerSpan = %v, want 8", got)
	}
	if got := r.CPUSecondsPerMillion(); math.Abs(got-8) > 1e-9 {
		t.Errorf("CPUSecondsPerMillion = %v, want 8", got)
	}
	if got := r.DiskBytesPerSpan(); math.Abs(got-61.5) > 1e-9 {
		t.Errorf("DiskBytesPerSpan = %v, want 61.5 (from the metric)", got)
	}
	r.DiskMetricExists = false
	if got := r.DiskBytesPerSpan(); math.Abs(got-64) > 1e-9 {
		t.Errorf("DiskBytesPerSpan without the metric = %v, want 64 (data dir)", got)
	}
}

func TestGoals(t *testing.T) {
	r := sampleResult()
	got := map[string]Goal{}
	for _, g := range r.Goals() {
		got[g.Name] = g
	}
	// 109,677 spans/s, 8 µs, 61.5 B, 4.5 ms: met. Search p99 240 ms: missed.
	for name, met := range map[string]bool{"throughput": true, "cpu": true, "disk": true, "trace-by-id": true, "search": false} {
		if !got[name].Known || got[name].Met != met {
			t.Errorf("goal %s = %+v, want known and met=%v", name, got[name], met)
		}
	}
	empty := &Result{}
	for _, g := range empty.Goals() {
		if g.Known {
			t.Errorf("goal %s known for an empty run", g.Name)
		}
	}
}

func TestWriteMarkdownGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *Result
	}{
		{"table.golden", sampleResult()},
		{"table_replay.golden", replayResult()},
		{"table_logs_unsupported.golden", logsUnsupportedResult()},
		{"table_sim.golden", simResult()},
		{"table_no_queries_under_load.golden", func() *Result { r := sampleResult(); r.UnderLoad = UnderLoad{}; return r }()},
		{"table_nothing_measured.golden", &Result{
			Senders: 1, Workers: 2, BatchSize: 512, TelemetrygenVersion: "v0.161.0", CPUs: 2, SpansTarget: 10_000_000,
			Search: Latency{Errors: 50}, Warnings: []string{"the search for trace IDs returned no traces; trace-by-ID not measured"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.r.WriteMarkdown(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path) //nolint:gosec // a golden file under testdata
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("table differs from %s (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, buf.String(), want)
			}
		})
	}
}

// The table's values, independent of the golden file, so a bad -update cannot hide a bug.
func TestWriteMarkdownValues(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleResult().WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"| metric | value | goal |",
		"| spans stored (received / refused) | 3,400,000 (3,410,000 / 10,000) | refused queue_full: 10,000 |",
		"| ingest throughput, spans/s stored | 109,677 | ≥ 100,000 — met |",
		"| faultline CPU, µs per span | 8.00 | < 10 — met |",
		"| ingest window, s (senders ran; store settled after) | 31.0 (30.4; +3.0) |  |",
		"| CPU use, cores: faultline until settled (telemetrygen while sending) | 0.80 (1.00) | context: 2 CPUs |",
		"| faultline peak RSS (VmHWM), MiB | 612 |",
		"| disk, bytes per stored span (`faultline_spanstore_disk_bytes`) | 61.5 | < 80 — met |",
		"| disk, bytes per stored span (data dir file sizes) | 64.0 | cross-check |",
		"| … of which sorted tables (*.sst) / write-ahead log (*.log) | 50.0 / 13.5 | WAL is bounded, tables grow |",
		"| trace by ID, p50 / p99 / max ms (200 lookups) | 1.20 / 4.50 / 9.00 | p99 < 20 — met |",
		"| service + time search, p50 / p99 / max ms (50 searches) | 80.00 / 240.00 / 251.00 (1 failed) | p99 < 200 — **missed** |",
		"| trace by ID under load, p50 / p99 / max ms (148 lookups, ≤ 5/s while sending) | 2.50 / 31.00 / 40.00 | context (goal above: p99 < 20 after ingest) |",
		"| search under load, p50 / p99 / max ms (150 searches, ≤ 5/s while sending; 148 returned traces) | 12.00 / 95.00 / 120.00 (1 failed) | context (goal above: p99 < 200 after ingest) |",
		"Summary: 4/5 goals met — 3,400,000 spans stored at 109,677 spans/s, 8.00 µs CPU/span, 61.5 B/span on disk, peak RSS 612 MiB, trace-by-ID p99 4.50 ms, search p99 240.00 ms (under load: 31.00 / 95.00 ms) (not met or not measured: search).",
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want) {
			t.Errorf("table lacks %q\n%s", want, out)
		}
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.8: "1,234,568", -12345: "-12,345", 100000: "100,000"} {
		if got := Thousands(v); got != want {
			t.Errorf("Thousands(%v) = %q, want %q", v, got, want)
		}
	}
	if got := Thousands(math.NaN()); got != "n/a" {
		t.Errorf("Thousands(NaN) = %q", got)
	}
}

func TestWriteMarkdownLogsUnsupported(t *testing.T) {
	r := logsUnsupportedResult()
	var buf bytes.Buffer
	if err := r.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Load: telemetrygen v0.161.0 logs over OTLP/gRPC from 2 processes (4 workers, unthrottled; batches of 2048), timed run;",
		"**Not supported yet:** this faultline does not ingest logs, so nothing was stored: faultline exports no faultline_logs_received_total; its OTLP/gRPC receiver answered a one-log record export with Unimplemented (unknown service opentelemetry.proto.collector.logs.v1.LogsService).",
		"| log records stored (received / refused) | 0 (0 / 0) | **not supported yet** (see above) |",
		"| ingest throughput, log records/s stored | 0 |  |",
		"| faultline CPU, µs per log record | n/a |  |",
		"| disk, bytes per stored log record (data dir file sizes) | n/a |  |",
		"| trace queries | not timed: a logs run stores no traces |  |",
		"Summary: logs not supported yet — 0 log records stored (faultline exports no faultline_logs_received_total;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"spans", "goals met", "— not measured", "under load", "faultline_spanstore_disk_bytes"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("logs table mentions %q:\n%s", unwanted, out)
		}
	}
	if len(r.Goals()) != 0 {
		t.Errorf("a logs run has goals %+v; the targets are for traces", r.Goals())
	}

	// Once faultline ingests metrics, the same run is measured per metric point.
	m := &Result{
		Generator: GeneratorTelemetrygen, Signal: SignalMetrics, Senders: 1, Workers: 1, CPUs: 2,
		IngestWindow: 10 * time.Second, Received: 500_000, Stored: 500_000, CPUSeconds: 2, DiskBytesWalk: 10_000_000,
	}
	if got, want := m.Summary(), "Summary: 500,000 metric points stored at 50,000 metric points/s, 4.00 µs CPU/metric point, 20.0 B/metric point in the data dir, peak RSS 0 MiB (no goals set for metrics yet)."; got != want {
		t.Errorf("Summary = %q\nwant      %q", got, want)
	}
}

func TestWriteMarkdownSim(t *testing.T) {
	var buf bytes.Buffer
	if err := simResult().WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Load: simulator (in-process: the shop topology's HTTP/gRPC services on 127.0.0.1, traced with the OpenTelemetry Go SDK, exporting over OTLP/gRPC), 200 entry requests/s for 20s, seed 1, no fault: 3,998 entry requests sent, 2 failed; 2 CPUs shared by the simulator and faultline.",
		"| CPU use, cores: faultline until settled (simulator while sending) | 0.80 (0.50) | context: 2 CPUs |",
		"| trace by ID under load, p50 / p99 / max ms (148 lookups, ≤ 5/s while sending) |",
		"| ingest throughput, spans/s stored | 109,677 | ≥ 100,000 — n/a: the simulator offers a fixed load |",
		"Summary: 3/4 goals met — ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "telemetrygen") {
		t.Errorf("sim table mentions telemetrygen:\n%s", out)
	}
}

func TestWriteMarkdownUnderLoadWithoutData(t *testing.T) {
	r := sampleResult()
	r.UnderLoad = UnderLoad{Rate: 5, Search: Latency{N: 20, P50: time.Millisecond, P99: 2 * time.Millisecond, Max: 2 * time.Millisecond}}
	var buf bytes.Buffer
	if err := r.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| trace by ID under load, p50 / p99 / max ms (0 lookups, ≤ 5/s while sending) | n/a (no search returned a trace while sending) |",
		"| search under load, p50 / p99 / max ms (20 searches, ≤ 5/s while sending; 0 returned traces) | 1.00 / 2.00 / 2.00 |",
		"(under load: n/a / 2.00 ms)",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q\n%s", want, buf.String())
		}
	}
}
