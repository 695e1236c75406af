// Command uibench measures the web UI's render time for a 200-service topology and a
// 10,000-span trace in Debian's headless Chromium. See loadtest/README.md ("UI").
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/loadtest/uibench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := uibench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
