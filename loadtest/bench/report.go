package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Result is everything one harness run measured. Counters are deltas over the run.
type Result struct {
	// How the load was generated.
	Generator           string  // GeneratorTelemetrygen (also when empty), GeneratorReplay or GeneratorSim
	Signal              string  // SignalTraces (also when empty), SignalLogs or SignalMetrics; "spans" below means its items
	Senders             int     // telemetrygen processes or replay goroutines side by side
	Workers             int     // span generators over all senders
	Rate                float64 // per worker; 0 is unthrottled
	BatchSize           int
	TelemetrygenVersion string
	CPUs                int
	SpansTarget         int64         // 0 for a timed run
	SendTime            time.Duration // the generator running, summed over invocations
	Retries             int64         // replay: requests sent again after RESOURCE_EXHAUSTED / UNAVAILABLE
	// The simulator's run (GeneratorSim).
	SimTopology      string
	SimRate          float64 // entry requests per second asked for
	SimSeed          int64
	SimDuration      time.Duration
	SimRequests      int64 // entry requests sent
	SimFailedEntries int64
	// IngestWindow runs from the first telemetrygen start to the last rise of the stored
	// counter, so spans still queued when the sender stopped are counted in time too.
	IngestWindow time.Duration

	// Unsupported is set when faultline turned the signal away as a whole (no receiver for
	// it, no counters for it): the run is a measured "not supported yet", not a failure.
	Unsupported       bool
	UnsupportedReason string

	Received        float64
	Stored          float64
	Refused         float64
	RefusedByReason map[string]float64

	// DiskSettleTime is how long after the ingest window the harness waited for the store's
	// size to stop changing; CPU, memory and disk are read after it.
	DiskSettleTime time.Duration

	// faultline's CPU (user+system, all threads) from the start of sending until the store
	// settled, and its peak RSS.
	CPUSeconds float64
	PeakRSS    uint64
	// SenderCPUSeconds is the generator's CPU (telemetrygen's processes, or for replay this
	// harness process while sending), for context only: on a small machine the senders
	// compete with faultline for the same cores.
	SenderCPUSeconds float64

	DiskBytesMetric  float64 // faultline_spanstore_disk_bytes after ingest
	DiskMetricExists bool
	DiskBytesWalk    int64 // sum of file sizes under the data dir after ingest
	DiskBytesSST     int64 // of which *.sst files
	DiskBytesWAL     int64 // of which *.log files (write-ahead log)

	TracesFound int // trace IDs returned by the search used to pick lookups
	TraceByID   Latency
	Search      Latency
	// UnderLoad is the queries timed while the generator ran.
	UnderLoad UnderLoad

	Warnings []string
}

// SpansPerSecond is spans stored per second of the ingest window.
func (r *Result) SpansPerSecond() float64 {
	if r.IngestWindow <= 0 {
		return 0
	}
	return r.Stored / r.IngestWindow.Seconds()
}

// CPUMicrosPerSpan is faultline's CPU time per stored span.
func (r *Result) CPUMicrosPerSpan() float64 {
	if r.Stored <= 0 {
		return math.NaN()
	}
	return r.CPUSeconds * 1e6 / r.Stored
}

// CPUSecondsPerMillion is faultline's CPU time per million stored spans (numerically the
// same as microseconds per span).
func (r *Result) CPUSecondsPerMillion() float64 { return r.CPUMicrosPerSpan() }

// DiskBytesPerSpan is the span store's size per stored span, from the metric when faultline
// exports it and from the data dir otherwise.
func (r *Result) DiskBytesPerSpan() float64 {
	if r.Stored <= 0 {
		return math.NaN()
	}
	if r.DiskMetricExists {
		return r.DiskBytesMetric / r.Stored
	}
	return float64(r.DiskBytesWalk) / r.Stored
}

// perSecond is v divided by d in seconds: CPU seconds over a window are cores used.
func perSecond(v float64, d time.Duration) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return v / d.Seconds()
}

