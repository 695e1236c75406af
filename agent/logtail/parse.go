package logtail

import (
	"bytes"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"
)

// lineParser turns the text of a record into a Record's fields. It keeps scratch space
// between records, so one belongs to one goroutine.
type lineParser struct {
	parseJSON bool
	fields    jsonFields
}

// parse fills rec from text, which must be valid UTF-8. rec.Attributes is allocated with
// room for extra more entries.
func (p *lineParser) parse(text []byte, extra int, rec *Record) {
	if p.parseJSON && len(text) > 1 && text[0] == '{' && p.fields.parse(text, extra, rec) {
		return
	}
	rec.Body = string(text)
	rec.Attributes = make(map[string]any, extra)
	parsePlain(text, rec)
}

// The JSON fields lifted out of the attributes, and the keys naming them, best first: when
// a line has several (msg and message), the best is lifted and the others stay attributes.
const (
	liftBody = iota
	liftTime
	liftLevel
	liftTrace
	liftSpan
	liftService
	numLifts
)

func liftOf(key string) (slot, rank int, ok bool) {
	switch key {
	case "msg":
		return liftBody, 0, true
	case "message":
		return liftBody, 1, true
	case "log":
		return liftBody, 2, true
	case "time":
		return liftTime, 0, true
	case "timestamp":
		return liftTime, 1, true
	case "ts":
		return liftTime, 2, true
	case "@timestamp":
		return liftTime, 3, true
	case "level":
		return liftLevel, 0, true
	case "severity":
		return liftLevel, 1, true
	case "lvl":
		return liftLevel, 2, true
	case "log.level":
		return liftLevel, 3, true
	case "trace_id":
		return liftTrace, 0, true
	case "traceId":
		return liftTrace, 1, true
	case "traceID":
		return liftTrace, 2, true
	case "trace.id":
		return liftTrace, 3, true
	case "span_id":
		return liftSpan, 0, true
	case "spanId":
		return liftSpan, 1, true
	case "spanID":
		return liftSpan, 2, true
	case "span.id":
		return liftSpan, 3, true
	case "service.name":
		return liftService, 0, true
	case "service":
		return liftService, 1, true
	}
	return 0, 0, false
}

type liftCandidate struct {
	key  string
	val  any
	rank int
	set  bool
}

// jsonFields is the fieldSink of one JSON line: the attributes, and the candidates for
// lifting held aside until the whole line is read.
type jsonFields struct {
	attrs map[string]any
	lifts [numLifts]liftCandidate
	keys  keyCache
}

func (f *jsonFields) put(key string, v any) {
	slot, rank, ok := liftOf(key)
	if !ok {
		f.attrs[key] = v
		return
	}
	c := &f.lifts[slot]
	if c.set {
		if rank > c.rank {
			f.attrs[key] = v
			return
		}
		if rank < c.rank {
			f.attrs[c.key] = c.val
		}
	}
	*c = liftCandidate{key: key, val: v, rank: rank, set: true}
}

// parse fills rec from a JSON object line; false (rec untouched) when text is not one.
func (f *jsonFields) parse(text []byte, extra int, rec *Record) bool {
	f.attrs = make(map[string]any, 8+extra)
	f.lifts = [numLifts]liftCandidate{}
	if parseJSONObject(text, f, &f.keys) != nil {
		f.attrs = nil
		return false
	}
	attrs := f.attrs
	f.attrs = nil
	// A value that cannot be lifted (a number as message, an invalid trace ID) stays an
	// attribute under its key.
	keep := func(c *liftCandidate) { attrs[c.key] = c.val }

	rec.Body = ""
	if c := &f.lifts[liftBody]; c.set {
		if s, ok := c.val.(string); ok {
			// Docker's json-file driver keeps the line's newline in "log".
			s = strings.TrimSuffix(s, "\n")
			rec.Body = strings.TrimSuffix(s, "\r")
		} else {
			keep(c)
			rec.Body = string(text)
		}
	} else {
		rec.Body = string(text)
	}
	if c := &f.lifts[liftTime]; c.set {
		if t, ok := jsonTime(c.val); ok {
			rec.Time = t
		} else {
			keep(c)
		}
	}
	if c := &f.lifts[liftLevel]; c.set {
		if !jsonSeverity(c.val, rec) {
			keep(c)
		}
	}
	if c := &f.lifts[liftTrace]; c.set {
		if s, ok := c.val.(string); !ok || !decodeHexID(rec.TraceID[:], s) {
			keep(c)
		}
	}
	if c := &f.lifts[liftSpan]; c.set {
		if s, ok := c.val.(string); !ok || !decodeHexID(rec.SpanID[:], s) {
			keep(c)
		}
	}
	if c := &f.lifts[liftService]; c.set {
		if s, ok := c.val.(string); ok && s != "" {
			rec.Service = s
		} else {
			keep(c)
		}
	}
	rec.Attributes = attrs
	return true
}

