package buffer

import (
	"errors"
	"flag"
	"fmt"
)

// Config sizes the on-disk buffer.
type Config struct {
	// MaxBytes bounds the entries kept (their payloads plus a 5-byte header each); when an
	// Append would exceed it the oldest entries are dropped, counted by kind.
	MaxBytes int64 `yaml:"max_bytes"`
	// SegmentBytes is the size at which the log starts a new segment file. The newest segment
	// and up to two read segments are held in memory, so it also bounds the buffer's memory.
	SegmentBytes int64 `yaml:"segment_bytes"`
}

// RegisterFlags registers the buffer's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.Int64Var(&c.MaxBytes, "buffer.max-bytes", 512<<20,
		"Most bytes of data kept on disk while the collector is away; beyond it the oldest entries are dropped and counted.")
	f.Int64Var(&c.SegmentBytes, "buffer.segment-bytes", 1<<20,
		"Size of one buffer segment file. Up to three segments are held in memory; acknowledged data is removed from disk a segment's worth at a time.")
}

// Validate reports invalid settings, naming them.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("buffer.max_bytes must be positive, got %d", c.MaxBytes))
	}
	switch {
	case c.SegmentBytes <= 0:
		errs = append(errs, fmt.Errorf("buffer.segment_bytes must be positive, got %d", c.SegmentBytes))
	case c.SegmentBytes > 1<<30:
		errs = append(errs, fmt.Errorf("buffer.segment_bytes must be at most 1 GiB, got %d", c.SegmentBytes))
	case c.MaxBytes > 0 && c.SegmentBytes > c.MaxBytes:
		errs = append(errs, errors.New("buffer.segment_bytes must not exceed buffer.max_bytes"))
	}
	return errors.Join(errs...)
}
