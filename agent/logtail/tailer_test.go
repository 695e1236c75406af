package logtail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestPlainAndAppendedLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	appendString(t, f, "first\r\nsecond\n\nthird\n")

	s := newSink()
	tl := start(t, testConfig(t, filepath.Join(dir, "*.log")), t.TempDir(), s.emit)
	recs := s.waitN(t, 3)
	assert.Equal(t, []string{"first", "second", "third"}, bodies(recs), "CRLF stripped, the empty line is no record")
	for _, r := range recs {
		assert.Equal(t, path, r.Attributes[AttrFilePath])
		assert.Equal(t, "app.log", r.Attributes[AttrFileName])
		assert.False(t, r.ObservedTime.IsZero())
	}

	appendString(t, f, "fourth\nfifth\n")
	recs = s.waitN(t, 5)
	assert.Equal(t, []string{"first", "second", "third", "fourth", "fifth"}, bodies(recs))
	tl.stop(t)
	assert.Equal(t, 6.0, value(tl.m.linesRead))
	assert.Equal(t, 5.0, value(tl.m.records))
	assert.Equal(t, float64(len("first\r\nsecond\n\nthird\nfourth\nfifth\n")), value(tl.m.bytesRead))
	assert.Equal(t, 0.0, value(tl.m.filesWatched), "files are closed when Run returns")
}

func TestNewFilesAndExclude(t *testing.T) {
	dir := t.TempDir()
	appendString(t, createLog(t, filepath.Join(dir, "a.log")), "a1\n")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir.log"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling.log")))
	cfg := testConfig(t, filepath.Join(dir, "*.log"))
	cfg.Exclude = []string{filepath.Join(dir, "skip*"), "*.old.log"}

	s := newSink()
	tl := start(t, cfg, t.TempDir(), s.emit)
	s.waitN(t, 1)

	// Written before b.log exists, so the poll that finds b.log finds these too.
	appendString(t, createLog(t, filepath.Join(dir, "skip.log")), "skipped\n")
	appendString(t, createLog(t, filepath.Join(dir, "x.old.log")), "excluded by name\n")
	appendString(t, createLog(t, filepath.Join(dir, "b.log")), "b1\n")
	recs := s.waitN(t, 2)
	assert.Equal(t, []string{"a1", "b1"}, bodies(recs))
	assert.Equal(t, filepath.Join(dir, "b.log"), recs[1].File())
	tl.stop(t)
	assert.Equal(t, 0.0, value(tl.m.readErrors), "a directory or a dangling symlink is no error")
}

// TestUnreadableFile: the tests run as root, who may read any file, so a symlink loop stands
// in for a file that cannot be opened (the same open/stat failure path as EACCES).
func TestUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop.log")
	require.NoError(t, os.Symlink(loop, loop))
	f := createLog(t, filepath.Join(dir, "ok.log"))
	writeLines(t, f, 0, 1)

	s := newSink()
	tl := start(t, testConfig(t, filepath.Join(dir, "*.log")), t.TempDir(), s.emit)
	s.waitN(t, 1)
	writeLines(t, f, 1, 2) // read at a later poll, which fails on loop.log again
	requireSequence(t, s.waitN(t, 2), 0, 2)
	tl.stop(t)
	assert.Equal(t, 1.0, value(tl.m.readErrors), "counted once, not at every poll")
	assert.Equal(t, 1, tl.logs.count("cannot open log file"))
	assert.Equal(t, 1, tl.logs.count("file="+loop), "the log names the file")
}

