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
// being the scored scenarios (with a fault, and a simulator run that succeeded).
func (r Report) FinalLine() string {
	o := r.Summary.Overall
	return fmt.Sprintf("AC@1=%.2f AC@3=%.2f Avg@5=%.2f scenarios=%d", o.AC1(), o.AC3(), o.Avg5, o.Scenarios)
}

// WriteText writes the per-scenario table, the per-kind table, the none scenarios' outcome
// and the final line, as Markdown.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# RCA accuracy: %s against %s\n\n", r.Suite, r.Faultline)

	b.WriteString("## Scenarios\n\n")
	b.WriteString("| scenario | topology | kind | target | rank | top 3 answer | detection | answer |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
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
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			res.Scenario, res.Topology, res.Kind, target, rank, top, det, answer)
	}

	s := r.Summary
	b.WriteString("\n## By fault kind\n\n")
	b.WriteString("| kind | scenarios | AC@1 | AC@3 | Avg@5 | detected | mean detection s |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	row := func(kind string, sc Score) {
		det := "-"
		if sc.Detected > 0 {
			det = fmt.Sprintf("%.1f", sc.MeanDetectionSeconds)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %d | %s |\n",
			kind, sc.Scenarios, sc.AC1(), sc.AC3(), sc.Avg5, sc.Detected, det)
	}
	for _, k := range s.ByKind {
		row(k.Kind, k.Score)
	}
	row("**all**", s.Overall)

	fmt.Fprintf(&b, "\nnone scenarios: %d, quiet (correct) %d, false alarms %d, no answer %d\n",
		s.None.Scenarios, s.None.Quiet, s.None.FalseAlarms, s.None.NoAnswer)
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
