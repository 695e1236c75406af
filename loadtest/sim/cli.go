package sim

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// headerFlag collects repeated -otlp.header=k=v flags.
type headerFlag map[string]string

func (h headerFlag) String() string {
	parts := make([]string, 0, len(h))
	for k := range h {
		parts = append(parts, k+"=<redacted>")
	}
	return strings.Join(parts, ",")
}

func (h headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("header %q is not key=value", v)
	}
	h[k] = val
	return nil
}

// Main is "faultline-loadtest sim": it runs one scenario and prints its ground truth as JSON
// on stdout. Exit codes: 0 the run completed, 1 it failed, 2 bad flags or scenario.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		endpoint = fs.String("otlp.endpoint", "127.0.0.1:4317", "OTLP/gRPC host:port of Faultline (loopback only)")
		headers  = headerFlag{}
		sc       Scenario
		list     = fs.Bool("list", false, "list the topologies, their nodes and the fault kinds, then exit")
		logs     = fs.Bool("logs", false, "services also send OTLP logs")
		scale    = fs.Float64("time.scale", 1, "multiply the scenario's timeline (fault start and length, run length)")
		quiet    = fs.Bool("quiet", false, "no progress on stderr")
	)
	fs.Var(headers, "otlp.header", "OTLP request header key=value (repeatable)")
	fs.StringVar(&sc.Name, "name", "", "scenario name (default topology-fault-target)")
	fs.StringVar(&sc.Topology, "topology", "shop", "topology: "+strings.Join(Topologies(), ", "))
	fs.StringVar(&sc.Fault.Kind, "fault", FaultNone, "fault kind: "+strings.Join(FaultKinds, ", "))
	fs.StringVar(&sc.Fault.Target, "target", "", "the faulty service or dependency")
	fs.DurationVar(&sc.Fault.Start, "fault.start", 30*time.Second, "when the fault starts, after the run starts")
	fs.DurationVar(&sc.Fault.Duration, "fault.duration", DefaultFaultDuration, "how long the fault lasts")
	fs.Float64Var(&sc.Fault.Share, "fault.share", 1, "share of requests affected, (0, 1]")
	fs.DurationVar(&sc.Fault.Latency, "fault.latency", 0, "latency added by a latency fault (default: twice the callers' timeout)")
	fs.Float64Var(&sc.Rate, "rate", DefaultRate, "entry requests per second")
	fs.DurationVar(&sc.Duration, "duration", 0, "length of the run (default: fault end + 30s; 60s without a fault)")
	fs.Int64Var(&sc.Seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sim: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *list {
		return printList(stdout, stderr)
	}
	if sc.Fault.Kind == FaultNone {
		// The timeline flags' defaults mean nothing without a fault.
		sc.Fault.Start, sc.Fault.Duration, sc.Fault.Share = 0, 0, 0
	}
	if err := Validate(sc); err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 2
	}
	if _, err := checkLoopback(*endpoint); err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 2
	}
	if *scale <= 0 {
		fmt.Fprintf(stderr, "sim: -time.scale %v must be positive\n", *scale)
		return 2
	}
	var logger *slog.Logger
	if !*quiet {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	gt, err := Run(ctx, Options{Endpoint: *endpoint, Headers: headers, Logs: *logs, Logger: logger, TimeScale: *scale}, sc)
	code := 0
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		code = 1
		if gt.RunStart.IsZero() {
			return code
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(gt); err != nil {
		fmt.Fprintf(stderr, "sim: write ground truth: %v\n", err)
		return 1
	}
	return code
}

func printList(stdout, stderr io.Writer) int {
	type listing struct {
		Topologies []TopologyInfo `json:"topologies"`
		FaultKinds []string       `json:"fault_kinds"`
	}
	var l listing
	for _, name := range Topologies() {
		info, err := Describe(name)
		if err != nil {
			fmt.Fprintf(stderr, "sim: %v\n", err)
			return 1
		}
		l.Topologies = append(l.Topologies, info)
	}
	l.FaultKinds = FaultKinds
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return 1
	}
	return 0
}
