// Package bench is the ingest benchmark behind loadtest/cmd/ingestbench: it starts the
// real faultline binary on 127.0.0.1, drives it over OTLP/gRPC with the OpenTelemetry
// project's telemetrygen (traces, logs or metrics), with an in-process replay generator of
// telemetrygen's trace shape, or with the microservice simulator, and reports throughput,
// faultline's CPU, memory and disk per item, and the latency of trace queries while the load
// runs and afterwards, as a Markdown table.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Metric names read from faultline's /metrics.
const (
	MetricReceived  = "faultline_spans_received_total"
	MetricStored    = "faultline_spans_stored_total"
	MetricRefused   = "faultline_spans_refused_total" // label reason
	MetricDiskBytes = "faultline_spanstore_disk_bytes"
	MetricQueue     = "faultline_ingest_queue_spans"
)

// Config is the harness's configuration, all from flags.
type Config struct {
	Generator           string
	Signal              string
	Faultline           string
	FaultlineArgs       StringList
	Telemetrygen        string
	TelemetrygenVersion string
	TelemetrygenArgs    StringList
	Service             string
	Senders             int
	Workers             int
	Rate                float64
	BatchSize           int
	Duration            time.Duration
	Spans               int64
	MaxTime             time.Duration
	Lookups             int
	Searches            int
	TmpDir              string
	Keep                bool
	JSONPath            string
	ReadyTimeout        time.Duration
	Settle              time.Duration
	DiskSettle          time.Duration
	StopGrace           time.Duration
	SimTopology         string
	SimRate             float64
	SimSeed             int64
	QueriesUnderLoad    float64
	// Sim runs the simulator for -generator=sim; set by the command, not a flag.
	Sim SimRunner
}

// QueryService is the service the queries search for: -service, or by default the one the
// generator's traces come from (telemetrygen, or frontend for the simulator).
func (c *Config) QueryService() string {
	switch {
	case c.Service != "":
		return c.Service
	case c.Generator == GeneratorSim:
		return "frontend"
	default:
		return "telemetrygen"
	}
}

