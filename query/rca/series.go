package rca

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/faultline/faultline/internal/metricstore"
)

// cell is what one node or edge did in one time bucket: counter increases.
type cell struct {
	req, err       float64
	durSum, durCnt float64 // seconds, observations
}

func (c *cell) add(o cell) {
	c.req += o.req
	c.err += o.err
	c.durSum += o.durSum
	c.durCnt += o.durCnt
}

func (c cell) errRate() float64 {
	if c.req <= 0 {
		return 0
	}
	return min(1, c.err/c.req)
}

// meanMs is the mean duration in milliseconds, NaN without observations.
func (c cell) meanMs() float64 {
	if c.durCnt <= 0 {
		return math.NaN()
	}
	return c.durSum / c.durCnt * 1000
}

// edgeKey is a call from caller to callee.
type edgeKey struct{ caller, callee string }

func (k edgeKey) String() string { return k.caller + " -> " + k.callee }

// grid is the RED series of every node and edge cut into buckets of equal width, from
// t0 up to the window's end. Buckets before windowFrom are history only.
type grid struct {
	t0         int64 // ms, start of bucket 0
	step       int64 // ms
	n          int   // buckets
	windowFrom int   // first bucket inside the analysed window
	services   map[string][]cell
	edges      map[edgeKey][]cell
	calleeKind map[string]string // callee name -> its node kind, from the edge series
	// known are the services that sent spans of their own (SERVER/CONSUMER series) at any
	// time in the grid: a callee among them that is silent is down, not uninstrumented.
	known map[string]bool
}

func (g *grid) bucketTime(i int) time.Time { return time.UnixMilli(g.t0 + int64(i)*g.step) }

// bucketOf is the bucket of a sample at t (ms); samples at a bucket's end belong to it, as a
// counter written at t counts what happened before t.
func (g *grid) bucketOf(t int64) int {
	i := int((t - g.t0 - 1) / g.step)
	if t <= g.t0 {
		return -1
	}
	return min(i, g.n-1)
}

// redSeries are the span-derived series the grid reads, with the field of cell each adds to.
var redSeries = []struct {
	name  string
	edge  bool
	field func(*cell) *float64
}{
	{metricstore.ServiceRequests, false, func(c *cell) *float64 { return &c.req }},
	{metricstore.ServiceErrors, false, func(c *cell) *float64 { return &c.err }},
	{metricstore.ServiceDuration + "_sum", false, func(c *cell) *float64 { return &c.durSum }},
	{metricstore.ServiceDuration + "_count", false, func(c *cell) *float64 { return &c.durCnt }},
	{metricstore.EdgeRequests, true, func(c *cell) *float64 { return &c.req }},
	{metricstore.EdgeErrors, true, func(c *cell) *float64 { return &c.err }},
	{metricstore.EdgeDuration + "_sum", true, func(c *cell) *float64 { return &c.durSum }},
	{metricstore.EdgeDuration + "_count", true, func(c *cell) *float64 { return &c.durCnt }},
}

// readGrid reads the RED series from history before start to end in buckets of step, one
// streaming pass per series. A counter's increase between two samples lands in the bucket
// of the later one; a drop is a reset (the whole new value counts); the first sample of a
// series counts from 0 when the series was born after the grid began (a service that
// appeared), and is only a base otherwise.
func readGrid(ctx context.Context, q storage.Queryable, start, end time.Time, history, step time.Duration) (*grid, error) {
	stepMs := step.Milliseconds()
	t0 := start.Add(-history).UnixMilli()
	t0 -= t0 % stepMs
	to := end.UnixMilli()
	n := int((to - t0 + stepMs - 1) / stepMs)
	g := &grid{
		t0: t0, step: stepMs, n: n,
		windowFrom: int((start.UnixMilli() - t0) / stepMs),
		services:   map[string][]cell{},
		edges:      map[edgeKey][]cell{},
		calleeKind: map[string]string{},
		known:      map[string]bool{},
	}
	// A series' first sample inside the grid is a base unless the series was born after the
	// grid began; samples up to a few flushes before t0 tell which.
	mint := t0 - 4*stepMs
	querier, err := q.Querier(mint, to)
	if err != nil {
		return nil, fmt.Errorf("open querier: %w", err)
	}
	defer func() { _ = querier.Close() }()
	hints := &storage.SelectHints{Start: mint, End: to}
	var iter chunkenc.Iterator
	read := 0
	for _, rs := range redSeries {
		set := querier.Select(ctx, false, hints, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, rs.name))
		for set.Next() {
			if read++; read%256 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			s := set.At()
			cells := g.cellsFor(rs.edge, s.Labels())
			if cells == nil {
				continue
			}
			prev, seen := 0.0, false
			iter = s.Iterator(iter)
			for vt := iter.Next(); vt != chunkenc.ValNone; vt = iter.Next() {
				if vt != chunkenc.ValFloat {
					continue
				}
				t, v := iter.At()
				if math.IsNaN(v) || value.IsStaleNaN(v) {
					continue
				}
				inc := v - prev
				switch {
				case !seen && t <= t0:
					inc = 0 // a base before the grid
				case !seen && t-t0 <= 2*stepMs:
					inc = 0 // too close to the start to tell birth from a base
				case v < prev:
					inc = v // reset
				}
				prev, seen = v, true
				if b := g.bucketOf(t); b >= 0 && inc > 0 {
					*rs.field(&cells[b]) += inc
				}
			}
			if err := iter.Err(); err != nil {
				return nil, fmt.Errorf("read %s: %w", rs.name, err)
			}
		}
		if err := set.Err(); err != nil {
			return nil, fmt.Errorf("select %s: %w", rs.name, err)
		}
	}
	return g, nil
}

// cellsFor returns the buckets a series adds to: its service's (SERVER and CONSUMER spans
// only: a service's own work) or its edge's; nil for a series to skip.
func (g *grid) cellsFor(edge bool, lset labels.Labels) []cell {
	if edge {
		k := edgeKey{caller: lset.Get(metricstore.LabelCaller), callee: lset.Get(metricstore.LabelCallee)}
		if k.caller == "" || k.callee == "" {
			return nil
		}
		if kind := lset.Get(metricstore.LabelCalleeKind); kind != "" && g.calleeKind[k.callee] != metricstore.KindService {
			g.calleeKind[k.callee] = kind
		}
		c := g.edges[k]
		if c == nil {
			c = make([]cell, g.n)
			g.edges[k] = c
		}
		return c
	}
	svc := lset.Get(metricstore.LabelService)
	if svc == "" {
		return nil
	}
	g.known[svc] = true
	c := g.services[svc]
	if c == nil {
		c = make([]cell, g.n)
		g.services[svc] = c
	}
	return c
}
