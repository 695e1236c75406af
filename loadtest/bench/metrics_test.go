package bench

import (
	"math"
	"strings"
	"testing"
)

// Shaped like client_golang's promhttp output for faultline's ingest metrics.
const metricsFixture = `# HELP faultline_ingest_queue_spans Spans waiting in the ingest queue to be stored.
# TYPE faultline_ingest_queue_spans gauge
faultline_ingest_queue_spans 0
# HELP faultline_spans_received_total Spans received over OTLP, before limits and queueing.
# TYPE faultline_spans_received_total counter
faultline_spans_received_total 1.2345678e+07
# HELP faultline_spans_refused_total Spans not stored, by reason.
# TYPE faultline_spans_refused_total counter
faultline_spans_refused_total{reason="queue_full"} 4096
faultline_spans_refused_total{reason="invalid_id"} 2
faultline_spans_refused_total{reason="store_error"} 0
# HELP faultline_spans_stored_total Spans written to the span store.
# TYPE faultline_spans_stored_total counter
faultline_spans_stored_total 12341580
# HELP faultline_spanstore_disk_bytes Size of the span store on disk.
# TYPE faultline_spanstore_disk_bytes gauge
faultline_spanstore_disk_bytes 7.40494848e+08
# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/api/v1/traces/{id}",le="0.005"} 180
http_request_duration_seconds_bucket{handler="/api/v1/traces/{id}",le="+Inf"} 200
http_request_duration_seconds_sum{handler="/api/v1/traces/{id}"} 0.75
odd_labels{path="C:\\data",quote="say \"hi\"",nl="a\nb",} 1 1700000000000
go_gc_duration_seconds{quantile="NaN"} NaN
process_max_fds +Inf
`

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader(metricsFixture))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want float64
	}{
		{MetricReceived, 12345678},
		{MetricStored, 12341580},
		{MetricRefused, 4098}, // summed over reasons
		{MetricDiskBytes, 740494848},
		{MetricQueue, 0},
		{"http_request_duration_seconds_bucket", 380},
	} {
		got, ok := m.Sum(tc.name)
		if !ok {
			t.Errorf("%s: absent", tc.name)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, ok := m.Sum("faultline_absent_total"); ok {
		t.Error("absent metric reported present")
	}
	if v := m.Value("faultline_absent_total"); v != 0 {
		t.Errorf("Value of absent metric = %v, want 0", v)
	}

	refused := m[MetricRefused]
	if len(refused) != 3 || refused[0].Labels["reason"] != "queue_full" || refused[0].Value != 4096 {
		t.Fatalf("refused series = %+v", refused)
	}
	odd := m["odd_labels"]
	if len(odd) != 1 {
		t.Fatalf("odd_labels = %+v", odd)
	}
	want := map[string]string{"path": `C:\data`, "quote": `say "hi"`, "nl": "a\nb"}
	for k, v := range want {
		if odd[0].Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, odd[0].Labels[k], v)
		}
	}
	if odd[0].Value != 1 {
		t.Errorf("odd_labels value = %v, want 1 (timestamp ignored)", odd[0].Value)
	}
	if v := m.Value("go_gc_duration_seconds"); !math.IsNaN(v) {
		t.Errorf("NaN sample = %v", v)
	}
	if v := m.Value("process_max_fds"); !math.IsInf(v, 1) {
		t.Errorf("+Inf sample = %v", v)
	}
}

func TestParseMetricsErrors(t *testing.T) {
	for _, bad := range []string{
		"novalue\n",
		"m{a=\"x\"\n",
		"m{a=x} 1\n",
		"m{a=\"x} 1\n",
		"m abc\n",
		"m 1 2 3\n",
	} {
		if _, err := ParseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseMetrics(%q): want error", bad)
		}
	}
}

func TestRefusedByReason(t *testing.T) {
	m0 := Metrics{MetricRefused: {{Name: MetricRefused, Labels: map[string]string{"reason": "queue_full"}, Value: 10}}}
	m1 := Metrics{MetricRefused: {
		{Name: MetricRefused, Labels: map[string]string{"reason": "queue_full"}, Value: 110},
		{Name: MetricRefused, Labels: map[string]string{"reason": "invalid_id"}, Value: 3},
	}}
	got := refusedByReason(MetricRefused, m0, m1)
	if len(got) != 2 || got["queue_full"] != 100 || got["invalid_id"] != 3 {
		t.Fatalf("refusedByReason = %v", got)
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add(metricsFixture)
	f.Add(`m{a="\` + "\n")
	f.Fuzz(func(_ *testing.T, s string) { _, _ = ParseMetrics(strings.NewReader(s)) })
}