// jsonTime reads a JSON time field: an RFC 3339 string (a space for the T and a comma for
// the decimal point allowed), or unix time in seconds, milliseconds, microseconds or
// nanoseconds, told apart by magnitude, as a number or a string of digits.
func jsonTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case string:
		if t, n, ok := parseTimestamp([]byte(v)); ok && n == len(v) {
			return t, true
		}
		if len(v) > 0 && v[0] != '-' {
			if n, ok := parseInt64([]byte(v)); ok && allDigits(v) {
				return epochTime(float64(n), n, true)
			}
		}
	case int64:
		return epochTime(float64(v), v, true)
	case float64:
		return epochTime(v, 0, false)
	}
	return time.Time{}, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// minPlausibleUnix is 2000-01-01: smaller numbers are more likely uptimes or counters than
// the time of a log line.
const minPlausibleUnix = 946684800

// epochTime converts unix time in s, ms, µs or ns (told apart by magnitude) to a time;
// integers keep full precision.
func epochTime(f float64, i int64, isInt bool) (time.Time, bool) {
	if !(f > 0) || f >= math.MaxInt64 {
		return time.Time{}, false
	}
	var t time.Time
	switch {
	case isInt && f < 1e11:
		t = time.Unix(i, 0)
	case isInt && f < 1e14:
		t = time.UnixMilli(i)
	case isInt && f < 1e17:
		t = time.UnixMicro(i)
	case isInt:
		t = time.Unix(0, i)
	default:
		scale := 1.0
		switch {
		case f >= 1e17:
			scale = 1e9
		case f >= 1e14:
			scale = 1e6
		case f >= 1e11:
			scale = 1e3
		}
		secs := f / scale
		whole := math.Floor(secs)
		t = time.Unix(int64(whole), int64(math.Round((secs-whole)*1e9)))
	}
	if t.Unix() < minPlausibleUnix {
		return time.Time{}, false
	}
	return t, true
}

// Pino and Bunyan log levels as numbers.
var numericLevels = map[int64]struct {
	text string
	num  plog.SeverityNumber
}{
	10: {"trace", plog.SeverityNumberTrace},
	20: {"debug", plog.SeverityNumberDebug},
	30: {"info", plog.SeverityNumberInfo},
	40: {"warn", plog.SeverityNumberWarn},
	50: {"error", plog.SeverityNumberError},
	60: {"fatal", plog.SeverityNumberFatal},
}

func jsonSeverity(v any, rec *Record) bool {
	switch v := v.(type) {
	case string:
		if v == "" {
			return false
		}
		rec.SeverityText = v
		rec.SeverityNumber, _ = severityOf([]byte(v))
		return true
	case int64:
		if l, ok := numericLevels[v]; ok {
			rec.SeverityText, rec.SeverityNumber = l.text, l.num
			return true
		}
	}
	return false
}

// severityOf maps a level word, in any case, to its OTLP severity.
func severityOf(word []byte) (plog.SeverityNumber, bool) {
	var buf [16]byte
	if len(word) == 0 || len(word) > len(buf) {
		return plog.SeverityNumberUnspecified, false
	}
	switch string(lowerASCII(buf[:0], word)) {
	case "trace", "trc", "finest", "finer":
		return plog.SeverityNumberTrace, true
	case "debug", "dbg", "fine":
		return plog.SeverityNumberDebug, true
	case "info", "inf", "information", "informational":
		return plog.SeverityNumberInfo, true
	case "notice":
		return plog.SeverityNumberInfo2, true
	case "warn", "warning", "wrn":
		return plog.SeverityNumberWarn, true
	case "error", "err", "severe", "dpanic":
		return plog.SeverityNumberError, true
	case "fatal", "ftl", "critical", "crit", "panic", "emerg", "emergency", "alert":
		return plog.SeverityNumberFatal, true
	}
	return plog.SeverityNumberUnspecified, false
}

// Common spellings of level words, so that a plain line's severity text costs no allocation.
var levelTexts = func() map[string]string {
	m := map[string]string{}
	for _, w := range []string{"trace", "debug", "info", "notice", "warn", "warning", "error", "err", "fatal", "critical", "crit", "panic"} {
		for _, s := range []string{w, strings.ToUpper(w), strings.ToUpper(w[:1]) + w[1:]} {
			m[s] = s
		}
	}
	return m
}()

func levelText(word []byte) string {
	if s, ok := levelTexts[string(word)]; ok {
		return s
	}
	return string(word)
}

