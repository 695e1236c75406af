package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The acknowledged-sequence marker: two 16-byte slots, at offsets 0 and 4096 so they never
// share a disk sector or page, each holding
//
//	seq uint64 LE | crc32c(seq bytes) uint32 LE | magic "FLAK"
//
// Writes alternate between the slots and the reader takes the valid slot with the higher
// sequence, so a write torn by a crash leaves the previous value readable.
const (
	markerName       = "acked"
	markerSlotSize   = 16
	markerSlotOffset = 4096
	markerMagic      = "FLAK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type ackMarker struct {
	f    *os.File
	next int // slot the next write goes to: the one not holding the newest value
}

// openMarker opens (or creates) the marker in dir. found is false when no slot is valid:
// the file is new, or both slots are damaged.
func openMarker(dir string) (m *ackMarker, seq uint64, found bool, err error) {
	path := filepath.Join(dir, markerName)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640) //nolint:gosec // the marker in the buffer's own directory
	if err != nil {
		return nil, 0, false, fmt.Errorf("open acknowledged-sequence marker: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// The file's directory entry must survive a crash like its contents do.
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, 0, false, err
		}
	}
	m = &ackMarker{f: f}
	var best uint64
	bestSlot := -1
	for slot := range 2 {
		var buf [markerSlotSize]byte
		if _, err := f.ReadAt(buf[:], int64(slot*markerSlotOffset)); err != nil && !errors.Is(err, io.EOF) {
			f.Close()
			return nil, 0, false, fmt.Errorf("read acknowledged-sequence marker: %w", err)
		}
		v, ok := decodeMarkerSlot(buf[:])
		if ok && (bestSlot < 0 || v > best) {
			best, bestSlot = v, slot
		}
	}
	if bestSlot < 0 {
		return m, 0, false, nil
	}
	m.next = 1 - bestSlot
	return m, best, true, nil
}

func decodeMarkerSlot(b []byte) (uint64, bool) {
	if string(b[12:16]) != markerMagic {
		return 0, false
	}
	if crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:12]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:8]), true
}

// write records seq durably.
func (m *ackMarker) write(seq uint64) error {
	var buf [markerSlotSize]byte
	binary.LittleEndian.PutUint64(buf[:8], seq)
	binary.LittleEndian.PutUint32(buf[8:12], crc32.Checksum(buf[:8], castagnoli))
	copy(buf[12:], markerMagic)
	if _, err := m.f.WriteAt(buf[:], int64(m.next*markerSlotOffset)); err != nil {
		return fmt.Errorf("write acknowledged-sequence marker: %w", err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("sync acknowledged-sequence marker: %w", err)
	}
	m.next = 1 - m.next
	return nil
}

// reset records seq in both slots, for the one case where the value goes down: the reader
// takes the higher slot, so the older value must not survive in the other one.
func (m *ackMarker) reset(seq uint64) error {
	if err := m.write(seq); err != nil {
		return err
	}
	return m.write(seq)
}

func (m *ackMarker) close() error { return m.f.Close() }

// syncDir makes the creation, renaming or removal of files in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // one of the buffer's own directories
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
