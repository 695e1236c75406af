package topology

import (
	"math"
	"slices"
)

// counterWindow accumulates the exact increase of one counter series over the window
// (from, to], in milliseconds, from the series' raw samples fed in time order.
//
// The increase is the sum of the differences between consecutive samples, starting from the
// last sample at or before from (the base). A drop is a counter reset (the writer restarted):
// the counter counted from 0 again, so the sample's whole value is added. A series with no
// base, i.e. whose first sample lies inside the window, was created inside it and is counted
// from 0, so its first sample's value is added too. Unlike PromQL's increase(), nothing is
// extrapolated to the window's edges: the result is exactly what the writer counted between
// the base sample and the window's last sample.
type counterWindow struct {
	from, to int64
	prev     float64 // the last value seen: the base before the window, 0 if none
	inc      float64
	seen     bool // a sample inside (from, to]
}

func (w *counterWindow) add(t int64, v float64) {
	switch {
	case t <= w.from:
		w.prev = v
	case t <= w.to:
		if v >= w.prev {
			w.inc += v - w.prev
		} else {
			w.inc += v
		}
		w.prev = v
		w.seen = true
	}
}

// bucket is one classic histogram bucket: the count of observations <= le.
type bucket struct {
	le    float64
	count float64
}

// red is the rate, errors and duration of a node or an edge over one window.
type red struct {
	requests float64
	errors   float64
	buckets  []bucket // by le, unordered until quantile sorts them
}

func (r *red) addBucket(le, count float64) {
	for i := range r.buckets {
		if r.buckets[i].le == le {
			r.buckets[i].count += count
			return
		}
	}
	r.buckets = append(r.buckets, bucket{le: le, count: count})
}

func (r *red) merge(o *red) {
	r.requests += o.requests
	r.errors += o.errors
	for _, b := range o.buckets {
		r.addBucket(b.le, b.count)
	}
}

func (r *red) errorRate() float64 {
	if r.requests <= 0 {
		return 0
	}
	return r.errors / r.requests
}

// quantileMs is the q-quantile of the durations in milliseconds, or 0 when there are none.
func (r *red) quantileMs(q float64) float64 {
	v := bucketQuantile(q, r.buckets)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v * 1000
}

// bucketQuantile is PromQL's histogram_quantile over classic buckets (promql/quantile.go):
// the bucket holding the q-th observation is found, and the value is interpolated linearly
// inside it, from 0 for the first bucket. An answer in the +Inf bucket is the highest finite
// bound. Buckets are sorted in place; non-monotonic counts are raised to monotonic as PromQL
// does. NaN when there is no +Inf bucket or no observation.
func bucketQuantile(q float64, buckets []bucket) float64 {
	if math.IsNaN(q) || q < 0 || q > 1 || len(buckets) < 2 {
		return math.NaN()
	}
	slices.SortFunc(buckets, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	if !math.IsInf(buckets[len(buckets)-1].le, 1) {
		return math.NaN()
	}
	for i := 1; i < len(buckets); i++ {
		if buckets[i].count < buckets[i-1].count {
			buckets[i].count = buckets[i-1].count
		}
	}
	observations := buckets[len(buckets)-1].count
	if observations <= 0 {
		return math.NaN()
	}
	rank := q * observations
	b := 0
	for b < len(buckets)-1 && buckets[b].count < rank {
		b++
	}
	switch {
	case b == len(buckets)-1:
		return buckets[len(buckets)-2].le
	case b == 0 && buckets[0].le <= 0:
		return buckets[0].le
	}
	var (
		start = 0.0
		end   = buckets[b].le
		count = buckets[b].count
	)
	if b > 0 {
		start = buckets[b-1].le
		count -= buckets[b-1].count
		rank -= buckets[b-1].count
	}
	if count <= 0 {
		return end
	}
	return start + (end-start)*(rank/count)
}
