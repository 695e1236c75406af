package logstore

import (
	"strings"
)

// Severity numbers of the OpenTelemetry log data model: each of the six ranges has four
// steps, and the first step of a range is its plain name.
const (
	SeverityTrace int32 = 1
	SeverityDebug int32 = 5
	SeverityInfo  int32 = 9
	SeverityWarn  int32 = 13
	SeverityError int32 = 17
	SeverityFatal int32 = 21

	maxSeverity int32 = 24
)

// severityNames are the OpenTelemetry short names, indexed by severity number.
var severityNames = [maxSeverity + 1]string{
	"",
	"TRACE", "TRACE2", "TRACE3", "TRACE4",
	"DEBUG", "DEBUG2", "DEBUG3", "DEBUG4",
	"INFO", "INFO2", "INFO3", "INFO4",
	"WARN", "WARN2", "WARN3", "WARN4",
	"ERROR", "ERROR2", "ERROR3", "ERROR4",
	"FATAL", "FATAL2", "FATAL3", "FATAL4",
}

// severityBases are the lower-case OpenTelemetry short names of the six ranges.
var severityBases = map[string]int32{
	"trace": SeverityTrace, "debug": SeverityDebug, "info": SeverityInfo,
	"warn": SeverityWarn, "error": SeverityError, "fatal": SeverityFatal,
}

// severityAliases are level names used by common logging libraries and syslog that are not
// OpenTelemetry short names, with the severity number they stand for.
var severityAliases = map[string]int32{
	"warning":       SeverityWarn,
	"err":           SeverityError,
	"critical":      SeverityFatal,
	"crit":          SeverityFatal,
	"alert":         SeverityFatal,
	"emerg":         SeverityFatal,
	"emergency":     SeverityFatal,
	"panic":         SeverityFatal,
	"dpanic":        SeverityFatal,
	"information":   SeverityInfo,
	"informational": SeverityInfo,
	"notice":        SeverityInfo + 1,
}

// SeverityName returns the OpenTelemetry short name of a severity number ("INFO", "WARN2"),
// or "" for 0 and numbers out of range.
func SeverityName(n int32) string {
	if n < 0 || n > maxSeverity {
		return ""
	}
	return severityNames[n]
}

// ParseSeverity reads a severity name, case-insensitively: the OpenTelemetry short names
// (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, optionally followed by 2, 3 or 4) and the common
// aliases WARNING, ERR, CRITICAL, CRIT, ALERT, EMERG, EMERGENCY, PANIC, DPANIC, INFORMATION,
// INFORMATIONAL and NOTICE. It reports false for anything else.
func ParseSeverity(s string) (int32, bool) {
	if len(s) == 0 || len(s) > len("informational") {
		return 0, false
	}
	var buf [16]byte
	lower := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower = append(lower, c)
	}
	base, step := lower, int32(0)
	if last := lower[len(lower)-1]; len(lower) > 1 && '2' <= last && last <= '4' {
		base, step = lower[:len(lower)-1], int32(last-'1')
	}
	if n, ok := severityBases[string(base)]; ok {
		return n + step, true
	}
	if n, ok := severityAliases[string(lower)]; ok {
		return n, true
	}
	return 0, false
}

// recordSeverity returns the severity number and text stored for a record: a number outside
// 1..24 is treated as unset and derived from the text; an empty text becomes the number's
// short name.
func recordSeverity(number int32, text string) (int32, string) {
	if number < 1 || number > maxSeverity {
		number, _ = ParseSeverity(strings.TrimSpace(text))
	}
	if text == "" {
		text = severityNames[number]
	}
	return number, text
}