// Goal is one target from the project's performance goals and whether the run met it.
type Goal struct {
	Name  string
	Text  string // the goal as written in the table, e.g. "≥ 100,000"
	Known bool   // false when the run could not measure it
	Met   bool
	// NotApplicable says why the goal does not apply to this run (e.g. a fixed offered
	// load cannot show capacity); such a goal is left out of the count.
	NotApplicable string `json:",omitempty"`
}

func (g Goal) cell() string {
	switch {
	case g.NotApplicable != "":
		return g.Text + " — n/a: " + g.NotApplicable
	case !g.Known:
		return g.Text + " — not measured"
	case g.Met:
		return g.Text + " — met"
	default:
		return g.Text + " — **missed**"
	}
}

// Goals evaluates the run against the targets, which are set for traces only (a logs or
// metrics run has none yet).
func (r *Result) Goals() []Goal {
	if info, _ := SignalFor(r.Signal); info.Signal != SignalTraces {
		return nil
	}
	stored := r.Stored > 0
	cpu := r.CPUMicrosPerSpan()
	disk := r.DiskBytesPerSpan()
	throughput := Goal{Name: "throughput", Text: "≥ 100,000", Known: stored, Met: r.SpansPerSecond() >= 100_000}
	if r.Generator == GeneratorSim {
		throughput.NotApplicable = "the simulator offers a fixed load"
	}
	return []Goal{
		throughput,
		{Name: "cpu", Text: "< 10", Known: stored, Met: cpu < 10},
		{Name: "disk", Text: "< 80", Known: stored, Met: disk < 80},
		{Name: "trace-by-id", Text: "p99 < 20", Known: r.TraceByID.N > 0, Met: r.TraceByID.P99 < 20*time.Millisecond},
		{Name: "search", Text: "p99 < 200", Known: r.Search.N > 0, Met: r.Search.P99 < 200*time.Millisecond},
	}
}

// loadLine is the sentence above the table saying how the load was generated.
func (r *Result) loadLine(info SignalInfo) string {
	mode := "timed run"
	if r.SpansTarget > 0 {
		mode = "target " + Thousands(float64(r.SpansTarget)) + " " + info.Items
	}
	switch r.Generator {
	case GeneratorReplay:
		return fmt.Sprintf("Load: replay generator (in-process; telemetrygen-shaped traces of 2 spans) over OTLP/gRPC from %d goroutines (one request in flight each; batches of %d), %s, %s retries after RESOURCE_EXHAUSTED/UNAVAILABLE; %d CPUs shared by the generator and faultline.",
			r.Senders, r.BatchSize, mode, Thousands(float64(r.Retries)), r.CPUs)
	case GeneratorSim:
		return fmt.Sprintf("Load: simulator (in-process: the %s topology's HTTP/gRPC services on 127.0.0.1, traced with the OpenTelemetry Go SDK, exporting over OTLP/gRPC), %s entry requests/s for %s, seed %d, no fault: %s entry requests sent, %s failed; %d CPUs shared by the simulator and faultline.",
			r.SimTopology, Fixed(r.SimRate, 0), r.SimDuration, r.SimSeed, Thousands(float64(r.SimRequests)), Thousands(float64(r.SimFailedEntries)), r.CPUs)
	}
	rate := "unthrottled"
	if r.Rate > 0 {
		rate = Thousands(r.Rate) + " " + info.Items + "/s each"
	}
	return fmt.Sprintf("Load: telemetrygen %s %s over OTLP/gRPC from %d processes (%d workers, %s; batches of %d), %s; %d CPUs shared by the senders and faultline.",
		r.TelemetrygenVersion, info.Signal, r.Senders, r.Workers, rate, r.BatchSize, mode, r.CPUs)
}

