// Package dashboards holds Faultline's Grafana dashboards (JSON, schemaVersion 39, data source
// variable ${DS_PROMETHEUS}), importable into Grafana as they are:
//
//   - faultline-red.json: rate, errors and duration per service and operation.
//   - faultline-service-graph.json: caller → callee edges (tables and time series).
//   - faultline-self.json: Faultline's own metrics (ingest, queues, storage, queries, alerting).
//   - faultline-hosts.json: host metrics from faultline-agent (CPU, load, memory, swap,
//     filesystems, disks, network, top processes), picked by host_name. The agent's own
//     faultline_agent_* metrics are on its /metrics, not in Faultline's store, so not here.
//
// The Go code here is only the test that checks them: valid JSON, PromQL that parses and names
// only metrics Faultline has (its own, the span-derived ones, the agent's host metrics and the
// default recording rules).
package dashboards
