// Package rca is the root-cause accuracy harness: it runs a suite of fault scenarios through
// the simulator (loadtest/sim) against a running Faultline, asks GET /api/v1/rca about each
// fault window and scores the answers with the RCAEval benchmark's measures (AC@1, AC@3,
// Avg@5), plus false alarms on fault-free scenarios and time to detection. It also asks
// GET /api/v1/incidents about each run: an incident during a fault-free scenario is a false
// incident, a fault reported as more than one incident is split.
//
// Against one Faultline (-faultline.url) the scenarios run one after another. With
// -faultline.bin the harness starts Faultline processes itself, one per worker, and
// -parallel=N runs N scenarios at once (Scheduler), each worker's scenarios against its own
// process, each topology on its own workers. A cpu scenario burns CPU for the whole machine
// and would distort the others, so cpu scenarios run after all the others, one at a time.
// The report keeps the suite's order.
package rca

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/faultline/faultline/loadtest/sim"
)

// Lookback is how far before the fault start the RCA query window begins, so the engine sees
// a healthy baseline. Suites must start their faults at least this far into each run, or the
// window would hold the previous scenario's traffic.
const Lookback = time.Minute

// ErrBadSuite marks a suite file that does not parse or holds an invalid scenario.
var ErrBadSuite = errors.New("bad suite")

// Suite is a parsed, validated suite file with its defaults applied to every scenario.
type Suite struct {
	Path      string         `json:"path"`
	Defaults  Defaults       `json:"defaults"`
	Scenarios []sim.Scenario `json:"scenarios"`
}

// Defaults fill what a scenario leaves unset (zero).
type Defaults struct {
	Rate          float64       `json:"rate,omitempty"`
	Duration      time.Duration `json:"duration,omitempty"`
	FaultStart    time.Duration `json:"fault_start,omitempty"`
	FaultDuration time.Duration `json:"fault_duration,omitempty"`
	FaultShare    float64       `json:"fault_share,omitempty"`
}

