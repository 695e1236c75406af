package logtail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"
)

// readFile reads r from its offset to the end of the file.
func (t *Tailer) readFile(ctx context.Context, emit func(context.Context, Batch) error, r *reader, now time.Time) error {
	if ok, err := t.checkFile(ctx, emit, r, now); !ok || err != nil {
		return err
	}
	if r.offset == 0 && r.seenEnd == 0 && r.copyOf == nil && r.size > 0 && t.copySource(r, now) {
		// Checked before the first byte is read rather than at open: a copy being written
		// is often found empty, and only its first KiB tells it apart.
		t.logger.Debug("log file is a copy of one being read (copytruncate); reading only what the original did not",
			"file", r.cur, "original", r.copyOf.cur, "offset", r.offset)
	}
	if !t.followOriginal(r) {
		return nil
	}
	if r.size == r.seenEnd && r.offset+r.partial == r.seenEnd {
		return nil // nothing new since the last read
	}
	maxLine := t.cfg.MaxLineBytes
	for {
		n, err := r.f.ReadAt(t.buf, r.offset)
		if err != nil && !errors.Is(err, io.EOF) {
			t.readFailed(r, err)
			return nil
		}
		r.failing = false
		base := r.offset
		if end := base + int64(n); end > r.seenEnd {
			r.seenEnd, r.lastGrowth = end, now
		}
		data := t.buf[:n]
		pos := 0
		for pos < n {
			if r.skipping {
				i := bytes.IndexByte(data[pos:], '\n')
				if i < 0 {
					pos = n
				} else {
					pos += i + 1
					r.skipping = false
				}
				r.offset = base + int64(pos)
				continue
			}
			i := bytes.IndexByte(data[pos:], '\n')
			if i < 0 && n-pos <= maxLine {
				break // the last line is not complete yet
			}
			start := base + int64(pos)
			var line []byte
			cut := false
			if i < 0 {
				line, cut = cutAtRune(data[pos:], maxLine), true
				pos += maxLine
			} else {
				line = data[pos : pos+i]
				pos += i + 1
				if len(line) > maxLine {
					line, cut = cutAtRune(line, maxLine), true
				}
			}
			if err := t.line(ctx, emit, r, line, start, cut, now); err != nil {
				return err
			}
			r.offset = base + int64(pos)
			r.skipping = cut && i < 0
		}
		t.m.bytesRead.Add(float64(r.offset - base))
		if n < len(t.buf) {
			r.partial = int64(n) - (r.offset - base)
			t.noteTail(r)
			return nil
		}
	}
}

func (t *Tailer) readFailed(r *reader, err error) {
	if r.failing {
		return
	}
	r.failing = true
	t.m.readErrors.Inc()
	t.warnOnce(r, warnReadError, "cannot read log file; retrying at every poll (further errors in this file are only counted)", r.offset, "err", err)
}

// line takes one line (without its newline) that starts at offset start.
func (t *Tailer) line(ctx context.Context, emit func(context.Context, Batch) error, r *reader, line []byte, start int64, cut bool, now time.Time) error {
	t.m.linesRead.Inc()
	if cut {
		t.m.linesTruncated.Inc()
		t.warnOnce(r, warnLongLine, "log line longer than logs.max-line-bytes, cut (further ones in this file are only counted)", start,
			"max_line_bytes", t.cfg.MaxLineBytes)
	} else if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if t.multi == nil {
		if len(line) == 0 {
			return nil
		}
		return t.addRecord(ctx, emit, r, line, start, now)
	}
	if r.hasPending && !t.multi.Match(line) {
		if r.pendingLines >= t.cfg.MaxRecordLines || len(r.pending)+1+len(line) > t.cfg.MaxRecordBytes {
			if !r.pendingCut {
				r.pendingCut = true
				t.m.recordsTruncated.Inc()
				t.warnOnce(r, warnLongRecord, "multi-line log record over logs.max-record-lines or logs.max-record-bytes, cut (further ones in this file are only counted)", r.pendingStart)
			}
			return nil
		}
		r.pending = append(append(r.pending, '\n'), line...)
		r.pendingLines++
		return nil
	}
	if r.hasPending {
		if err := t.finishPending(ctx, emit, r); err != nil {
			return err
		}
	}
	if len(line) == 0 {
		return nil // a blank line between records belongs to none
	}
	r.pending = append(r.pending[:0], line...)
	r.hasPending, r.pendingStart, r.pendingLines, r.pendingCut, r.pendingObserved = true, start, 1, false, now
	return nil
}

