package collector

import (
	"errors"
	"flag"
	"fmt"
	"net"
)

// Config is the OTLP ingest configuration: listeners, limits and the write queue.
type Config struct {
	GRPCAddr    string `yaml:"grpc_addr"`
	HTTPAddr    string `yaml:"http_addr"`
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	AuthToken   string `yaml:"auth_token"`

	Limits    Limits         `yaml:"limits"`
	Queue     QueueConfig    `yaml:"queue"`
	LogsQueue LogQueueConfig `yaml:"logs_queue"`
}

// Limits bound what one request may carry. Requests over MaxRequestMiB or MaxSpansPerRequest
// are refused; attributes and events over their limits are dropped and strings cut, each
// counted, so a noisy client cannot blow up the store.
type Limits struct {
	MaxRequestMiB           int `yaml:"max_request_mib"`
	MaxSpansPerRequest      int `yaml:"max_spans_per_request"`
	MaxAttributesPerSpan    int `yaml:"max_attributes_per_span"`
	MaxEventsPerSpan        int `yaml:"max_events_per_span"`
	MaxAttributeValueLength int `yaml:"max_attribute_value_length"`

	MaxLogRecordsPerRequest   int `yaml:"max_log_records_per_request"`
	MaxAttributesPerLogRecord int `yaml:"max_attributes_per_log_record"`
	MaxLogBodyBytes           int `yaml:"max_log_body_bytes"`
}

// QueueConfig sizes the bounded queue between the receivers and the span store.
type QueueConfig struct {
	MaxSpans      int `yaml:"max_spans"`
	Writers       int `yaml:"writers"`
	MaxBatchSpans int `yaml:"max_batch_spans"`
}

func (c QueueConfig) size() queueSize {
	return queueSize{MaxItems: c.MaxSpans, Writers: c.Writers, MaxBatchItems: c.MaxBatchSpans}
}

// LogQueueConfig sizes the bounded queue between the receivers and the log store.
type LogQueueConfig struct {
	MaxRecords      int `yaml:"max_records"`
	Writers         int `yaml:"writers"`
	MaxBatchRecords int `yaml:"max_batch_records"`
}

func (c LogQueueConfig) size() queueSize {
	return queueSize{MaxItems: c.MaxRecords, Writers: c.Writers, MaxBatchItems: c.MaxBatchRecords}
}

