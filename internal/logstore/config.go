package logstore

import (
	"errors"
	"flag"
	"time"
)

// Config is the log store's configuration.
type Config struct {
	// Retention is how long log records are kept, measured from their time.
	Retention time.Duration `yaml:"retention"`
	// MaxDiskBytes caps the store's size on disk; the oldest records are deleted first to
	// stay under it. 0 means unlimited.
	MaxDiskBytes int64 `yaml:"max_disk_bytes"`
	// RetentionInterval is how often retention runs.
	RetentionInterval time.Duration `yaml:"retention_interval"`
}

// RegisterFlags registers the log store's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.Retention, "logstore.retention", 7*24*time.Hour,
		"How long log records are kept, measured from their time.")
	f.Int64Var(&c.MaxDiskBytes, "logstore.max-disk-bytes", 0,
		"Maximum size of the log store on disk in bytes; the oldest records are deleted first to stay under it. 0 means unlimited.")
	f.DurationVar(&c.RetentionInterval, "logstore.retention-interval", time.Minute,
		"How often log retention (age and size) runs.")
}

// Validate reports invalid settings, naming them.
func (c *Config) Validate() error {
	var errs []error
	if c.Retention <= 0 {
		errs = append(errs, errors.New("logstore.retention must be positive"))
	}
	if c.MaxDiskBytes < 0 {
		errs = append(errs, errors.New("logstore.max_disk_bytes must not be negative (0 means unlimited)"))
	}
	if c.RetentionInterval <= 0 {
		errs = append(errs, errors.New("logstore.retention_interval must be positive"))
	}
	return errors.Join(errs...)
}
