package export

import (
	"errors"
	"io"
	"sync"

	"github.com/golang/snappy"
	"google.golang.org/grpc/encoding"
)

// snappyName is the gRPC compressor the OpenTelemetry Collector's receivers (Faultline's among
// them) register as "snappy": framed snappy streams. Snappy is the agent's default because it
// costs a fraction of gzip's CPU (measured: gzip level 1 was a seventh of the agent's CPU at
// 1,000 lines/s) and still shrinks log batches several times.
const snappyName = "snappy"

// registerSnappy adds the compressor once, unless something else registered one by that name.
var registerSnappy = sync.OnceFunc(func() {
	if encoding.GetCompressor(snappyName) == nil {
		encoding.RegisterCompressor(snappyCompressor{})
	}
})

// The writers and readers are kept for the life of the process rather than in a sync.Pool:
// the agent exports about once a second, and a pool emptied by every garbage collection would
// allocate a new 70 KB writer each time.
var (
	snappyMu      sync.Mutex
	snappyWriters []*snappy.Writer
	snappyReaders []*snappy.Reader
)

type snappyCompressor struct{}

func (snappyCompressor) Name() string { return snappyName }

func (snappyCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	snappyMu.Lock()
	var z *snappy.Writer
	if n := len(snappyWriters); n > 0 {
		z, snappyWriters = snappyWriters[n-1], snappyWriters[:n-1]
	}
	snappyMu.Unlock()
	if z == nil {
		z = snappy.NewBufferedWriter(w)
	} else {
		z.Reset(w)
	}
	return &snappyWriter{Writer: z}, nil
}

func (snappyCompressor) Decompress(r io.Reader) (io.Reader, error) {
	snappyMu.Lock()
	var z *snappy.Reader
	if n := len(snappyReaders); n > 0 {
		z, snappyReaders = snappyReaders[n-1], snappyReaders[:n-1]
	}
	snappyMu.Unlock()
	if z == nil {
		z = snappy.NewReader(r)
	} else {
		z.Reset(r)
	}
	return &snappyReader{Reader: z}, nil
}

type snappyWriter struct{ *snappy.Writer }

// Close flushes the stream and hands the writer back.
func (w *snappyWriter) Close() error {
	err := w.Writer.Close()
	snappyMu.Lock()
	snappyWriters = append(snappyWriters, w.Writer)
	snappyMu.Unlock()
	return err
}

type snappyReader struct{ *snappy.Reader }

// Read hands the reader back at the end of the stream.
func (r *snappyReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	if errors.Is(err, io.EOF) && r.Reader != nil {
		snappyMu.Lock()
		snappyReaders = append(snappyReaders, r.Reader)
		snappyMu.Unlock()
		r.Reader = nil
	}
	return n, err
}
