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
	}
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
		"Summary: 4/5 goals met — 3,400,000 spans stored at 109,677 spans/s, 8.00 µs CPU/span, 61.5 B/span on disk, peak RSS 612 MiB, trace-by-ID p99 4.50 ms, search p99 240.00 ms (not met or not measured: search).",
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want) {
			t.Errorf("table lacks %q\n%s", want, out)
		}
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.8: "1,234,568", -12345: "-12,345", 100000: "100,000"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
	if got := thousands(math.NaN()); got != "n/a" {
		t.Errorf("thousands(NaN) = %q", got)
	}
}
