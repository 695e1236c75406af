package logtail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrCorruptCheckpoint is returned by New when the checkpoint file cannot be decoded. The
// tailer does not guess: starting over would send every file again (or, with start_at=end,
// lose what was not sent yet), so the operator decides, by removing the file.
var ErrCorruptCheckpoint = errors.New("corrupt log tailer checkpoint")

// checkpointName is the state file under the state directory.
const checkpointName = "logtail.json"

const checkpointVersion = 1

// fingerprintSize is how many leading bytes of a file identify it together with its device
// and inode: enough to tell a reused inode, or a file rewritten in place, from the file that
// was read.
const fingerprintSize = 1024

// fingerprint is a hash of a file's first n bytes (n < fingerprintSize only while the file
// is shorter).
type fingerprint struct {
	n   int
	sum [16]byte
}

func fingerprintOf(b []byte) fingerprint {
	if len(b) == 0 {
		return fingerprint{} // as the checkpoint stores it
	}
	s := sha256.Sum256(b)
	fp := fingerprint{n: len(b)}
	copy(fp.sum[:], s[:16])
	return fp
}

// full says whether fp covers fingerprintSize bytes: only then is it distinctive enough to
// recognise a copy of a file by its content alone.
func (fp fingerprint) full() bool { return fp.n == fingerprintSize }

// fileID is a file's identity on this host while it exists.
type fileID struct{ dev, ino uint64 }

// position is where reading a file resumes: the checkpoint entry of one file.
type position struct {
	path   string
	id     fileID
	fp     fingerprint
	offset int64
	// tail fingerprints the up to fingerprintSize bytes before offset: a file whose first
	// KiB is unchanged may still have been rewritten (an application truncating its log at
	// start and writing the same banner), and a copy must hold the same bytes where
	// reading resumes.
	tail fingerprint
	// skipToEOL: offset is inside a line longer than max-line-bytes whose start was sent;
	// the rest of it is skipped.
	skipToEOL bool
}

type checkpointJSON struct {
	Version int         `json:"version"`
	Files   []entryJSON `json:"files"`
}

type entryJSON struct {
	Path           string `json:"path"`
	Dev            uint64 `json:"dev"`
	Inode          uint64 `json:"inode"`
	Fingerprint    string `json:"fingerprint"`
	FingerprintLen int    `json:"fingerprint_len"`
	Offset         int64  `json:"offset"`
	Tail           string `json:"tail_fingerprint,omitempty"`
	TailLen        int    `json:"tail_len,omitempty"`
	SkipToEOL      bool   `json:"skip_to_eol,omitempty"`
}

func encodeCheckpoint(ps []position) ([]byte, error) {
	c := checkpointJSON{Version: checkpointVersion, Files: make([]entryJSON, 0, len(ps))}
	for _, p := range ps {
		e := entryJSON{
			Path: p.path, Dev: p.id.dev, Inode: p.id.ino,
			FingerprintLen: p.fp.n, Offset: p.offset, SkipToEOL: p.skipToEOL,
		}
		if p.fp.n > 0 {
			e.Fingerprint = hex.EncodeToString(p.fp.sum[:])
		}
		if p.tail.n > 0 {
			e.Tail, e.TailLen = hex.EncodeToString(p.tail.sum[:]), p.tail.n
		}
		c.Files = append(c.Files, e)
	}
	return json.Marshal(c)
}

// decodeCheckpoint is strict: anything it does not fully understand is an error rather than
// a guess at offsets.
func decodeCheckpoint(data []byte) ([]position, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c checkpointJSON
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the checkpoint object")
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("version %d, want %d", c.Version, checkpointVersion)
	}
	ps := make([]position, 0, len(c.Files))
	seen := make(map[fileID]bool, len(c.Files))
	for i, e := range c.Files {
		p := position{path: e.Path, id: fileID{e.Dev, e.Inode}, offset: e.Offset, skipToEOL: e.SkipToEOL}
		switch {
		case e.Path == "":
			return nil, fmt.Errorf("file %d: empty path", i)
		case e.Offset < 0:
			return nil, fmt.Errorf("file %d (%s): negative offset %d", i, e.Path, e.Offset)
		case seen[p.id]:
			return nil, fmt.Errorf("file %d (%s): device %d inode %d listed twice", i, e.Path, e.Dev, e.Inode)
		}
		seen[p.id] = true
		var err error
		if p.fp, err = decodeFingerprint(e.Fingerprint, e.FingerprintLen, "fingerprint"); err != nil {
			return nil, fmt.Errorf("file %d (%s): %w", i, e.Path, err)
		}
		if p.tail, err = decodeFingerprint(e.Tail, e.TailLen, "tail_fingerprint"); err != nil {
			return nil, fmt.Errorf("file %d (%s): %w", i, e.Path, err)
		}
		if want := min(e.Offset, fingerprintSize); int64(p.tail.n) != want {
			return nil, fmt.Errorf("file %d (%s): tail_len %d, want %d for offset %d", i, e.Path, p.tail.n, want, e.Offset)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func decodeFingerprint(h string, n int, name string) (fingerprint, error) {
	var fp fingerprint
	switch {
	case n < 0 || n > fingerprintSize:
		return fp, fmt.Errorf("%s length %d out of range", name, n)
	case n == 0 && h != "":
		return fp, fmt.Errorf("%s without its length", name)
	case n == 0:
		return fp, nil
	}
	sum, err := hex.DecodeString(h)
	if err != nil || len(sum) != len(fp.sum) {
		return fp, fmt.Errorf("%s %q is not %d hex bytes", name, h, len(fp.sum))
	}
	fp.n = n
	copy(fp.sum[:], sum)
	return fp, nil
}

// loadCheckpoint reads the checkpoint; found is false when there is none yet.
func loadCheckpoint(path string) (ps []position, found bool, err error) {
	data, err := os.ReadFile(path) //nolint:gosec // the path is the tailer's own state file
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read log tailer checkpoint: %w", err)
	}
	ps, err = decodeCheckpoint(data)
	if err != nil {
		return nil, false, fmt.Errorf("%w %s (remove it to read all files again from the start): %w", ErrCorruptCheckpoint, path, err)
	}
	return ps, true, nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the old or the new
// content: temporary file, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) //nolint:gosec // the tailer's own state file
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
