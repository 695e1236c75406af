package agentbench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/loadtest/bench"
)

// The goals for the agent while it tails 1,000 lines/s and collects every 10 s.
const (
	GoalCPUPercent = 1.0        // of one core, averaged over the window
	GoalRSSBytes   = 40_000_000 // peak resident set, 40 MB
)

// Result is one run's figures.
type Result struct {
	Rate          int           // lines per second asked for
	Format        string        // FormatText or FormatJSON
	LinesPerWrite int           // lines per write call
	Interval      time.Duration // the agent's -interval and node_exporter's scrape interval
	Warmup        time.Duration // written but not measured

	Written   int64 // lines written in the whole run, warm-up included
	Bytes     int64 // bytes of those lines
	Delivered int64 // faultline_logs_stored_total's rise over the run, after the drain
	// DeliveredKnown is false when faultline exports no faultline_logs_stored_total.
	DeliveredKnown bool
	Drain          time.Duration // waited after the last line for the delivered count to catch up

	// In the measured window (after the warm-up, until the writer stopped).
	WindowWritten   int64
	WindowDelivered int64

	Agent     Usage
	Faultline Usage
	// NodeExporter is nil when node_exporter was not run; NodeExporterPath says where it
	// was looked for.
	NodeExporter        *Usage
	NodeExporterPath    string
	NodeExporterScrapes Scrapes

	Warnings []string
}

// Window is the measured window's length (the agent's meter's).
func (r *Result) Window() time.Duration { return r.Agent.Elapsed }

// WrittenPerSecond is the lines written per second in the window.
func (r *Result) WrittenPerSecond() float64 { return perSecond(r.WindowWritten, r.Window()) }

// DeliveredPerSecond is the lines stored by faultline per second in the window, NaN when
// faultline does not count them.
func (r *Result) DeliveredPerSecond() float64 {
	if !r.DeliveredKnown {
		return math.NaN()
	}
	return perSecond(r.WindowDelivered, r.Window())
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return float64(n) / d.Seconds()
}

// CPUGoalMet and RSSGoalMet compare the agent with the goals.
func (r *Result) CPUGoalMet() bool { return r.Agent.CPUPercent() < GoalCPUPercent }

// RSSGoalMet reports whether the agent's peak RSS stayed under GoalRSSBytes.
func (r *Result) RSSGoalMet() bool { return r.Agent.RSSPeak < GoalRSSBytes }

// WriteMarkdown writes the table, the delivery and goal lines, the summary line and the
// warnings.
func (r *Result) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	avgLine := math.NaN()
	if r.Written > 0 {
		avgLine = float64(r.Bytes) / float64(r.Written)
	}
	fmt.Fprintf(&b, "## faultline-agent cost: %s lines/s (%s, %s B/line, %d per write call) and host metrics every %s\n\n",
		bench.Thousands(float64(r.Rate)), r.Format, bench.Fixed(avgLine, 0), r.LinesPerWrite, r.Interval)
	fmt.Fprintf(&b, "Measured over %s s after a %s s warm-up. CPU: user+system time of all threads (/proc/PID/stat) over the window. RSS: VmRSS sampled in the window (avg) and VmHWM, the high-water mark since the process started (peak).\n\n",
		bench.Fixed(r.Window().Seconds(), 1), bench.Fixed(r.Warmup.Seconds(), 0))
	b.WriteString("| process | lines/s written | lines/s delivered | CPU, % of one core (avg) | RSS avg / peak, MiB |\n")
	b.WriteString("|---|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| faultline-agent (tails the file, host metrics every %s, OTLP/gRPC to faultline) | %s | %s | %s | %s |\n",
		r.Interval, bench.Fixed(r.WrittenPerSecond(), 1), bench.Fixed(r.DeliveredPerSecond(), 1), bench.Fixed(r.Agent.CPUPercent(), 2), rssCell(r.Agent))
	if ne := r.NodeExporter; ne != nil {
		fmt.Fprintf(&b, "| node_exporter (default collectors, scraped every %s; tails no logs) | — | — | %s | %s |\n",
			r.Interval, bench.Fixed(ne.CPUPercent(), 2), rssCell(*ne))
	}
	fmt.Fprintf(&b, "| faultline (receiving and storing; for context) | — | — | %s | %s |\n\n",
		bench.Fixed(r.Faultline.CPUPercent(), 2), rssCell(r.Faultline))

	if r.DeliveredKnown {
		fmt.Fprintf(&b, "Delivered: %s of %s lines written (faultline_logs_stored_total), waited %s s after the last line.\n",
			bench.Thousands(float64(r.Delivered)), bench.Thousands(float64(r.Written)), bench.Fixed(r.Drain.Seconds(), 1))
	} else {
		fmt.Fprintf(&b, "Delivered: unknown, this faultline exports no faultline_logs_stored_total (%s lines written).\n", bench.Thousands(float64(r.Written)))
	}
	fmt.Fprintf(&b, "Goals (faultline-agent): CPU under %s%% of one core: %s (%s%%); peak RSS under %s MB: %s (%s MB).\n",
		bench.Fixed(GoalCPUPercent, 0), metText(r.CPUGoalMet()), bench.Fixed(r.Agent.CPUPercent(), 2),
		bench.Fixed(GoalRSSBytes/1e6, 0), metText(r.RSSGoalMet()), bench.Fixed(float64(r.Agent.RSSPeak)/1e6, 1))
	if r.NodeExporter != nil {
		s := r.NodeExporterScrapes
		fmt.Fprintf(&b, "node_exporter: does not tail logs, so its figures are host metrics alone; scraped %d times over the run, warm-up included (%d failed)", s.OK, s.Failed)
		if s.OK > 0 {
			fmt.Fprintf(&b, ", %s KiB each", bench.Fixed(float64(s.Bytes)/float64(s.OK)/1024, 0))
		}
		if s.Err != "" {
			fmt.Fprintf(&b, "; first failure: %s", s.Err)
		}
		b.WriteString(".\n")
	} else {
		fmt.Fprintf(&b, "node_exporter: not run, %s not found; for the comparison install Debian's with `sudo apt-get install prometheus-node-exporter` (or pass -node-exporter=PATH).\n", r.NodeExporterPath)
	}
	b.WriteString(r.Summary())
	b.WriteString("\n")
	for _, w := range r.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is the one-line result: agent_cpu_pct=… agent_rss_peak_mib=…
// node_exporter_cpu_pct=… node_exporter_rss_peak_mib=… delivered=DELIVERED/WRITTEN, with n/a
// for what was not measured.
func (r *Result) Summary() string {
	neCPU, neRSS := "n/a", "n/a"
	if ne := r.NodeExporter; ne != nil {
		neCPU, neRSS = bench.Fixed(ne.CPUPercent(), 2), bench.Fixed(mib(ne.RSSPeak), 1)
	}
	delivered := "n/a"
	if r.DeliveredKnown {
		delivered = strconv.FormatInt(r.Delivered, 10)
	}
	return fmt.Sprintf("agent_cpu_pct=%s agent_rss_peak_mib=%s node_exporter_cpu_pct=%s node_exporter_rss_peak_mib=%s delivered=%s/%d",
		bench.Fixed(r.Agent.CPUPercent(), 2), bench.Fixed(mib(r.Agent.RSSPeak), 1), neCPU, neRSS, delivered, r.Written)
}

func rssCell(u Usage) string {
	return bench.Fixed(mib(u.RSSAvg), 1) + " / " + bench.Fixed(mib(u.RSSPeak), 1)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}