// RegisterFlags registers the harness's flags and sets their defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Generator, "generator", GeneratorTelemetrygen, "Load generator: telemetrygen (the OpenTelemetry project's, as -senders processes), replay (telemetrygen-shaped traces sent from -senders goroutines in this process, at a fraction of the CPU per span; -workers, -rate and -telemetrygen.* do not apply) or sim (the microservice simulator in this process, -sim.rate entry requests/s for -duration, no fault; -senders, -workers, -rate, -batch-size, -spans and -telemetrygen.* do not apply).")
	f.StringVar(&c.Signal, "signal", SignalTraces, "What telemetrygen sends: traces, logs or metrics (its subcommand). faultline does not ingest logs or metrics yet: such a run reports 0 stored and why. Other generators send traces only.")
	f.StringVar(&c.SimTopology, "sim.topology", "shop", "Topology of the simulator (-generator=sim): shop, chain5 or fanout40.")
	f.Float64Var(&c.SimRate, "sim.rate", 100, "Entry requests per second the simulator sends (-generator=sim). The shop topology's services have bounded concurrency: at 200/s on 2 cores about half the entry requests time out in queues, at 100/s none do.")
	f.Int64Var(&c.SimSeed, "sim.seed", 1, "Seed of the simulator's run (-generator=sim).")
	f.Float64Var(&c.QueriesUnderLoad, "queries-under-load", 5, "While the generator runs, time this many searches and this many trace-by-ID lookups per second (at most; one request at a time); 0 turns it off. faultline's CPU figures include serving them.")
	f.StringVar(&c.Faultline, "faultline", "bin/faultline", "The faultline binary to measure (built beforehand, e.g. by make build).")
	f.Var(&c.FaultlineArgs, "faultline.arg", "Extra flag passed to faultline, e.g. -faultline.arg=-spanstore.retention=1h (repeatable).")
	f.StringVar(&c.Telemetrygen, "telemetrygen", "", "The telemetrygen binary; default <module root>/bin/telemetrygen, installed there with go install if missing.")
	f.StringVar(&c.TelemetrygenVersion, "telemetrygen.version", "v0.161.0", "Version of telemetrygen to install when it is missing (the previous minor release is tried if the proxy refuses it).")
	f.Var(&c.TelemetrygenArgs, "telemetrygen.arg", "Extra flag passed to `telemetrygen traces`, e.g. -telemetrygen.arg=--child-spans=5 (repeatable).")
	f.StringVar(&c.Service, "service", "", "Service name telemetrygen and replay report and the queries search for (default telemetrygen; frontend with -generator=sim, whose services are named by its topology).")
	f.IntVar(&c.Senders, "senders", 2, "telemetrygen processes run side by side. Each has one OTLP exporter that sends one batch at a time and waits for faultline's acknowledgement (given once the spans are durable), so this is the number of export requests in flight.")
	f.IntVar(&c.Workers, "workers", 4, "Span-generating goroutines (telemetrygen --workers), split evenly over the senders (at least 1 each).")
	f.Float64Var(&c.Rate, "rate", 0, "Spans per second per worker (telemetrygen --rate); 0 is unthrottled. telemetrygen only.")
	f.IntVar(&c.BatchSize, "batch-size", 2048, "Most spans per OTLP export request (telemetrygen --batch-size). 2048 is the largest that takes effect: the SDK's batch processor holds 2048 spans and drops the rest when its exporter lags.")
	f.DurationVar(&c.Duration, "duration", 30*time.Second, "How long to send, when -spans is 0.")
	f.Int64Var(&c.Spans, "spans", 0, "If > 0, send until faultline has accepted this many spans (telemetrygen is run repeatedly; replay stops after sending this many), instead of for -duration.")
	f.DurationVar(&c.MaxTime, "max-time", 2*time.Hour, "Upper bound on the sending phase of a -spans run.")
	f.IntVar(&c.Lookups, "lookups", 200, "Trace-by-ID requests timed after ingest.")
	f.IntVar(&c.Searches, "searches", 50, "Service + time range searches timed after ingest.")
	f.StringVar(&c.TmpDir, "tmpdir", "", "Parent of the temporary data dir (default the system temp dir). Put it on the disk you want to measure.")
	f.BoolVar(&c.Keep, "keep", false, "Keep the temporary dir (data, faultline.log, telemetrygen.log) instead of removing it.")
	f.StringVar(&c.JSONPath, "json", "", "Also write the result as JSON to this file (e.g. loadtest/out/ingest.json).")
	f.DurationVar(&c.ReadyTimeout, "ready-timeout", 60*time.Second, "How long faultline may take to answer 200 on /ready.")
	f.DurationVar(&c.Settle, "settle", 3*time.Second, "Ingest is over when the stored counter has not risen for this long and the queue is empty.")
	f.DurationVar(&c.DiskSettle, "disk-settle", 60*time.Second, "After ingest, wait up to this long for faultline_spanstore_disk_bytes to stop changing for -settle (flushes, compactions) before reading disk, CPU and memory; 0 reads them at once.")
	f.DurationVar(&c.StopGrace, "stop-grace", 30*time.Second, "How long faultline may take to exit after SIGTERM before SIGKILL.")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	switch c.Signal {
	case SignalTraces:
	case SignalLogs, SignalMetrics:
		if c.Generator != GeneratorTelemetrygen {
			errs = append(errs, fmt.Errorf("-signal=%s needs -generator=telemetrygen (%s sends traces only)", c.Signal, c.Generator))
		}
	default:
		errs = append(errs, fmt.Errorf("-signal must be %s, %s or %s, not %q", SignalTraces, SignalLogs, SignalMetrics, c.Signal))
	}
	switch c.Generator {
	case GeneratorTelemetrygen:
	case GeneratorSim:
		if c.Rate != 0 {
			errs = append(errs, errors.New("-rate applies only to -generator=telemetrygen (the simulator's load is -sim.rate)"))
		}
		if len(c.TelemetrygenArgs) > 0 {
			errs = append(errs, errors.New("-telemetrygen.arg applies only to -generator=telemetrygen"))
		}
		if c.Spans != 0 {
			errs = append(errs, errors.New("-spans does not apply to -generator=sim (it runs for -duration)"))
		}
		if c.SimRate <= 0 || math.IsInf(c.SimRate, 0) || math.IsNaN(c.SimRate) {
			errs = append(errs, errors.New("-sim.rate must be positive"))
		}
		if c.SimTopology == "" {
			errs = append(errs, errors.New("-sim.topology must not be empty"))
		}
	case GeneratorReplay:
		if c.Rate != 0 {
			errs = append(errs, errors.New("-rate applies only to -generator=telemetrygen (replay is unthrottled)"))
		}
		if len(c.TelemetrygenArgs) > 0 {
			errs = append(errs, errors.New("-telemetrygen.arg applies only to -generator=telemetrygen"))
		}
		if c.BatchSize < replaySpansPerTrace {
			errs = append(errs, fmt.Errorf("-batch-size must be at least %d with -generator=replay", replaySpansPerTrace))
		}
	default:
		errs = append(errs, fmt.Errorf("-generator must be %s, %s or %s, not %q", GeneratorTelemetrygen, GeneratorReplay, GeneratorSim, c.Generator))
	}
	if c.Faultline == "" {
		errs = append(errs, errors.New("-faultline is required"))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("-workers must be at least 1"))
	}
	if c.Senders < 1 {
		errs = append(errs, errors.New("-senders must be at least 1"))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("-rate must not be negative"))
	}
	if c.Spans < 0 {
		errs = append(errs, errors.New("-spans must not be negative"))
	}
	if c.Spans == 0 && c.Duration <= 0 {
		errs = append(errs, errors.New("-duration must be positive when -spans is 0"))
	}
	if c.Spans > 0 && c.MaxTime <= 0 {
		errs = append(errs, errors.New("-max-time must be positive"))
	}
	if c.Lookups < 0 || c.Searches < 0 {
		errs = append(errs, errors.New("-lookups and -searches must not be negative"))
	}
	if c.Settle <= 0 || c.StopGrace <= 0 || c.ReadyTimeout <= 0 {
		errs = append(errs, errors.New("-settle, -stop-grace and -ready-timeout must be positive"))
	}
	if c.QueriesUnderLoad < 0 || math.IsInf(c.QueriesUnderLoad, 0) || math.IsNaN(c.QueriesUnderLoad) {
		errs = append(errs, errors.New("-queries-under-load must be 0 or more"))
	}
	return errors.Join(errs...)
}