// decodeHexID decodes a trace or span ID of exactly 2*len(dst) hex digits into dst; false
// (dst untouched) when s is not one, or is all zeros (an invalid ID in OTLP).
func decodeHexID[S string | []byte](dst []byte, s S) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	var buf [16]byte
	nonZero := false
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		buf[i] = hi<<4 | lo
		nonZero = nonZero || buf[i] != 0
	}
	if !nonZero {
		return false
	}
	copy(dst, buf[:len(dst)])
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parsePlain extracts what a plain-text line says about itself: a leading timestamp, a
// level word near the start ("ERROR", "[warn]", "error:", klog's "E0102"), and key=value
// pairs (level=, trace_id=, span_id=, time=) anywhere. Cost stays a few hundred
// nanoseconds: one pass over the first words and one over the '=' signs.
func parsePlain(line []byte, rec *Record) {
	i := 0
	if len(line) > 0 && line[0] == '[' {
		i = 1
	}
	if t, n, ok := parseTimestamp(line[i:]); ok {
		rec.Time = t
		i += n
	} else {
		i = 0
		if word, num, ok := klogLevel(line); ok {
			rec.SeverityText, rec.SeverityNumber = word, num
		}
	}
	if rec.SeverityNumber == plog.SeverityNumberUnspecified {
		if word, num, ok := leadingLevel(line[i:]); ok {
			rec.SeverityText, rec.SeverityNumber = levelText(word), num
		}
	}
	scanKeyValues(line, rec)
}

// klogLevel reads the level letter of a klog/glog header ("E0102 15:04:05.000000 ...").
func klogLevel(line []byte) (string, plog.SeverityNumber, bool) {
	if len(line) < 6 || line[5] != ' ' {
		return "", 0, false
	}
	for _, c := range line[1:5] {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	switch line[0] {
	case 'I':
		return "INFO", plog.SeverityNumberInfo, true
	case 'W':
		return "WARNING", plog.SeverityNumberWarn, true
	case 'E':
		return "ERROR", plog.SeverityNumberError, true
	case 'F':
		return "FATAL", plog.SeverityNumberFatal, true
	}
	return "", 0, false
}

// leadingLevel looks for a level word among the first few words of line. To keep message
// words ("Error connecting ...") from passing as levels, a word counts when it is in upper
// case, bracketed ("[warn]", "<error>") or followed by a colon ("error:", "ERROR:root:").
func leadingLevel(line []byte) ([]byte, plog.SeverityNumber, bool) {
	const maxWords, maxScan = 4, 200
	end := min(len(line), maxScan)
	i, words := 0, 0
	for i < end && words < maxWords {
		for i < end && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		start := i
		for i < end && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		w := line[start:i]
		marked := false
		for len(w) > 0 && (w[0] == '[' || w[0] == '(' || w[0] == '<' || w[0] == '{') {
			w, marked = w[1:], true
		}
		if c := bytes.IndexByte(w, ':'); c >= 0 {
			w, marked = w[:c], true
		}
		for len(w) > 0 && strings.IndexByte("])>},|-.=", w[len(w)-1]) >= 0 {
			c := w[len(w)-1]
			w = w[:len(w)-1]
			marked = marked || c == ']' || c == ')' || c == '>' || c == '}'
		}
		if len(w) == 0 {
			continue // punctuation between fields: "2024-... - app - ERROR - ..."
		}
		words++
		if len(w) < 3 {
			continue
		}
		if num, ok := severityOf(w); ok && (marked || isUpper(w)) {
			return w, num, true
		}
	}
	return nil, 0, false
}

// lowerASCII appends b to dst with ASCII letters in lower case.
func lowerASCII(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func isUpper(w []byte) bool {
	for _, c := range w {
		if c >= 'a' && c <= 'z' {
			return false
		}
	}
	return true
}

// scanKeyValues reads the key=value pairs that matter: level, trace and span IDs, and time
// when the line had no leading timestamp. Values may be double-quoted.
func scanKeyValues(line []byte, rec *Record) {
	for off := 0; off < len(line); {
		j := bytes.IndexByte(line[off:], '=')
		if j < 0 {
			return
		}
		eq := off + j
		ks := eq
		for ks > 0 && ks > eq-20 && isKeyByte(line[ks-1]) {
			ks--
		}
		key := line[ks:eq]
		vs := eq + 1
		var val []byte
		if vs < len(line) && line[vs] == '"' {
			e := bytes.IndexByte(line[vs+1:], '"')
			if e < 0 {
				return
			}
			val = line[vs+1 : vs+1+e]
			off = vs + e + 2
		} else {
			ve := vs
			for ve < len(line) && !isValueEnd(line[ve]) {
				ve++
			}
			val = line[vs:ve]
			off = max(ve, eq+1)
		}
		if ks > 0 && !isKeyStart(line[ks-1]) {
			continue // "a+b=c", "x==y": not a key
		}
		switch keyKind(key) {
		case kvLevel:
			if num, ok := severityOf(val); ok {
				rec.SeverityText, rec.SeverityNumber = levelText(val), num
			}
		case kvTrace:
			decodeHexID(rec.TraceID[:], val)
		case kvSpan:
			decodeHexID(rec.SpanID[:], val)
		case kvTime:
			if rec.Time.IsZero() {
				if t, n, ok := parseTimestamp(val); ok && n == len(val) {
					rec.Time = t
				}
			}
		}
	}
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '@'
}

// isKeyStart says whether the byte before a key ends the value or word before it.
func isKeyStart(c byte) bool {
	switch c {
	case ' ', '\t', ',', ';', '&', '?', '(', '[', '{', '"', '\'', '|':
		return true
	}
	return false
}

func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', ',', ';', '&', ')', ']', '}', '"', '\'', '|':
		return true
	}
	return false
}

