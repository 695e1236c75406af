package servicegraph

import "github.com/prometheus/client_golang/prometheus"

// metrics are the generator's own metrics, on /metrics.
type metrics struct {
	pending                      prometheus.Gauge
	expiredClient, expiredServer prometheus.Counter
	evictedClient, evictedServer prometheus.Counter
	edges                        prometheus.Counter
	series                       prometheus.Gauge
	flushFailures                prometheus.Counter
	droppedService, droppedEdge  prometheus.Counter
	droppedHost                  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	expired := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_servicegraph_expired_total",
		Help: "Spans that waited for their pair in vain (Wait elapsed, MaxPending reached or shutdown): side=client became an edge to a virtual node, side=server counted only in its service's RED series.",
	}, []string{"side"})
	evicted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_servicegraph_evicted_total",
		Help: "Spans expired before Wait elapsed because max_pending unpaired spans were held (also counted in faultline_servicegraph_expired_total).",
	}, []string{"side"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_servicegraph_dropped_series_total",
		Help: "Observations not recorded because their label set would exceed the series limit per metric family (group=service|edge), or (service, host) pairs not recorded because 10,000 were active (group=host).",
	}, []string{"group"})
	m := &metrics{
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_servicegraph_pending_spans",
			Help: "Unpaired CLIENT/PRODUCER and SERVER/CONSUMER spans waiting for the other half of their call.",
		}),
		expiredClient: expired.WithLabelValues("client"),
		expiredServer: expired.WithLabelValues("server"),
		evictedClient: evicted.WithLabelValues("client"),
		evictedServer: evicted.WithLabelValues("server"),
		edges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_servicegraph_edges_total",
			Help: "Calls counted as an edge between two instrumented services, from a paired client and server span.",
		}),
		series: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_servicegraph_series",
			Help: "Prometheus series the generator writes at each flush (every bucket, sum and count counted; the service-host pairs of the last flush).",
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_servicegraph_flush_failures_total",
			Help: "Flushes to the metrics TSDB that failed to commit or had samples refused.",
		}),
		droppedService: dropped.WithLabelValues("service"),
		droppedEdge:    dropped.WithLabelValues("edge"),
		droppedHost:    dropped.WithLabelValues("host"),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.pending, expired, evicted, dropped, m.edges, m.series, m.flushFailures} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// publish adds a batch's counts to the metrics.
func (g *Generator) publish(st *batchStats) {
	m := g.metrics
	add := func(c prometheus.Counter, n int) {
		if n > 0 {
			c.Add(float64(n))
		}
	}
	add(m.edges, st.paired)
	add(m.expiredClient, st.expiredClient)
	add(m.expiredServer, st.expiredServer)
	add(m.evictedClient, st.evictedClient)
	add(m.evictedServer, st.evictedServer)
	add(m.droppedService, st.droppedService)
	add(m.droppedEdge, st.droppedEdge)
	add(m.droppedHost, st.droppedHost)
	m.pending.Set(float64(st.pending))
	m.series.Set(float64(st.series*samplesPerSeries() + st.hostSeries))
}