// RegisterFlags registers the ingest flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.GRPCAddr, "otlp.grpc.addr", ":4317", "Address of the OTLP/gRPC receiver; empty disables it.")
	f.StringVar(&c.HTTPAddr, "otlp.http.addr", ":4318", "Address of the OTLP/HTTP receiver (/v1/traces, /v1/metrics, /v1/logs; protobuf and JSON); empty disables it.")
	f.StringVar(&c.TLSCertFile, "otlp.tls-cert-file", "", "PEM certificate: the OTLP receivers take TLS only (with -otlp.tls-key-file).")
	f.StringVar(&c.TLSKeyFile, "otlp.tls-key-file", "", "PEM private key for -otlp.tls-cert-file.")
	f.StringVar(&c.AuthToken, "otlp.auth-token", "", "If set, OTLP requests must carry 'Authorization: Bearer TOKEN'.")
	f.IntVar(&c.Limits.MaxRequestMiB, "otlp.max-request-mib", 16, "Largest OTLP request accepted, in MiB (decompressed for HTTP); larger ones are refused.")
	f.IntVar(&c.Limits.MaxSpansPerRequest, "otlp.max-spans-per-request", 50000, "Requests with more spans are refused with InvalidArgument / HTTP 400.")
	f.IntVar(&c.Limits.MaxAttributesPerSpan, "otlp.max-attributes-per-span", 128, "Attributes beyond this per span (and per resource) are dropped and counted.")
	f.IntVar(&c.Limits.MaxEventsPerSpan, "otlp.max-events-per-span", 128, "Events beyond this per span are dropped and counted.")
	f.IntVar(&c.Limits.MaxAttributeValueLength, "otlp.max-attribute-value-length", 4096, "String attribute values are cut to this many bytes (at a UTF-8 boundary) and counted.")
	f.IntVar(&c.Limits.MaxLogRecordsPerRequest, "otlp.max-log-records-per-request", 50000, "Log requests with more records are refused with InvalidArgument / HTTP 400.")
	f.IntVar(&c.Limits.MaxAttributesPerLogRecord, "otlp.max-attributes-per-log-record", 128, "Attributes beyond this per log record (and per resource) are dropped and counted.")
	f.IntVar(&c.Limits.MaxLogBodyBytes, "otlp.max-log-body-bytes", 65536, "Log record bodies are cut to this many bytes (at a UTF-8 boundary) and counted; attribute values follow otlp.max-attribute-value-length.")
	f.IntVar(&c.Queue.MaxSpans, "ingest.queue.max-spans", 200000, "Spans waiting to be stored; when full, clients are told to back off (RESOURCE_EXHAUSTED / HTTP 429).")
	f.IntVar(&c.Queue.Writers, "ingest.queue.writers", 2, "Goroutines writing queued spans to the store; each write is one synced batch.")
	f.IntVar(&c.Queue.MaxBatchSpans, "ingest.queue.max-batch-spans", 20000, "Most spans one store write groups together.")
	f.IntVar(&c.LogsQueue.MaxRecords, "ingest.logs-queue.max-records", 200000, "Log records waiting to be stored; when full, clients are told to back off (RESOURCE_EXHAUSTED / HTTP 429).")
	f.IntVar(&c.LogsQueue.Writers, "ingest.logs-queue.writers", 2, "Goroutines writing queued log records to the log store; each write is one synced batch.")
	f.IntVar(&c.LogsQueue.MaxBatchRecords, "ingest.logs-queue.max-batch-records", 20000, "Most log records one store write groups together.")
}

// Validate checks the ingest settings.
func (c *Config) Validate() error {
	if c.GRPCAddr == "" && c.HTTPAddr == "" {
		return errors.New("otlp.grpc.addr and otlp.http.addr are both empty: nothing would receive spans")
	}
	for name, addr := range map[string]string{"otlp.grpc.addr": c.GRPCAddr, "otlp.http.addr": c.HTTPAddr} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: %w", name, addr, err)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("otlp.tls-cert-file and otlp.tls-key-file must be set together")
	}
	for _, v := range []struct {
		name string
		val  int
	}{
		{"otlp.max-request-mib", c.Limits.MaxRequestMiB},
		{"otlp.max-spans-per-request", c.Limits.MaxSpansPerRequest},
		{"otlp.max-attributes-per-span", c.Limits.MaxAttributesPerSpan},
		{"otlp.max-events-per-span", c.Limits.MaxEventsPerSpan},
		{"otlp.max-attribute-value-length", c.Limits.MaxAttributeValueLength},
		{"ingest.queue.max-spans", c.Queue.MaxSpans},
		{"ingest.queue.writers", c.Queue.Writers},
		{"ingest.queue.max-batch-spans", c.Queue.MaxBatchSpans},
		{"otlp.max-log-records-per-request", c.Limits.MaxLogRecordsPerRequest},
		{"otlp.max-attributes-per-log-record", c.Limits.MaxAttributesPerLogRecord},
		{"otlp.max-log-body-bytes", c.Limits.MaxLogBodyBytes},
		{"ingest.logs-queue.max-records", c.LogsQueue.MaxRecords},
		{"ingest.logs-queue.writers", c.LogsQueue.Writers},
		{"ingest.logs-queue.max-batch-records", c.LogsQueue.MaxBatchRecords},
	} {
		if v.val <= 0 {
			return fmt.Errorf("%s must be positive, got %d", v.name, v.val)
		}
	}
	if c.Limits.MaxRequestMiB > 1024 {
		return fmt.Errorf("otlp.max-request-mib must be at most 1024, got %d", c.Limits.MaxRequestMiB)
	}
	return nil
}
