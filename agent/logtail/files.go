package logtail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// copyWindow is how long after a truncation a new file holding the truncated content is
// taken for its copy (copytruncate copies first, so the copy is there by then).
const copyWindow = time.Minute

// reader is one open log file. While the file is open it is known by its device and inode
// (an inode is not reused while the tailer holds it open); across restarts and between a
// file and its copy, by its first KiB and the KiB before the read offset.
type reader struct {
	id   fileID
	f    *os.File
	path string // where it was first found: the log.file.path of its records
	name string
	cur  string // where it is now, for log messages

	fp     fingerprint
	offset int64 // bytes before offset have become lines
	// tailFP fingerprints the bytes before tailAt (normally offset; -1 when unknown), to
	// tell a file rewritten in place from one grown, whatever its first KiB.
	tailFP     fingerprint
	tailAt     int64
	skipping   bool      // inside an over-long line: bytes up to the next newline are dropped
	size       int64     // size at this poll
	mtime      time.Time // modification time at this poll
	checked    time.Time // mtime at the last look at the file's head
	seenEnd    int64     // furthest offset read, to notice growth and truncation
	partial    int64     // bytes after offset with no newline yet, at the last read
	lastGrowth time.Time
	gone       bool      // no glob found it at this poll
	goneSince  time.Time // since when no glob finds it
	failing    bool      // the last read failed; counted once per failure streak

	// The multi-line record being assembled: it is not covered by the committed offset
	// until emitted, so a restart reads it again whole.
	hasPending      bool
	pending         []byte
	pendingLines    int
	pendingStart    int64
	pendingCut      bool
	pendingObserved time.Time

	committed position

	// copyOf is the file this one is a copy of, copyFP the content they share: the copy
	// does not read what the original has read.
	copyOf *reader
	copyFP fingerprint
	// The file's fingerprint and offset before its last truncation, to recognise for a
	// while the copy that copytruncate made.
	prevFP     fingerprint
	prevOffset int64
	prevTail   fingerprint
	prevTailOK bool
	prevUntil  time.Time

	warned warnKind
	closed bool
}

// position is where a restart would resume this file, without the tail fingerprint.
func (r *reader) position() position {
	p := position{path: r.path, id: r.id, fp: r.fp, offset: r.offset, skipToEOL: r.skipping}
	if r.hasPending {
		p.offset, p.skipToEOL = r.pendingStart, false
	}
	return p
}

// foundFile is a file a glob found at this poll.
type foundFile struct {
	path  string
	id    fileID
	size  int64
	mtime time.Time
}

// scan expands the globs: regular files, by path, each file once however many paths lead
// to it.
func (t *Tailer) scan() []foundFile {
	seenPath := map[string]bool{}
	var out []foundFile
	for _, pattern := range t.include {
		matches, _ := filepath.Glob(pattern) // the only error is a bad pattern, refused by Validate
		for _, p := range matches {
			if seenPath[p] || t.excluded(p) {
				continue
			}
			seenPath[p] = true
			fi, err := os.Stat(p)
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					t.openFailed(p, err)
				}
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			id, ok := statID(fi)
			if !ok {
				t.openFailed(p, errors.New("no device and inode numbers on this platform"))
				continue
			}
			out = append(out, foundFile{path: p, id: id, size: fi.Size(), mtime: fi.ModTime()})
		}
	}
	for p := range t.failedPaths {
		if !seenPath[p] {
			delete(t.failedPaths, p)
		}
	}
	slices.SortFunc(out, func(a, b foundFile) int { return strings.Compare(a.path, b.path) })
	ids := make(map[fileID]bool, len(out))
	return slices.DeleteFunc(out, func(f foundFile) bool {
		dup := ids[f.id]
		ids[f.id] = true
		return dup
	})
}

func (t *Tailer) excluded(path string) bool {
	// The tailer's own state, should a glob reach it.
	if path == t.statePath || path == t.statePath+".tmp" {
		return true
	}
	for _, p := range t.exclude {
		if ok, _ := filepath.Match(p, path); ok {
			return true
		}
	}
	if len(t.excludeNames) > 0 {
		name := filepath.Base(path)
		for _, p := range t.excludeNames {
			if ok, _ := filepath.Match(p, name); ok {
				return true
			}
		}
	}
	return false
}

func (t *Tailer) openFailed(path string, err error) {
	if t.failedPaths[path] {
		return
	}
	t.failedPaths[path] = true
	t.m.readErrors.Inc()
	t.logger.Warn("cannot open log file; skipping it until it can be", "file", path, "err", err)
}

