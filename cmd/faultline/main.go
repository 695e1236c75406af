// Command faultline runs the Faultline observability stack: OTLP collector, stores, query API
// and UI, chosen by -target.
package main

import (
	"os"

	"github.com/faultline/faultline/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
