package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/faultline/faultline/collector"
	"github.com/faultline/faultline/collector/servicegraph"
	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/config"
	"github.com/faultline/faultline/internal/metricstore"
	"github.com/faultline/faultline/internal/server"
	"github.com/faultline/faultline/internal/spanstore"
	"github.com/faultline/faultline/query"
	"github.com/faultline/faultline/query/rca"
	"github.com/faultline/faultline/query/topology"
)

// Config is the whole configuration of the faultline binary. Each section belongs to the
// package that uses it; YAML keys are snake_case, and every key also has a flag.
type Config struct {
	Target  string    `yaml:"target"`
	DataDir string    `yaml:"data_dir"`
	Log     LogConfig `yaml:"log"`

	Server    server.Config       `yaml:"server"`
	OTLP      collector.Config    `yaml:"otlp"`
	SpanStore spanstore.Config    `yaml:"spanstore"`
	Metrics   metricstore.Config  `yaml:"metrics"`
	Graph     servicegraph.Config `yaml:"servicegraph"`
	Alerting  alerting.Config     `yaml:"alerting"`
	Query     query.Config        `yaml:"query"`
	Topology  topology.Config     `yaml:"topology"`
	RCA       rca.Config          `yaml:"rca"`
}

// LogConfig chooses the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// RegisterFlags registers every setting as a flag and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Target, "target", All, "Modules to run: "+strings.Join(Targets, ", ")+".")
	f.StringVar(&c.DataDir, "data.dir", "./data", "Directory of the embedded stores; created if missing.")
	f.StringVar(&c.Log.Level, "log.level", "info", "Log level: debug, info, warn, error.")
	f.StringVar(&c.Log.Format, "log.format", "logfmt", "Log format: logfmt or json.")
	c.Server.RegisterFlags(f)
	c.OTLP.RegisterFlags(f)
	c.SpanStore.RegisterFlags(f)
	c.Metrics.RegisterFlags(f)
	c.Graph.RegisterFlags(f)
	c.Alerting.RegisterFlags(f)
	c.Query.RegisterFlags(f)
	c.Topology.RegisterFlags(f)
	c.RCA.RegisterFlags(f)
}

// Validate checks every section.
func (c *Config) Validate() error {
	if !slices.Contains(Targets, c.Target) {
		return fmt.Errorf("target %q: want one of %s", c.Target, strings.Join(Targets, ", "))
	}
	if c.DataDir == "" {
		return errors.New("data.dir must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "logfmt", "json":
	default:
		return fmt.Errorf("log.format %q: want logfmt or json", c.Log.Format)
	}
	return errors.Join(c.Server.Validate(), c.OTLP.Validate(), c.SpanStore.Validate(), c.Metrics.Validate(), c.Graph.Validate(), c.Alerting.Validate(), c.Query.Validate(), c.Topology.Validate(), c.RCA.Validate())
}

var errHelp = config.ErrHelp

func loadConfig(args []string, cfg *Config) (config.Options, error) {
	return config.Load("faultline", args, cfg, os.Stderr)
}
