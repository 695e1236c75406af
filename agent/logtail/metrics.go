package logtail

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	linesRead        prometheus.Counter
	records          prometheus.Counter
	bytesRead        prometheus.Counter
	filesWatched     prometheus.Gauge
	linesTruncated   prometheus.Counter
	recordsTruncated prometheus.Counter
	invalidUTF8      prometheus.Counter
	truncations      prometheus.Counter
	rotations        prometheus.Counter
	readErrors       prometheus.Counter
	emitFailures     prometheus.Counter
	checkpointErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	f := promauto.With(reg)
	counter := func(name, help string) prometheus.Counter {
		return f.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	return metrics{
		linesRead: counter("faultline_agent_log_lines_read_total", "Lines read from log files."),
		records:   counter("faultline_agent_log_records_total", "Log records handed to the exporter and accepted by it."),
		bytesRead: counter("faultline_agent_log_bytes_read_total", "Bytes read from log files, skipped parts of over-long lines included."),
		filesWatched: f.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_agent_log_files_watched", Help: "Log files open for tailing, rotated ones still being finished included.",
		}),
		linesTruncated:   counter("faultline_agent_log_lines_truncated_total", "Lines longer than logs.max-line-bytes, cut to it."),
		recordsTruncated: counter("faultline_agent_log_records_truncated_total", "Multi-line records cut at logs.max-record-lines or logs.max-record-bytes."),
		invalidUTF8:      counter("faultline_agent_log_invalid_utf8_total", "Records with invalid UTF-8 (binary data included), the bad bytes replaced by U+FFFD."),
		truncations:      counter("faultline_agent_log_truncations_total", "Files found shorter than what was read, or rewritten in place (copytruncate): read again from the start."),
		rotations:        counter("faultline_agent_log_rotations_total", "Paths found holding a different file than before (rotation by rename or re-creation)."),
		readErrors:       counter("faultline_agent_log_read_errors_total", "Log files that could not be opened, stat'ed or read (counted once per failure streak)."),
		emitFailures:     counter("faultline_agent_log_emit_failures_total", "Failed attempts to hand a batch to the exporter; the batch is retried."),
		checkpointErrors: counter("faultline_agent_log_checkpoint_errors_total", "Failed writes of the checkpoint file; retried before reading on."),
	}
}