func TestRenameRotation(t *testing.T) {
	for _, tc := range []struct {
		name string
		glob string
		// With rotated names outside the glob, a file renamed before the tailer saw it
		// would be lost, so the writer waits for the tailer to find each new file.
		waitForNewFile bool
	}{
		{"rotated names not globbed", "app.log", true},
		{"rotated names globbed too", "app.log*", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			f := createLog(t, path)
			cfg := testConfig(t, filepath.Join(dir, tc.glob))
			// Long enough that the lines written to a renamed file right after the rename
			// come before the tailer gives up on it, however slow the machine.
			cfg.RotateWait = time.Second
			s := newSink()
			tl := start(t, cfg, t.TempDir(), s.emit)

			const rotations, perFile, afterRename = 5, 400, 20
			n := 0
			for k := range rotations {
				writeLines(t, f, n, n+1)
				n++
				if tc.waitForNewFile {
					s.waitN(t, n)
				}
				writeLines(t, f, n, n+perFile)
				n += perFile
				for i := k; i >= 1; i-- {
					require.NoError(t, os.Rename(fmt.Sprintf("%s.%d", path, i), fmt.Sprintf("%s.%d", path, i+1)))
				}
				require.NoError(t, os.Rename(path, path+".1"))
				// A logger keeps writing to the renamed file until it reopens.
				writeLines(t, f, n, n+afterRename)
				n += afterRename
				require.NoError(t, f.Close())
				f = createLog(t, path)
			}
			writeLines(t, f, n, n+10)
			n += 10
			recs := s.waitN(t, n)
			if tc.waitForNewFile {
				requireSequence(t, recs, 0, n)
				for _, r := range recs {
					require.Equal(t, path, r.File(), "records keep the path their file was found under")
				}
				assert.Equal(t, float64(rotations), value(tl.m.rotations))
				// The rotated files are finished and closed after rotate-wait.
				eventually(t, func() bool { return value(tl.m.filesWatched) == 1 }, "rotated files closed")
			} else {
				requireEachOnce(t, recs, 0, n)
				assert.Equal(t, float64(rotations+1), value(tl.m.filesWatched), "every rotated file is still globbed")
			}
			tl.stop(t)
			assert.Equal(t, 0.0, value(tl.m.truncations))
			assert.Equal(t, 0.0, value(tl.m.readErrors))
		})
	}
}

func TestCopyTruncate(t *testing.T) {
	t.Run("copy not globbed", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.log")
		f := createLog(t, path)
		s := newSink()
		tl := start(t, testConfig(t, path), t.TempDir(), s.emit)
		writeLines(t, f, 0, 100)
		s.waitN(t, 100)
		copyTruncate(t, path)
		writeLines(t, f, 100, 150) // shorter than before: found by size
		requireSequence(t, s.waitN(t, 150), 0, 150)
		assert.Equal(t, 1.0, value(tl.m.truncations))
		assert.Equal(t, 1, tl.logs.count("truncated or rewritten"))
	})
	t.Run("copy globbed, no pause", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.log")
		f := createLog(t, path)
		s := newSink()
		tl := start(t, testConfig(t, path+"*"), t.TempDir(), s.emit)
		writeLines(t, f, 0, 300)
		s.waitN(t, 300)
		// Lines the tailer may or may not read before the copy, then the copy, the
		// truncation and new lines, with no pause: whichever poll sees what, no line may
		// come twice (once from the original, once from the copy).
		writeLines(t, f, 300, 400)
		copyTruncate(t, path)
		writeLines(t, f, 400, 800)
		recs := s.waitN(t, 800)
		requireEachOnce(t, recs, 0, 800)
		assert.Equal(t, 1.0, value(tl.m.truncations))
		tl.stop(t)
		assert.Len(t, s.snapshot(), 800, "nothing more came later")
	})
}

// copyTruncate does what logrotate's copytruncate does: copy the file to path.1, then
// truncate it in place while the writer keeps its handle.
func copyTruncate(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".1", data, 0o644))
	require.NoError(t, os.Truncate(path, 0))
}