// Duration is a YAML duration: Go-style ("90s", "1m30s") or a bare number of seconds.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a string such as \"60s\" or a number of seconds", n.Line)
	}
	var v time.Duration
	switch n.Tag {
	case "!!int", "!!float":
		var secs float64
		if err := n.Decode(&secs); err != nil {
			return fmt.Errorf("line %d: bad duration %q: %w", n.Line, n.Value, err)
		}
		if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 1e6 {
			return fmt.Errorf("line %d: bad duration %q", n.Line, n.Value)
		}
		v = time.Duration(secs * float64(time.Second))
	default:
		var err error
		if v, err = time.ParseDuration(n.Value); err != nil {
			return fmt.Errorf("line %d: bad duration %q (want Go-style such as \"60s\" or seconds)", n.Line, n.Value)
		}
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// The file's shape. Zero means "not set" throughout, so a default applies.
type suiteFile struct {
	Defaults  defaultsFile   `yaml:"defaults"`
	Scenarios []scenarioFile `yaml:"scenarios"`
}

type defaultsFile struct {
	Rate     float64           `yaml:"rate"`
	Duration Duration          `yaml:"duration"`
	Fault    faultDefaultsFile `yaml:"fault"`
}

type faultDefaultsFile struct {
	Start    Duration `yaml:"start"`
	Duration Duration `yaml:"duration"`
	Share    float64  `yaml:"share"`
}

type scenarioFile struct {
	Name     string    `yaml:"name"`
	Topology string    `yaml:"topology"`
	Fault    faultFile `yaml:"fault"`
	Seed     int64     `yaml:"seed"`
	Rate     float64   `yaml:"rate"`
	Duration Duration  `yaml:"duration"`
}

type faultFile struct {
	Kind     string   `yaml:"kind"`
	Target   string   `yaml:"target"`
	Start    Duration `yaml:"start"`
	Duration Duration `yaml:"duration"`
	Share    float64  `yaml:"share"`
	Latency  Duration `yaml:"latency"`
}

// LoadSuite reads, strictly parses (unknown keys are errors) and validates a suite file.
func LoadSuite(path string) (Suite, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the suite file
	if err != nil {
		return Suite{}, fmt.Errorf("read suite: %w", err)
	}
	return ParseSuite(path, b)
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// ParseSuite parses and validates a suite file's contents; path only names it in errors.
func ParseSuite(path string, b []byte) (Suite, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f suiteFile
	if err := dec.Decode(&f); err != nil {
		msg := err.Error()
		if errors.Is(err, io.EOF) {
			msg = "empty file"
		}
		msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
		msg = strings.ReplaceAll(msg, "\n  ", "; ")
		msg = unknownField.ReplaceAllString(msg, `unknown key "$1"`)
		return Suite{}, fmt.Errorf("%w: %s: %s", ErrBadSuite, path, msg)
	}
	d := Defaults{
		Rate: f.Defaults.Rate, Duration: time.Duration(f.Defaults.Duration),
		FaultStart: time.Duration(f.Defaults.Fault.Start), FaultDuration: time.Duration(f.Defaults.Fault.Duration),
		FaultShare: f.Defaults.Fault.Share,
	}
	s := Suite{Path: path, Defaults: d}
	bad := func(format string, a ...any) (Suite, error) {
		return Suite{}, fmt.Errorf("%w: %s: %s", ErrBadSuite, path, fmt.Sprintf(format, a...))
	}
	if d.Rate < 0 || math.IsNaN(d.Rate) {
		return bad("defaults: rate %v must be positive", d.Rate)
	}
	if d.FaultShare < 0 || d.FaultShare > 1 || math.IsNaN(d.FaultShare) {
		return bad("defaults: fault share %v must be in (0, 1]", d.FaultShare)
	}
	if len(f.Scenarios) == 0 {
		return bad("no scenarios")
	}
	seen := make(map[string]bool, len(f.Scenarios))
	for i, raw := range f.Scenarios {
		sc := raw.scenario(d)
		if err := validateScenario(sc); err != nil {
			return bad("scenario %d %q: %v", i+1, sc.Name, err)
		}
		if seen[sc.Name] {
			return bad("scenario %d: duplicate name %q", i+1, sc.Name)
		}
		seen[sc.Name] = true
		s.Scenarios = append(s.Scenarios, sc)
	}
	return s, nil
}

func (raw scenarioFile) scenario(d Defaults) sim.Scenario {
	sc := sim.Scenario{
		Name: raw.Name, Topology: raw.Topology, Seed: raw.Seed, Rate: raw.Rate, Duration: time.Duration(raw.Duration),
		Fault: sim.Fault{
			Kind: raw.Fault.Kind, Target: raw.Fault.Target, Start: time.Duration(raw.Fault.Start),
			Duration: time.Duration(raw.Fault.Duration), Share: raw.Fault.Share, Latency: time.Duration(raw.Fault.Latency),
		},
	}
	if sc.Rate == 0 {
		sc.Rate = d.Rate
	}
	if sc.Duration == 0 {
		sc.Duration = d.Duration
	}
	if sc.Fault.Start == 0 {
		sc.Fault.Start = d.FaultStart
	}
	if sc.Fault.Duration == 0 {
		sc.Fault.Duration = d.FaultDuration
	}
	if sc.Fault.Share == 0 && sc.Fault.Kind != sim.FaultNone {
		sc.Fault.Share = d.FaultShare
	}
	return sc
}

var scenarioName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkScenario is the harness's own check of a scenario, before the simulator's: what the
// harness needs to query and score it. A none scenario keeps its start and duration: they
// are the window in which "nothing is wrong" is asked.
func checkScenario(sc sim.Scenario) error {
	f := sc.Fault
	switch {
	case !scenarioName.MatchString(sc.Name):
		return fmt.Errorf("name %q must be letters, digits, '.', '_' or '-'", sc.Name)
	case sc.Topology == "":
		return errors.New("no topology")
	case !slices.Contains(sim.FaultKinds, f.Kind):
		return fmt.Errorf("fault kind %q is not one of %s", f.Kind, strings.Join(sim.FaultKinds, ", "))
	case f.Kind == sim.FaultNone && f.Target != "":
		return fmt.Errorf("fault kind none takes no target (got %q)", f.Target)
	case f.Kind != sim.FaultNone && f.Target == "":
		return fmt.Errorf("fault kind %s needs a target", f.Kind)
	case f.Start < Lookback:
		return fmt.Errorf("fault start %v: must be at least %v into the run, the baseline the RCA query looks back over", f.Start, Lookback)
	case f.Duration <= 0:
		return errors.New("no fault duration (set fault.duration or defaults.fault.duration)")
	case f.Share < 0 || f.Share > 1 || math.IsNaN(f.Share):
		return fmt.Errorf("fault share %v must be in (0, 1]", f.Share)
	case f.Latency != 0 && f.Kind != sim.FaultLatency:
		return fmt.Errorf("latency applies only to latency faults, not %s", f.Kind)
	case sc.Rate < 0 || math.IsNaN(sc.Rate):
		return fmt.Errorf("rate %v must be positive", sc.Rate)
	case sc.Duration != 0 && sc.Duration < f.Start+f.Duration:
		return fmt.Errorf("run duration %v ends before the fault does (%v)", sc.Duration, f.Start+f.Duration)
	}
	return nil
}
