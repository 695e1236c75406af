package rca

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/apptest"
)

// The harness starts two real Faultline processes and runs two short none scenarios on
// them side by side. The suite's timeline is a minute and more (faults start at least
// Lookback into a run); the simulator runs it at a tenth of the speed, so each run takes 6s.
func TestMainStartsFaultline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the faultline binary and starts two processes")
	}
	bin, err := apptest.Build(t.TempDir(), "faultline")
	require.NoError(t, err)
	dir := t.TempDir()
	suite := filepath.Join(dir, "suite.yaml")
	require.NoError(t, os.WriteFile(suite, []byte(`
defaults:
  rate: 5
  fault: {start: 60s, duration: 1s}
scenarios:
  - name: a-none
    topology: chain5
    fault: {kind: none}
    seed: 1
  - name: b-none
    topology: chain5
    fault: {kind: none}
    seed: 2
`), 0o600))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the processes' temporary root goes here, to be gone after

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	report := filepath.Join(dir, "rca.json")
	code := run(ctx, []string{"-suite=" + suite, "-faultline.bin=" + bin, "-parallel=2", "-json=" + report}, &stdout, &stderr, 0.1)
	logs := stderr.String()
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), logs)

	// Both scenarios ran, one on each worker, side by side; the report is in suite order.
	assert.Contains(t, stdout.String(), "| a-none | chain5 | none |")
	assert.Contains(t, stdout.String(), "| b-none | chain5 | none |")
	assert.Regexp(t, `\nAC@1=0\.00 AC@3=0\.00 Avg@5=0\.00 scenarios=0 false_alarms=\d+/\d+ false_incidents=\d+/\d+ split_incidents=0 detection_mean=- detection_max=- undetected=0\n$`, stdout.String())
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	var got Report
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got.Results, 2)
	a, bb := got.Results[0], got.Results[1]
	assert.Equal(t, "a-none", a.Scenario)
	assert.Equal(t, "b-none", bb.Scenario)
	assert.Empty(t, a.Error)
	assert.Empty(t, bb.Error)
	assert.True(t, bb.RunStart.Before(a.RunEnd) && a.RunStart.Before(bb.RunEnd), "the runs overlap: %v–%v and %v–%v", a.RunStart, a.RunEnd, bb.RunStart, bb.RunEnd)
	for _, w := range []string{"w1", "w2"} {
		assert.Regexp(t, `msg="scenario start" worker=`+w+` scenario=[ab]-none`, logs, "progress names the worker")
	}

	// The processes are gone and so is their temporary root.
	ready := regexp.MustCompile(`msg="faultline ready" worker=(w\d) pid=(\d+)`).FindAllStringSubmatch(logs, -1)
	require.Len(t, ready, 2, logs)
	for _, m := range ready {
		pid, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		assert.True(t, errors.Is(syscall.Kill(pid, 0), syscall.ESRCH), "faultline of worker %s (pid %d) still exists", m[1], pid)
	}
	assert.Regexp(t, `msg="faultline stopped" worker=w1 pid=\d+ how="exit status 0 after SIGTERM"`, logs)
	assert.Regexp(t, `msg="faultline stopped" worker=w2 pid=\d+ how="exit status 0 after SIGTERM"`, logs)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the temporary dirs are removed")
}
