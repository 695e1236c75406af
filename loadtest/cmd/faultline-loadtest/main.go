// Command faultline-loadtest runs the fault-injecting microservice simulator (sim) and the
// root-cause accuracy harness (rca) against a running Faultline.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/loadtest/rca"
	"github.com/faultline/faultline/loadtest/sim"
)

const usage = `usage: faultline-loadtest COMMAND [flags]

commands:
  sim   run the simulator with an optional fault; prints the ground truth as JSON
  rca   run a scenario suite against Faultline (or Faultline processes of its own, in
        parallel) and score its root-cause answers and incidents
Run "faultline-loadtest COMMAND -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var code int
	switch os.Args[1] {
	case "sim":
		code = sim.Main(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "rca":
		code = rca.Main(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", os.Args[1], usage)
		code = 2
	}
	return code
}
