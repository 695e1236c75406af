package agentbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// Formats of the generated log lines.
const (
	FormatText = "text" // "2025-11-22T05:38:00.123Z INFO checkout order placed order_id=… took=37ms"
	FormatJSON = "json" // one JSON object a line, with time, level, service, msg, trace_id, …
)

// LineGenerator makes log lines of an order service: mostly INFO, a WARN every 20th line, an
// ERROR instead every 100th, about 120 bytes as text (about 200 as JSON). Line n is always the same but
// for its timestamp, so runs are comparable.
type LineGenerator struct {
	json bool
}

// NewLineGenerator returns a generator of lines in format (FormatText or FormatJSON).
func NewLineGenerator(format string) (*LineGenerator, error) {
	switch format {
	case FormatText:
		return &LineGenerator{}, nil
	case FormatJSON:
		return &LineGenerator{json: true}, nil
	}
	return nil, fmt.Errorf("line format must be %s or %s, not %q", FormatText, FormatJSON, format)
}

// events are what the lines report; the fields after msg are filled from the line number.
var events = []struct {
	msg   string
	field string // name of the numeric id field
}{
	{"order placed", "order_id"},
	{"payment authorized", "payment_id"},
	{"cart updated", "cart_id"},
	{"inventory reserved", "reservation_id"},
	{"shipment scheduled", "shipment_id"},
}

// Append appends line n, stamped t and ending in '\n', to dst.
func (g *LineGenerator) Append(dst []byte, n uint64, t time.Time) []byte {
	h := mix64(n)
	level, msg := "INFO", events[h%uint64(len(events))].msg
	field := events[h%uint64(len(events))].field
	switch {
	case n%100 == 99:
		level, msg = "ERROR", "payment declined by provider"
	case n%20 == 19:
		level, msg = "WARN", "slow response from inventory"
	}
	id := 1_000_000 + (h>>8)%9_000_000
	user := 10_000 + (h>>32)%90_000
	took := 1 + (h>>48)%400
	ts := t.UTC().AppendFormat(nil, "2006-01-02T15:04:05.000Z")
	if g.json {
		dst = append(dst, `{"time":"`...)
		dst = append(dst, ts...)
		dst = append(dst, `","level":"`...)
		for _, c := range []byte(level) {
			dst = append(dst, c|0x20) // lower case
		}
		dst = append(dst, `","service":"checkout","msg":"`...)
		dst = append(dst, msg...)
		dst = append(dst, `","`...)
		dst = append(dst, field...)
		dst = append(dst, `":`...)
		dst = strconv.AppendUint(dst, id, 10)
		dst = append(dst, `,"user_id":`...)
		dst = strconv.AppendUint(dst, user, 10)
		dst = append(dst, `,"duration_ms":`...)
		dst = strconv.AppendUint(dst, took, 10)
		dst = append(dst, `,"trace_id":"`...)
		dst = appendHex(dst, mix64(n^0x5bd1e995))
		dst = appendHex(dst, mix64(n^0x1b873593))
		return append(dst, "\"}\n"...)
	}
	dst = append(dst, ts...)
	dst = append(dst, ' ')
	dst = append(dst, level...)
	dst = append(dst, " checkout "...)
	dst = append(dst, msg...)
	dst = append(dst, ' ')
	dst = append(dst, field...)
	dst = append(dst, '=')
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, " user_id="...)
	dst = strconv.AppendUint(dst, user, 10)
	dst = append(dst, " took="...)
	dst = strconv.AppendUint(dst, took, 10)
	dst = append(dst, "ms span="...)
	dst = appendHex(dst, mix64(n^0x5bd1e995))
	return append(dst, '\n')
}

func appendHex(dst []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, digits[(v>>uint(shift))&0xf])
	}
	return dst
}

// mix64 is SplitMix64's finalizer: consecutive line numbers get unrelated field values.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// LinesDue is how many lines a writer at rate lines per second has written after elapsed.
func LinesDue(rate int, elapsed time.Duration) int64 {
	if elapsed <= 0 || rate <= 0 {
		return 0
	}
	// Whole seconds and the remainder apart, so long runs at high rates do not overflow.
	sec := int64(elapsed / time.Second)
	rest := int64(elapsed % time.Second)
	return sec*int64(rate) + rest*int64(rate)/int64(time.Second)
}

// writeTick is how often the writer catches up with the schedule: 100 times a second, so at
// 1,000 lines/s about 10 lines go out together, each in its own write call.
const writeTick = 10 * time.Millisecond

// LineWriter appends generated lines to a file at a steady rate.
type LineWriter struct {
	W             io.Writer
	Gen           *LineGenerator
	Rate          int // lines per second
	LinesPerWrite int // lines per write call; 1 is an unbuffered logger

	written atomic.Int64
	bytes   atomic.Int64
}

// Written is the number of lines written so far; safe to call while Run runs.
func (w *LineWriter) Written() int64 { return w.written.Load() }

// Bytes is the number of bytes written so far; safe to call while Run runs.
func (w *LineWriter) Bytes() int64 { return w.bytes.Load() }

// Run writes for d: every writeTick it writes the lines due by then (LinesDue), so it never
// gets ahead of the schedule and catches up after a stall. A run that is not cancelled ends
// once d has passed, having written exactly LinesDue(Rate, d) lines. It returns the lines
// written and the first write error, or ctx's error when cancelled. Call it once.
func (w *LineWriter) Run(ctx context.Context, d time.Duration) (int64, error) {
	if w.Rate <= 0 || w.LinesPerWrite <= 0 || w.Gen == nil {
		return 0, errors.New("line writer: rate, lines per write and generator must be set")
	}
	total := LinesDue(w.Rate, d)
	start := time.Now()
	t := time.NewTicker(writeTick)
	defer t.Stop()
	buf := make([]byte, 0, 512*w.LinesPerWrite)
	var n int64
	for n < total {
		due := min(LinesDue(w.Rate, time.Since(start)), total)
		for n < due {
			batch := min(int64(w.LinesPerWrite), due-n)
			buf = buf[:0]
			now := time.Now()
			for i := range batch {
				buf = w.Gen.Append(buf, uint64(n+i), now) //nolint:gosec // n counts up from 0
			}
			if _, err := w.W.Write(buf); err != nil {
				return n, fmt.Errorf("write log lines: %w", err)
			}
			n += batch
			w.written.Store(n)
			w.bytes.Add(int64(len(buf)))
		}
		if n >= total {
			break
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-t.C:
		}
	}
	return n, nil
}
