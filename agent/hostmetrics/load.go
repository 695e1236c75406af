package hostmetrics

import (
	"context"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/load"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func init() {
	registerCollector(registration{
		name: "load",
		help: "the load averages (system.cpu.load_average.1m, 5m, 15m)",
		new:  func(*collectorEnv) (collector, error) { return loadCollector{}, nil },
	})
}

type loadCollector struct{}

func (loadCollector) collect(ctx context.Context, ms pmetric.MetricSlice) error {
	avg, err := load.AvgWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read load average: %w", err)
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	for _, l := range []struct {
		name, window string
		v            float64
	}{
		{"system.cpu.load_average.1m", "1 minute", avg.Load1},
		{"system.cpu.load_average.5m", "5 minutes", avg.Load5},
		{"system.cpu.load_average.15m", "15 minutes", avg.Load15},
	} {
		newGauge(ms, l.name, "{thread}", "Average number of runnable and uninterruptible threads over "+l.window+".", now).double(l.v)
	}
	return nil
}
