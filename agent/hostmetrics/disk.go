package hostmetrics

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/shirou/gopsutil/v4/disk"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func init() {
	registerCollector(registration{
		name: "disk",
		help: "block device I/O (system.disk.*)",
		new:  newDiskCollector,
	})
}

type diskCollector struct {
	env     *collectorEnv
	exclude *regexp.Regexp
	names   []string
}

func newDiskCollector(env *collectorEnv) (collector, error) {
	re, err := compileExclude(env.cfg.DevicesExclude)
	if err != nil {
		return nil, err
	}
	return &diskCollector{env: env, exclude: re}, nil
}

func (c *diskCollector) collect(ctx context.Context, ms pmetric.MetricSlice) error {
	// gopsutil leaves out devices whose counters are all zero (never used).
	counters, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read disk counters: %w", err)
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	start := c.env.bootTime
	io := newSum(ms, "system.disk.io", "By", "Bytes read from and written to the device.", true, start, now)
	ops := newSum(ms, "system.disk.operations", "{operations}", "Reads and writes completed.", true, start, now)
	ioTime := newSum(ms, "system.disk.io_time", "s", "Time the device had I/O in flight.", true, start, now)
	opTime := newSum(ms, "system.disk.operation_time", "s", "Time spent in reads and in writes, added up over concurrent operations.", true, start, now)
	weighted := newSum(ms, "system.disk.weighted_io_time", "s", "Time the device had I/O in flight multiplied by the number in flight.", true, start, now)
	pending := newSum(ms, "system.disk.pending_operations", "{operations}", "I/O operations in flight.", false, start, now)
	merged := newSum(ms, "system.disk.merged", "{operations}", "Adjacent reads and writes merged into one.", true, start, now)

	// Sorted so that the output is stable from one scrape to the next.
	c.names = c.names[:0]
	for name := range counters {
		if !excluded(c.exclude, name) {
			c.names = append(c.names, name)
		}
	}
	slices.Sort(c.names)
	for _, name := range c.names {
		d := counters[name]
		io.int(clampInt64(d.ReadBytes), "device", name, "direction", "read")
		io.int(clampInt64(d.WriteBytes), "device", name, "direction", "write")
		ops.int(clampInt64(d.ReadCount), "device", name, "direction", "read")
		ops.int(clampInt64(d.WriteCount), "device", name, "direction", "write")
		ioTime.double(msToSeconds(d.IoTime), "device", name)
		opTime.double(msToSeconds(d.ReadTime), "device", name, "direction", "read")
		opTime.double(msToSeconds(d.WriteTime), "device", name, "direction", "write")
		weighted.double(msToSeconds(d.WeightedIO), "device", name)
		pending.int(clampInt64(d.IopsInProgress), "device", name)
		merged.int(clampInt64(d.MergedReadCount), "device", name, "direction", "read")
		merged.int(clampInt64(d.MergedWriteCount), "device", name, "direction", "write")
	}
	return nil
}

func msToSeconds(ms uint64) float64 {
	return float64(ms) / 1e3
}
