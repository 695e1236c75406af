//go:build linux

package hostmetrics

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// meminfo reads /proc/meminfo in bytes.
func meminfo(t *testing.T) map[string]float64 {
	out := map[string]float64{}
	for _, line := range procLines(t, "/proc/meminfo") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		require.NoError(t, err)
		if len(f) == 3 && f[2] == "kB" {
			v *= 1024
		}
		out[strings.TrimSuffix(f[0], ":")] = v
	}
	return out
}

func TestMemory(t *testing.T) {
	s := newTestScraper(t, only("memory"))
	got := s.scrape(t)
	info := meminfo(t)
	total := info["MemTotal"]
	require.Positive(t, total)

	usage, util := got["system.memory.usage"], got["system.memory.utilization"]
	one := func(m pmetric.Metric, state string) float64 {
		pts := pointsWith(m, "state", state)
		require.Len(t, pts, 1, state)
		return value(pts[0])
	}
	for _, state := range memoryStates {
		u := one(util, state)
		assert.True(t, u >= 0 && u <= 1, "%s: %v", state, u)
		assert.InDelta(t, one(usage, state)/total, u, 1e-9, "%s utilization is its usage over MemTotal", state)
	}
	used, free := one(util, "used"), one(util, "free")
	assert.Positive(t, used)
	assert.Positive(t, free)
	assert.LessOrEqual(t, used+free, 1.0, "used leaves out what the kernel can reclaim, free counts none of it")
	// used is MemTotal - MemAvailable; memory moves between the two reads, hence the slack.
	assert.InDelta(t, total-info["MemAvailable"], one(usage, "used"), 0.05*total)

	faults := got["system.paging.faults"]
	require.Len(t, dataPoints(faults).At(0).Attributes().AsRaw(), 1)
	assert.Positive(t, value(pointsWith(faults, "type", "minor")[0]), "every process takes minor faults")
	assert.Len(t, pointsWith(got["system.paging.operations"]), 4)

	var swaps []string
	for _, line := range procLines(t, "/proc/swaps")[1:] {
		swaps = append(swaps, strings.Fields(line)[0])
	}
	if len(swaps) == 0 {
		assert.NotContains(t, got, "system.paging.usage", "no swap, no swap usage")
		return
	}
	assert.ElementsMatch(t, swaps, keys(attrValues(got["system.paging.usage"], "device")))
	for _, dev := range swaps {
		sum := 0.0
		for _, dp := range pointsWith(got["system.paging.utilization"], "device", dev) {
			sum += value(dp)
		}
		assert.InDelta(t, 1, sum, 1e-9, dev)
	}
}