func TestTruncateToZeroAndRegrow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	s := newSink()
	tl := start(t, testConfig(t, path), t.TempDir(), s.emit)
	writeLines(t, f, 0, 10)
	s.waitN(t, 10)
	require.NoError(t, f.Truncate(0))
	eventually(t, func() bool { return value(tl.m.truncations) == 1 }, "the truncation noticed")
	writeLines(t, f, 10, 40) // grows past the old offset
	requireSequence(t, s.waitN(t, 40), 0, 40)

	// Truncated and rewritten past the old offset between two polls: told by the first KiB.
	f2 := createLog(t, filepath.Join(dir, "other"))
	writeLines(t, f2, 0, 2000)
	data, err := os.ReadFile(filepath.Join(dir, "other"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	recs := s.waitN(t, 2040)
	requireSequence(t, recs[40:], 0, 2000)
	assert.Equal(t, 2.0, value(tl.m.truncations))
}

func TestMultilineJavaStackTrace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	cfg.MultilineStart = `^\d{4}-\d\d-\d\d`
	cfg.MultilineFlush = 300 * time.Millisecond
	s := newSink()
	start(t, cfg, t.TempDir(), s.emit)

	f := createLog(t, path)
	trace := "2024-05-01 10:00:00,000 ERROR [main] c.e.Checkout - payment failed\n" +
		"java.lang.IllegalStateException: card declined\n" +
		"\tat com.example.Pay.charge(Pay.java:42)\n" +
		"\n" +
		"\tat com.example.Checkout.run(Checkout.java:7)\n" +
		"Caused by: java.io.IOException: timeout\n" +
		"\t... 3 more\n"
	appendString(t, f, trace+"2024-05-01 10:00:01,000 INFO [main] c.e.Checkout - next\n")
	written := time.Now()

	recs := s.waitN(t, 1)
	assert.Equal(t, strings.TrimSuffix(trace, "\n"), recs[0].Body, "one record, the blank line inside kept")
	assert.Equal(t, plog.SeverityNumberError, recs[0].SeverityNumber)
	assert.True(t, time.Date(2024, 5, 1, 10, 0, 0, 0, time.Local).Equal(recs[0].Time))

	recs = s.waitN(t, 2)
	assert.GreaterOrEqual(t, time.Since(written), cfg.MultilineFlush, "the last record waits for multiline-flush")
	assert.Equal(t, "2024-05-01 10:00:01,000 INFO [main] c.e.Checkout - next", recs[1].Body)
	assert.Equal(t, plog.SeverityNumberInfo, recs[1].SeverityNumber)
}

func TestMultilineRecordCap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	cfg.MultilineStart = `^\S`
	cfg.MaxRecordLines = 3
	cfg.MaxRecordBytes = 1000
	f := createLog(t, path)
	appendString(t, f, "start A\n c1\n c2\n c3\n c4\nstart B\n"+" "+strings.Repeat("x", 2000)+"\nstart C\n")
	s := newSink()
	tl := start(t, cfg, t.TempDir(), s.emit)
	recs := s.waitN(t, 3)
	assert.Equal(t, []string{"start A\n c1\n c2", "start B", "start C"}, bodies(recs))
	tl.stop(t)
	assert.Equal(t, 2.0, value(tl.m.recordsTruncated))
}

func TestJSONAndKeyValueLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	appendString(t, f, `{"level":"warn","time":"2024-05-01T10:00:00Z","msg":"slow","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","service":"checkout","db":{"system":"postgres","rows":3}}`+"\n"+
		"2024-05-01T10:00:01Z level=error msg=boom trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\n")
	s := newSink()
	start(t, testConfig(t, path), t.TempDir(), s.emit)
	recs := s.waitN(t, 2)

	j := recs[0]
	assert.Equal(t, "slow", j.Body)
	assert.Equal(t, "warn", j.SeverityText)
	assert.Equal(t, plog.SeverityNumberWarn, j.SeverityNumber)
	assert.Equal(t, "checkout", j.Service)
	assert.True(t, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).Equal(j.Time))
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", fmt.Sprintf("%x", j.TraceID))
	assert.Equal(t, "00f067aa0ba902b7", fmt.Sprintf("%x", j.SpanID))
	assert.Equal(t, map[string]any{"db.system": "postgres", "db.rows": int64(3), AttrFilePath: path, AttrFileName: "app.log"}, j.Attributes)

	p := recs[1]
	assert.Equal(t, plog.SeverityNumberError, p.SeverityNumber)
	assert.Equal(t, j.TraceID, p.TraceID)
	assert.Equal(t, j.SpanID, p.SpanID)
	assert.True(t, time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC).Equal(p.Time))
	assert.Empty(t, p.Service)
}

func TestLongLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	f := createLog(t, path)
	// 10 MB in one line, and a multi-byte rune across the cut.
	long := strings.Repeat("x", cfg.MaxLineBytes-1) + "é" + strings.Repeat("y", 10<<20)
	appendString(t, f, long+"\nafter\n")

	s := newSink()
	tl := start(t, cfg, t.TempDir(), s.emit)
	recs := s.waitN(t, 2)
	assert.Equal(t, strings.Repeat("x", cfg.MaxLineBytes-1), recs[0].Body, "cut before the rune that would cross the limit")
	assert.Equal(t, "after", recs[1].Body)

	// A long line still being written is cut before its newline comes; its rest is skipped.
	appendString(t, f, strings.Repeat("z", 100<<10))
	recs = s.waitN(t, 3)
	assert.Equal(t, strings.Repeat("z", cfg.MaxLineBytes), recs[2].Body)
	appendString(t, f, strings.Repeat("z", 1000)+"\nend\n")
	recs = s.waitN(t, 4)
	assert.Equal(t, "end", recs[3].Body)
	tl.stop(t)
	assert.Len(t, s.snapshot(), 4)
	assert.Equal(t, 2.0, value(tl.m.linesTruncated))
	assert.Equal(t, 1, tl.logs.count("longer than logs.max-line-bytes"), "logged once per file")
	assert.Len(t, tl.buf, cfg.MaxLineBytes+1, "the read buffer never grew")
}

func TestInvalidUTF8AndBinaryGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	cfg.MaxLineBytes = 100
	f := createLog(t, path)
	appendString(t, f, "ok \xff\xfe bad\n")
	s := newSink()
	tl := start(t, cfg, t.TempDir(), s.emit)
	recs := s.waitN(t, 1)
	assert.Equal(t, "ok \uFFFD\uFFFD bad", recs[0].Body)
	assert.Equal(t, 1.0, value(tl.m.invalidUTF8))

	garbage := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	garbage[0] = 0
	_, err := f.Write(append(garbage, "\nEND\n"...))
	require.NoError(t, err)
	recs = s.wait(t, "END", func(r []Record) bool { return len(r) > 1 && r[len(r)-1].Body == "END" })
	for _, r := range recs {
		require.True(t, utf8.ValidString(r.Body))
		require.LessOrEqual(t, len(r.Body), cfg.MaxLineBytes)
	}
	tl.stop(t)
	newlines := strings.Count(string(garbage), "\n")
	assert.Equal(t, float64(1+newlines+2), value(tl.m.linesRead))
	assert.Greater(t, value(tl.m.invalidUTF8), 100.0)
	assert.Positive(t, value(tl.m.linesTruncated))
}

func TestDeletedWhileRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	cfg.RotateWait = time.Second
	stateDir := t.TempDir()
	f := createLog(t, path)
	writeLines(t, f, 0, 5)
	s := newSink()
	tl := start(t, cfg, stateDir, s.emit)
	s.waitN(t, 5)
	require.NoError(t, os.Remove(path))
	writeLines(t, f, 5, 10) // the writer still has it open
	requireSequence(t, s.waitN(t, 10), 0, 10)
	eventually(t, func() bool { return value(tl.m.filesWatched) == 0 }, "the deleted file closed")
	tl.stop(t)
	assert.Empty(t, readCheckpoint(t, stateDir), "a finished file leaves the checkpoint")
	assert.Equal(t, 0.0, value(tl.m.readErrors))
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	appendString(t, f, "old 1\nold 2\npartial")
	cfg := testConfig(t, filepath.Join(dir, "*.log"))
	cfg.StartAt = StartAtEnd
	stateDir := t.TempDir()

	s := newSink()
	tl := start(t, cfg, stateDir, s.emit)
	eventually(t, func() bool { return value(tl.m.filesWatched) == 1 }, "the file opened")
	appendString(t, f, " rest\nnew 1\n")
	recs := s.waitN(t, 1)
	assert.Equal(t, "new 1", recs[0].Body, "the line started before was skipped")
	tl.stop(t)

	// A file that appears later, and any file after a restart, is read from its start.
	appendString(t, f, "new 2\n")
	appendString(t, createLog(t, filepath.Join(dir, "b.log")), "b 1\n")
	s2 := newSink()
	start(t, cfg, stateDir, s2.emit)
	recs = s2.waitN(t, 2)
	assert.ElementsMatch(t, []string{"new 2", "b 1"}, bodies(recs))
}

