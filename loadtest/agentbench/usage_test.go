package agentbench

import (
	"math"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/bench"
)

func TestUsageCPUPercent(t *testing.T) {
	assert.InDelta(t, 1.0, Usage{CPUSeconds: 0.6, Elapsed: time.Minute}.CPUPercent(), 1e-9)
	assert.InDelta(t, 150.0, Usage{CPUSeconds: 3, Elapsed: 2 * time.Second}.CPUPercent(), 1e-9)
	assert.True(t, math.IsNaN(Usage{CPUSeconds: 1}.CPUPercent()))
}

func selfCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The meter on this test process: it burns 300 ms of CPU (by getrusage) and touches 64 MiB,
// and the meter must see both through /proc.
func TestMeterSelf(t *testing.T) {
	m, err := StartMeter(os.Getpid(), 20*time.Millisecond, bench.ClockTicks())
	require.NoError(t, err)

	const grow = 64 << 20
	mem := make([]byte, grow)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	start := selfCPU(t)
	x := uint64(1)
	for selfCPU(t)-start < 300*time.Millisecond {
		for range 100_000 {
			x = mix64(x)
		}
	}
	u, err := m.Stop()
	require.NoError(t, err)
	require.NotZero(t, x+uint64(mem[4096]))

	// Ticks are 10 ms: allow two of rounding.
	assert.GreaterOrEqual(t, u.CPUSeconds, 0.28)
	assert.InDelta(t, 100*u.CPUSeconds/u.Elapsed.Seconds(), u.CPUPercent(), 1e-9)
	assert.GreaterOrEqual(t, u.RSSPeak, uint64(grow))
	assert.GreaterOrEqual(t, u.RSSPeak, u.RSSAvg)
	assert.Positive(t, u.RSSAvg)
	assert.GreaterOrEqual(t, u.Samples, 2)

	_, err = StartMeter(os.Getpid(), 0, 100)
	require.Error(t, err)
}
