// Command agentbench measures faultline-agent's CPU and memory while it tails a file written at
// a steady rate and collects host metrics, beside node_exporter's when Debian's
// prometheus-node-exporter is installed. See loadtest/README.md ("Agent cost").
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/loadtest/agentbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := agentbench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
