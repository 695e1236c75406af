// Package dashboards holds Faultline's Grafana dashboards (JSON, schemaVersion 39, data source
// variable ${DS_PROMETHEUS}), importable into Grafana as they are:
//
//   - faultline-red.json: rate, errors and duration per service and operation.
//   - faultline-service-graph.json: caller → callee edges (tables and time series).
//   - faultline-self.json: Faultline's own metrics (ingest, queues, storage, queries, alerting).
//
// The Go code here is only the test that checks them.
package dashboards