// StringList is a repeatable string flag.
type StringList []string

// String is the values joined by spaces.
func (s *StringList) String() string { return strings.Join(*s, " ") }

// Set appends one value.
func (s *StringList) Set(v string) error { *s = append(*s, v); return nil }

// Run runs the whole benchmark and returns its result; the error is a failure of the
// harness or of the run (faultline would not start, received nothing, died), never a
// missed goal. Progress goes to logger.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Faultline); err != nil {
		return nil, fmt.Errorf("faultline binary: %w (build it first, e.g. make build)", err)
	}
	faultlineBin, err := filepath.Abs(cfg.Faultline)
	if err != nil {
		return nil, err
	}
	if cfg.Generator == GeneratorSim && cfg.Sim == nil {
		return nil, errors.New("-generator=sim: this build has no simulator wired in (run loadtest/cmd/ingestbench)")
	}
	info, _ := SignalFor(cfg.Signal)
	traces := info.Signal == SignalTraces
	tgen := cfg.Generator == GeneratorTelemetrygen
	tg := cfg.Telemetrygen
	if tg == "" {
		tg = filepath.Join(ModuleRoot(), "bin", "telemetrygen")
	}
	if tgen {
		if err := EnsureTelemetrygen(ctx, tg, cfg.TelemetrygenVersion, os.Stderr); err != nil {
			return nil, err
		}
	}

	tmp, err := os.MkdirTemp(cfg.TmpDir, "ingestbench-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	defer func() {
		if cfg.Keep {
			logger.Info("kept temp dir", "dir", tmp)
			return
		}
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			logger.Warn("remove temp dir", "dir", tmp, "err", rmErr)
		}
	}()
	dataDir := filepath.Join(tmp, "data")

	res := &Result{
		Generator: cfg.Generator, Signal: info.Signal,
		Senders: cfg.Senders, Workers: max(cfg.Workers, cfg.Senders), Rate: cfg.Rate, BatchSize: cfg.BatchSize, CPUs: runtime.NumCPU(), SpansTarget: cfg.Spans,
	}
	switch cfg.Generator {
	case GeneratorReplay:
		res.Workers, res.BatchSize = cfg.Senders, ReplayTraces(cfg.BatchSize)*replaySpansPerTrace
	case GeneratorSim:
		res.Senders, res.Workers, res.BatchSize = 0, 0, 0
		res.SimTopology, res.SimRate, res.SimSeed, res.SimDuration = cfg.SimTopology, cfg.SimRate, cfg.SimSeed, cfg.Duration
	default:
		res.TelemetrygenVersion = BinaryModuleVersion(ctx, tg)
	}
	clk := ClockTicks()

	logger.Info("starting faultline", "bin", faultlineBin, "data_dir", dataDir)
	fl, err := StartFaultline(ctx, faultlineBin, dataDir, filepath.Join(tmp, "faultline.log"), cfg.FaultlineArgs, cfg.ReadyTimeout)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if stopped {
			return
		}
		if _, stopErr := fl.Stop(cfg.StopGrace); stopErr != nil {
			logger.Warn("stop faultline", "err", stopErr)
		}
	}()
	logger.Info("faultline ready", "pid", fl.PID(), "http", fl.HTTPAddr, "otlp_grpc", fl.GRPCAddr)

	// Logs and metrics: ask faultline once, with a one-item export, whether it takes the
	// signal at all, before the baseline (so the probe's item is not counted).
	probeErr := ProbeSignal(ctx, fl.GRPCAddr, info.Signal)
	if !traces {
		logger.Info("probed the OTLP/gRPC receiver", "signal", info.Signal, "err", probeErr)
	}

	m0, err := fl.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	if traces {
		for _, name := range []string{MetricReceived, MetricStored, MetricRefused, MetricDiskBytes} {
			if _, ok := m0[name]; !ok {
				res.Warnings = append(res.Warnings, name+" absent from /metrics at start (counted as 0 until it appears)")
			}
		}
	}
	p0, err := ReadProc(fl.PID(), clk)
	if err != nil {
		return nil, err
	}

	// Queries under load: sampled from the start of sending until the generator stops.
	httpClient := &http.Client{Timeout: 30 * time.Second}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	var underLoad UnderLoad
	var sampling sync.WaitGroup
	if traces && cfg.QueriesUnderLoad > 0 {
		sampler := LoadSampler{Client: httpClient, BaseURL: "http://" + fl.HTTPAddr, Service: cfg.QueryService(), Rate: cfg.QueriesUnderLoad, Max: int(math.Ceil(cfg.QueriesUnderLoad * 3 * 3600))}
		sampling.Go(func() { underLoad = sampler.Run(sampleCtx) })
	}

	sendStart := time.Now()
	switch cfg.Generator {
	case GeneratorReplay:
		err = sendReplay(ctx, cfg, fl, m0, res, logger)
		if err != nil {
			err = fmt.Errorf("%w\nfaultline log tail:\n%s", err, fl.LogTail(2048))
		}
	case GeneratorSim:
		err = sendSim(ctx, cfg, fl, m0, res, logger)
		if err != nil {
			err = fmt.Errorf("%w\nfaultline log tail:\n%s", err, fl.LogTail(2048))
		}
	default:
		err = sendTelemetrygen(ctx, cfg, info, probeErr, tg, tmp, fl, m0, res, logger)
	}
	stopSampling()
	sampling.Wait()
	if err != nil {
		return nil, err
	}
	sendEnd := time.Now()
	res.UnderLoad = underLoad
	if underLoad.FirstError != nil {
		res.Warnings = append(res.Warnings, "first failed query under load: "+underLoad.FirstError.Error())
	}

	logger.Info("sender done; waiting for the stored counter to settle", "send_time", res.SendTime.Round(time.Millisecond))
	m1, lastRise, err := waitSettled(ctx, fl, info, cfg.Settle, sendEnd, 10*time.Minute)
	if err != nil {
		if !errors.Is(err, errNotSettled) {
			return nil, err
		}
		res.Warnings = append(res.Warnings, err.Error())
	}
	res.IngestWindow = lastRise.Sub(sendStart)
	if cfg.DiskSettle > 0 && info.Disk != "" {
		// Let the store finish flushing and compacting what it just took, so the size read
		// is not a snapshot of files on their way out; its CPU counts as ingest cost.
		t0 := time.Now()
		disk, settled, err := waitDiskSettled(ctx, fl, info.Disk, cfg.Settle, cfg.DiskSettle)
		if err != nil {
			return nil, err
		}
		if disk != nil {
			m1 = disk
		}
		res.DiskSettleTime = time.Since(t0)
		if !settled {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s still changing %s after ingest; disk measured anyway", info.Disk, cfg.DiskSettle))
		}
	}
	p1, err := ReadProc(fl.PID(), clk)
	if err != nil {
		return nil, err
	}
	res.CPUSeconds = float64(p1.CPUTicks-p0.CPUTicks) / float64(clk)
	res.PeakRSS = p1.PeakRSS
	res.Received = m1.Value(info.Received) - m0.Value(info.Received)
	res.Stored = m1.Value(info.Stored) - m0.Value(info.Stored)
	res.Refused = m1.Value(info.Refused) - m0.Value(info.Refused)
	res.RefusedByReason = refusedByReason(info.Refused, m0, m1)
	if info.Disk != "" {
		res.DiskBytesMetric, res.DiskMetricExists = m1.Sum(info.Disk)
	}
	usage, err := DirSize(dataDir)
	if err != nil {
		return nil, err
	}
	res.DiskBytesWalk, res.DiskBytesSST, res.DiskBytesWAL = usage.Total, usage.SST, usage.WAL
	if diff := res.Received - res.Stored - res.Refused; diff != 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("received - stored - refused = %s %s unaccounted for after ingest", Thousands(diff), info.Items))
	}
	logger.Info("ingest measured", "stored", int64(res.Stored), "window", res.IngestWindow.Round(time.Millisecond), "cpu_s", res.CPUSeconds)

	if traces {
		plan := QueryPlan{
			BaseURL: "http://" + fl.HTTPAddr, Service: cfg.QueryService(),
			Start: sendStart.Truncate(time.Second), End: time.Now().Truncate(time.Second).Add(time.Second),
			Lookups: cfg.Lookups, Searches: cfg.Searches,
		}
		logger.Info("timing queries", "lookups", cfg.Lookups, "searches", cfg.Searches)
		ql, qerr := RunQueries(ctx, httpClient, plan)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if qerr != nil {
			res.Warnings = append(res.Warnings, "query phase: "+qerr.Error())
		}
		if ql.FirstError != nil {
			res.Warnings = append(res.Warnings, "first failed query: "+ql.FirstError.Error())
		}
		if qerr == nil && ql.TracesFound == 0 {
			res.Warnings = append(res.Warnings, "the search for trace IDs returned no traces; trace-by-ID not measured")
		}
		res.TracesFound, res.TraceByID, res.Search = ql.TracesFound, ql.TraceByID, ql.Search
	}

	stopped = true
	how, stopErr := fl.Stop(cfg.StopGrace)
	logger.Info("faultline stopped", "how", how)
	if stopErr != nil {
		res.Warnings = append(res.Warnings, stopErr.Error())
	}

	if cfg.JSONPath != "" {
		if err := WriteJSON(cfg.JSONPath, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// SplitWorkers is the number of workers sender i of senders gets when workers are spread
// evenly over them; every sender gets at least one.
func SplitWorkers(workers, senders, i int) int {
	n := workers / senders
	if i < workers%senders {
		n++
	}
	return max(n, 1)
}

// RunAll runs every sender for d at the same time, waits for all of them, and returns the
// CPU time they used together.
func RunAll(ctx context.Context, runs []TelemetrygenRun, d time.Duration) (time.Duration, error) {
	errs := make([]error, len(runs))
	cpu := make([]time.Duration, len(runs))
	var wg sync.WaitGroup
	for i, run := range runs {
		run.Duration = d
		wg.Go(func() { cpu[i], errs[i] = run.Run(ctx) })
	}
	wg.Wait()
	var total time.Duration
	for _, c := range cpu {
		total += c
	}
	return total, errors.Join(errs...)
}

// sendTelemetrygen runs -senders telemetrygen processes (logs in tmp) through send; an error
// carries the tails of faultline's and the first telemetrygen's logs. For logs and metrics,
// a run in which faultline received nothing is a finding, not a failure, when the probe,
// the /metrics page or telemetrygen's export errors show that faultline does not take the
// signal: res.Unsupported is set and the error is nil. When the probe was answered with
// Unimplemented, telemetrygen is run without --allow-export-failures, so it stops at its
// first refused export instead of spinning for -duration.
func sendTelemetrygen(ctx context.Context, cfg Config, info SignalInfo, probeErr error, tg, tmp string, fl *Faultline, m0 Metrics, res *Result, logger *slog.Logger) error {
	runs := make([]TelemetrygenRun, cfg.Senders)
	var tgLogs []string
	for i := range runs {
		path := filepath.Join(tmp, fmt.Sprintf("telemetrygen-%d.log", i+1))
		logFile, err := os.Create(path) //nolint:gosec // a file in the harness's own temp dir
		if err != nil {
			return fmt.Errorf("create telemetrygen log: %w", err)
		}
		defer func() { _ = logFile.Close() }()
		tgLogs = append(tgLogs, path)
		runs[i] = TelemetrygenRun{
			Signal: info.Signal, Bin: tg, Endpoint: fl.GRPCAddr, Workers: SplitWorkers(cfg.Workers, cfg.Senders, i), Rate: cfg.Rate,
			BatchSize: cfg.BatchSize, Extra: append([]string{"--service=" + cfg.QueryService()}, cfg.TelemetrygenArgs...), Log: logFile,
			StopOnExportFailure: info.Signal != SignalTraces && status.Code(probeErr) == codes.Unimplemented,
		}
	}
	nothing := func(m Metrics, runErr error) bool {
		if info.Signal == SignalTraces {
			return false
		}
		_, present := m[info.Received]
		first, n := "", 0
		for _, path := range tgLogs {
			f, k := ExportFailure(path)
			if first == "" {
				first = f
			}
			n += k
		}
		reason := UnsupportedReason(info, present, probeErr, first, n)
		if reason == "" {
			return false
		}
		if runs[0].StopOnExportFailure {
			reason += fmt.Sprintf("; telemetrygen, run without --allow-export-failures for that reason, stopped at its first refused export after %s instead of running for %s", res.SendTime.Round(10*time.Millisecond), cfg.Duration)
		}
		res.Unsupported, res.UnsupportedReason = true, reason
		if runErr != nil {
			logger.Info("telemetrygen stopped", "err", runErr)
		}
		logger.Warn(info.Signal+" not supported by this faultline", "reason", reason)
		return true
	}
	if err := send(ctx, cfg, info, runs, fl, m0, res, nothing, logger); err != nil {
		return fmt.Errorf("%w\nfaultline log tail:\n%s\ntelemetrygen log tail (%s):\n%s", err, fl.LogTail(2048), tgLogs[0], fileTail(tgLogs[0], 2048))
	}
	return nil
}

// sendReplay runs the in-process replay generator once, for cfg.Duration or (with
// cfg.Spans) until it has sent cfg.Spans spans, at most cfg.MaxTime.
func sendReplay(ctx context.Context, cfg Config, fl *Faultline, m0 Metrics, res *Result, logger *slog.Logger) error {
	rc := ReplayConfig{
		Endpoint: fl.GRPCAddr, Service: cfg.QueryService(), Senders: cfg.Senders, BatchSize: cfg.BatchSize,
		Duration: cfg.Duration, Spans: cfg.Spans, Logger: logger,
		Alive: func() error {
			if fl.Exited() {
				return errors.New("faultline exited during the run")
			}
			return nil
		},
	}
	if cfg.Spans > 0 {
		rc.Duration = cfg.MaxTime
	}
	logger.Info("running replay generator", "senders", cfg.Senders, "spans_per_request", res.BatchSize, "duration", rc.Duration, "spans", cfg.Spans)
	st, err := RunReplay(ctx, rc)
	res.SendTime = st.Elapsed
	res.SenderCPUSeconds = st.CPU.Seconds()
	res.Retries = st.Retries
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	if fl.Exited() {
		return errors.New("faultline exited during the run")
	}
	if !st.CPUKnown {
		res.Warnings = append(res.Warnings, "the replay generator's CPU time cannot be read on this platform (shown as 0)")
	}
	m, err := fl.Metrics(ctx)
	if err != nil {
		return err
	}
	received := m.Value(MetricReceived) - m0.Value(MetricReceived)
	accepted := received - (m.Value(MetricRefused) - m0.Value(MetricRefused))
	if received == 0 {
		return fmt.Errorf("the replay generator ran for %s (%d requests acknowledged) but faultline received no spans", st.Elapsed.Round(time.Millisecond), st.Requests)
	}
	logger.Info("replay done", "requests", st.Requests, "spans_acknowledged", st.Spans, "retries", st.Retries, "generator_cpu_s", st.CPU.Seconds())
	if st.Rejected > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("faultline reported %s spans rejected in partial-success responses", Thousands(float64(st.Rejected))))
	}
	if accepted != float64(st.Spans) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the replay generator had %s spans acknowledged but faultline counts %s accepted (received - refused)", Thousands(float64(st.Spans)), Thousands(accepted)))
	}
	if cfg.Spans > 0 && st.Spans < cfg.Spans {
		res.Warnings = append(res.Warnings, fmt.Sprintf("stopped at -max-time=%s with %s of %s spans sent", cfg.MaxTime, Thousands(float64(st.Spans)), Thousands(float64(cfg.Spans))))
	}
	return nil
}

