package rca

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Config holds the detection thresholds and the incident evaluation settings.
type Config struct {
	// Step is the width of the time buckets anomalies are judged in; at least the service
	// graph's flush interval, so that every bucket holds a sample.
	Step time.Duration `yaml:"step"`
	// Baseline is how much history before a window makes up each node's normal.
	Baseline time.Duration `yaml:"baseline"`
	// DefaultWindow is the window of GET /api/v1/rca without start.
	DefaultWindow time.Duration `yaml:"default_window"`
	// MinRequests is the fewest requests in a bucket for its rates to be judged.
	MinRequests int `yaml:"min_requests"`
	// MinErrors is the fewest errors in a bucket for an error anomaly.
	MinErrors int `yaml:"min_errors"`
	// ErrorRateDelta is how far above its baseline error rate a bucket must be.
	ErrorRateDelta float64 `yaml:"error_rate_delta"`
	// LatencyFactor and LatencyMinDelta: a bucket's mean duration must be this many times
	// its baseline and this much longer.
	LatencyFactor   float64       `yaml:"latency_factor"`
	LatencyMinDelta time.Duration `yaml:"latency_min_delta"`
	// TrafficFactor is how many times its usual calls per request a caller must send to be
	// flagged as amplifying (a retry storm).
	TrafficFactor float64 `yaml:"traffic_factor"`
	// MaxTraces bounds the traces read per analysis.
	MaxTraces int `yaml:"max_traces"`

	// EvaluationInterval is how often incidents are evaluated over the last
	// EvaluationWindow; 0 turns continuous evaluation (and so incidents) off.
	EvaluationInterval time.Duration `yaml:"evaluation_interval"`
	EvaluationWindow   time.Duration `yaml:"evaluation_window"`
	// ResolveAfter closes an incident whose root cause has not been seen for this long.
	ResolveAfter time.Duration `yaml:"resolve_after"`
	// IncidentRetention is how long closed incidents are kept.
	IncidentRetention time.Duration `yaml:"incident_retention"`
}

// RegisterFlags registers the rca flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.Step, "rca.step", 15*time.Second, "Width of the time buckets anomalies are judged in (at least -servicegraph.flush-interval).")
	f.DurationVar(&c.Baseline, "rca.baseline", time.Hour, "History before a window that makes up each service's normal.")
	f.DurationVar(&c.DefaultWindow, "rca.default-window", 15*time.Minute, "Window of GET /api/v1/rca when start is not given.")
	f.IntVar(&c.MinRequests, "rca.min-requests", 5, "Fewest requests in a bucket for its error rate and latency to be judged.")
	f.IntVar(&c.MinErrors, "rca.min-errors", 3, "Fewest errors in a bucket for an error anomaly.")
	f.Float64Var(&c.ErrorRateDelta, "rca.error-rate-delta", 0.05, "How far (0-1) above its baseline a bucket's error rate must be to be anomalous.")
	f.Float64Var(&c.LatencyFactor, "rca.latency-factor", 1.5, "How many times its baseline a bucket's mean duration must be to be anomalous.")
	f.DurationVar(&c.LatencyMinDelta, "rca.latency-min-delta", 20*time.Millisecond, "How much longer than its baseline a bucket's mean duration must be to be anomalous.")
	f.Float64Var(&c.TrafficFactor, "rca.traffic-factor", 2.5, "How many times its usual calls per request a caller must send to be flagged as amplifying.")
	f.IntVar(&c.MaxTraces, "rca.max-traces", 300, "Most traces read per analysis.")
	f.DurationVar(&c.EvaluationInterval, "rca.evaluation-interval", 15*time.Second, "How often incidents are evaluated; 0 turns incidents off.")
	f.DurationVar(&c.EvaluationWindow, "rca.evaluation-window", time.Minute, "Window each incident evaluation looks at: short, so that an incident follows what is wrong now (the baseline still reaches back -rca.baseline).")
	f.DurationVar(&c.ResolveAfter, "rca.resolve-after", 2*time.Minute, "An incident ends when its root cause has not been seen for this long.")
	f.DurationVar(&c.IncidentRetention, "rca.incident-retention", 7*24*time.Hour, "How long ended incidents are kept.")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("rca.%s must be positive, got %s", name, d))
		}
	}
	positive("step", c.Step)
	positive("default-window", c.DefaultWindow)
	positive("latency-min-delta", c.LatencyMinDelta)
	positive("resolve-after", c.ResolveAfter)
	positive("incident-retention", c.IncidentRetention)
	if c.Baseline < 0 {
		errs = append(errs, errors.New("rca.baseline must not be negative"))
	}
	if c.MinRequests < 1 {
		errs = append(errs, fmt.Errorf("rca.min-requests must be at least 1, got %d", c.MinRequests))
	}
	if c.MinErrors < 1 {
		errs = append(errs, fmt.Errorf("rca.min-errors must be at least 1, got %d", c.MinErrors))
	}
	if !(c.ErrorRateDelta > 0 && c.ErrorRateDelta <= 1) {
		errs = append(errs, fmt.Errorf("rca.error-rate-delta must be in (0, 1], got %v", c.ErrorRateDelta))
	}
	if !(c.LatencyFactor > 1) {
		errs = append(errs, fmt.Errorf("rca.latency-factor must be above 1, got %v", c.LatencyFactor))
	}
	if !(c.TrafficFactor > 1) {
		errs = append(errs, fmt.Errorf("rca.traffic-factor must be above 1, got %v", c.TrafficFactor))
	}
	if c.MaxTraces < 1 {
		errs = append(errs, fmt.Errorf("rca.max-traces must be at least 1, got %d", c.MaxTraces))
	}
	if c.EvaluationInterval < 0 {
		errs = append(errs, errors.New("rca.evaluation-interval must not be negative"))
	}
	if c.EvaluationInterval > 0 {
		positive("evaluation-window", c.EvaluationWindow)
	}
	return errors.Join(errs...)
}
