package rca

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faultline/faultline/loadtest/sim"
)

// Report is a finished (or interrupted) suite run.
type Report struct {
	Suite     string   `json:"suite"`
	Faultline string   `json:"faultline"`
	Results   []Result `json:"results"`
	Summary   Summary  `json:"summary"`
}

// NewReport summarizes results.
func NewReport(suite, faultline string, results []Result) Report {
	return Report{Suite: suite, Faultline: faultline, Results: results, Summary: Summarize(results)}
}

// FinalLine is the report's last line, for scripts: AC@1=… AC@3=… Avg@5=… scenarios=N, N
// being the scored scenarios (with a fault, and a simulator run that succeeded), then
//   - false_alarms=K/M: none scenarios /api/v1/rca blamed something for, of those it answered;
//   - false_incidents=K/M: none scenarios during which /api/v1/incidents listed an incident,
//     of those it answered;
//   - split_incidents=K: fault scenarios it listed as more than one incident;
//   - detection_mean=Ns detection_max=Ns: time from fault start to the first poll that
//     ranked the true cause first, over the detected scenarios ("-" when none was);
//   - undetected=K: polled scenarios no poll caught.
//
// New fields go at the end, so parsers of the prefix keep working.
func (r Report) FinalLine() string {
	s := r.Summary
	o := s.Overall
	mean, most := "-", "-"
	if o.Detected > 0 {
		mean, most = fmt.Sprintf("%.0fs", o.MeanDetectionSeconds), fmt.Sprintf("%.0fs", o.MaxDetectionSeconds)
	}
	return fmt.Sprintf("AC@1=%.2f AC@3=%.2f Avg@5=%.2f scenarios=%d false_alarms=%d/%d false_incidents=%d/%d split_incidents=%d detection_mean=%s detection_max=%s undetected=%d",
		o.AC1(), o.AC3(), o.Avg5, o.Scenarios,
		s.None.FalseAlarms, s.None.Answered(), s.Incidents.FalseIncidents, s.Incidents.NoneAnswered, s.Incidents.Split,
		mean, most, o.Undetected)
}

// WriteText writes the per-scenario table, the per-kind table, the none scenarios' outcome
// and the final line, as Markdown.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# RCA accuracy: %s against %s\n\n", r.Suite, r.Faultline)

	b.WriteString("## Scenarios\n\n")
	b.WriteString("| scenario | topology | kind | target | rank | top 3 answer | detection | incidents | answer |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, res := range r.Results {
		target := res.FaultyService
		if target == "" {
			target = orDash(res.Target)
		}
		rank, top, det, answer := "-", "-", "-", answerText(res.Answer)
		switch {
		case res.Error != "":
			answer = "simulator failed: " + oneLine(res.Error)
		case res.Kind == sim.FaultNone:
			switch {
			case res.Quiet():
				rank = "quiet"
			case res.FalseAlarm():
				rank = "false alarm"
			default:
				rank = "no answer"
			}
		default:
			rank = fmt.Sprint(res.Rank)
			switch {
			case res.Detected:
				det = seconds(res.Detection)
			case res.Polls > 0:
				det = "not detected"
			}
		}
		if res.Error == "" && res.Answer.OK {
			top = orDash(strings.Join(res.Answer.Top(3), ", "))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			res.Scenario, res.Topology, res.Kind, target, rank, top, det, incidentsText(res), answer)
	}

	s := r.Summary
	b.WriteString("\n## By fault kind\n\n")
	b.WriteString("| kind | scenarios | AC@1 | AC@3 | Avg@5 | detected | mean detection s | max detection s |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	row := func(kind string, sc Score) {
		mean, most := "-", "-"
		if sc.Detected > 0 {
			mean, most = fmt.Sprintf("%.1f", sc.MeanDetectionSeconds), fmt.Sprintf("%.1f", sc.MaxDetectionSeconds)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %d | %s | %s |\n",
			kind, sc.Scenarios, sc.AC1(), sc.AC3(), sc.Avg5, sc.Detected, mean, most)
	}
	for _, k := range s.ByKind {
		row(k.Kind, k.Score)
	}
	row("**all**", s.Overall)

	fmt.Fprintf(&b, "\nnone scenarios: %d, quiet (correct) %d, false alarms %d, no answer %d\n",
		s.None.Scenarios, s.None.Quiet, s.None.FalseAlarms, s.None.NoAnswer)
	in := s.Incidents
	fmt.Fprintf(&b, "incidents: none scenarios with an incident (false) %d of %d answered; fault scenarios split into several %d, with none %d, of %d answered; no answer from /api/v1/incidents %d\n",
		in.FalseIncidents, in.NoneAnswered, in.Split, in.Missed, in.FaultAnswered, in.NoAnswer)
	if s.Failed > 0 {
		fmt.Fprintf(&b, "simulator failures (not scored): %d\n", s.Failed)
	}
	if n := noAnswers(r.Results); n > 0 {
		fmt.Fprintf(&b, "scored scenarios with no answer from /api/v1/rca (rank 0): %d\n", n)
	}
	b.WriteString("\n" + r.FinalLine() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON to path.
func (r Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil { //nolint:gosec // a report for people to read
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func noAnswers(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Scored() && !r.Answer.OK {
			n++
		}
	}
	return n
}

// answerText is the HTTP outcome: "200", "404 Not Found (no answer)", "connection refused (no answer)".
func answerText(a Answer) string {
	switch {
	case a.OK:
		return fmt.Sprint(a.Status)
	case a.Status != 0 && !strings.HasPrefix(a.Problem, fmt.Sprint(a.Status)):
		return fmt.Sprintf("%d %s (no answer)", a.Status, oneLine(a.Problem))
	case a.Problem != "":
		return oneLine(a.Problem) + " (no answer)"
	}
	return "-"
}

// incidentsText is the incidents column: "-" without an answer, else the count and each
// incident's first root cause: "2 (payment, -)".
func incidentsText(res Result) string {
	if res.Error != "" || !res.IncidentsOK {
		return "-"
	}
	if len(res.IncidentRootCauses) == 0 {
		return fmt.Sprint(res.Incidents)
	}
	causes := make([]string, len(res.IncidentRootCauses))
	for i, c := range res.IncidentRootCauses {
		causes[i] = orDash(c)
	}
	return fmt.Sprintf("%d (%s)", res.Incidents, oneLine(strings.Join(causes, ", ")))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a message on one table row.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", "\\|")
}
