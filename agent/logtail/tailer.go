// Package logtail tails log files for faultline-agent: files chosen by globs, followed
// through rotation (rename or copytruncate) by device, inode and a fingerprint of their first
// KiB, cut into records (lines, or multi-line records such as stack traces), parsed (JSON
// fields, levels, trace IDs) and handed to the caller in batches. Offsets are checkpointed in
// a state file only once the caller has accepted a batch, so a restart neither loses nor
// repeats lines (a crash repeats at most the batch being handed over).
//
// Files are polled, as the OpenTelemetry Collector's stanza file consumer does, rather than
// watched with inotify: polling sees renames, truncations and files on any filesystem the same
// way, and costs a glob and a stat per file per poll.
package logtail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// finalFlushTimeout bounds the last emit after Run's context is done.
const finalFlushTimeout = 5 * time.Second

// Tailer tails the files the configuration names. Run it once.
type Tailer struct {
	cfg     Config
	include []string
	exclude []string // matched against the path
	// excludeNames are the exclude patterns without a separator, matched against the name.
	excludeNames []string
	multi        *regexp.Regexp
	logger       *slog.Logger
	m            metrics
	statePath    string

	// readers in the order they were opened, so a rotated file's tail is read before the
	// head of the file that replaced it.
	readers []*reader
	byID    map[fileID]*reader
	// closing are readers finished and closed whose last records may still be in the batch;
	// they leave the checkpoint with the commit of that batch.
	closing []*reader

	// restored is the checkpoint loaded by New, until the first poll has matched it to files.
	restored []position
	// replaced are the checkpointed files found rewritten in place at the first poll.
	replaced   map[fileID]bool
	firstStart bool // there was no checkpoint file
	polled     bool
	// failedPaths are paths that could not be opened, so the failure is counted and logged
	// once, not at every poll.
	failedPaths map[string]bool

	buf        []byte
	head       [fingerprintSize]byte
	tailBuf    [fingerprintSize]byte
	scratch    []byte
	parser     lineParser
	batch      []Record
	batchBytes int
	dirty      bool // the committed positions differ from the checkpoint file

	retryMin, retryMax time.Duration
	running            atomic.Bool
}

// checkpointPosition is r's position with the fingerprint of the bytes before it. Should
// they not be readable (the file truncated meanwhile), the tail is one no content has, and
// the next start reads the file from its start.
func (t *Tailer) checkpointPosition(r *reader) position {
	p := r.position()
	var ok bool
	if p.tail, ok = t.tailBefore(r, p.offset); !ok {
		p.tail = fingerprint{n: int(min(p.offset, fingerprintSize))}
	}
	return p
}

type warnKind uint8

const (
	warnLongLine warnKind = 1 << iota
	warnLongRecord
	warnInvalidUTF8
	warnTruncated
	warnReadError
)

// New builds a tailer and loads its checkpoint, stateDir/logtail.json (the directory is
// created if need be). A checkpoint that cannot be decoded is an error wrapping
// ErrCorruptCheckpoint and naming the file. logger and reg may be nil.
func New(cfg Config, stateDir string, logger *slog.Logger, reg prometheus.Registerer) (*Tailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Include) == 0 {
		return nil, errors.New("logs.include is empty: no log files to tail")
	}
	if stateDir == "" {
		return nil, errors.New("log tailer needs a state directory for its checkpoint")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stateDir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("log tailer state directory: %w", err)
	}
	t := &Tailer{
		cfg:         cfg,
		logger:      logger,
		statePath:   filepath.Join(stateDir, checkpointName),
		byID:        map[fileID]*reader{},
		failedPaths: map[string]bool{},
		replaced:    map[fileID]bool{},
		buf:         make([]byte, max(64<<10, cfg.MaxLineBytes+1)),
		parser:      lineParser{parseJSON: cfg.ParseJSON},
		retryMin:    100 * time.Millisecond,
		retryMax:    5 * time.Second,
	}
	if t.include, err = absPatterns(cfg.Include); err != nil {
		return nil, err
	}
	for _, p := range cfg.Exclude {
		if !strings.ContainsRune(p, filepath.Separator) {
			t.excludeNames = append(t.excludeNames, p)
			continue
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("log glob %q: %w", p, err)
		}
		t.exclude = append(t.exclude, a)
	}
	if cfg.MultilineStart != "" {
		t.multi = regexp.MustCompile(cfg.MultilineStart) // Validate compiled it
	}
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return nil, fmt.Errorf("create log tailer state directory: %w", err)
	}
	var found bool
	if t.restored, found, err = loadCheckpoint(t.statePath); err != nil {
		return nil, err
	}
	t.firstStart = !found
	t.m = newMetrics(reg)
	return t, nil
}

func absPatterns(ps []string) ([]string, error) {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("log glob %q: %w", p, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// Run tails until ctx is done, handing batches to emit. A batch's offsets count as done only
// once emit returns nil; on an error the same batch is retried with backoff, reading nothing
// further meanwhile. When ctx is done, Run hands over the records already complete in one
// last emit (with a context of its own, bounded by 5s), writes the checkpoint, closes the
// files and returns nil (an error only if the checkpoint cannot be written). A multi-line
// record still open then is not emitted: its lines are read again, whole, at the next start
// (it may not be complete yet, and emitting it would split it in two). emit may keep the
// Batch: the tailer does not reuse it.
func (t *Tailer) Run(ctx context.Context, emit func(context.Context, Batch) error) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("log tailer: Run called twice")
	}
	defer t.closeAll()
	ticker := time.NewTicker(t.cfg.PollInterval)
	defer ticker.Stop()
	for ctx.Err() == nil {
		// poll fails only when ctx is done while it waits for emit or the checkpoint.
		_ = t.poll(ctx, emit)
		select {
		case <-ctx.Done():
		case <-ticker.C:
		}
	}
	return t.stop(ctx, emit)
}

