package metricstore

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Defaults, also used by RegisterFlags.
const (
	DefaultRetention     = 15 * 24 * time.Hour
	DefaultQueryTimeout  = 2 * time.Minute
	DefaultMaxSamples    = 50_000_000
	DefaultLookbackDelta = 5 * time.Minute

	// OutOfOrderWindow is how far behind the newest sample of the head a sample may be and
	// still be accepted (late OTLP exports, agents flushing their disk buffer after an outage).
	OutOfOrderWindow = 10 * time.Minute
	// maxExemplars bounds the in-memory exemplar ring (OTLP exemplars carry trace IDs).
	maxExemplars = 100_000
)

// Config is the metrics TSDB's and the PromQL engine's configuration.
type Config struct {
	Retention     time.Duration `yaml:"retention"`      // how long blocks are kept
	MaxDiskBytes  int64         `yaml:"max_disk_bytes"` // TSDB MaxBytes; 0 = unlimited
	QueryTimeout  time.Duration `yaml:"query_timeout"`
	MaxSamples    int           `yaml:"max_samples"` // per query, in memory at once
	LookbackDelta time.Duration `yaml:"lookback_delta"`
	// OTLPHistogramsAsNHCB stores OTLP explicit-bucket histograms as native histograms with
	// custom buckets (one series per histogram) instead of classic _bucket/_sum/_count series.
	// Off by default: the classic form is what Prometheus does by default and what
	// histogram_quantile(…, rate(x_bucket[5m])) in existing dashboards expects.
	OTLPHistogramsAsNHCB bool `yaml:"otlp_histograms_as_nhcb"`
}

// RegisterFlags registers the metrics store's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.Retention, "metrics.retention", DefaultRetention, "How long metric samples are kept.")
	f.Int64Var(&c.MaxDiskBytes, "metrics.max-disk-bytes", 0, "Maximum bytes of metric blocks on disk (oldest blocks are deleted first); 0 = unlimited.")
	f.DurationVar(&c.QueryTimeout, "metrics.query-timeout", DefaultQueryTimeout, "Maximum time a PromQL query may take.")
	f.IntVar(&c.MaxSamples, "metrics.query-max-samples", DefaultMaxSamples, "Maximum number of samples a single PromQL query may load into memory.")
	f.DurationVar(&c.LookbackDelta, "metrics.lookback-delta", DefaultLookbackDelta, "How far back PromQL looks for a sample to evaluate an instant vector.")
	f.BoolVar(&c.OTLPHistogramsAsNHCB, "metrics.otlp-histograms-as-nhcb", false, "Store OTLP explicit-bucket histograms as native histograms with custom buckets instead of classic _bucket series.")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if c.Retention <= 0 {
		errs = append(errs, fmt.Errorf("metrics.retention must be positive, got %s", c.Retention))
	}
	if c.Retention > 0 && c.Retention < time.Hour {
		// TSDB blocks cover 2h; a retention under an hour would delete data still in the head's span.
		errs = append(errs, fmt.Errorf("metrics.retention must be at least 1h, got %s", c.Retention))
	}
	if c.MaxDiskBytes < 0 {
		errs = append(errs, fmt.Errorf("metrics.max-disk-bytes must not be negative, got %d", c.MaxDiskBytes))
	}
	if c.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("metrics.query-timeout must be positive, got %s", c.QueryTimeout))
	}
	if c.MaxSamples <= 0 {
		errs = append(errs, fmt.Errorf("metrics.query-max-samples must be positive, got %d", c.MaxSamples))
	}
	if c.LookbackDelta <= 0 {
		errs = append(errs, fmt.Errorf("metrics.lookback-delta must be positive, got %s", c.LookbackDelta))
	}
	return errors.Join(errs...)
}
