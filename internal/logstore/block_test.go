package logstore

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"
)

// storedBlocks writes records and returns the data rows the store made of them.
func storedBlocks(t testing.TB) (refs []blockRef, vals [][]byte) {
	t.Helper()
	s, err := Open(testConfig(), t.TempDir(), false, nil, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	t0 := timeBase()
	require.NoError(t, s.Write(context.Background(), buildLogs(t,
		logSpec{
			service: "a", host: "h", resAttrs: map[string]any{"r": int64(1)}, time: t0, sev: 17, sevText: "Err", body: "hello world",
			trace: 3, span: 4, attrs: map[string]any{"s": "x", "d": 1.5, "b": true, "y": []byte{9}, "l": []any{int64(1), "z"}, "m": map[string]any{"k": nil}},
		},
		logSpec{service: "a", host: "h", time: t0.Add(time.Millisecond), body: map[string]any{"k": "v"}},
	)))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixData}, UpperBound: []byte{prefixData + 1}})
	require.NoError(t, err)
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		ref, err := parseDataKey(it.Key())
		require.NoError(t, err)
		refs = append(refs, ref)
		vals = append(vals, append([]byte{}, it.Value()...))
	}
	return refs, vals
}

// decodeAll walks every record of a block and decodes its attributes, as a search that
// matches everything does.
func decodeAll(minTime uint64, v []byte) (int, error) {
	var br blockReader
	if err := br.reset(minTime, v); err != nil {
		return 0, err
	}
	var r rawRecord
	n := 0
	for {
		ok, err := br.next(&r)
		if err != nil || !ok {
			return n, err
		}
		m := map[string]any{}
		if err := decodeAttrs(m, br.res[r.resource]); err != nil {
			return n, err
		}
		if err := decodeAttrs(m, r.attrs); err != nil {
			return n, err
		}
		_ = r.severityText()
		n++
	}
}

func TestBlockDecodeCorrupt(t *testing.T) {
	refs, vals := storedBlocks(t)
	require.Len(t, vals, 1)
	n, err := decodeAll(refs[0].minTime, vals[0])
	require.NoError(t, err)
	require.Equal(t, 2, n)
	// Every truncation and every single-byte change either decodes or fails with
	// errCorrupt: none panics.
	v := vals[0]
	for i := range v {
		_, err := decodeAll(refs[0].minTime, v[:i])
		require.ErrorIs(t, err, errCorrupt, "truncated at %d", i)
		for _, b := range []byte{0, 0x7f, 0x80, 0xff} {
			c := append([]byte{}, v...)
			c[i] = b
			if _, err := decodeAll(refs[0].minTime, c); err != nil {
				require.ErrorIs(t, err, errCorrupt)
			}
		}
	}
	_, err = decodeAll(0, append(append([]byte{}, v...), 0))
	require.ErrorIs(t, err, errCorrupt, "trailing bytes")
}

func FuzzDecodeBlock(f *testing.F) {
	refs, vals := storedBlocks(f)
	for i := range vals {
		f.Add(refs[i].minTime, vals[i])
	}
	f.Add(uint64(0), []byte{})
	f.Add(uint64(0), []byte{blockVersion, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, minTime uint64, v []byte) {
		n, err := decodeAll(minTime, v)
		if err != nil {
			require.ErrorIs(t, err, errCorrupt)
			return
		}
		h, _, err := parseHeader(v)
		require.NoError(t, err)
		require.Equal(t, h.count, n)
	})
}
