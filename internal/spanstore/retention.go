package spanstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

const (
	reasonAge  = "age"
	reasonSize = "size"

	// sizeTargetRatio: size retention deletes down to this share of MaxDiskBytes so that it
	// does not run (and compact) again on the next pass for a few new bytes.
	sizeTargetRatio = 0.95
	// retentionBatchRows bounds the rows deleted per intermediate (unsynced) batch.
	retentionBatchRows = 1 << 16
)

// RunRetention runs EnforceRetention at once and then every RetentionInterval until ctx is
// done; it then returns nil. Failed passes are logged and counted, and retried next interval.
func (s *Store) RunRetention(ctx context.Context) error {
	t := time.NewTicker(s.cfg.RetentionInterval)
	defer t.Stop()
	for {
		err := s.EnforceRetention(ctx, time.Now())
		switch {
		case errors.Is(err, ErrClosed):
			return err
		case err != nil && ctx.Err() == nil:
			s.retentionFailures.Inc()
			s.logger.Error("span retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// EnforceRetention runs one retention pass: it deletes the spans that started before
// now-Retention, then, while the store is larger than MaxDiskBytes, the oldest spans.
func (s *Store) EnforceRetention(ctx context.Context, now time.Time) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.life.RUnlock()

	cutoff := unixNanos(now.Add(-s.cfg.Retention), 0)
	n, err := s.deleteBefore(ctx, cutoff)
	s.retentionDeleted.WithLabelValues(reasonAge).Add(float64(n))
	if err != nil {
		return fmt.Errorf("age retention: %w", err)
	}
	if n > 0 {
		s.logger.Info("span retention deleted old traces", "reason", reasonAge, "traces", n,
			"before", time.Unix(0, int64(cutoff)).UTC())
	}
	if s.cfg.MaxDiskBytes > 0 {
		if err := s.enforceSize(ctx); err != nil {
			return fmt.Errorf("size retention: %w", err)
		}
	}
	return nil
}

// enforceSize deletes the oldest chunks until the store is under MaxDiskBytes. Pebble's own
// estimate of the bytes below a key picks the time to cut at; a few rounds absorb its error.
func (s *Store) enforceSize(ctx context.Context) error {
	limit := uint64(s.cfg.MaxDiskBytes)
	target := uint64(float64(limit) * sizeTargetRatio)
	for range 4 {
		used := s.db.Metrics().DiskSpaceUsage()
		if used <= limit {
			return nil
		}
		if err := s.db.Flush(); err != nil { // so that the estimates see every row
			return err
		}
		oldest, newest, ok, err := s.dataTimeRange()
		if err != nil || !ok {
			return err // nothing left to delete but metadata
		}
		dataBytes, err := s.db.EstimateDiskUsage([]byte{prefixData}, []byte{prefixData + 1})
		if err != nil {
			return err
		}
		drop := uint64(float64(dataBytes) * float64(used-target) / float64(used))
		// Smallest cut whose older data is estimated to weigh at least drop.
		lo, hi := oldest+1, satAdd(newest, 1)
		for lo < hi {
			mid := lo + (hi-lo)/2
			est, err := s.db.EstimateDiskUsage([]byte{prefixData}, dataTimeKey(mid))
			if err != nil {
				return err
			}
			if est >= drop {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		n, err := s.deleteBefore(ctx, lo)
		s.retentionDeleted.WithLabelValues(reasonSize).Add(float64(n))
		if err != nil {
			return err
		}
		s.logger.Info("span retention deleted oldest traces", "reason", reasonSize, "traces", n,
			"before", time.Unix(0, int64(lo)).UTC(), "disk_bytes", used, "max_disk_bytes", limit)
	}
	return nil
}

// dataTimeRange returns the start times of the oldest and newest chunks.
func (s *Store) dataTimeRange() (oldest, newest uint64, ok bool, err error) {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixData},
		UpperBound: []byte{prefixData + 1},
	})
	if err != nil {
		return 0, 0, false, err
	}
	defer it.Close()
	if !it.First() {
		return 0, 0, false, it.Error()
	}
	first, err := parseDataKey(it.Key())
	if err != nil {
		return 0, 0, false, err
	}
	if !it.Last() {
		return 0, 0, false, it.Error()
	}
	last, err := parseDataKey(it.Key())
	if err != nil {
		return 0, 0, false, err
	}
	return first.start, last.start, true, nil
}

// deleteBefore deletes every chunk filed before cutoff with its index rows and compacts the
// deleted data range so that the space is reclaimed. It returns the number of traces deleted
// (a trace whose chunks lie far apart in time may be counted more than once).
//
// Data and service-index rows are time-ordered and go with one range deletion each; the
// trace-index rows are keyed by trace ID, so they are deleted one by one from the keys of the
// data rows. Deleting them first keeps a crash half-way harmless: the next pass redoes it.
func (s *Store) deleteBefore(ctx context.Context, cutoff uint64) (int, error) {
	if cutoff == 0 {
		return 0, nil
	}
	end := dataTimeKey(cutoff)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{prefixData}, UpperBound: end})
	if err != nil {
		return 0, err
	}
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	var key []byte
	chunks, rows, traces := 0, 0, 0
	// Chunks of one trace are usually filed close together: a bounded set counts the traces.
	seen := make(map[pcommon.TraceID]struct{})
	for valid := it.First(); valid; valid = it.Next() {
		c, err := parseDataKey(it.Key())
		if err != nil {
			continue
		}
		key = appendTraceKey(key[:0], c)
		if err := b.Delete(key, nil); err != nil {
			return 0, errors.Join(err, it.Close())
		}
		chunks++
		if _, ok := seen[c.trace]; !ok {
			if len(seen) >= retentionBatchRows {
				clear(seen)
			}
			seen[c.trace] = struct{}{}
			traces++
		}
		if rows++; rows == retentionBatchRows {
			if err := ctx.Err(); err != nil {
				return 0, errors.Join(err, it.Close())
			}
			if err := b.Commit(pebble.NoSync); err != nil {
				return 0, errors.Join(err, it.Close())
			}
			_ = b.Close()
			b, rows = s.db.NewBatch(), 0
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, err
	}
	if chunks == 0 {
		return 0, nil
	}
	if err := b.DeleteRange([]byte{prefixData}, end, nil); err != nil {
		return 0, err
	}
	for _, svc := range s.catalog.serviceIDs() {
		if err := b.DeleteRange(serviceTimeKey(svc, 0), serviceTimeKey(svc, cutoff), nil); err != nil {
			return 0, err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, err
	}
	if err := s.db.Compact(ctx, []byte{prefixData}, end, false); err != nil {
		return traces, fmt.Errorf("compact deleted spans: %w", err)
	}
	return traces, nil
}