// placeCheckpoint runs at the first poll. Files found under a checkpointed device and inode
// are claimed by open; it orders them first among the fresh files, so that a copy of one
// (copytruncate) is recognised against the live original. A checkpointed file no glob finds
// was rotated while the agent was down, or deleted: it is looked for in its directory under
// another name, and its unread tail read.
func (t *Tailer) placeCheckpoint(found, fresh []foundFile, now time.Time) {
	claimed := make(map[fileID]bool, len(t.restored))
	for _, p := range t.restored {
		claimed[p.id] = true
	}
	slices.SortStableFunc(fresh, func(a, b foundFile) int {
		switch ca, cb := claimed[a.id], claimed[b.id]; {
		case ca && !cb:
			return -1
		case cb && !ca:
			return 1
		}
		return 0
	})
	foundIDs := make(map[fileID]bool, len(found))
	for _, f := range found {
		foundIDs[f.id] = true
	}
	for _, p := range t.restored {
		if foundIDs[p.id] {
			continue
		}
		path, ok := findByID(filepath.Dir(p.path), p.id)
		if !ok {
			t.logger.Info("log file in the checkpoint is gone; forgetting it", "file", p.path, "offset", p.offset)
			t.dirty = true
			continue
		}
		f, err := openLog(path)
		if err != nil {
			t.logger.Info("rotated log file in the checkpoint cannot be opened; forgetting it", "file", path, "err", err)
			t.dirty = true
			continue
		}
		r := t.newReader(f, p.id, p.path, path, now)
		if r == nil {
			continue
		}
		head, err := t.readHead(r)
		if err != nil || !prefixMatches(head, p.fp) || r.size < p.offset || !t.tailMatches(r, p.offset, p.tail) {
			t.logger.Info("log file in the checkpoint was replaced; forgetting it", "file", p.path)
			f.Close()
			t.dirty = true
			continue
		}
		r.fp = fingerprintOf(head)
		r.offset, r.skipping, r.seenEnd = p.offset, p.skipToEOL, p.offset
		r.gone, r.goneSince = true, now
		t.adopt(r, "checkpoint, rotated while stopped")
	}
}

// findByID looks in dir for the file with id.
func findByID(dir string, id fileID) (string, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if got, ok := statID(fi); ok && got == id {
			return filepath.Join(dir, e.Name()), true
		}
	}
	return "", false
}

// newReader wraps an opened file; nil (the file closed) when it is not a regular file or its
// identity is not what it should be.
func (t *Tailer) newReader(f *os.File, want fileID, path, cur string, now time.Time) *reader {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		t.openFailed(cur, err)
		return nil
	}
	id, ok := statID(fi)
	if !ok || !fi.Mode().IsRegular() || id != want {
		// Replaced between the glob and the open: the next poll sees what is there now.
		f.Close()
		return nil
	}
	return &reader{
		id: id, f: f, path: path, name: filepath.Base(path), cur: cur,
		size: fi.Size(), mtime: fi.ModTime(), lastGrowth: now,
	}
}

// open starts tailing a file the globs found and no reader has.
func (t *Tailer) open(ff foundFile, now time.Time, prevAt map[string]*reader) {
	f, err := openLog(ff.path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			t.openFailed(ff.path, err)
		}
		return
	}
	r := t.newReader(f, ff.id, ff.path, ff.path, now)
	if r == nil {
		return
	}
	head, err := t.readHead(r)
	if err != nil {
		f.Close()
		t.openFailed(ff.path, err)
		return
	}
	delete(t.failedPaths, ff.path)
	r.fp = fingerprintOf(head)

	how := "new file, from the start"
	restoredAt, claimed := t.restoredFor(r.id)
	switch {
	case claimed && prefixMatches(head, restoredAt.fp) && r.size >= restoredAt.offset &&
		t.tailMatches(r, restoredAt.offset, restoredAt.tail):
		r.offset, r.skipping = restoredAt.offset, restoredAt.skipToEOL
		how = "checkpoint"
	case claimed:
		// Same inode, other content: truncated and rewritten while the agent was down
		// (copytruncate), or the inode reused by a new file. Either way, all of it is new.
		t.m.truncations.Inc()
		t.replaced[r.id] = true
		how = "checkpoint, but the file was truncated or replaced: from the start"
	case t.restoredCopy(r, head):
		how = "copy of a checkpointed file (copytruncate)"
	case t.firstStart && !t.polled && t.cfg.StartAt == StartAtEnd:
		r.offset = r.size
		// Starting inside a line would send its tail as a line of its own.
		var last [1]byte
		if r.size > 0 {
			if _, err := r.f.ReadAt(last[:], r.size-1); err == nil && last[0] != '\n' {
				r.skipping = true
			}
		}
		how = "start_at=end"
	}
	if o := prevAt[ff.path]; o != nil && o.id != r.id {
		t.m.rotations.Inc()
	} else if !t.polled && !claimed {
		for _, p := range t.restored {
			if p.path == ff.path {
				t.m.rotations.Inc()
				break
			}
		}
	}
	r.seenEnd = r.offset
	t.adopt(r, how)
}

