// Command faultline-agent runs on every host: host metrics and tailed log files, sent over
// OTLP to a Faultline collector, kept in an on-disk buffer while the collector is away.
package main

import (
	"os"

	"github.com/faultline/faultline/agent/standalone"
)

func main() { os.Exit(standalone.Main(os.Args[1:])) }
