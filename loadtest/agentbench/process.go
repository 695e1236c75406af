package agentbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a program the bench starts and measures (faultline-agent, node_exporter), its
// output in a log file.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // from Wait, valid once done is closed
}

// StartProcess starts bin with args, its stdout and stderr going to logPath. The kernel
// kills it if the bench dies first (on Linux).
func StartProcess(name, bin string, args []string, logPath string) (*Process, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s binary: %w", name, err)
	}
	log, err := os.Create(logPath) //nolint:gosec // a file in the bench's own temp dir
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, log: log, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...) //nolint:gosec // the binary under test, named by the operator
	p.cmd.Stdout, p.cmd.Stderr = log, log
	setParentDeathSignal(p.cmd)
	if err := p.cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id, for /proc readings.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitHTTP polls url until it answers 200, the process exits, timeout passes or ctx ends.
func (p *Process) WaitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	// No keep-alive: a connection left idle would outlive the wait.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited before %s answered 200: %s", p.Name, url, describeExit(p.err))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("%s readiness request: %w", p.Name, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: GET %s not 200 after %s (last: %s)", p.Name, url, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then sends SIGKILL. It
// returns how the process ended and an error when it did not exit cleanly after SIGTERM.
// Stop is safe to call more than once.
func (p *Process) Stop(grace time.Duration) (string, error) {
	defer func() { _ = p.log.Close() }()
	if p.Exited() {
		return describeExit(p.err), fmt.Errorf("%s had already exited: %s", p.Name, describeExit(p.err))
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return describeExit(p.err), fmt.Errorf("%s exited after SIGTERM: %w", p.Name, p.err)
		}
		return "exit status 0 after SIGTERM", nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Sprintf("killed: not stopped %s after SIGTERM", grace), fmt.Errorf("%s did not stop within %s of SIGTERM", p.Name, grace)
	}
}

// Kill ends the process at once, for clean-up after a failure.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_ = p.log.Close()
}

// LogTail is the last n bytes the process wrote.
func (p *Process) LogTail(n int64) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// FreeAddr returns a 127.0.0.1:port address that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}
