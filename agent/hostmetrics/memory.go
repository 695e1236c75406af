package hostmetrics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/mem"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func init() {
	registerCollector(registration{
		name: "memory",
		help: "memory and swap use and paging activity (system.memory.*, system.paging.*)",
		new:  func(env *collectorEnv) (collector, error) { return &memoryCollector{env: env}, nil },
	})
}

// gopsutil reports the page counters of /proc/vmstat multiplied by 4 KiB; dividing gives
// back the counts, which is what the paging metrics are.
const vmstatScale = 4 * 1024

type memoryCollector struct {
	env *collectorEnv
}

func (c *memoryCollector) collect(ctx context.Context, ms pmetric.MetricSlice) error {
	errs := []error{
		c.memory(ctx, ms),
		c.swapDevices(ctx, ms),
		c.paging(ctx, ms),
	}
	return errors.Join(errs...)
}

func (c *memoryCollector) memory(ctx context.Context, ms pmetric.MetricSlice) error {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read memory: %w", err)
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	// used is total - MemAvailable, as free(1) and the OpenTelemetry hostmetrics receiver
	// count it: what applications hold, not page cache or buffers the kernel would give back.
	// cached includes the reclaimable slab, so slab_reclaimable overlaps it and
	// slab_unreclaimable overlaps used; the states do not add up to the total.
	states := [...]struct {
		name string
		v    uint64
	}{
		{"used", vm.Used},
		{"free", vm.Free},
		{"buffered", vm.Buffers},
		{"cached", vm.Cached},
		{"slab_reclaimable", vm.Sreclaimable},
		{"slab_unreclaimable", vm.Sunreclaim},
	}
	usage := newSum(ms, "system.memory.usage", "By", "Bytes of memory in each state.", false, c.env.bootTime, now)
	util := newGauge(ms, "system.memory.utilization", "1", "Share of memory in each state.", now)
	for _, s := range states {
		usage.int(clampInt64(s.v), "state", s.name)
		util.double(ratio(s.v, vm.Total), "state", s.name)
	}
	return nil
}

func (c *memoryCollector) swapDevices(ctx context.Context, ms pmetric.MetricSlice) error {
	devices, err := mem.SwapDevicesWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read swap devices: %w", err)
	}
	if len(devices) == 0 {
		return nil
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	usage := newSum(ms, "system.paging.usage", "By", "Swap space in use and free, per swap device or file.", false, c.env.bootTime, now)
	util := newGauge(ms, "system.paging.utilization", "1", "Share of each swap device or file in use and free.", now)
	for _, d := range devices {
		total := d.UsedBytes + d.FreeBytes
		usage.int(clampInt64(d.UsedBytes), "device", d.Name, "state", "used")
		usage.int(clampInt64(d.FreeBytes), "device", d.Name, "state", "free")
		util.double(ratio(d.UsedBytes, total), "device", d.Name, "state", "used")
		util.double(ratio(d.FreeBytes, total), "device", d.Name, "state", "free")
	}
	return nil
}

func (c *memoryCollector) paging(ctx context.Context, ms pmetric.MetricSlice) error {
	swap, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read paging counters: %w", err)
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	// The mapping of the OpenTelemetry hostmetrics receiver: swap-ins and -outs are the major
	// operations, pgpgin and pgpgout (block I/O of paging) the minor ones.
	ops := newSum(ms, "system.paging.operations", "{operations}", "Paging operations: pages swapped (major) and paged from or to block devices (minor).", true, c.env.bootTime, now)
	ops.int(clampInt64(swap.Sin/vmstatScale), "direction", "page_in", "type", "major")
	ops.int(clampInt64(swap.Sout/vmstatScale), "direction", "page_out", "type", "major")
	ops.int(clampInt64(swap.PgIn/vmstatScale), "direction", "page_in", "type", "minor")
	ops.int(clampInt64(swap.PgOut/vmstatScale), "direction", "page_out", "type", "minor")
	faults := newSum(ms, "system.paging.faults", "{faults}", "Page faults: major ones needed I/O, minor ones did not.", true, c.env.bootTime, now)
	faults.int(clampInt64(swap.PgMajFault/vmstatScale), "type", "major")
	var minor uint64
	if swap.PgFault >= swap.PgMajFault {
		minor = (swap.PgFault - swap.PgMajFault) / vmstatScale
	}
	faults.int(clampInt64(minor), "type", "minor")
	return nil
}
