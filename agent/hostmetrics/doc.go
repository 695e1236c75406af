// Package hostmetrics collects the host's CPU, load, memory and swap, filesystem, disk,
// network and process metrics as OTLP, named as the OpenTelemetry Collector's hostmetrics
// receiver names them (system.cpu.utilization, system.filesystem.usage, ...), so that
// dashboards and rules written for that receiver work unchanged.
//
// One collector per file, each registered by name in the file's init() (node_exporter's
// habit), each switchable with -collector.<name>, and each timed and counted on the agent's
// own /metrics. A Scraper runs the enabled ones in turn and returns one ResourceMetrics with
// the host's resource attributes (see Resource) and one ScopeMetrics. README.md lists the
// metrics, their units, types and attributes, the flags, and what a scrape costs.
//
// Collectors read what is cheap to read: gopsutil for memory, swap, load, mounts, disk and
// interface counters; /proc/stat, /proc/<pid>/stat and /proc/net/tcp directly where
// gopsutil would read several files per item or walk every process's file descriptors.
package hostmetrics
