package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Faultline is the faultline process under test, on 127.0.0.1 ports chosen at start.
type Faultline struct {
	HTTPAddr string // query API, /ready and /metrics
	GRPCAddr string // OTLP/gRPC
	OTLPHTTP string // OTLP/HTTP
	DataDir  string
	LogPath  string

	cmd    *exec.Cmd
	log    *os.File
	done   chan struct{}
	err    error // from Wait, valid once done is closed
	client *http.Client
}

// StartFaultline starts bin with -target=all on three free 127.0.0.1 ports, dataDir, and
// extra flags, writes its output to logPath, and waits until GET /ready answers 200.
func StartFaultline(ctx context.Context, bin, dataDir, logPath string, extra []string, readyTimeout time.Duration) (*Faultline, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	f := &Faultline{
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		GRPCAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		OTLPHTTP: fmt.Sprintf("127.0.0.1:%d", ports[2]),
		DataDir:  dataDir,
		LogPath:  logPath,
		done:     make(chan struct{}),
		client:   &http.Client{Timeout: 30 * time.Second},
	}
	args := append([]string{
		"-target=all",
		"-data.dir=" + dataDir,
		"-http.addr=" + f.HTTPAddr,
		"-otlp.grpc.addr=" + f.GRPCAddr,
		"-otlp.http.addr=" + f.OTLPHTTP,
	}, extra...)
	if f.log, err = os.Create(logPath); err != nil { //nolint:gosec // a file in the harness's own temp dir
		return nil, fmt.Errorf("create faultline log: %w", err)
	}
	f.cmd = exec.Command(bin, args...) //nolint:gosec // the binary under test, named by the operator
	f.cmd.Stdout, f.cmd.Stderr = f.log, f.log
	setParentDeathSignal(f.cmd)
	if err := f.cmd.Start(); err != nil {
		_ = f.log.Close()
		return nil, fmt.Errorf("start faultline: %w", err)
	}
	go func() {
		f.err = f.cmd.Wait()
		close(f.done)
	}()
	if err := f.waitReady(ctx, readyTimeout); err != nil {
		_, _ = f.Stop(5 * time.Second)
		return nil, fmt.Errorf("faultline not ready: %w\n%s", err, f.LogTail(4096))
	}
	return f, nil
}

// PID is the process id, for /proc readings.
func (f *Faultline) PID() int { return f.cmd.Process.Pid }

// URL is the address of path on the HTTP listener.
func (f *Faultline) URL(path string) string { return "http://" + f.HTTPAddr + path }

// Exited reports whether the process has exited.
func (f *Faultline) Exited() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

func (f *Faultline) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if f.Exited() {
			return fmt.Errorf("process exited: %s", describeExit(f.err))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.URL("/ready"), nil)
		resp, err := f.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("GET /ready not 200 after %s", timeout)
}

// Metrics fetches and parses /metrics.
func (f *Faultline) Metrics(ctx context.Context) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL("/metrics"), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get /metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get /metrics: status %s", resp.Status)
	}
	return ParseMetrics(resp.Body)
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then sends SIGKILL. It
// returns how the process ended ("exit status 0", "killed after 30s", ...) and an error
// when it did not exit cleanly after SIGTERM.
func (f *Faultline) Stop(grace time.Duration) (string, error) {
	defer func() { _ = f.log.Close() }()
	if f.Exited() {
		return describeExit(f.err), fmt.Errorf("faultline had already exited: %s", describeExit(f.err))
	}
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
		if f.err != nil {
			return describeExit(f.err), fmt.Errorf("faultline exited after SIGTERM: %w", f.err)
		}
		return "exit status 0 after SIGTERM", nil
	case <-time.After(grace):
		_ = f.cmd.Process.Kill()
		<-f.done
		return fmt.Sprintf("killed: not stopped %s after SIGTERM", grace), fmt.Errorf("faultline did not stop within %s of SIGTERM", grace)
	}
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// LogTail is the last n bytes faultline wrote.
func (f *Faultline) LogTail(n int64) string {
	b, err := os.ReadFile(f.LogPath)
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// DirUsage is the bytes in the regular files under a directory, in total and for the two
// kinds of file a Pebble store is mostly made of.
type DirUsage struct {
	Total int64
	SST   int64 // *.sst: sorted tables, compressed
	WAL   int64 // *.log: write-ahead log, uncompressed, kept until its memtable is flushed
}

// DirSize sums the sizes of the regular files under dir.
func DirSize(dir string) (DirUsage, error) {
	var total DirUsage
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a file compacted away while we walked
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		total.Total += info.Size()
		switch filepath.Ext(d.Name()) {
		case ".sst":
			total.SST += info.Size()
		case ".log":
			total.WAL += info.Size()
		}
		return nil
	})
	if err != nil {
		return DirUsage{}, fmt.Errorf("size of %s: %w", dir, err)
	}
	return total, nil
}

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a moment ago; the
// listeners are held until all are chosen so the ports differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer func() { _ = l.Close() }()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
