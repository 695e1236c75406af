package servicegraph

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Defaults of Config, also set by RegisterFlags.
const (
	DefaultWait          = 10 * time.Second
	DefaultMaxPending    = 100_000
	DefaultFlushInterval = 15 * time.Second
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid servicegraph config")

// Config of the service-graph and RED generator.
type Config struct {
	// Wait is how long a CLIENT span waits for its SERVER child (and vice versa) before it
	// counts alone.
	Wait time.Duration `yaml:"wait"`
	// MaxPending bounds the unpaired spans held; beyond it the oldest expire early (counted in
	// faultline_servicegraph_evicted_total and faultline_servicegraph_expired_total).
	MaxPending int `yaml:"max_pending"`
	// FlushInterval is how often the cumulative series are appended to the TSDB.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// RegisterFlags registers the flags of the generator on f and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.Wait, "servicegraph.wait", DefaultWait,
		"How long a CLIENT span waits for its SERVER child (and vice versa) before it counts alone.")
	f.IntVar(&c.MaxPending, "servicegraph.max-pending", DefaultMaxPending,
		"Unpaired spans held while they wait for their pair; beyond it the oldest expire early.")
	f.DurationVar(&c.FlushInterval, "servicegraph.flush-interval", DefaultFlushInterval,
		"How often the cumulative service and edge series are appended to the metrics TSDB.")
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	switch {
	case c.Wait <= 0:
		return fmt.Errorf("%w: wait must be positive, got %s", ErrInvalidConfig, c.Wait)
	case c.MaxPending <= 0:
		return fmt.Errorf("%w: max_pending must be positive, got %d", ErrInvalidConfig, c.MaxPending)
	case c.MaxPending > 1<<30:
		return fmt.Errorf("%w: max_pending must be at most %d, got %d", ErrInvalidConfig, 1<<30, c.MaxPending)
	case c.FlushInterval <= 0:
		return fmt.Errorf("%w: flush_interval must be positive, got %s", ErrInvalidConfig, c.FlushInterval)
	}
	return nil
}
