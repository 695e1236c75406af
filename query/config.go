package query

import (
	"errors"
	"flag"
	"time"
)

// Config is the trace query API's configuration.
type Config struct {
	// DefaultLookback is the window searched when a request gives no start or end.
	DefaultLookback time.Duration `yaml:"default_lookback"`
	// MaxLimit is the largest number of traces one search may ask for.
	MaxLimit int `yaml:"max_limit"`
}

// RegisterFlags registers the query API's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.DefaultLookback, "query.default-lookback", time.Hour, "Window searched for traces when a request gives no start or end: the last this long before end (or now).")
	f.IntVar(&c.MaxLimit, "query.max-limit", 1000, "Largest number of traces one search may return; larger limits are refused with 400 (clamped on the Jaeger API).")
}

// Validate checks the query API's settings.
func (c *Config) Validate() error {
	if c.DefaultLookback <= 0 {
		return errors.New("query.default-lookback must be positive")
	}
	if c.MaxLimit < 1 {
		return errors.New("query.max-limit must be at least 1")
	}
	return nil
}

// defaultLimit is the number of traces a search returns when it gives no limit.
func (c *Config) defaultLimit() int {
	return min(defaultSearchLimit, c.MaxLimit)
}
