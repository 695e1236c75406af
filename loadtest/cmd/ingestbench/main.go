// Command ingestbench measures the faultline binary end to end under OTLP load from
// telemetrygen (traces, logs or metrics), from an in-process replay generator or from the
// microservice simulator, and prints a Markdown table of throughput, CPU, memory, disk and
// query latency. See loadtest/README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/loadtest/bench"
)

// simRunner runs loadtest/sim for -generator=sim; set in sim.go.
var simRunner bench.SimRunner

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, simRunner)
	stop()
	os.Exit(code)
}