// send runs the senders once for cfg.Duration, or repeatedly until faultline has accepted
// cfg.Spans items, sizing each run from the rate seen so far. When faultline has received
// nothing after a run, nothing decides whether that is a finding (true: send returns nil)
// or a failure.
func send(ctx context.Context, cfg Config, info SignalInfo, runs []TelemetrygenRun, fl *Faultline, m0 Metrics, res *Result, nothing func(Metrics, error) bool, logger *slog.Logger) error {
	accepted := func(m Metrics) float64 {
		return (m.Value(info.Received) - m0.Value(info.Received)) - (m.Value(info.Refused) - m0.Value(info.Refused))
	}
	start := time.Now()
	chunk := cfg.Duration
	if cfg.Spans > 0 {
		chunk = 5 * time.Second // then sized from the rate seen
	}
	var last float64
	for i := 1; ; i++ {
		logger.Info("running telemetrygen", "signal", info.Signal, "run", i, "duration", chunk, "senders", len(runs), "workers", cfg.Workers)
		t0 := time.Now()
		senderCPU, runErr := RunAll(ctx, runs, chunk)
		res.SendTime += time.Since(t0)
		res.SenderCPUSeconds += senderCPU.Seconds()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fl.Exited() {
			return errors.New("faultline exited during the run")
		}
		m, err := fl.Metrics(ctx)
		if err != nil {
			return err
		}
		got := accepted(m)
		received := m.Value(info.Received) - m0.Value(info.Received)
		if received == 0 {
			if nothing != nil && nothing(m, runErr) {
				return nil
			}
			if runErr != nil {
				return fmt.Errorf("faultline received no %s: %w", info.Items, runErr)
			}
			return fmt.Errorf("telemetrygen ran for %s but faultline received no %s", chunk, info.Items)
		}
		if runErr != nil {
			res.Warnings = append(res.Warnings, runErr.Error())
		}
		if cfg.Spans == 0 {
			return nil
		}
		logger.Info("progress", "accepted", int64(got), "target", cfg.Spans)
		if got >= float64(cfg.Spans) {
			return nil
		}
		if got <= last {
			return fmt.Errorf("telemetrygen run %d added no accepted %s (%s so far)", i, info.Items, Thousands(got))
		}
		last = got
		elapsed := time.Since(start)
		if elapsed >= cfg.MaxTime {
			res.Warnings = append(res.Warnings, fmt.Sprintf("stopped at -max-time=%s with %s of %s %s accepted", cfg.MaxTime, Thousands(got), Thousands(float64(cfg.Spans)), info.Items))
			return nil
		}
		rate := got / elapsed.Seconds()
		chunk = time.Duration((float64(cfg.Spans) - got) / rate * float64(time.Second))
		chunk = min(max(chunk, time.Second), time.Minute, cfg.MaxTime-elapsed)
		chunk = chunk.Round(100 * time.Millisecond)
	}
}

