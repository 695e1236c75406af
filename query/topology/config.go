package topology

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Config sets the default window and the thresholds that decide a node's health.
type Config struct {
	// DefaultWindow is the window used when a request gives no start: the last this long
	// before end (or now).
	DefaultWindow time.Duration `yaml:"default_window"`
	// Baseline is how far before the window's start a node's own normal is measured. Zero
	// turns off the comparisons with the baseline; only the absolute thresholds apply.
	Baseline time.Duration `yaml:"baseline"`
	// FailingErrorRate is the error rate at or above which a node is failing.
	FailingErrorRate float64 `yaml:"failing_error_rate"`
	// DegradedErrorRate is the error rate at or above which a node is degraded.
	DegradedErrorRate float64 `yaml:"degraded_error_rate"`
	// LatencyFactor is how many times its baseline p99 a node's p99 must reach to be degraded.
	LatencyFactor float64 `yaml:"latency_factor"`
}

// RegisterFlags registers the topology flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.DefaultWindow, "topology.default-window", 15*time.Minute, "Window of the service topology when a request gives no start: the last this long before end (or now).")
	f.DurationVar(&c.Baseline, "topology.baseline", time.Hour, "How far before the window each node's baseline error rate and p99 are measured; 0 compares with absolute thresholds only.")
	f.Float64Var(&c.FailingErrorRate, "topology.failing-error-rate", 0.2, "Error rate (0-1) at or above which a node is failing.")
	f.Float64Var(&c.DegradedErrorRate, "topology.degraded-error-rate", 0.02, "Error rate (0-1) at or above which a node is degraded.")
	f.Float64Var(&c.LatencyFactor, "topology.latency-factor", 3, "A node whose p99 reaches this many times its baseline p99 is degraded.")
}

// Validate checks the topology settings.
func (c *Config) Validate() error {
	var errs []error
	if c.DefaultWindow <= 0 {
		errs = append(errs, errors.New("topology.default-window must be positive"))
	}
	if c.Baseline < 0 {
		errs = append(errs, errors.New("topology.baseline must not be negative"))
	}
	if !(c.FailingErrorRate > 0 && c.FailingErrorRate <= 1) {
		errs = append(errs, fmt.Errorf("topology.failing-error-rate must be in (0, 1], got %v", c.FailingErrorRate))
	}
	if !(c.DegradedErrorRate > 0 && c.DegradedErrorRate <= c.FailingErrorRate) {
		errs = append(errs, fmt.Errorf("topology.degraded-error-rate must be in (0, failing-error-rate], got %v", c.DegradedErrorRate))
	}
	if !(c.LatencyFactor >= 1) {
		errs = append(errs, fmt.Errorf("topology.latency-factor must be at least 1, got %v", c.LatencyFactor))
	}
	return errors.Join(errs...)
}
