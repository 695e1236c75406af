package logtail

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckpointRoundTrip(t *testing.T) {
	ps := []position{
		{path: "/var/log/a.log", id: fileID{2049, 77}, fp: fingerprintOf([]byte("hello\n")), offset: 6, tail: fingerprintOf([]byte("hello\n"))},
		{path: "/var/log/b.log", id: fileID{2049, 78}, offset: 0},
		{path: "/var/log/c.log", id: fileID{1, 1 << 40}, fp: fingerprintOf(make([]byte, fingerprintSize)), offset: 1 << 33, tail: fingerprintOf(make([]byte, fingerprintSize)), skipToEOL: true},
	}
	data, err := encodeCheckpoint(ps)
	require.NoError(t, err)
	got, err := decodeCheckpoint(data)
	require.NoError(t, err)
	assert.Equal(t, ps, got)

	dir := t.TempDir()
	path := filepath.Join(dir, checkpointName)
	require.NoError(t, writeFileAtomic(path, data))
	loaded, found, err := loadCheckpoint(path)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, ps, loaded)
	_, err = os.Stat(path + ".tmp")
	assert.True(t, errors.Is(err, os.ErrNotExist), "the temporary file is renamed away")

	_, found, err = loadCheckpoint(filepath.Join(dir, "missing.json"))
	require.NoError(t, err)
	assert.False(t, found)
}

func TestCheckpointRejectsCorruption(t *testing.T) {
	for name, data := range map[string]string{
		"empty file":           ``,
		"truncated":            `{"version":1,"files":[{"path":"/a","dev":1,"inode":2,"off`,
		"wrong version":        `{"version":2,"files":[]}`,
		"unknown field":        `{"version":1,"files":[],"extra":1}`,
		"trailing data":        `{"version":1,"files":[]} {}`,
		"negative offset":      `{"version":1,"files":[{"path":"/a","dev":1,"inode":2,"offset":-1}]}`,
		"empty path":           `{"version":1,"files":[{"path":"","dev":1,"inode":2,"offset":1}]}`,
		"duplicate identity":   `{"version":1,"files":[{"path":"/a","dev":1,"inode":2},{"path":"/b","dev":1,"inode":2}]}`,
		"bad fingerprint":      `{"version":1,"files":[{"path":"/a","dev":1,"inode":2,"fingerprint":"zz","fingerprint_len":3}]}`,
		"fingerprint_len high": `{"version":1,"files":[{"path":"/a","dev":1,"inode":2,"fingerprint":"00000000000000000000000000000000","fingerprint_len":1025}]}`,
		"orphan fingerprint":   `{"version":1,"files":[{"path":"/a","dev":1,"inode":2,"fingerprint":"00000000000000000000000000000000"}]}`,
		"tail missing":         `{"version":1,"files":[{"path":"/a","dev":1,"inode":2,"offset":5}]}`,
		"tail too long":        `{"version":1,"files":[{"path":"/a","dev":1,"inode":2,"offset":5,"tail_fingerprint":"00000000000000000000000000000000","tail_len":6}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeCheckpoint([]byte(data))
			require.Error(t, err)

			dir := t.TempDir()
			path := filepath.Join(dir, checkpointName)
			require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
			_, err = New(testConfig(t, filepath.Join(dir, "*.log")), dir, nil, nil)
			require.ErrorIs(t, err, ErrCorruptCheckpoint)
			assert.Contains(t, err.Error(), path, "the error names the file")
		})
	}
}

// FuzzCheckpointDecode: any bytes decode or fail without panic, and what decodes encodes
// back to the same positions.
func FuzzCheckpointDecode(f *testing.F) {
	data, err := encodeCheckpoint([]position{{path: "/a", id: fileID{1, 2}, fp: fingerprintOf([]byte("x")), offset: 5, tail: fingerprintOf([]byte("abcde")), skipToEOL: true}})
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte(`{"version":1,"files":[]}`))
	f.Add([]byte(`{"version":1,"files":[{"path":"/a","dev":18446744073709551615,"inode":0,"offset":0}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := decodeCheckpoint(data)
		if err != nil {
			return
		}
		for _, p := range ps {
			require.NotEmpty(t, p.path)
			require.GreaterOrEqual(t, p.offset, int64(0))
			require.True(t, p.fp.n >= 0 && p.fp.n <= fingerprintSize)
			require.Equal(t, min(p.offset, fingerprintSize), int64(p.tail.n))
		}
		again, err := encodeCheckpoint(ps)
		require.NoError(t, err)
		back, err := decodeCheckpoint(again)
		require.NoError(t, err)
		require.Equal(t, ps, back)
	})
}
