package servicegraph

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/faultline/faultline/internal/metricstore"
)

// hostKey is a (service.name, host.name) pair of a resource.
type hostKey struct{ service, host string }

// hostSeries is one faultline_service_host_info series.
type hostSeries struct {
	key hostKey

	// seen is set when a resource with this pair is consumed and cleared by the flush that
	// writes it. Guarded by Generator.mu.
	seen bool

	// Used by Flush only, under Generator.flushMu.
	out sampleSeries
}

// observeHost marks the pair (service, host) seen since the previous flush, remembering it
// unless maxSeries pairs are already remembered. Called under g.mu, once per resource.
func (g *Generator) observeHost(service, host string, st *batchStats) {
	k := hostKey{service: service, host: host}
	if h := g.hosts[k]; h != nil {
		h.seen = true
		return
	}
	if len(g.hosts) >= g.maxSeries {
		st.droppedHost++
		return
	}
	k.service, k.host = cloneString(service), cloneString(host)
	g.hosts[k] = &hostSeries{key: k, seen: true}
}

// takeSeenHosts returns the pairs seen since the previous flush and clears their mark. Pairs
// not seen for a whole flush interval are forgotten, so the bound applies to the pairs active
// in one interval rather than to every pair since the process started; a forgotten pair that
// comes back is created again. Called under g.mu.
func (g *Generator) takeSeenHosts(dst []*hostSeries) []*hostSeries {
	for k, h := range g.hosts {
		if !h.seen {
			delete(g.hosts, k)
			continue
		}
		h.seen = false
		dst = append(dst, h)
	}
	return dst
}

// buildOut makes the label set of h's series, once.
func (h *hostSeries) buildOut() {
	h.out.lset = labels.New(
		labels.Label{Name: model.MetricNameLabel, Value: metricstore.ServiceHostInfo},
		labels.Label{Name: metricstore.LabelHostName, Value: h.key.host},
		labels.Label{Name: metricstore.LabelService, Value: h.key.service},
	)
}

// appendHosts appends 1 at t for every pair of hosts; it returns how many samples app
// refused and the first refusal. Called under g.flushMu.
func appendHosts(app storage.Appender, hosts []*hostSeries, t int64) (failed int, firstErr error) {
	for _, h := range hosts {
		if h.out.lset.IsEmpty() {
			h.buildOut()
		}
		ref, err := app.Append(h.out.ref, h.out.lset, t, 1)
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = appendError(h.out.lset, err)
			}
			h.out.ref = 0
			continue
		}
		h.out.ref = ref
	}
	return failed, firstErr
}
