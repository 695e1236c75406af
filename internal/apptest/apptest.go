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

// Process is a running Faultline binary (faultline or faultline-agent) with an HTTP listener
// serving /ready.
type Process struct {
	t        testing.TB
	name     string
	Bin      string
	HTTPAddr string // 127.0.0.1:port of the listener with /ready
	Scheme   string // "http" unless TLS flags were given
	Client   *http.Client

	args func() []string // the command line, built at each (re)start
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// Faultline is a running faultline process.
type Faultline struct {
	*Process
	DataDir  string
	Args     []string // extra flags
	GRPCAddr string   // OTLP/gRPC
	OTLPHTTP string   // OTLP/HTTP
}

// StartFaultline starts bin on fresh ports with dataDir and extra flags, and waits for /ready.
// The process is killed when the test ends if it is still running.
func StartFaultline(t testing.TB, bin, dataDir string, extra ...string) *Faultline {
	t.Helper()
	f := &Faultline{
		Process:  newProcess(t, "faultline", bin, extra),
		DataDir:  dataDir,
		Args:     extra,
		GRPCAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		OTLPHTTP: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
	}
	f.args = func() []string {
		return append([]string{
			"-data.dir=" + f.DataDir,
			"-http.addr=" + f.HTTPAddr,
			"-otlp.grpc.addr=" + f.GRPCAddr,
			"-otlp.http.addr=" + f.OTLPHTTP,
			"-log.level=info",
		}, f.Args...)
	}
	f.Start()
	return f
}

// Agent is a running faultline-agent process.
type Agent struct {
	*Process
	StateDir string
	Args     []string // flags besides -state.dir and -http.addr
}

// StartAgent starts a faultline-agent with stateDir and extra flags (at least
// -collector.endpoint) on a fresh port and waits for /ready.
func StartAgent(t testing.TB, bin, stateDir string, extra ...string) *Agent {
	t.Helper()
	a := &Agent{Process: newProcess(t, "faultline-agent", bin, extra), StateDir: stateDir, Args: extra}
	a.args = func() []string {
		return append([]string{"-state.dir=" + a.StateDir, "-http.addr=" + a.HTTPAddr, "-log.level=info"}, a.Args...)
	}
	a.Start()
	return a
}

func newProcess(t testing.TB, name, bin string, extra []string) *Process {
	p := &Process{t: t, name: name, Bin: bin, Scheme: "http", HTTPAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), Client: HTTPClient()}
	for _, a := range extra {
		if strings.HasPrefix(a, "-http.tls-cert-file") {
			// The test made the certificate itself; only the listener's TLS is under test.
			p.Scheme = "https"
			p.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // test-only, loopback
		}
	}
	t.Cleanup(func() {
		if p.Running() {
			p.Kill()
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", p.name, p.Logs())
		}
	})
	return p
}

// Start (re)starts the process with the same ports and directories and waits for /ready.
func (p *Process) Start() {
	p.t.Helper()
	p.logs = &syncBuffer{}
	p.cmd = exec.Command(p.Bin, p.args()...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	if err := p.WaitReady(60 * time.Second); err != nil {
		p.t.Fatalf("%s not ready: %v\n%s", p.name, err, p.Logs())
	}
}

// WaitReady polls /ready until it answers 200, the process exits, or the timeout passes.
func (p *Process) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("process exited: %w", err)
		default:
		}
		resp, err := p.Client.Get(p.URL("/ready"))
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

// URL is the address of path on the process's HTTP listener.
func (p *Process) URL(path string) string { return p.Scheme + "://" + p.HTTPAddr + path }

// Running reports whether the process has not exited.
func (p *Process) Running() bool {
	if p.done == nil {
		return false
	}
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return p.cmd != nil
	}
}

// Stop sends SIGTERM and waits for a clean exit, failing the test on a non-zero status.
func (p *Process) Stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Fatalf("%s exited with %v after SIGTERM\n%s", p.name, err, p.Logs())
		}
	case <-time.After(60 * time.Second):
		p.Kill()
		p.t.Fatalf("%s did not stop within 60s of SIGTERM\n%s", p.name, p.Logs())
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) { _ = p.cmd.Process.Signal(sig) }

// Kill sends SIGKILL (a crash) and waits for the process to be gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// Wait waits for the process to exit and returns its status.
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Logs is everything the process printed since its last start.
func (p *Process) Logs() string {
	if p.logs == nil {
		return ""
	}
	return p.logs.String()
}

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
