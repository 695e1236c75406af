package logstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

const (
	reasonAge  = "age"
	reasonSize = "size"

	// sizeTargetRatio: size retention deletes down to this share of MaxDiskBytes so that it
	// does not run (and compact) again on the next pass for a few new bytes.
	sizeTargetRatio = 0.95
)

// RunRetention runs EnforceRetention at once and then every RetentionInterval until ctx is
// done; it then returns nil. Failed passes are logged and counted, and retried next interval.
// On a read-only store it returns ErrReadOnly at once.
func (s *Store) RunRetention(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	t := time.NewTicker(s.cfg.RetentionInterval)
	defer t.Stop()
	for {
		err := s.EnforceRetention(ctx, time.Now())
		switch {
		case errors.Is(err, ErrClosed):
			return err
		case err != nil && ctx.Err() == nil:
			s.retentionFailures.Inc()
			s.logger.Error("log retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// EnforceRetention runs one retention pass: it deletes the blocks filed before now-Retention,
// then, while the store is larger than MaxDiskBytes, the oldest blocks.
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
		s.logger.Info("log retention deleted old records", "reason", reasonAge, "records", n,
			"before", time.Unix(0, int64(cutoff)).UTC())
	}
	if s.cfg.MaxDiskBytes > 0 {
		if err := s.enforceSize(ctx); err != nil {
			return fmt.Errorf("size retention: %w", err)
		}
	}
	return nil
}

// enforceSize deletes the oldest blocks until the store is under MaxDiskBytes. Pebble's own
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
		// The indexes shrink with the data: cut the data's share of what must go.
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
		s.logger.Info("log retention deleted oldest records", "reason", reasonSize, "records", n,
			"before", time.Unix(0, int64(lo)).UTC(), "disk_bytes", used, "max_disk_bytes", limit)
	}
	return nil
}

// dataTimeRange returns the filing times of the oldest and newest blocks.
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
	return first.minTime, last.minTime, true, nil
}

// deleteBefore deletes every block filed before cutoff with its index rows, and compacts the
// deleted ranges so that the space is reclaimed. It returns the number of records deleted.
//
// Every family is time-ordered (the trace index by hour bucket), so each goes with range
// deletions: the data rows, the service-index rows of every service, and the trace-index rows
// of the hour buckets that end at or before cutoff. The trace-index rows of the bucket that
// holds cutoff stay until a later pass deletes the whole bucket; searches skip the blocks
// they name that no longer exist.
func (s *Store) deleteBefore(ctx context.Context, cutoff uint64) (int, error) {
	if cutoff == 0 {
		return 0, nil
	}
	end := dataTimeKey(cutoff)
	traceEnd := traceHourKey(hourOf(cutoff))
	records, err := s.countRecords(ctx, end)
	if err != nil {
		return 0, err
	}
	// Trace-index rows may outlive their blocks by up to an hour (see above).
	traceRows, err := s.anyKey([]byte{prefixTrace}, traceEnd)
	if err != nil || (records == 0 && !traceRows) {
		return 0, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if records > 0 {
		if err := b.DeleteRange([]byte{prefixData}, end, nil); err != nil {
			return 0, err
		}
		for _, svc := range s.catalog.serviceIDs() {
			if err := b.DeleteRange(serviceTimeKey(svc, 0), serviceTimeKey(svc, cutoff), nil); err != nil {
				return 0, err
			}
		}
	}
	if traceRows {
		if err := b.DeleteRange([]byte{prefixTrace}, traceEnd, nil); err != nil {
			return 0, err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, err
	}
	if records > 0 {
		if err := s.db.Compact(ctx, []byte{prefixData}, end, false); err != nil {
			return records, fmt.Errorf("compact deleted logs: %w", err)
		}
	}
	if traceRows {
		if err := s.db.Compact(ctx, []byte{prefixTrace}, traceEnd, false); err != nil {
			return records, fmt.Errorf("compact deleted log trace index: %w", err)
		}
	}
	return records, nil
}

// anyKey reports whether some key lies in [lower, upper).
func (s *Store) anyKey(lower, upper []byte) (bool, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return false, err
	}
	found := it.First()
	return found, errors.Join(it.Error(), it.Close())
}

// countRecords adds up the record counts of the block headers before end.
func (s *Store) countRecords(ctx context.Context, end []byte) (int, error) {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{prefixData}, UpperBound: end})
	if err != nil {
		return 0, err
	}
	n, blocks := 0, 0
	for valid := it.First(); valid; valid = it.Next() {
		blocks++
		if blocks%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, errors.Join(err, it.Close())
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, errors.Join(err, it.Close())
		}
		if h, _, err := parseHeader(v); err == nil {
			n += h.count
		} else {
			n++ // a corrupt block goes all the same; count it as one record
		}
	}
	return n, errors.Join(it.Error(), it.Close())
}