// WriteMarkdown writes the run as a Markdown table (metric | value | goal) followed by the
// one-line summary.
func (r *Result) WriteMarkdown(w io.Writer) error {
	info, _ := SignalFor(r.Signal)
	traces := info.Signal == SignalTraces
	goals := map[string]string{} // the goal column by goal name; "" where no goal is set
	for _, g := range r.Goals() {
		goals[g.Name] = g.cell()
	}
	var b strings.Builder
	b.WriteString(r.loadLine(info) + "\n\n")
	if r.Unsupported {
		fmt.Fprintf(&b, "**Not supported yet:** this faultline does not ingest %s, so nothing was stored: %s.\n\n", info.Signal, r.UnsupportedReason)
	}
	generator := "telemetrygen"
	switch r.Generator {
	case GeneratorReplay:
		generator = "replay generator"
	case GeneratorSim:
		generator = "simulator"
	}
	b.WriteString("| metric | value | goal |\n|---|---:|---|\n")
	row := func(metric, value, goal string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", metric, value, goal) }

	storedNote := refusedNote(r.RefusedByReason)
	if r.Unsupported {
		storedNote = "**not supported yet** (see above)"
	}
	row(info.Items+" stored (received / refused)",
		fmt.Sprintf("%s (%s / %s)", Thousands(r.Stored), Thousands(r.Received), Thousands(r.Refused)), storedNote)
	row("ingest window, s (senders ran; store settled after)",
		fmt.Sprintf("%s (%s; +%s)", Fixed(r.IngestWindow.Seconds(), 1), Fixed(r.SendTime.Seconds(), 1), Fixed(r.DiskSettleTime.Seconds(), 1)), "")
	row("ingest throughput, "+info.Items+"/s stored", Thousands(r.SpansPerSecond()), goals["throughput"])
	row("faultline CPU, s per million "+info.Items, Fixed(r.CPUSecondsPerMillion(), 2), "")
	row("faultline CPU, µs per "+info.Item, Fixed(r.CPUMicrosPerSpan(), 2), goals["cpu"])
	row("CPU use, cores: faultline until settled ("+generator+" while sending)",
		fmt.Sprintf("%s (%s)", Fixed(perSecond(r.CPUSeconds, r.IngestWindow+r.DiskSettleTime), 2), Fixed(perSecond(r.SenderCPUSeconds, r.SendTime), 2)),
		fmt.Sprintf("context: %d CPUs", r.CPUs))
	row("faultline peak RSS (VmHWM), MiB", Fixed(float64(r.PeakRSS)/(1<<20), 0), "")
	if traces {
		diskSource := "`" + info.Disk + "`"
		if !r.DiskMetricExists {
			diskSource = "data dir; metric absent"
		}
		row("disk, bytes per stored "+info.Item+" ("+diskSource+")", Fixed(r.DiskBytesPerSpan(), 1), goals["disk"])
	}
	perItem := func(n int64) string {
		if r.Stored <= 0 {
			return "n/a"
		}
		return Fixed(float64(n)/r.Stored, 1)
	}
	row("disk, bytes per stored "+info.Item+" (data dir file sizes)", perItem(r.DiskBytesWalk), map[bool]string{true: "cross-check", false: ""}[traces])
	row("… of which sorted tables (*.sst) / write-ahead log (*.log)", perItem(r.DiskBytesSST)+" / "+perItem(r.DiskBytesWAL), "WAL is bounded, tables grow")
	if !traces {
		row("trace queries", "not timed: a "+info.Signal+" run stores no traces", "")
	} else {
		row(fmt.Sprintf("trace by ID, p50 / p99 / max ms (%d lookups)", r.TraceByID.N+r.TraceByID.Errors),
			latencyCell(r.TraceByID), goals["trace-by-id"])
		row(fmt.Sprintf("service + time search, p50 / p99 / max ms (%d searches)", r.Search.N+r.Search.Errors),
			latencyCell(r.Search), goals["search"])
		u := r.UnderLoad
		if u.Rate <= 0 {
			row("queries under load", "not timed (-queries-under-load=0)", "")
		} else {
			byID := latencyCell(u.TraceByID)
			if u.TraceByID.N+u.TraceByID.Errors == 0 {
				byID = "n/a (no search returned a trace while sending)"
			}
			row(fmt.Sprintf("trace by ID under load, p50 / p99 / max ms (%d lookups, ≤ %s/s while sending)", u.TraceByID.N+u.TraceByID.Errors, Fixed(u.Rate, 0)),
				byID, "context (goal above: p99 < 20 after ingest)")
			row(fmt.Sprintf("search under load, p50 / p99 / max ms (%d searches, ≤ %s/s while sending; %d returned traces)", u.Search.N+u.Search.Errors, Fixed(u.Rate, 0), u.SearchesWithData),
				latencyCell(u.Search), "context (goal above: p99 < 200 after ingest)")
		}
	}
	b.WriteString("\n")
	b.WriteString(r.Summary())
	b.WriteString("\n")
	for _, w := range r.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is one line: the headline numbers and how many goals were met.
func (r *Result) Summary() string {
	info, _ := SignalFor(r.Signal)
	if info.Signal != SignalTraces {
		if r.Unsupported {
			return fmt.Sprintf("Summary: %s not supported yet — 0 %s stored (%s).", info.Signal, info.Items, r.UnsupportedReason)
		}
		return fmt.Sprintf("Summary: %s %s stored at %s %s/s, %s µs CPU/%s, %s B/%s in the data dir, peak RSS %s MiB (no goals set for %s yet).",
			Thousands(r.Stored), info.Items, Thousands(r.SpansPerSecond()), info.Items, Fixed(r.CPUMicrosPerSpan(), 2), info.Item,
			Fixed(r.DiskBytesPerSpan(), 1), info.Item, Fixed(float64(r.PeakRSS)/(1<<20), 0), info.Signal)
	}
	met, total := 0, 0
	var missed []string
	for _, g := range r.Goals() {
		if g.NotApplicable != "" {
			continue
		}
		total++
		if g.Known && g.Met {
			met++
		} else {
			missed = append(missed, g.Name)
		}
	}
	s := fmt.Sprintf("Summary: %d/%d goals met — %s spans stored at %s spans/s, %s µs CPU/span, %s B/span on disk, peak RSS %s MiB, trace-by-ID p99 %s ms, search p99 %s ms",
		met, total, Thousands(r.Stored), Thousands(r.SpansPerSecond()), Fixed(r.CPUMicrosPerSpan(), 2),
		Fixed(r.DiskBytesPerSpan(), 1), Fixed(float64(r.PeakRSS)/(1<<20), 0),
		ms(r.TraceByID.P99, r.TraceByID.N), ms(r.Search.P99, r.Search.N))
	if u := r.UnderLoad; u.Rate > 0 {
		s += fmt.Sprintf(" (under load: %s / %s ms)", ms(u.TraceByID.P99, u.TraceByID.N), ms(u.Search.P99, u.Search.N))
	}
	if len(missed) > 0 {
		s += " (not met or not measured: " + strings.Join(missed, ", ") + ")"
	}
	return s + "."
}

func refusedNote(byReason map[string]float64) string {
	var parts []string
	for reason, n := range byReason {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", reason, Thousands(n)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return "refused " + strings.Join(parts, ", ")
}

func latencyCell(l Latency) string {
	if l.N == 0 {
		return fmt.Sprintf("n/a (%d failed)", l.Errors)
	}
	s := fmt.Sprintf("%s / %s / %s", ms(l.P50, l.N), ms(l.P99, l.N), ms(l.Max, l.N))
	if l.Errors > 0 {
		s += fmt.Sprintf(" (%d failed)", l.Errors)
	}
	return s
}

func ms(d time.Duration, n int) string {
	if n == 0 {
		return "n/a"
	}
	return Fixed(float64(d)/float64(time.Millisecond), 2)
}

// Fixed formats v with prec decimals, "n/a" for NaN and infinities.
func Fixed(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// Thousands formats v rounded to an integer with commas: 1234567.8 -> "1,234,568".
func Thousands(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	n := int64(math.Round(v))
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
