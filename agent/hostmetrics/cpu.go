package hostmetrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func init() {
	registerCollector(registration{
		name: "cpu",
		help: "CPU time and utilization per logical CPU (system.cpu.time, system.cpu.utilization, system.cpu.logical.count)",
		new:  newCPUCollector,
	})
}

// cpuStates are the state attribute values, in the order of the columns of /proc/stat
// (user nice system idle iowait irq softirq steal). Guest time is already part of user and
// nice, so it is not a state of its own.
var cpuStates = [...]string{"user", "nice", "system", "idle", "wait", "interrupt", "softirq", "steal"}

type cpuTimes struct {
	id    string // "cpu0"
	ticks [len(cpuStates)]uint64
}

func (t *cpuTimes) total() uint64 {
	var sum uint64
	for _, v := range t.ticks {
		sum += v
	}
	return sum
}

// cpuCollector reads /proc/stat itself rather than through gopsutil's cpu package: the
// parsing is the same and it spares the agent a dependency for one constant (USER_HZ).
type cpuCollector struct {
	env       *collectorEnv
	r         fileReader
	cur, prev []cpuTimes
}

func newCPUCollector(env *collectorEnv) (collector, error) {
	return &cpuCollector{env: env}, nil
}

func (c *cpuCollector) collect(_ context.Context, ms pmetric.MetricSlice) error {
	data, err := c.r.read(c.env.procPath("stat"))
	if err != nil {
		return fmt.Errorf("read cpu times: %w", err)
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	c.cur, err = parseCPUTimes(data, c.cur[:0], c.prev)
	if err != nil {
		return err
	}

	times := newSum(ms, "system.cpu.time", "s", "Seconds each logical CPU spent in each state.", true, c.env.bootTime, now)
	times.dps.EnsureCapacity(len(c.cur) * len(cpuStates))
	for i := range c.cur {
		t := &c.cur[i]
		for s, v := range t.ticks {
			times.double(float64(v)/userHZ, "cpu", t.id, "state", cpuStates[s])
		}
	}

	if len(c.prev) > 0 {
		util := newGauge(ms, "system.cpu.utilization", "1", "Share of each logical CPU's time spent in each state since the previous scrape.", now)
		util.dps.EnsureCapacity(len(c.cur) * len(cpuStates))
		for i := range c.cur {
			t := &c.cur[i]
			p := findCPU(c.prev, i, t.id)
			if p == nil {
				continue // came online since the previous scrape
			}
			delta, ok := cpuDelta(t, p)
			if !ok {
				continue
			}
			var total uint64
			for _, d := range delta {
				total += d
			}
			for s, d := range delta {
				util.double(ratio(d, total), "cpu", t.id, "state", cpuStates[s])
			}
		}
	}

	count := newSum(ms, "system.cpu.logical.count", "{cpu}", "Number of logical CPUs online.", false, c.env.bootTime, now)
	count.int(int64(len(c.cur)))

	c.cur, c.prev = c.prev, c.cur
	return nil
}

// parseCPUTimes reads the per-CPU lines of /proc/stat into dst, reusing the id strings of
// prev where they match so that a steady host allocates none.
func parseCPUTimes(data []byte, dst, prev []cpuTimes) ([]cpuTimes, error) {
	seenCPU := false
	for rest := data; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if !bytes.HasPrefix(line, []byte("cpu")) {
			if seenCPU {
				break // the CPU lines come first; the rest (intr above all) is long and unneeded
			}
			continue
		}
		seenCPU = true
		id, fields := nextField(line)
		if len(id) == 3 {
			continue // the all-CPUs line
		}
		var t cpuTimes
		i := len(dst)
		if i < len(prev) && prev[i].id == string(id) {
			t.id = prev[i].id
		} else {
			t.id = string(id)
		}
		n := 0
		for ; n < len(t.ticks); n++ {
			var f []byte
			f, fields = nextField(fields)
			if len(f) == 0 {
				break // kernels before 2.6.11 have no steal column
			}
			v, ok := parseUint(f)
			if !ok {
				return dst, fmt.Errorf("parse /proc/stat: %s: field %d is %q", t.id, n+1, f)
			}
			t.ticks[n] = v
		}
		if n < 4 {
			return dst, fmt.Errorf("parse /proc/stat: %s has %d fields", t.id, n)
		}
		dst = append(dst, t)
	}
	if len(dst) == 0 {
		return dst, errors.New("parse /proc/stat: no per-CPU lines")
	}
	return dst, nil
}

// findCPU finds id in prev, looking first at the same position.
func findCPU(prev []cpuTimes, i int, id string) *cpuTimes {
	if i < len(prev) && prev[i].id == id {
		return &prev[i]
	}
	for j := range prev {
		if prev[j].id == id {
			return &prev[j]
		}
	}
	return nil
}

// cpuDelta is cur - prev per state; false when nothing elapsed or a counter went back (a
// CPU taken offline and online again restarts its counters).
func cpuDelta(cur, prev *cpuTimes) (delta [len(cpuStates)]uint64, ok bool) {
	for s := range cur.ticks {
		if cur.ticks[s] < prev.ticks[s] {
			return delta, false
		}
		delta[s] = cur.ticks[s] - prev.ticks[s]
	}
	return delta, cur.total() > prev.total()
}