func TestBatchLimits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	writeLines(t, f, 0, 100)
	cfg := testConfig(t, path)
	cfg.MaxBatchRecords = 7
	s := newSink()
	start(t, cfg, t.TempDir(), s.emit)
	requireSequence(t, s.waitN(t, 100), 0, 100)
	assert.Equal(t, 7, s.maxBatch)

	dir = t.TempDir()
	path = filepath.Join(dir, "app.log")
	f = createLog(t, path)
	writeLines(t, f, 0, 100)
	cfg = testConfig(t, path)
	cfg.MaxBatchBytes = 5 * len(numbered(0))
	s = newSink()
	start(t, cfg, t.TempDir(), s.emit)
	requireSequence(t, s.waitN(t, 100), 0, 100)
	assert.Equal(t, 5, s.maxBatch)
}

func TestRestartNeitherLosesNorRepeats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	cfg := testConfig(t, path)
	cfg.MaxBatchRecords = 100

	for _, tc := range []struct {
		name string
		// refuse says whether emit refuses the batch during which the agent is stopped,
		// on the first attempt and on the last one at stop.
		refuseFirst, refuseAtStop bool
	}{
		{"batch accepted as the agent stops", false, false},
		{"batch refused as the agent stops, accepted at stop", true, false},
		{"batch refused as the agent stops and at stop", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, f.Truncate(0))
			writeLines(t, f, 0, 10_000)
			stateDir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := newSink()
			s.fail = func(_ int, _ Batch) error {
				if len(s.records) < 3_000 {
					return nil
				}
				stopping := ctx.Err() != nil
				cancel() // the agent is told to stop while this batch is handed over
				if (!stopping && tc.refuseFirst) || (stopping && tc.refuseAtStop) {
					return errors.New("exporter going away")
				}
				return nil
			}
			first := startCtx(ctx, t, cfg, stateDir, s.emit)
			<-ctx.Done()
			first.stop(t)
			got := s.snapshot()
			require.Less(t, len(got), 10_000, "stopped midway")
			require.GreaterOrEqual(t, len(got), 3_000)

			// More lines while the agent is down.
			writeLines(t, f, 10_000, 10_500)
			s2 := newSink()
			second := start(t, cfg, stateDir, s2.emit)
			rest := s2.waitN(t, 10_500-len(got))
			requireSequence(t, append(got, rest...), 0, 10_500)
			second.stop(t)
			assert.Len(t, s2.snapshot(), 10_500-len(got))
		})
	}
}

func TestEmitFailuresRetried(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	writeLines(t, f, 0, 10_000)
	cfg := testConfig(t, path)
	cfg.MaxBatchRecords = 500
	s := newSink()
	s.fail = func(call int, _ Batch) error {
		if call <= 5 || call%3 == 0 {
			return errors.New("collector unavailable")
		}
		return nil
	}
	tl := start(t, cfg, t.TempDir(), s.emit)
	requireSequence(t, s.waitN(t, 10_000), 0, 10_000)
	tl.stop(t)
	assert.GreaterOrEqual(t, value(tl.m.emitFailures), 5.0)
	assert.Equal(t, 10_000.0, value(tl.m.records))
	// Calls 1 to 5 are one streak of failures: one warning, not five.
	assert.LessOrEqual(t, tl.logs.count("log batch to the exporter failed"), int(value(tl.m.emitFailures))-4)
	assert.Positive(t, tl.logs.count("log batch to the exporter succeeded after retries"))
}

func TestPendingMultilineReadAgainAfterRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	stateDir := t.TempDir()
	cfg := testConfig(t, path)
	cfg.MultilineStart = `^START`
	cfg.MultilineFlush = time.Hour
	f := createLog(t, path)
	appendString(t, f, "START 1\n cont a\n")

	s := newSink()
	first := start(t, cfg, stateDir, s.emit)
	eventually(t, func() bool { return value(first.m.linesRead) == 2 }, "both lines read")
	first.stop(t)
	assert.Empty(t, s.snapshot(), "the open record is not emitted at stop")
	ps := readCheckpoint(t, stateDir)
	require.Len(t, ps, 1)
	assert.Equal(t, int64(0), ps[0].offset, "the checkpoint stops before the open record")

	appendString(t, f, " cont b\nSTART 2\n")
	s2 := newSink()
	start(t, cfg, stateDir, s2.emit)
	recs := s2.waitN(t, 1)
	assert.Equal(t, "START 1\n cont a\n cont b", recs[0].Body)
}

func TestRotatedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	stateDir := t.TempDir()
	cfg := testConfig(t, path)
	f := createLog(t, path)
	writeLines(t, f, 0, 100)
	s := newSink()
	first := start(t, cfg, stateDir, s.emit)
	s.waitN(t, 100)
	first.stop(t)

	// While the agent is down: more lines, a rename rotation, and lines in the new file.
	writeLines(t, f, 100, 150)
	require.NoError(t, os.Rename(path, path+".1"))
	writeLines(t, createLog(t, path), 150, 200)

	s2 := newSink()
	second := start(t, cfg, stateDir, s2.emit)
	requireSequence(t, s2.waitN(t, 100), 100, 200)
	assert.Equal(t, 1.0, value(second.m.rotations))
}

func TestCopyTruncatedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	stateDir := t.TempDir()
	cfg := testConfig(t, path+"*")
	f := createLog(t, path)
	writeLines(t, f, 0, 300)
	s := newSink()
	first := start(t, cfg, stateDir, s.emit)
	s.waitN(t, 300)
	first.stop(t)

	writeLines(t, f, 300, 350)
	copyTruncate(t, path)
	writeLines(t, f, 350, 400)

	s2 := newSink()
	second := start(t, cfg, stateDir, s2.emit)
	requireEachOnce(t, s2.waitN(t, 100), 300, 400)
	second.stop(t)
	assert.Len(t, s2.snapshot(), 100)
	assert.Equal(t, 1.0, value(second.m.truncations))
}

func TestSkippedLongLineAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	stateDir := t.TempDir()
	cfg := testConfig(t, path)
	cfg.MaxLineBytes = 1000
	f := createLog(t, path)
	appendString(t, f, strings.Repeat("a", 5000))
	s := newSink()
	first := start(t, cfg, stateDir, s.emit)
	s.waitN(t, 1)
	first.stop(t)
	ps := readCheckpoint(t, stateDir)
	require.Len(t, ps, 1)
	assert.True(t, ps[0].skipToEOL)

	appendString(t, f, strings.Repeat("a", 500)+"\nnext\n")
	s2 := newSink()
	start(t, cfg, stateDir, s2.emit)
	recs := s2.waitN(t, 1)
	assert.Equal(t, "next", recs[0].Body, "the rest of the cut line stays skipped after the restart")
}

func TestUnterminatedLastLineFlushed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := createLog(t, path)
	appendString(t, f, "done\nno newline yet")
	s := newSink()
	start(t, testConfig(t, path), t.TempDir(), s.emit)
	recs := s.waitN(t, 2)
	assert.Equal(t, []string{"done", "no newline yet"}, bodies(recs))
}

func TestRunTwice(t *testing.T) {
	dir := t.TempDir()
	tl, err := New(testConfig(t, filepath.Join(dir, "*.log")), t.TempDir(), nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx, func(context.Context, Batch) error { calls.Add(1); return nil }) }()
	// The second Run may come before or after the first has started: either way it fails.
	eventually(t, tl.running.Load, "the first Run started")
	require.Error(t, tl.Run(ctx, nil))
	cancel()
	require.NoError(t, <-done)
}

func TestNewRefusesBadSetup(t *testing.T) {
	cfg := testConfig(t)
	_, err := New(cfg, t.TempDir(), nil, nil)
	require.ErrorContains(t, err, "logs.include is empty")
	cfg = testConfig(t, "/var/log/*.log")
	_, err = New(cfg, "", nil, nil)
	require.Error(t, err)
	cfg.StartAt = "middle"
	_, err = New(cfg, t.TempDir(), nil, nil)
	require.ErrorContains(t, err, "logs.start-at")
}

