// Package servicegraph derives the live service graph and RED (rate, errors, duration) series
// from spans as the collector stores them, and appends them to the metrics TSDB.
//
// # Series
//
// The names and labels are metricstore's (internal/metricstore/names.go). Values are cumulative
// since the process started; each Flush appends every series' current value at one timestamp.
// Durations are classic histograms over metricstore.DurationBuckets (_bucket{le} including
// +Inf, _sum, _count). A series, once created, is written at every flush for the life of the
// process; at most 10,000 label sets are kept per metric family (the three families of a group
// share their label sets), beyond which new label sets are dropped and counted in
// faultline_servicegraph_dropped_series_total{group="service"|"edge"} (one per observation).
// The (service, host) series are bounded differently: see Hosts.
//
// # Service RED
//
// Every SERVER and CONSUMER span counts at once in faultline_service_*{service, operation,
// span_kind}: service is the resource's service.name ("unknown_service" if missing), operation
// the span name, span_kind "server" or "consumer"; status Error counts an error.
//
// # Edges
//
// A CLIENT/PRODUCER span of service A and a SERVER/CONSUMER span of service B whose parent span
// ID is the client's span ID, in the same trace, make one call A → B, counted in
// faultline_edge_*{caller="A", callee="B", callee_kind="service"} when the second of the two
// arrives, in whichever order and ConsumeTraces call. The edge's duration is the client span's;
// it is an error if either span has status Error. Paired calls are counted in
// faultline_servicegraph_edges_total.
//
// Each half waits at most Config.Wait, measured on the generator's clock from the moment it was
// consumed (not from span timestamps, which skew), in a pending set keyed by (trace ID, span ID)
// with an arrival-ordered list. Expiry happens as spans are consumed and at every flush. When
// MaxPending spans wait, the oldest expires early (faultline_servicegraph_evicted_total). At
// shutdown (Run's context done) everything still waiting expires before the last flush. Every
// expiry counts in faultline_servicegraph_expired_total{side}.
//
// A CLIENT/PRODUCER span that expires alone is an edge to a virtual node, named and kinded as
// DESIGN.md's "Identity of things" says (see Generator.resolveCallee for the exact precedence):
// peer.service; else db.name, else db.system; else server.address[:server.port] (older
// net.peer.name[:net.peer.port], http.host, url.full host as fallbacks); else messaging.system;
// else "unknown". Its kind is cache (db.system redis, memcached, valkey), database (any other
// db.system, or db.name), external (peer.service, an address, a URL or a messaging system but no
// database), or uninstrumented (nothing names it). One exception: if the name is a service
// that itself sent SERVER/CONSUMER spans within the last hour, the kind is uninstrumented,
// meaning "an instrumented service that sent nothing for this call: probably down" — the RCA
// engine reads an uninstrumented callee with its own service series as a down service.
//
// A SERVER/CONSUMER span whose parent never arrives (its caller is not instrumented, or its
// client span was lost) counts only in its service's RED series and in
// faultline_servicegraph_expired_total{side="server"}. A root SERVER span (no parent span ID)
// is an entry point: it does not wait at all and is not counted as expired. A second child of
// a parent that already has one waiting, and a duplicate delivery of a waiting client span,
// take no part in pairing.
//
// # Hosts
//
// Every resource with at least one span and a non-empty host.name marks the pair (service,
// host.name) seen, service being the same as in the RED series ("unknown_service" if missing).
// Each Flush appends faultline_service_host_info{service, host_name} = 1 for the pairs seen
// since the previous flush, and only those: presence over a window is
// last_over_time(faultline_service_host_info[window]), and a service that moved to another
// host stops being reported on the old one one flush later. Unlike the RED series, a pair not
// seen for a whole flush interval is forgotten, so the bound of 10,000 pairs applies to the
// pairs active in one interval; beyond it new pairs are dropped until the next flush and
// counted in faultline_servicegraph_dropped_series_total{group="host"} (one per resource). If
// the commit of a flush fails, its pairs stay marked for the next one.
//
// # Cost
//
// ConsumeTraces never touches the TSDB and takes the generator's lock once per resource; once
// the maps have grown it allocates nothing per span, and the host pair costs one map lookup per
// resource. Flush copies the values under the lock and appends outside it, reusing series
// references and label sets across flushes.
package servicegraph