// finishPending emits r's multi-line record.
func (t *Tailer) finishPending(ctx context.Context, emit func(context.Context, Batch) error, r *reader) error {
	text := bytes.TrimRight(r.pending, "\n")
	if len(text) > t.cfg.MaxRecordBytes {
		text = cutAtRune(text, t.cfg.MaxRecordBytes)
		if !r.pendingCut {
			t.m.recordsTruncated.Inc()
		}
	}
	if err := t.addRecord(ctx, emit, r, text, r.pendingStart, r.pendingObserved); err != nil {
		return err
	}
	r.hasPending = false
	r.pending = r.pending[:0]
	if cap(r.pending) > 64<<10 {
		r.pending = nil // do not keep a huge record's buffer for every file
	}
	return nil
}

// addRecord parses text into a record and adds it to the batch, handing the batch over first
// if the record would not fit. text is copied.
func (t *Tailer) addRecord(ctx context.Context, emit func(context.Context, Batch) error, r *reader, text []byte, start int64, observed time.Time) error {
	if len(t.batch) > 0 && (len(t.batch) >= t.cfg.MaxBatchRecords || t.batchBytes+len(text) > t.cfg.MaxBatchBytes) {
		if err := t.flush(ctx, emit); err != nil {
			return err
		}
	}
	limit := t.cfg.MaxLineBytes
	if t.multi != nil {
		limit = t.cfg.MaxRecordBytes
	}
	var replaced bool
	text, t.scratch, replaced = validUTF8(t.scratch, text, limit)
	if replaced {
		t.m.invalidUTF8.Inc()
		t.warnOnce(r, warnInvalidUTF8, "log record with invalid UTF-8, replaced by U+FFFD (further ones in this file are only counted)", start)
	}
	rec := Record{ObservedTime: observed}
	t.parser.parse(text, 2, &rec)
	rec.Attributes[AttrFilePath] = r.path
	rec.Attributes[AttrFileName] = r.name
	if t.batch == nil {
		t.batch = make([]Record, 0, min(t.cfg.MaxBatchRecords, 256))
	}
	t.batch = append(t.batch, rec)
	t.batchBytes += len(text)
	return nil
}

// flushIdle emits what waits for more that has not come for multiline-flush: a last line
// without its newline, and then a multi-line record.
func (t *Tailer) flushIdle(ctx context.Context, emit func(context.Context, Batch) error, r *reader, now time.Time) error {
	if r.closed || r.copyOf != nil || now.Sub(r.lastGrowth) < t.cfg.MultilineFlush {
		return nil
	}
	if err := t.takePartial(ctx, emit, r, now); err != nil {
		return err
	}
	if r.hasPending {
		return t.finishPending(ctx, emit, r)
	}
	return nil
}

// takePartial takes the bytes after r's last newline as a line of their own.
func (t *Tailer) takePartial(ctx context.Context, emit func(context.Context, Batch) error, r *reader, now time.Time) error {
	if r.partial <= 0 || r.skipping {
		return nil
	}
	n, err := r.f.ReadAt(t.buf[:r.partial], r.offset)
	if err != nil && !errors.Is(err, io.EOF) {
		t.readFailed(r, err)
		return nil
	}
	if int64(n) != r.partial || bytes.IndexByte(t.buf[:n], '\n') >= 0 {
		return nil // it changed since the read: the next poll reads it as usual
	}
	if err := t.line(ctx, emit, r, t.buf[:n], r.offset, false, now); err != nil {
		return err
	}
	r.offset += int64(n)
	r.partial = 0
	t.m.bytesRead.Add(float64(n))
	t.noteTail(r)
	return nil
}