const (
	kvNone = iota
	kvLevel
	kvTrace
	kvSpan
	kvTime
)

func keyKind(key []byte) int {
	var buf [16]byte
	if len(key) < 2 || len(key) > len(buf) {
		return kvNone
	}
	switch string(lowerASCII(buf[:0], key)) {
	case "level", "lvl", "severity", "loglevel", "log.level", "log_level":
		return kvLevel
	case "trace_id", "traceid", "trace.id", "trace-id":
		return kvTrace
	case "span_id", "spanid", "span.id", "span-id":
		return kvSpan
	case "time", "ts", "timestamp", "@timestamp":
		return kvTime
	}
	return kvNone
}

// parseTimestamp reads a timestamp at the start of b:
// YYYY-MM-DD(T| )hh:mm:ss[(.|,)fraction][Z|±hh[:mm]|±hhmm]. Without a zone it is local
// time. n is how many bytes it took.
func parseTimestamp(b []byte) (t time.Time, n int, ok bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, 0, false
	}
	year, ok1 := atoiN(b[0:4])
	month, ok2 := atoiN(b[5:7])
	day, ok3 := atoiN(b[8:10])
	hour, ok4 := atoiN(b[11:13])
	minute, ok5 := atoiN(b[14:16])
	sec, ok6 := atoiN(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, 0, false
	}
	i, nsec := 19, 0
	if i+1 < len(b) && (b[i] == '.' || b[i] == ',') && isDigit(b[i+1]) {
		i++
		scale := 100_000_000
		for ; i < len(b) && isDigit(b[i]); i++ {
			nsec += int(b[i]-'0') * scale
			scale /= 10
		}
	}
	loc, offset := time.Local, 0
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			loc = time.UTC
			i++
		case '+', '-':
			if off, n, ok := parseZoneOffset(b[i:]); ok {
				loc, offset = time.UTC, off
				i += n
			}
		case ' ':
			// "10:00:00 +0200": a spaced zone only in its long forms, so that
			// "10:00:00 - app - ..." is not misread.
			if i+1 < len(b) && (b[i+1] == '+' || b[i+1] == '-') {
				if off, n, ok := parseZoneOffset(b[i+1:]); ok && n >= 5 {
					loc, offset = time.UTC, off
					i += 1 + n
				}
			}
		}
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day && sec != 60 {
		return time.Time{}, 0, false // February 30th and the like
	}
	return t.Add(-time.Duration(offset) * time.Second), i, true
}

// parseZoneOffset reads ±hh, ±hh:mm or ±hhmm, in seconds east of UTC.
func parseZoneOffset(b []byte) (offset, n int, ok bool) {
	if len(b) < 3 {
		return 0, 0, false
	}
	h, ok := atoiN(b[1:3])
	if !ok || h > 14 {
		return 0, 0, false
	}
	m, n := 0, 3
	switch {
	case len(b) >= 6 && b[3] == ':':
		if m, ok = atoiN(b[4:6]); !ok {
			return 0, 0, false
		}
		n = 6
	case len(b) >= 5 && isDigit(b[3]):
		if m, ok = atoiN(b[3:5]); !ok {
			return 0, 0, false
		}
		n = 5
	}
	if m > 59 {
		return 0, 0, false
	}
	offset = (h*60 + m) * 60
	if b[0] == '-' {
		offset = -offset
	}
	return offset, n, true
}

func atoiN(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validUTF8 returns text, or a copy in scratch with each invalid byte replaced by U+FFFD,
// cut back to limit bytes at a rune boundary if the replacements made it longer.
func validUTF8(scratch, text []byte, limit int) (out, newScratch []byte, replaced bool) {
	if utf8.Valid(text) {
		return text, scratch, false
	}
	scratch = toValidUTF8(scratch[:0], text)
	return cutAtRune(scratch, limit), scratch, true
}

// cutAtRune cuts b to at most n bytes without splitting a UTF-8 sequence.
func cutAtRune(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	cut := n
	for k := 0; k < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(b[cut]); k++ {
		cut--
	}
	return b[:cut]
}
