package agentbench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// helperEnv turns the test binary into a stand-in for an exporter (a real process with an
// HTTP listener, for the process, meter and scraper tests): AGENTBENCH_HELPER=MODE:ADDR.
const helperEnv = "AGENTBENCH_HELPER"

func TestMain(m *testing.M) {
	if v, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(helper(v))
	}
	goleak.VerifyTestMain(m)
}

// helper modes:
//   - serve:ADDR answers /ready and /metrics (helper_scrapes_total counts the /metrics
//     requests, including this one) and exits 0 on SIGTERM;
//   - serve (no address) does the same on the address of its -http.addr or
//     --web.listen-address argument, after printing its arguments: a stand-in for faultline,
//     faultline-agent and node_exporter at once;
//   - stubborn:ADDR serves the same but ignores SIGTERM;
//   - fail: prints a message and exits 3.
func helper(v string) int {
	mode, addr, _ := strings.Cut(v, ":")
	if addr == "" {
		fmt.Println("helper args:", strings.Join(os.Args[1:], " "))
		for _, a := range os.Args[1:] {
			for _, prefix := range []string{"-http.addr=", "--web.listen-address="} {
				if v, ok := strings.CutPrefix(a, prefix); ok {
					addr = v
				}
			}
		}
	}
	if mode == "fail" {
		fmt.Println("helper: failing on purpose")
		return 3
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var scrapes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ready\n")) })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, "# TYPE helper_scrapes_total counter\nhelper_scrapes_total %d\n", scrapes.Add(1))
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	for {
		select {
		case err := <-errc:
			fmt.Println("helper:", err)
			return 1
		case <-term:
			if mode == "stubborn" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := srv.Shutdown(ctx)
			cancel()
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return 1
			}
			return 0
		}
	}
}