var errNotSettled = errors.New("stored counter still rising")

// waitSettled polls /metrics until the stored counter has not risen for settle and the
// ingest queue (if exported) is empty. It returns the last metrics and when the stored
// counter last rose (since, if it did not rise while polling).
func waitSettled(ctx context.Context, fl *Faultline, info SignalInfo, settle time.Duration, since time.Time, limit time.Duration) (Metrics, time.Time, error) {
	lastRise := since
	prev := -1.0
	deadline := time.Now().Add(limit)
	for {
		if fl.Exited() {
			return nil, lastRise, errors.New("faultline exited while draining")
		}
		m, err := fl.Metrics(ctx)
		if err != nil {
			return nil, lastRise, err
		}
		now := time.Now()
		stored := m.Value(info.Stored)
		if prev >= 0 && stored != prev {
			lastRise = now
		}
		prev = stored
		queued, hasQueue := 0.0, false
		if info.Queue != "" {
			queued, hasQueue = m.Sum(info.Queue)
		}
		if now.Sub(lastRise) >= settle && (!hasQueue || queued == 0) {
			return m, lastRise, nil
		}
		if now.After(deadline) {
			return m, lastRise, fmt.Errorf("%w %s after the sender stopped; measured anyway", errNotSettled, limit)
		}
		select {
		case <-ctx.Done():
			return nil, lastRise, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitDiskSettled polls /metrics until the disk gauge has not changed for settle, at most
// limit. It returns the last metrics (nil if the gauge is absent) and whether it settled.
func waitDiskSettled(ctx context.Context, fl *Faultline, diskMetric string, settle, limit time.Duration) (Metrics, bool, error) {
	deadline := time.Now().Add(limit)
	lastChange := time.Now()
	prev := -1.0
	for {
		if fl.Exited() {
			return nil, false, errors.New("faultline exited after ingest")
		}
		m, err := fl.Metrics(ctx)
		if err != nil {
			return nil, false, err
		}
		disk, ok := m.Sum(diskMetric)
		if !ok {
			return nil, true, nil
		}
		now := time.Now()
		if disk != prev {
			lastChange, prev = now, disk
		}
		if now.Sub(lastChange) >= settle {
			return m, true, nil
		}
		if now.After(deadline) {
			return m, false, nil
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func refusedByReason(name string, m0, m1 Metrics) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m1[name] {
		out[s.Labels["reason"]] += s.Value
	}
	for _, s := range m0[name] {
		out[s.Labels["reason"]] -= s.Value
	}
	return out
}

// ModuleRoot is the nearest directory at or above the working directory holding go.mod,
// or the working directory itself.
func ModuleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return wd
		}
		dir = parent
	}
}

func fileTail(path string, n int64) string {
	b, err := os.ReadFile(path) //nolint:gosec // a log the harness wrote
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// jsonResult is Result plus its derived figures, for -json; a figure that could not be
// computed (no spans stored) is null.
type jsonResult struct {
	*Result
	SpansPerSecond       *float64 `json:"SpansPerSecond"`
	CPUMicrosPerSpan     *float64 `json:"CPUMicrosPerSpan"`
	CPUSecondsPerMillion *float64 `json:"CPUSecondsPerMillion"`
	DiskBytesPerSpan     *float64 `json:"DiskBytesPerSpan"`
	Goals                []Goal   `json:"Goals"`
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// WriteJSON writes r and its derived figures as indented JSON to path.
func WriteJSON(path string, r *Result) error {
	j := jsonResult{
		Result: r, SpansPerSecond: finite(r.SpansPerSecond()), CPUMicrosPerSpan: finite(r.CPUMicrosPerSpan()),
		CPUSecondsPerMillion: finite(r.CPUSecondsPerMillion()), DiskBytesPerSpan: finite(r.DiskBytesPerSpan()), Goals: r.Goals(),
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil { //nolint:gosec // a report for people to read, not a secret
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// Main is the whole command: flags, run, table on stdout; sim runs the simulator for
// -generator=sim (nil: that generator fails). It returns the exit code: 0 when the run was
// measured (goals met or not, or a signal faultline does not ingest yet), 1 when the
// harness failed, 2 on bad flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, sim SimRunner) int {
	fs := flag.NewFlagSet("ingestbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{Sim: sim}
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "ingestbench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := cfg.Validate(); err != nil {
		_, _ = fmt.Fprintf(stderr, "ingestbench: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	res, err := Run(ctx, cfg, logger)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "ingestbench: %v\n", err)
		return 1
	}
	if err := res.WriteMarkdown(stdout); err != nil {
		_, _ = fmt.Fprintf(stderr, "ingestbench: %v\n", err)
		return 1
	}
	return 0
}
