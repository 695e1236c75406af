package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p <= 100) of ds by the nearest-rank method:
// the smallest value with at least p% of the values at or below it. It is 0 for no values.
// ds is not modified.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return percentileSorted(sorted, p)
}

func percentileSorted(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// Latency summarises the timings of one kind of query.
type Latency struct {
	N      int // requests answered with 200
	Errors int // requests that failed or answered with another status
	P50    time.Duration
	P99    time.Duration
	Max    time.Duration
}

// Summarize computes a Latency from the timings of successful requests and an error count.
func Summarize(ds []time.Duration, errors int) Latency {
	l := Latency{N: len(ds), Errors: errors}
	if len(ds) == 0 {
		return l
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	l.P50 = percentileSorted(sorted, 50)
	l.P99 = percentileSorted(sorted, 99)
	l.Max = sorted[len(sorted)-1]
	return l
}