func (t *Tailer) stop(ctx context.Context, emit func(context.Context, Batch) error) error {
	if len(t.batch) > 0 {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
		err := emit(fctx, Batch{Records: t.batch})
		cancel()
		if err != nil {
			t.m.emitFailures.Inc()
			t.logger.Warn("last log batch not accepted at stop; its lines are read again at the next start",
				"records", len(t.batch), "err", err)
			return t.persistOnce()
		}
		t.m.records.Add(float64(len(t.batch)))
		t.batch = nil
	}
	t.commit()
	return t.persistOnce()
}

func (t *Tailer) persistOnce() error {
	if !t.dirty {
		return nil
	}
	if err := t.persist(); err != nil {
		t.m.checkpointErrors.Inc()
		return fmt.Errorf("write log tailer checkpoint %s: %w", t.statePath, err)
	}
	return nil
}

func (t *Tailer) closeAll() {
	for _, r := range t.readers {
		if !r.closed {
			r.f.Close()
		}
	}
	t.m.filesWatched.Set(0)
}

// poll finds the files, reads them to their end, and hands over and commits what it read.
func (t *Tailer) poll(ctx context.Context, emit func(context.Context, Batch) error) error {
	now := time.Now()
	found := t.scan()

	prevAt := make(map[string]*reader, len(t.readers))
	for _, r := range t.readers {
		prevAt[r.cur] = r
		r.gone = true
	}
	var fresh []foundFile
	for _, f := range found {
		if r := t.byID[f.id]; r != nil {
			r.cur, r.size, r.mtime, r.gone, r.goneSince = f.path, f.size, f.mtime, false, time.Time{}
			continue
		}
		fresh = append(fresh, f)
	}
	// Older files first: rotated files (app.log.2, app.log.1) before the live one, so that
	// lines go out roughly in the order they were written.
	slices.SortStableFunc(fresh, func(a, b foundFile) int { return a.mtime.Compare(b.mtime) })
	for _, r := range t.readers {
		if r.gone && r.goneSince.IsZero() {
			r.goneSince = now
		}
	}
	if !t.polled {
		t.placeCheckpoint(found, fresh, now)
	}
	for _, f := range fresh {
		t.open(f, now, prevAt)
	}
	t.restored, t.replaced = nil, nil
	t.polled = true

	for _, r := range t.readers {
		if err := t.readFile(ctx, emit, r, now); err != nil {
			return err
		}
		if err := t.flushIdle(ctx, emit, r, now); err != nil {
			return err
		}
	}
	if err := t.closeFinished(ctx, emit, now); err != nil {
		return err
	}
	t.m.filesWatched.Set(float64(len(t.readers)))
	return t.flush(ctx, emit)
}

// flush hands the batch to emit, retrying until it is accepted or ctx is done, then commits
// the offsets it covers and writes the checkpoint before anything further is read.
func (t *Tailer) flush(ctx context.Context, emit func(context.Context, Batch) error) error {
	if len(t.batch) > 0 {
		if err := t.emitRetrying(ctx, emit); err != nil {
			return err
		}
	}
	t.commit()
	if !t.dirty {
		return nil
	}
	return t.retry(ctx, func() error {
		err := t.persist()
		if err != nil {
			t.m.checkpointErrors.Inc()
		}
		return err
	}, "writing the log tailer checkpoint", "file", t.statePath)
}

func (t *Tailer) emitRetrying(ctx context.Context, emit func(context.Context, Batch) error) error {
	b := Batch{Records: t.batch}
	err := t.retry(ctx, func() error {
		err := emit(ctx, b)
		if err != nil {
			t.m.emitFailures.Inc()
		}
		return err
	}, "handing a log batch to the exporter", "records", len(b.Records))
	if err != nil {
		return err
	}
	t.m.records.Add(float64(len(b.Records)))
	t.batch, t.batchBytes = nil, 0
	return nil
}

// retry runs op until it succeeds or ctx is done, with exponential backoff, logging the
// first failure and the recovery of a streak. Nothing further is read meanwhile.
func (t *Tailer) retry(ctx context.Context, op func() error, what string, args ...any) error {
	delay := t.retryMin
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := op()
		if err == nil {
			if attempt > 0 {
				t.logger.Info(what+" succeeded after retries", append(args, "attempts", attempt+1)...)
			}
			return nil
		}
		if attempt == 0 {
			t.logger.Warn(what+" failed; retrying, reading nothing further meanwhile", append(args, "err", err)...)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		delay = min(2*delay, t.retryMax)
	}
}

// commit marks everything read so far as handed over: called once the batch is accepted.
func (t *Tailer) commit() {
	for _, r := range t.readers {
		p := r.position()
		p.tail = r.committed.tail
		if p != r.committed {
			r.committed = t.checkpointPosition(r)
			t.dirty = true
		}
	}
	if len(t.closing) > 0 {
		t.closing = nil
		t.dirty = true
	}
}

func (t *Tailer) persist() error {
	ps := make([]position, 0, len(t.readers)+len(t.closing)+len(t.restored))
	ps = append(ps, t.restored...)
	for _, r := range t.readers {
		ps = append(ps, r.committed)
	}
	for _, r := range t.closing {
		ps = append(ps, r.committed)
	}
	data, err := encodeCheckpoint(ps)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(t.statePath, data); err != nil {
		return err
	}
	t.dirty = false
	return nil
}

func (t *Tailer) warnOnce(r *reader, kind warnKind, msg string, offset int64, args ...any) {
	if r.warned&kind != 0 {
		return
	}
	r.warned |= kind
	t.logger.Warn(msg, append([]any{"file", r.cur, "offset", offset}, args...)...)
}
