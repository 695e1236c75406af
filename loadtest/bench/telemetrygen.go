package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TelemetrygenModule is the Go package path of the OpenTelemetry load generator.
const TelemetrygenModule = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"

// EnsureTelemetrygen returns the path of a telemetrygen binary: bin if it exists, otherwise
// it is installed there with `go install` (GOBIN set to bin's directory) at version, or at
// the previous minor release if the module proxy refuses version.
func EnsureTelemetrygen(ctx context.Context, bin, version string, out io.Writer) error {
	if _, err := os.Stat(bin); err == nil {
		return nil
	}
	gobin, err := filepath.Abs(filepath.Dir(bin))
	if err != nil {
		return fmt.Errorf("telemetrygen directory: %w", err)
	}
	if filepath.Base(bin) != "telemetrygen" {
		return fmt.Errorf("telemetrygen %s does not exist (go install can only create a file named telemetrygen)", bin)
	}
	versions := []string{version}
	if prev, ok := PreviousMinor(version); ok {
		versions = append(versions, prev)
	}
	var errs []error
	for _, v := range versions {
		_, _ = fmt.Fprintf(out, "installing %s@%s into %s\n", TelemetrygenModule, v, gobin)
		cmd := exec.CommandContext(ctx, "go", "install", TelemetrygenModule+"@"+v) //nolint:gosec // version from the operator's flag
		cmd.Env = append(os.Environ(), "GOBIN="+gobin)
		cmd.Stdout, cmd.Stderr = out, out
		err := cmd.Run()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("go install telemetrygen@%s: %w", v, err))
	}
	return errors.Join(errs...)
}

// PreviousMinor turns v0.161.0 into v0.160.0.
func PreviousMinor(v string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) != 3 {
		return "", false
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil || minor == 0 {
		return "", false
	}
	return fmt.Sprintf("v%s.%d.0", parts[0], minor-1), true
}

// BinaryModuleVersion reports the main module version recorded in a Go binary
// (`go version -m`), or "unknown".
func BinaryModuleVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, "go", "version", "-m", bin).Output()
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" {
			return f[2]
		}
	}
	return "unknown"
}

// TelemetrygenRun is one invocation of `telemetrygen traces` (or logs, metrics).
type TelemetrygenRun struct {
	Signal    string // the subcommand: traces (also when empty), logs or metrics
	Bin       string
	Endpoint  string // host:port of faultline's OTLP/gRPC receiver
	Workers   int
	Rate      float64 // spans per second per worker; 0 is unthrottled
	BatchSize int
	Duration  time.Duration
	Extra     []string // more flags, appended last so they win
	Log       io.Writer
	// StopOnExportFailure leaves out --allow-export-failures, so telemetrygen exits at the
	// first export faultline refuses (used when faultline is known not to take the signal).
	StopOnExportFailure bool
}

// Args is the command line after the binary.
func (t TelemetrygenRun) Args() []string {
	signal := t.Signal
	if signal == "" {
		signal = SignalTraces
	}
	args := []string{
		signal,
		"--otlp-endpoint=" + t.Endpoint,
		"--otlp-insecure",
		"--workers=" + strconv.Itoa(t.Workers),
		"--rate=" + strconv.FormatFloat(t.Rate, 'f', -1, 64),
		"--duration=" + t.Duration.String(),
	}
	if !t.StopOnExportFailure {
		args = append(args, "--allow-export-failures")
	}
	if t.BatchSize > 0 {
		args = append(args, "--batch-size="+strconv.Itoa(t.BatchSize))
	}
	return append(args, t.Extra...)
}

// Run runs telemetrygen to completion and returns the CPU time (user+system) it used. It is
// interrupted when ctx ends and killed if it has not finished a minute after its duration
// (its exporter flushes for at most 10 s).
func (t TelemetrygenRun) Run(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, t.Duration+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.Bin, t.Args()...) //nolint:gosec // the load generator, named by the operator
	cmd.Stdout, cmd.Stderr = t.Log, t.Log
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 15 * time.Second
	setParentDeathSignal(cmd)
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return cpu, fmt.Errorf("telemetrygen %s: %w", strings.Join(cmd.Args[1:], " "), err)
	}
	return cpu, nil
}
