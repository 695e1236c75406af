package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/faultline/faultline/agent"
	"github.com/faultline/faultline/collector"
	"github.com/faultline/faultline/collector/servicegraph"
	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/config"
	"github.com/faultline/faultline/internal/logging"
	"github.com/faultline/faultline/internal/logstore"
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
	Target  string         `yaml:"target"`
	DataDir string         `yaml:"data_dir"`
	Log     logging.Config `yaml:"log"`

	Server    server.Config       `yaml:"server"`
	OTLP      collector.Config    `yaml:"otlp"`
	SpanStore spanstore.Config    `yaml:"spanstore"`
	LogStore  logstore.Config     `yaml:"logstore"`
	Metrics   metricstore.Config  `yaml:"metrics"`
	Graph     servicegraph.Config `yaml:"servicegraph"`
	Alerting  alerting.Config     `yaml:"alerting"`
	Query     query.Config        `yaml:"query"`
	Topology  topology.Config     `yaml:"topology"`
	RCA       rca.Config          `yaml:"rca"`
	Agent     LocalAgentConfig    `yaml:"agent"`
}

// LocalAgentConfig is the host agent that target all runs in-process. Its settings are the
// faultline-agent ones (minus the collector, buffer and listener, which it does not need),
// with the flags prefixed "agent.".
type LocalAgentConfig struct {
	Enabled      bool `yaml:"enabled"`
	agent.Config `yaml:",inline"`
}

// RegisterFlags registers -agent.enabled and the pipeline's flags under "agent.".
func (c *LocalAgentConfig) RegisterFlags(f *flag.FlagSet) {
	f.BoolVar(&c.Enabled, "agent.enabled", true, "Target all also runs a host agent in-process (host metrics; log files with -agent.logs.include).")
	inner := flag.NewFlagSet("agent", flag.ContinueOnError)
	c.Config.RegisterFlags(inner)
	inner.VisitAll(func(fl *flag.Flag) { f.Var(fl.Value, "agent."+fl.Name, fl.Usage) })
}

// Validate checks the pipeline only when it runs.
func (c *LocalAgentConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// RegisterFlags registers every setting as a flag and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Target, "target", All, "Modules to run: "+strings.Join(Targets, ", ")+".")
	f.StringVar(&c.DataDir, "data.dir", "./data", "Directory of the embedded stores; created if missing.")
	c.Log.RegisterFlags(f)
	c.Server.RegisterFlags(f)
	c.OTLP.RegisterFlags(f)
	c.SpanStore.RegisterFlags(f)
	c.LogStore.RegisterFlags(f)
	c.Metrics.RegisterFlags(f)
	c.Graph.RegisterFlags(f)
	c.Alerting.RegisterFlags(f)
	c.Query.RegisterFlags(f)
	c.Topology.RegisterFlags(f)
	c.RCA.RegisterFlags(f)
	c.Agent.RegisterFlags(f)
}

// Validate checks every section.
func (c *Config) Validate() error {
	if !slices.Contains(Targets, c.Target) {
		return fmt.Errorf("target %q: want one of %s", c.Target, strings.Join(Targets, ", "))
	}
	if c.DataDir == "" {
		return errors.New("data.dir must not be empty")
	}
	return errors.Join(c.Log.Validate(), c.Server.Validate(), c.OTLP.Validate(), c.SpanStore.Validate(), c.LogStore.Validate(), c.Metrics.Validate(), c.Graph.Validate(), c.Alerting.Validate(), c.Query.Validate(), c.Topology.Validate(), c.RCA.Validate(), c.Agent.Validate())
}

var errHelp = config.ErrHelp

func loadConfig(args []string, cfg *Config) (config.Options, error) {
	return config.Load("faultline", args, cfg, os.Stderr)
}
