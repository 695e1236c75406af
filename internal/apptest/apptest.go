// Package apptest starts real faultline processes for end-to-end tests: the binary built
// from this tree, on free 127.0.0.1 ports, with its own data directory.
package apptest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles ./cmd/<name> of this module into dir and returns the binary's path.
func Build(dir, name string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/"+name)...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", name, err, b)
	}
	return out, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Faultline is a running faultline process.
type Faultline struct {
	t        testing.TB
	Bin      string
	DataDir  string
	Args     []string // extra flags
	HTTPAddr string   // query API, 127.0.0.1:port
	GRPCAddr string   // OTLP/gRPC
	OTLPHTTP string   // OTLP/HTTP
	Scheme   string   // "http" unless TLS flags were given
	Client   *http.Client

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// StartFaultline starts bin on fresh ports with dataDir and extra flags, and waits for /ready.
// The process is killed when the test ends if it is still running.
func StartFaultline(t testing.TB, bin, dataDir string, extra ...string) *Faultline {
	t.Helper()
	f := &Faultline{
		t: t, Bin: bin, DataDir: dataDir, Args: extra, Scheme: "http",
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		GRPCAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		OTLPHTTP: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
	}
	f.Client = HTTPClient()
	for _, a := range extra {
		if strings.HasPrefix(a, "-http.tls-cert-file") {
			// The test made the certificate itself; only the listener's TLS is under test.
			f.Scheme = "https"
			f.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // test-only, loopback
		}
	}
	f.Start()
	t.Cleanup(func() {
		if f.Running() {
			f.Kill()
		}
		if t.Failed() {
			t.Logf("faultline output:\n%s", f.Logs())
		}
	})
	return f
}

// Start (re)starts the process on the same ports and data dir and waits for /ready.
func (f *Faultline) Start() {
	f.t.Helper()
	args := append([]string{
		"-data.dir=" + f.DataDir,
		"-http.addr=" + f.HTTPAddr,
		"-otlp.grpc.addr=" + f.GRPCAddr,
		"-otlp.http.addr=" + f.OTLPHTTP,
		"-log.level=info",
	}, f.Args...)
	f.logs = &syncBuffer{}
	f.cmd = exec.Command(f.Bin, args...)
	f.cmd.Stdout, f.cmd.Stderr = f.logs, f.logs
	if err := f.cmd.Start(); err != nil {
		f.t.Fatalf("start faultline: %v", err)
	}
	f.done = make(chan error, 1)
	go func() { f.done <- f.cmd.Wait() }()
	if err := f.WaitReady(60 * time.Second); err != nil {
		f.t.Fatalf("faultline not ready: %v\n%s", err, f.Logs())
	}
}

// WaitReady polls /ready until it answers 200, the process exits, or the timeout passes.
func (f *Faultline) WaitReady(timeout time.Duration) error {
	client := f.Client
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-f.done:
			f.done <- err
			return fmt.Errorf("process exited: %w", err)
		default:
		}
		resp, err := client.Get(f.URL("/ready"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s", timeout)
}

// URL is the address of path on the query listener.
func (f *Faultline) URL(path string) string { return f.Scheme + "://" + f.HTTPAddr + path }

// Running reports whether the process has not exited.
func (f *Faultline) Running() bool {
	select {
	case err := <-f.done:
		f.done <- err
		return false
	default:
		return f.cmd != nil
	}
}

// Stop sends SIGTERM and waits for a clean exit, failing the test on a non-zero status.
func (f *Faultline) Stop() {
	f.t.Helper()
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-f.done:
		f.done <- err
		if err != nil {
			f.t.Fatalf("faultline exited with %v after SIGTERM\n%s", err, f.Logs())
		}
	case <-time.After(60 * time.Second):
		f.Kill()
		f.t.Fatalf("faultline did not stop within 60s of SIGTERM\n%s", f.Logs())
	}
}

// Signal sends sig to the process.
func (f *Faultline) Signal(sig os.Signal) { _ = f.cmd.Process.Signal(sig) }

// Kill sends SIGKILL (a crash) and waits for the process to be gone.
func (f *Faultline) Kill() {
	_ = f.cmd.Process.Kill()
	err := <-f.done
	f.done <- err
}

// Wait waits for the process to exit and returns its status.
func (f *Faultline) Wait(ctx context.Context) (int, error) {
	select {
	case <-f.done:
		return f.cmd.ProcessState.ExitCode(), nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Logs is everything the process printed so far.
func (f *Faultline) Logs() string { return f.logs.String() }

// HTTPClient is a client with a timeout, for talking to the process under test.
func HTTPClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// RunFaultline runs bin with args to completion (for flag and config checks) and returns
// its exit code and output.
func RunFaultline(bin string, args ...string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		return -1, err.Error()
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// RunWithBinary is a TestMain body: it builds cmd/<name> into a temporary directory, points
// *path at it, runs the tests and cleans up. Call it as os.Exit(apptest.RunWithBinary(m, …)).
func RunWithBinary(m *testing.M, name string, path *string) int {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *path, err = Build(dir, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// WaitFor polls cond every 50ms until it holds, failing the test with what after timeout.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}