func (t *Tailer) adopt(r *reader, how string) {
	r.tailAt = -1
	t.noteTail(r)
	r.committed = t.checkpointPosition(r)
	t.readers = append(t.readers, r)
	t.byID[r.id] = r
	t.dirty = true
	t.logger.Debug("tailing log file", "file", r.cur, "offset", r.offset, "from", how)
}

func (t *Tailer) restoredFor(id fileID) (position, bool) {
	for _, p := range t.restored {
		if p.id == id {
			return p, true
		}
	}
	return position{}, false
}

// copySource links r to the file being read that r is a copy of, so that r reads only what
// the original did not. The original is either a file truncated shortly before
// (copytruncate's signature) whose content began as r does and had, before where it was
// read to, the bytes r has there; or a file that has r's first KiB and also r's last KiB at
// the same place (files may start alike — the same banner — but will not end alike too).
// Skipping what r shares with its original loses nothing: those are the same bytes.
func (t *Tailer) copySource(r *reader, now time.Time) bool {
	head, err := t.readHead(r)
	if err != nil {
		return false
	}
	for _, o := range t.readers {
		if o == r {
			continue
		}
		if o.prevFP.n > 0 && o.prevTailOK && now.Before(o.prevUntil) && prefixMatches(head, o.prevFP) &&
			r.size >= o.prevOffset && t.tailMatches(r, o.prevOffset, o.prevTail) {
			r.copyOf, r.copyFP = o, o.prevFP
			r.offset = o.prevOffset
			return true
		}
		if r.fp.full() && o.fp == r.fp && r.size <= o.size && t.sameTail(r, o) {
			r.copyOf, r.copyFP = o, o.fp
			r.offset = min(r.size, o.offset)
			return true
		}
	}
	return false
}

// sameTail says whether o holds r's last KiB at the same offset.
func (t *Tailer) sameTail(r, o *reader) bool {
	k := min(r.size, fingerprintSize)
	a, b := t.buf[:k], t.buf[k:2*k]
	if n, _ := r.f.ReadAt(a, r.size-k); int64(n) != k {
		return false
	}
	if n, _ := o.f.ReadAt(b, r.size-k); int64(n) != k {
		return false
	}
	return bytes.Equal(a, b)
}

// restoredCopy starts r where the checkpoint left the file r's content began as, if that
// file was found rewritten in place (copytruncate while the agent was down). Were it gone,
// r might just be a new file starting alike, and reading it whole is the safer mistake.
func (t *Tailer) restoredCopy(r *reader, head []byte) bool {
	for _, p := range t.restored {
		if p.fp.n > 0 && t.replaced[p.id] && prefixMatches(head, p.fp) && r.size >= p.offset && t.tailMatches(r, p.offset, p.tail) {
			r.offset, r.skipping = p.offset, p.skipToEOL
			return true
		}
	}
	return false
}

