package hostmetrics

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// userHZ is the unit of the CPU times in /proc: USER_HZ, 100 on every Linux architecture
// but alpha and ia64 (it is what sysconf(_SC_CLK_TCK) returns, and what gopsutil assumes).
const userHZ = 100

// fileReader reads small /proc files into a buffer kept across reads: the processes
// collector reads one file per process every interval.
type fileReader struct {
	buf []byte
}

// read returns the file's content, valid until the next read.
func (r *fileReader) read(path string) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // paths are built from the configured /proc
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if r.buf == nil {
		r.buf = make([]byte, 4096)
	}
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := f.Read(r.buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			return r.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// nextLine splits off the first line of b.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// nextField splits off the first space-separated field of b, skipping leading spaces.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}

// parseUint parses a decimal field; ok is false for anything else, including overflow.
func parseUint(b []byte) (v uint64, ok bool) {
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
