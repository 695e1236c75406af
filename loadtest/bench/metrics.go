package bench

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Sample is one series of the Prometheus text exposition format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics is a parsed /metrics page: every sample, by metric name.
type Metrics map[string][]Sample

// Sum adds up every series of a metric (for example a counter over all its label values)
// and reports whether the metric was present at all.
func (m Metrics) Sum(name string) (float64, bool) {
	samples, ok := m[name]
	var sum float64
	for _, s := range samples {
		sum += s.Value
	}
	return sum, ok
}

// Value is Sum without the presence flag: an absent metric counts as 0.
func (m Metrics) Value(name string) float64 {
	v, _ := m.Sum(name)
	return v
}

// ParseMetrics reads the Prometheus text format (version 0.0.4): comment and blank lines are
// skipped, every other line is `name{label="value",...} value [timestamp]`.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		s, err := parseSampleLine(text)
		if err != nil {
			return nil, fmt.Errorf("parse metrics line %d: %w", line, err)
		}
		m[s.Name] = append(m[s.Name], s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return m, nil
}

func parseSampleLine(text string) (Sample, error) {
	nameEnd := strings.IndexAny(text, "{ \t")
	if nameEnd <= 0 {
		return Sample{}, fmt.Errorf("no value in %q", text)
	}
	s := Sample{Name: text[:nameEnd]}
	rest := text[nameEnd:]
	if rest[0] == '{' {
		labels, after, err := parseLabels(rest[1:])
		if err != nil {
			return Sample{}, err
		}
		s.Labels, rest = labels, after
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return Sample{}, fmt.Errorf("want value [timestamp] after %q, got %q", s.Name, strings.TrimSpace(rest))
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return Sample{}, fmt.Errorf("value of %s: %w", s.Name, err)
	}
	s.Value = v
	return s, nil
}

// parseLabels parses `a="x",b="y"}` (the opening brace already consumed) and returns the
// labels and the text after the closing brace. Values may hold \\, \" and \n escapes.
func parseLabels(text string) (map[string]string, string, error) {
	labels := map[string]string{}
	i := 0
	for {
		for i < len(text) && (text[i] == ' ' || text[i] == ',') {
			i++
		}
		if i >= len(text) {
			return nil, "", fmt.Errorf("unterminated label set")
		}
		if text[i] == '}' {
			return labels, text[i+1:], nil
		}
		eq := strings.IndexByte(text[i:], '=')
		if eq <= 0 {
			return nil, "", fmt.Errorf("label without '=' in %q", text)
		}
		name := strings.TrimSpace(text[i : i+eq])
		i += eq + 1
		if i >= len(text) || text[i] != '"' {
			return nil, "", fmt.Errorf("label %s: value not quoted", name)
		}
		i++
		var b strings.Builder
		closed := false
		for i < len(text) {
			c := text[i]
			i++
			if c == '"' {
				closed = true
				break
			}
			if c == '\\' && i < len(text) {
				switch text[i] {
				case 'n':
					b.WriteByte('\n')
				default: // \\ and \"
					b.WriteByte(text[i])
				}
				i++
				continue
			}
			b.WriteByte(c)
		}
		if !closed {
			return nil, "", fmt.Errorf("label %s: unterminated value", name)
		}
		labels[name] = b.String()
	}
}
