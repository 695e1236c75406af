package agentbench

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/faultline/faultline/loadtest/bench"
)

// Usage is what a process cost over a measured window.
type Usage struct {
	CPUSeconds float64       // user plus system time in the window, all threads
	Elapsed    time.Duration // wall time of the window
	RSSAvg     uint64        // mean of the resident set sizes sampled in the window, bytes
	RSSPeak    uint64        // VmHWM at the end: the process's high-water mark since it started, bytes
	Samples    int           // RSS readings averaged
}

// CPUPercent is the CPU time as a percentage of one core over the window.
func (u Usage) CPUPercent() float64 {
	if u.Elapsed <= 0 {
		return math.NaN()
	}
	return 100 * u.CPUSeconds / u.Elapsed.Seconds()
}

// Meter samples one process's /proc/<pid>/stat and status from StartMeter to Stop.
type Meter struct {
	pid   int
	clk   uint64
	start time.Time
	first bench.ProcSample

	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	rssSum float64
	rssMax uint64
	n      int
	err    error // first failed reading
}

// StartMeter reads pid's CPU time and RSS now and then every `every` until Stop. clkTck is
// the kernel's USER_HZ (bench.ClockTicks).
func StartMeter(pid int, every time.Duration, clkTck uint64) (*Meter, error) {
	if every <= 0 {
		return nil, fmt.Errorf("meter: sampling interval must be positive, got %s", every)
	}
	first, err := bench.ReadProc(pid, clkTck)
	if err != nil {
		return nil, fmt.Errorf("meter pid %d: %w", pid, err)
	}
	m := &Meter{pid: pid, clk: clkTck, start: time.Now(), first: first, stop: make(chan struct{}), done: make(chan struct{})}
	m.add(first.RSS)
	go m.run(every)
	return m, nil
}

func (m *Meter) add(rss uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rssSum += float64(rss)
	m.rssMax = max(m.rssMax, rss)
	m.n++
}

func (m *Meter) run(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		s, err := bench.ReadProc(m.pid, m.clk)
		if err != nil {
			m.mu.Lock()
			if m.err == nil {
				m.err = err
			}
			m.mu.Unlock()
			continue
		}
		m.add(s.RSS)
	}
}

// Stop takes the last reading and returns the usage since StartMeter. It fails when the
// process could not be read (it has exited) at the end or at any sample.
func (m *Meter) Stop() (Usage, error) {
	close(m.stop)
	<-m.done
	last, err := bench.ReadProc(m.pid, m.clk)
	elapsed := time.Since(m.start)
	if err != nil {
		return Usage{}, fmt.Errorf("meter pid %d: %w", m.pid, err)
	}
	m.add(last.RSS)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return Usage{}, fmt.Errorf("meter pid %d: %w", m.pid, m.err)
	}
	return Usage{
		CPUSeconds: float64(last.CPUTicks-m.first.CPUTicks) / float64(m.clk),
		Elapsed:    elapsed,
		RSSAvg:     uint64(m.rssSum / float64(m.n)),
		RSSPeak:    max(last.PeakRSS, m.rssMax),
		Samples:    m.n,
	}, nil
}
