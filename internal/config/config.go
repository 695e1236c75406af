// Package config loads a program's configuration the same way for every Faultline binary:
// defaults (set by RegisterFlags), then a strict YAML file, then command-line flags.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Config is a program's root configuration.
type Config interface {
	// RegisterFlags registers every setting as a flag and sets its default.
	RegisterFlags(f *flag.FlagSet)
	// Validate reports invalid values, naming the setting.
	Validate() error
}

// Options are the settings of the loader itself, not of the program.
type Options struct {
	File   string // -config.file
	Verify bool   // -config.verify: check the configuration and exit
}

// ErrHelp is returned when -h or -help was asked for; usage has been printed.
var ErrHelp = flag.ErrHelp

// Load parses args into cfg. Unknown flags, unknown YAML keys and invalid values are errors
// that name the offending setting. usage receives the flag listing on -help and errors.
func Load(name string, args []string, cfg Config, usage io.Writer) (Options, error) {
	var opts Options
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&opts.File, "config.file", "", "YAML configuration file; flags given on the command line override it.")
	fs.BoolVar(&opts.Verify, "config.verify", false, "Check the configuration (file and flags) and exit.")
	cfg.RegisterFlags(fs)

	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q: settings are flags (-name=value)", fs.Arg(0))
	}
	if opts.File != "" {
		if err := LoadYAML(opts.File, cfg); err != nil {
			return opts, err
		}
		// Flags win over the file: parse them again on top of what the file set.
		if err := fs.Parse(args); err != nil {
			return opts, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return opts, fmt.Errorf("invalid configuration: %w", err)
	}
	return opts, nil
}

// LoadYAML decodes the file into cfg, rejecting keys cfg does not have.
func LoadYAML(path string, cfg any) error {
	data, err := os.ReadFile(path) //nolint:gosec // reading the file the operator named is the point
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	if err := DecodeYAML(data, cfg); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// DecodeYAML strictly decodes data into cfg. An empty document leaves cfg unchanged.
func DecodeYAML(data []byte, cfg any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
