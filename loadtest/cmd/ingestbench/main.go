// Command ingestbench measures the faultline binary end to end under OTLP trace load from
// telemetrygen and prints a Markdown table of throughput, CPU, memory, disk and query
// latency. See loadtest/README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/loadtest/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
