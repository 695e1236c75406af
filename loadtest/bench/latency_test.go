package bench

import (
	"testing"
	"time"
)

func ms1(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	// 1..100 ms, shuffled: nearest rank gives p50 = 50 ms, p99 = 99 ms, p100 = 100 ms.
	var ds []time.Duration
	for i := range 100 {
		ds = append(ds, ms1((i*37)%100+1))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, ms1(50)}, {99, ms1(99)}, {100, ms1(100)}, {1, ms1(1)}, {0.1, ms1(1)}, {99.5, ms1(100)},
	} {
		if got := Percentile(ds, tc.p); got != tc.want {
			t.Errorf("Percentile(1..100, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if ds[0] != ms1(1) || ds[1] != ms1(38) {
		t.Error("Percentile reordered its input")
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("Percentile(nil) = %v", got)
	}
	// 50 searches: p99 is the 50th value, i.e. the maximum.
	fifty := make([]time.Duration, 50)
	for i := range fifty {
		fifty[i] = ms1(i + 1)
	}
	if got := Percentile(fifty, 99); got != ms1(50) {
		t.Errorf("p99 of 50 = %v, want 50ms", got)
	}
	if got := Percentile([]time.Duration{ms1(7)}, 50); got != ms1(7) {
		t.Errorf("p50 of one = %v", got)
	}
}

func TestSummarize(t *testing.T) {
	// 200 lookups: 198 at 2 ms, one at 15 ms, one at 40 ms. p99 is the 198th = 2 ms.
	ds := make([]time.Duration, 0, 200)
	for range 198 {
		ds = append(ds, ms1(2))
	}
	ds = append(ds, ms1(40), ms1(15))
	l := Summarize(ds, 3)
	want := Latency{N: 200, Errors: 3, P50: ms1(2), P99: ms1(2), Max: ms1(40)}
	if l != want {
		t.Fatalf("Summarize = %+v, want %+v", l, want)
	}
	if l := Summarize(nil, 5); l != (Latency{Errors: 5}) {
		t.Fatalf("Summarize(nil, 5) = %+v", l)
	}
}