// polled is a Tailer driven poll by poll from the test, for interleavings that timing
// cannot produce reliably.
type polled struct {
	*Tailer
	sink *sink
}

func newPolled(t *testing.T, cfg Config, stateDir string) *polled {
	t.Helper()
	tl, err := New(cfg, stateDir, nil, nil)
	require.NoError(t, err)
	t.Cleanup(tl.closeAll)
	return &polled{Tailer: tl, sink: newSink()}
}

func (p *polled) poll(t *testing.T) []Record {
	t.Helper()
	require.NoError(t, p.Tailer.poll(context.Background(), p.sink.emit))
	return p.sink.snapshot()
}

func (p *polled) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.Tailer.stop(context.Background(), p.sink.emit))
	p.closeAll()
}

// writeFile writes lines to path, replacing what it held (same inode, as O_TRUNC does).
func writeFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}

func banner() []string {
	var b []string
	for range 100 {
		b = append(b, "==== example-service v1.2.3 starting, configuration follows ====")
	}
	return b
}

func numberedLines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, numbered(i))
	}
	return out
}

// TestRewrittenInPlaceWithSameHead: an application that truncates its log when it starts
// and writes the same banner (over 1 KiB) again, growing past where the tailer was between
// two polls or while the agent was down. The first KiB is unchanged; the bytes before the
// offset are not.
func TestRewrittenInPlaceWithSameHead(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			stateDir := t.TempDir()
			cfg := testConfig(t, path)
			writeFile(t, path, append(banner(), numberedLines(0, 10)...)...)
			p := newPolled(t, cfg, stateDir)
			require.Len(t, p.poll(t), 110)

			writeFile(t, path, append(banner(), numberedLines(100, 200)...)...)
			if restart {
				p.stop(t)
				p = newPolled(t, cfg, stateDir)
			}
			recs := p.poll(t)
			if !restart {
				recs = recs[110:]
			}
			require.Len(t, recs, 200)
			assert.Equal(t, banner(), bodies(recs[:100]))
			requireSequence(t, recs[100:], 100, 200)
			assert.Equal(t, 1.0, value(p.m.truncations))
		})
	}
}

func TestCopyTruncateInterleavings(t *testing.T) {
	setup := func(t *testing.T) (string, *polled) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.log")
		writeFile(t, path, numberedLines(0, 300)...)
		p := newPolled(t, testConfig(t, path+"*"), t.TempDir())
		requireSequence(t, p.poll(t), 0, 300)
		appendString(t, createLog(t, path), strings.Join(numberedLines(300, 350), "\n")+"\n") // not read yet
		return path, p
	}
	t.Run("copy and truncation between two polls", func(t *testing.T) {
		path, p := setup(t)
		copyTruncate(t, path)
		appendString(t, createLog(t, path), strings.Join(numberedLines(350, 700), "\n")+"\n")
		requireEachOnce(t, p.poll(t), 0, 700)
		assert.Equal(t, 1.0, value(p.m.truncations))
	})
	t.Run("copy seen before the truncation", func(t *testing.T) {
		path, p := setup(t)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path+".1", data, 0o644))
		requireEachOnce(t, p.poll(t), 0, 350) // the original's new lines, none from the copy
		require.NoError(t, os.Truncate(path, 0))
		appendString(t, createLog(t, path), strings.Join(numberedLines(350, 700), "\n")+"\n")
		requireEachOnce(t, p.poll(t), 0, 700)
		requireEachOnce(t, p.poll(t), 0, 700)
	})
	t.Run("copy found empty, filled later", func(t *testing.T) {
		path, p := setup(t)
		require.NoError(t, os.WriteFile(path+".1", nil, 0o644))
		requireEachOnce(t, p.poll(t), 0, 350)
		copyTruncate(t, path)
		appendString(t, createLog(t, path), strings.Join(numberedLines(350, 400), "\n")+"\n")
		requireEachOnce(t, p.poll(t), 0, 400)
	})
	t.Run("a new file starting alike is no copy", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.log")
		writeFile(t, path, append(banner(), numberedLines(0, 10)...)...)
		p := newPolled(t, testConfig(t, path+"*"), t.TempDir())
		require.Len(t, p.poll(t), 110)
		// Restarted with O_TRUNC: same banner, other lines; and a new file, also starting
		// with the banner, within the copy window.
		writeFile(t, path, append(banner(), numberedLines(100, 105)...)...)
		writeFile(t, path+".1", append(banner(), numberedLines(200, 220)...)...)
		recs := p.poll(t)[110:]
		require.Len(t, recs, 100+5+100+20, "both read whole")
		assert.Equal(t, 1.0, value(p.m.truncations))
	})
}

func TestTruncatedWithPendingRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	cfg.MultilineStart = `^START`
	cfg.MultilineFlush = time.Hour
	writeFile(t, path, "START a", " cont 1", " cont 2")
	p := newPolled(t, cfg, t.TempDir())
	assert.Empty(t, p.poll(t), "the record may still grow")
	writeFile(t, path, "START b")
	recs := p.poll(t)
	assert.Equal(t, []string{"START a\n cont 1\n cont 2"}, bodies(recs), "the record from before the truncation is emitted, not lost")
	assert.Equal(t, 1.0, value(p.m.truncations))
}

func TestRotatedFileClosedWithPendingRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	stateDir := t.TempDir()
	cfg := testConfig(t, path)
	cfg.MultilineStart = `^START`
	cfg.MultilineFlush = time.Hour
	cfg.RotateWait = 0
	writeFile(t, path, "START a", " cont 1", "START b", " cont 2")
	p := newPolled(t, cfg, stateDir)
	assert.Equal(t, []string{"START a\n cont 1"}, bodies(p.poll(t)))
	require.NoError(t, os.Rename(path, path+".1"))
	recs := p.poll(t)
	assert.Equal(t, []string{"START a\n cont 1", "START b\n cont 2"}, bodies(recs), "the file is finished: its last record is complete")
	assert.Equal(t, 0.0, value(p.m.filesWatched))
	p.stop(t)
	assert.Empty(t, readCheckpoint(t, stateDir))
}

// TestCopyOfDeletedFile: a file moved across filesystems is copied, then deleted. The copy is
// found while the original still holds the same content; the original is then finished,
// and the copy goes on from where it ended.
func TestCopyOfDeletedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path+"*")
	cfg.RotateWait = 0
	writeFile(t, path, numberedLines(0, 300)...)
	p := newPolled(t, cfg, t.TempDir())
	requireSequence(t, p.poll(t), 0, 300)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".1", data, 0o644))
	requireSequence(t, p.poll(t), 0, 300)
	require.NoError(t, os.Remove(path))
	requireSequence(t, p.poll(t), 0, 300)
	appendString(t, createLog(t, path+".1"), numbered(300)+"\n")
	requireSequence(t, p.poll(t), 0, 301)
	assert.Equal(t, 1.0, value(p.m.filesWatched))
}

// TestReadErrorCounted: an I/O error on an open file cannot be produced on demand with a
// real disk, so the test closes the reader's descriptor under it; reads then fail with
// "file already closed", the same path an EIO takes.
func TestReadErrorCounted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, numberedLines(0, 2)...)
	logs := &logBuffer{t: t}
	tl, err := New(testConfig(t, path), t.TempDir(), slog.New(slog.NewTextHandler(logs, nil)), nil)
	require.NoError(t, err)
	p := &polled{Tailer: tl, sink: newSink()}
	requireSequence(t, p.poll(t), 0, 2)
	require.NoError(t, tl.readers[0].f.Close())
	appendString(t, createLog(t, path), numbered(2)+"\n")
	p.poll(t)
	appendString(t, createLog(t, path), numbered(3)+"\n")
	p.poll(t)
	assert.Equal(t, 1.0, value(tl.m.readErrors), "once per failure streak")
	assert.Equal(t, 1, logs.count("cannot read log file"))
	assert.Equal(t, 1, logs.count("offset=24"), "the log names the offset")
}
