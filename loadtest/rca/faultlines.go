package rca

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/loadtest/bench"
	"github.com/faultline/faultline/loadtest/sim"
)

// Limits of the Faultline processes the harness starts itself (-faultline.bin).
const (
	faultlineReadyTimeout = 2 * time.Minute  // a -race build on a busy machine starts slowly
	faultlineStopGrace    = 30 * time.Second // SIGTERM, then SIGKILL after this long
	faultlineStartTries   = 3                // a port picked free may be taken before the bind
)

// worker is one of the harness's own Faultline processes, with its temporary dir: data/
// and faultline.log. The process lives as long as the suite; its scenarios' history
// accumulates in it as in a serial run against one Faultline.
type worker struct {
	name string
	dir  string
	fl   *bench.Faultline
}

func (w *worker) logPath() string { return filepath.Join(w.dir, "faultline.log") }

// fleet is the Faultline processes the harness started, one per worker, under one
// temporary root.
type fleet struct {
	root    string
	workers []*worker
	keep    bool
	logger  *slog.Logger
}

// startFleet starts n Faultline processes from bin at once, each with extra flags and its
// own data dir under a new temporary root, on free 127.0.0.1 ports, and waits until every
// one is ready. On failure it stops those that started, keeps the root (the logs say why)
// and names the failed process's log in the error.
func startFleet(ctx context.Context, bin string, extra []string, n int, keep bool, logger *slog.Logger) (*fleet, error) {
	root, err := os.MkdirTemp("", "faultline-rca-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	f := &fleet{root: root, keep: keep, logger: logger, workers: make([]*worker, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		w := &worker{name: fmt.Sprintf("w%d", i+1), dir: filepath.Join(root, fmt.Sprintf("w%d", i+1))}
		f.workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.start(ctx, bin, extra)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		f.keep = true
		f.stop(ctx.Err() != nil)
		return nil, err
	}
	for _, w := range f.workers {
		logger.Info("faultline ready", "worker", w.name, "pid", w.fl.PID(), "http", w.fl.HTTPAddr, "otlp_grpc", w.fl.GRPCAddr, "dir", w.dir)
	}
	return f, nil
}

// start starts the worker's process, again on other ports when the ones picked were taken
// in the meantime.
func (w *worker) start(ctx context.Context, bin string, extra []string) error {
	dataDir := filepath.Join(w.dir, "data")
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("worker %s: %w", w.name, err)
	}
	var err error
	for range faultlineStartTries {
		w.fl, err = bench.StartFaultline(ctx, bin, dataDir, w.logPath(), extra, faultlineReadyTimeout)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		w.fl = nil
		return fmt.Errorf("worker %s: %w\n(log: %s)", w.name, err, w.logPath())
	}
	return nil
}

// simulator is RunScenario for the worker: the simulator sending to its Faultline, and a
// failed run when that Faultline is no longer running.
func (w *worker) simulator(headers map[string]string, logs bool, timeScale float64, logger *slog.Logger) RunFunc {
	run := newSimulator(w.fl.GRPCAddr, headers, logs, timeScale, logger)
	return func(ctx context.Context, sc sim.Scenario) (sim.GroundTruth, error) {
		if w.fl.Exited() {
			return sim.GroundTruth{}, fmt.Errorf("faultline of worker %s has exited (log: %s)", w.name, w.logPath())
		}
		gt, err := run(ctx, sc)
		if err == nil && w.fl.Exited() {
			err = fmt.Errorf("faultline of worker %s exited during the run (log: %s)", w.name, w.logPath())
		}
		return gt, err
	}
}

// stop sends every process SIGTERM (SIGKILL faultlineStopGrace later) and waits for all to
// exit, then removes the temporary root unless asked to keep it or a process did not stop
// cleanly: its log, named in the message, says why. It reports whether all went well. When
// the run was interrupted, a process that already exited with status 0 is fine: a Ctrl-C
// in the terminal reaches the harness's children too.
func (f *fleet) stop(interrupted bool) bool {
	failed := make([]bool, len(f.workers))
	var wg sync.WaitGroup
	for i, w := range f.workers {
		if w == nil || w.fl == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			exited := w.fl.Exited()
			how, err := w.fl.Stop(faultlineStopGrace)
			if err != nil && exited && interrupted && how == "exit status 0" {
				how, err = "exited on the interrupt", nil
			}
			if err != nil {
				failed[i] = true
				f.logger.Error("faultline did not stop cleanly", "worker", w.name, "pid", w.fl.PID(), "how", how, "err", err, "log", w.logPath())
				return
			}
			f.logger.Info("faultline stopped", "worker", w.name, "pid", w.fl.PID(), "how", how)
		}()
	}
	wg.Wait()
	ok := !slices.Contains(failed, true)
	switch {
	case f.keep || !ok:
		f.logger.Info("kept the faultline data and logs", "dir", f.root)
	default:
		if err := os.RemoveAll(f.root); err != nil {
			f.logger.Warn("remove temp dir", "dir", f.root, "err", err)
		}
	}
	return ok
}
