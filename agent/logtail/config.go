package logtail

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Where files found at the very first start (no checkpoint file yet) are read from.
const (
	StartAtBeginning = "beginning"
	StartAtEnd       = "end"
)

// Config is the log tailer's configuration.
type Config struct {
	// Include are the glob patterns (filepath.Match syntax, no "**") of the files to tail,
	// globbed again on every poll so new files are picked up.
	Include []string `yaml:"include"`
	// Exclude are glob patterns matched against the full path of an included file, or,
	// for a pattern without a path separator ("*.gz"), against its name.
	Exclude []string `yaml:"exclude"`
	// StartAt says where files found at the very first start, when there is no checkpoint
	// yet, are read from: "beginning" (nothing written before the agent started is lost) or
	// "end". Files found later, or on any start with a checkpoint, are read from the start.
	StartAt string `yaml:"start_at"`
	// PollInterval is how often the globs are expanded and the files read.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MultilineStart is a regexp matching the first line of a record; lines that do not match
	// are appended to the record before them. Empty: every line is a record.
	MultilineStart string `yaml:"multiline_start"`
	// MultilineFlush is how long a record that could still grow — a multi-line record, or a
	// last line without its newline yet — waits for more before it is emitted as it is.
	MultilineFlush time.Duration `yaml:"multiline_flush"`
	// MaxLineBytes cuts longer lines; the rest of such a line is skipped, never buffered.
	MaxLineBytes int `yaml:"max_line_bytes"`
	// MaxRecordBytes and MaxRecordLines cap a multi-line record; further lines of it are dropped.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	MaxRecordLines int `yaml:"max_record_lines"`
	// ParseJSON turns lines that are JSON objects into attributes and lifts the well-known
	// fields (message, time, level, trace and span IDs, service).
	ParseJSON bool `yaml:"parse_json"`
	// MaxBatchRecords and MaxBatchBytes bound one batch handed to emit.
	MaxBatchRecords int `yaml:"max_batch_records"`
	MaxBatchBytes   int `yaml:"max_batch_bytes"`
	// RotateWait is how long a file no glob finds any more (rotated to another name, or
	// deleted) is kept open after it stopped growing; it is read to its end meanwhile.
	RotateWait time.Duration `yaml:"rotate_wait"`
}

// RegisterFlags registers the log tailer's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Include, c.Exclude = nil, nil
	f.Var((*globList)(&c.Include), "logs.include", "Glob patterns of the log files to tail (comma-separated, or the flag repeated); re-globbed every poll. Empty: no log tailing.")
	f.Var((*globList)(&c.Exclude), "logs.exclude", "Glob patterns of files not to tail, matched against the full path, or against the file name for a pattern without '/' (e.g. *.gz); comma-separated, or the flag repeated.")
	f.StringVar(&c.StartAt, "logs.start-at", StartAtBeginning, "Where files found at the very first start (no checkpoint yet) are read from: beginning or end. Later files are always read from the start.")
	f.DurationVar(&c.PollInterval, "logs.poll-interval", time.Second, "How often log files are globbed and read; each poll's lines travel as one batch (one disk sync in the buffer and one in the checkpoint), so shorter costs CPU.")
	f.StringVar(&c.MultilineStart, "logs.multiline-start", "", "Regexp matching the first line of a multi-line record (e.g. '^\\S' or '^\\d{4}-\\d\\d-\\d\\d'); other lines are appended to the record before them. Empty: every line is a record.")
	f.DurationVar(&c.MultilineFlush, "logs.multiline-flush", time.Second, "How long a multi-line record, or a last line without its newline, waits for more before it is emitted.")
	f.IntVar(&c.MaxLineBytes, "logs.max-line-bytes", 64<<10, "Longer lines are cut to this many bytes; the rest of the line is skipped.")
	f.IntVar(&c.MaxRecordBytes, "logs.max-record-bytes", 256<<10, "A multi-line record is cut at this many bytes; its further lines are dropped.")
	f.IntVar(&c.MaxRecordLines, "logs.max-record-lines", 1000, "A multi-line record is cut at this many lines; its further lines are dropped.")
	f.BoolVar(&c.ParseJSON, "logs.parse-json", true, "Lines that are JSON objects become attributes, with message, time, level, trace_id, span_id and service lifted.")
	f.IntVar(&c.MaxBatchRecords, "logs.max-batch-records", 1000, "Most records in one batch handed to the exporter.")
	f.IntVar(&c.MaxBatchBytes, "logs.max-batch-bytes", 1<<20, "Most bytes of log lines in one batch handed to the exporter.")
	f.DurationVar(&c.RotateWait, "logs.rotate-wait", 30*time.Second, "How long a file that no glob finds any more (rotated away or deleted) is kept open and read after it stopped growing.")
}

// Validate reports invalid settings, naming them.
func (c *Config) Validate() error {
	var errs []error
	for _, g := range []struct {
		name     string
		patterns []string
	}{{"logs.include", c.Include}, {"logs.exclude", c.Exclude}} {
		for _, p := range g.patterns {
			if p == "" {
				errs = append(errs, fmt.Errorf("%s: empty glob pattern", g.name))
				continue
			}
			if _, err := filepath.Match(p, ""); err != nil {
				errs = append(errs, fmt.Errorf("%s: glob %q: %w", g.name, p, err))
			}
		}
	}
	if c.StartAt != StartAtBeginning && c.StartAt != StartAtEnd {
		errs = append(errs, fmt.Errorf("logs.start-at must be %q or %q, got %q", StartAtBeginning, StartAtEnd, c.StartAt))
	}
	if c.MultilineStart != "" {
		if _, err := regexp.Compile(c.MultilineStart); err != nil {
			errs = append(errs, fmt.Errorf("logs.multiline-start: %w", err))
		}
	}
	for _, d := range []struct {
		name string
		val  time.Duration
	}{
		{"logs.poll-interval", c.PollInterval},
		{"logs.multiline-flush", c.MultilineFlush},
	} {
		if d.val <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", d.name, d.val))
		}
	}
	if c.RotateWait < 0 {
		errs = append(errs, fmt.Errorf("logs.rotate-wait must not be negative, got %s", c.RotateWait))
	}
	for _, v := range []struct {
		name string
		val  int
	}{
		{"logs.max-line-bytes", c.MaxLineBytes},
		{"logs.max-record-bytes", c.MaxRecordBytes},
		{"logs.max-record-lines", c.MaxRecordLines},
		{"logs.max-batch-records", c.MaxBatchRecords},
		{"logs.max-batch-bytes", c.MaxBatchBytes},
	} {
		if v.val <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", v.name, v.val))
		}
	}
	// The read buffer holds a whole line, so the limit also bounds the tailer's memory.
	if c.MaxLineBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("logs.max-line-bytes must be at most 64 MiB, got %d", c.MaxLineBytes))
	}
	if c.MaxRecordBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("logs.max-record-bytes must be at most 64 MiB, got %d", c.MaxRecordBytes))
	}
	return errors.Join(errs...)
}

// globList is a flag.Value taking comma-separated globs, the flag possibly repeated.
type globList []string

func (g *globList) String() string {
	if g == nil {
		return ""
	}
	return strings.Join(*g, ",")
}

func (g *globList) Set(s string) error {
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*g = append(*g, p)
		}
	}
	return nil
}