// readHead reads the first bytes of r's file, up to fingerprintSize.
func (t *Tailer) readHead(r *reader) ([]byte, error) {
	n, err := r.f.ReadAt(t.head[:min(int64(fingerprintSize), r.size)], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return t.head[:n], nil
}

func prefixMatches(head []byte, fp fingerprint) bool {
	return len(head) >= fp.n && fingerprintOf(head[:fp.n]) == fp
}

// tailBefore fingerprints the up to fingerprintSize bytes of r's file before off.
func (t *Tailer) tailBefore(r *reader, off int64) (fingerprint, bool) {
	k := min(off, fingerprintSize)
	if k <= 0 {
		return fingerprint{}, true
	}
	if n, _ := r.f.ReadAt(t.tailBuf[:k], off-k); int64(n) != k {
		return fingerprint{}, false
	}
	return fingerprintOf(t.tailBuf[:k]), true
}

func (t *Tailer) tailMatches(r *reader, off int64, want fingerprint) bool {
	got, ok := t.tailBefore(r, off)
	return ok && got == want
}

// noteTail fingerprints the bytes before r's offset after it moved.
func (t *Tailer) noteTail(r *reader) {
	if r.tailAt == r.offset {
		return
	}
	var ok bool
	if r.tailFP, ok = t.tailBefore(r, r.offset); ok {
		r.tailAt = r.offset
	} else {
		r.tailAt = -1
	}
}

// checkFile notices a file that shrank or was rewritten in place (copytruncate) and starts it
// over; false when it cannot be read now.
func (t *Tailer) checkFile(ctx context.Context, emit func(context.Context, Batch) error, r *reader, now time.Time) (bool, error) {
	if r.gone {
		fi, err := r.f.Stat()
		if err != nil {
			t.readFailed(r, err)
			return false, nil
		}
		r.size, r.mtime = fi.Size(), fi.ModTime()
	}
	// Unchanged size and time: not truncated. Otherwise the first KiB says whether the file
	// was rewritten in place, even when it grew back past the offset between two polls.
	if r.size == r.seenEnd && r.mtime.Equal(r.checked) && r.fp.full() {
		return true, nil
	}
	r.checked = r.mtime
	head, err := t.readHead(r)
	if err != nil {
		t.readFailed(r, err)
		return false, nil
	}
	if r.size >= r.seenEnd && prefixMatches(head, r.fp) && (r.tailAt != r.offset || t.tailMatches(r, r.tailAt, r.tailFP)) {
		if len(head) > r.fp.n {
			r.fp = fingerprintOf(head)
		}
		return true, nil
	}
	t.m.truncations.Inc()
	t.warnOnce(r, warnTruncated, "log file truncated or rewritten in place; reading it again from the start (further cases in this file are only counted)",
		r.offset, "size", r.size)
	if r.hasPending {
		if err := t.finishPending(ctx, emit, r); err != nil {
			return false, err
		}
	}
	r.prevFP, r.prevOffset, r.prevUntil = r.fp, r.offset, now.Add(copyWindow)
	r.prevTail, r.prevTailOK = r.tailFP, r.tailAt == r.offset
	r.copyOf = nil // what it was a copy of is gone from it
	r.fp = fingerprintOf(head)
	r.offset, r.seenEnd, r.partial, r.skipping = 0, 0, 0, false
	r.tailFP, r.tailAt = fingerprint{}, 0
	r.lastGrowth = now
	return true, nil
}

// followOriginal keeps a copy's offset at its original's while the original reads the same
// content; false when r is not to be read at this poll.
func (t *Tailer) followOriginal(r *reader) bool {
	o := r.copyOf
	if o == nil {
		return true
	}
	switch {
	case o.fp == r.copyFP && !o.closed:
		r.offset = max(r.offset, min(r.size, o.offset))
		r.seenEnd = max(r.seenEnd, r.offset)
		return false
	case o.fp == r.copyFP:
		r.offset = max(r.offset, min(r.size, o.offset))
	case o.prevFP == r.copyFP:
		r.offset = max(r.offset, min(r.size, o.prevOffset))
	}
	r.seenEnd = max(r.seenEnd, r.offset)
	r.copyOf = nil
	t.noteTail(r)
	return true
}

// closeFinished closes the files no glob finds any more (rotated away, deleted) once they
// have been read to their end and have not grown for rotate-wait.
func (t *Tailer) closeFinished(ctx context.Context, emit func(context.Context, Batch) error, now time.Time) error {
	for _, r := range t.readers {
		if !r.gone || r.closed {
			continue
		}
		idleSince := r.lastGrowth
		if r.goneSince.After(idleSince) {
			idleSince = r.goneSince
		}
		if now.Sub(idleSince) < t.cfg.RotateWait {
			continue
		}
		if r.copyOf != nil {
			t.followOriginal(r)
		}
		if err := t.takePartial(ctx, emit, r, now); err != nil {
			return err
		}
		if r.hasPending {
			if err := t.finishPending(ctx, emit, r); err != nil {
				return err
			}
		}
		r.f.Close()
		r.closed = true
		delete(t.byID, r.id)
		t.closing = append(t.closing, r)
		t.logger.Debug("finished rotated or deleted log file", "file", r.cur, "offset", r.offset)
	}
	t.readers = slices.DeleteFunc(t.readers, func(r *reader) bool { return r.closed })
	return nil
}
