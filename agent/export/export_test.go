package export

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/faultline/faultline/agent/buffer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func counter(t *testing.T, c *prometheus.CounterVec, labels ...string) float64 {
	t.Helper()
	return testutil.ToFloat64(c.WithLabelValues(labels...))
}

func TestConfig(t *testing.T) {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("test", flag.PanicOnError))
	require.Equal(t, Config{
		Endpoint: "localhost:4317", Timeout: 10 * time.Second, Compression: "snappy",
		InitialBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second, MaxAttempts: 10,
	}, c)
	require.NoError(t, c.Validate())
	require.False(t, c.useTLS(), "plaintext by default, like the collector's receiver")

	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"endpoint without port", func(c *Config) { c.Endpoint = "collector" }, "must be host:port"},
		{"token with newline", func(c *Config) { c.Token = "abc\n" }, "printable ASCII"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "collector.timeout must be positive"},
		{"compression", func(c *Config) { c.Compression = "zstd" }, "snappy, gzip or none"},
		{"zero backoff", func(c *Config) { c.InitialBackoff = 0 }, "initial_backoff must be positive"},
		{"max under initial", func(c *Config) { c.MaxBackoff = time.Millisecond }, "must be at least the initial backoff"},
		{"attempts", func(c *Config) { c.MaxAttempts = 0 }, "max_attempts must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig("127.0.0.1:1")
			tc.mutate(&c)
			require.ErrorContains(t, c.Validate(), tc.want)
		})
	}

	for _, implies := range []func(*Config){
		func(c *Config) { c.TLS = true },
		func(c *Config) { c.CAFile = "ca.pem" },
		func(c *Config) { c.ServerName = "collector" },
		func(c *Config) { c.InsecureSkipVerify = true },
	} {
		c := testConfig("127.0.0.1:1")
		implies(&c)
		require.True(t, c.useTLS())
	}

	c.Token = "s3cret"
	var logs logBuf
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "collector", c)
	require.NotContains(t, logs.String(), "s3cret")
	require.Contains(t, logs.String(), "auth_token=<redacted>")
}

func TestNewRejectsBadSettings(t *testing.T) {
	var bcfg buffer.Config
	bcfg.RegisterFlags(flag.NewFlagSet("b", flag.PanicOnError))
	buf, err := buffer.Open(bcfg, t.TempDir(), slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	defer buf.Close()

	cfg := testConfig("127.0.0.1:1")
	cfg.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	_, err = New(cfg, buf, slog.New(slog.DiscardHandler), nil)
	require.ErrorContains(t, err, "read collector.tls-ca-file")

	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	cfg.CAFile = notPEM
	_, err = New(cfg, buf, slog.New(slog.DiscardHandler), nil)
	require.ErrorContains(t, err, "holds no PEM certificate")

	_, err = New(testConfig("127.0.0.1:1"), nil, slog.New(slog.DiscardHandler), nil)
	require.ErrorContains(t, err, "needs a buffer")
}

func TestDeliversInOrder(t *testing.T) {
	col := startCollector(t, "127.0.0.1:0", nil)
	h := newHarness(t, testConfig(col.addr))
	want := h.appendNamed(t, "e", 0, 6)
	h.append(t, buffer.KindLogs, logsPayload(t, "e6a", "e6b", "e6c"))
	h.start()
	want = append(append(want, "e6a", "e6b", "e6c"), h.appendNamed(t, "e", 7, 10)...)

	calls := col.waitDelivered(t, 10)
	require.Equal(t, want, namesOf(calls))
	for i, c := range calls {
		require.Equal(t, map[bool]string{true: "logs", false: "metrics"}[i%2 == 0], c.kind)
		require.Empty(t, c.auth, "no token configured, none sent")
	}
	h.waitEmpty(t)
	require.NoError(t, h.stop())
	require.Len(t, col.allCalls(), 10, "each entry sent once")

	s := h.sender
	require.InDelta(t, 5, counter(t, s.sent, "logs"), 0)
	require.InDelta(t, 5, counter(t, s.sent, "metrics"), 0)
	require.InDelta(t, 7, counter(t, s.items, "logs"), 0)
	require.InDelta(t, 5, counter(t, s.items, "metrics"), 0)
	require.Positive(t, testutil.ToFloat64(s.lastSuccess))
	require.Zero(t, testutil.ToFloat64(s.backoffDelay))
	var m dto.Metric
	require.NoError(t, s.duration.Write(&m))
	require.Equal(t, uint64(10), m.GetHistogram().GetSampleCount(), "one attempt per entry")
}

func TestCompression(t *testing.T) {
	// The receiving side here is this process's gRPC server; the collector's own snappy
	// decoder is exercised by cmd/faultline-agent's end-to-end tests (snappy is the default).
	for _, compression := range []string{"snappy", "gzip", "none"} {
		t.Run(compression, func(t *testing.T) {
			col := startCollector(t, "127.0.0.1:0", nil)
			cfg := testConfig(col.addr)
			cfg.Compression = compression
			h := newHarness(t, cfg)
			names := make([]string, 200)
			for i := range names {
				names[i] = "the same log line, over and over, compresses well"
			}
			h.append(t, buffer.KindLogs, logsPayload(t, names...))
			h.start()
			col.waitDelivered(t, 1)
			col.mu.Lock()
			defer col.mu.Unlock()
			require.Len(t, col.payloads, 1)
			p := col.payloads[0]
			switch compression {
			case "gzip":
				require.Less(t, p.CompressedLength*5, p.Length, "gzip shrinks a repetitive request")
			case "snappy":
				require.Less(t, p.CompressedLength*3, p.Length, "snappy shrinks a repetitive request")
			default:
				require.Equal(t, p.Length, p.CompressedLength)
			}
		})
	}
}

func TestCollectorDownAtStartThenUp(t *testing.T) {
	// A free port with nothing listening: connection refused until the collector starts.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	h := newHarness(t, testConfig(addr))
	want := h.appendNamed(t, "d", 0, 5)
	h.start()
	require.Eventually(t, func() bool {
		return counter(t, h.sender.failures, "logs", "Unavailable") >= 3
	}, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 5, h.buf.Len(), "nothing is lost while the collector is away")
	require.Equal(t, 1, h.logs.count("collector unreachable"), "one line for the outage, not one per retry")
	require.Positive(t, testutil.ToFloat64(h.sender.backoffDelay))

	col := startCollector(t, addr, nil)
	require.Equal(t, want, namesOf(col.waitDelivered(t, 5)))
	h.waitEmpty(t)
	require.NoError(t, h.stop())
	require.Len(t, col.allCalls(), 5, "delivered exactly once")
	require.Equal(t, 1, h.logs.count("collector reachable again"))
	require.Contains(t, h.logs.String(), "waiting_entries=5")
	require.Zero(t, counter(t, h.sender.dropped, "logs", "retries_exhausted"))
}

func TestRetryInfoDelayIsHonoured(t *testing.T) {
	const retryAfter = 400 * time.Millisecond
	col := startCollector(t, "127.0.0.1:0", func(_ context.Context, n int, _ call) (int64, error) {
		if n == 0 {
			return 0, refuse(codes.Unavailable, retryAfter)
		}
		return 0, nil
	})
	h := newHarness(t, testConfig(col.addr)) // backoff alone would retry after 10ms
	h.append(t, buffer.KindMetrics, metricsPayload(t, "m"))
	h.start()
	col.waitDelivered(t, 1)
	calls := col.allCalls()
	require.Len(t, calls, 2)
	gap := calls[1].at.Sub(calls[0].at)
	require.GreaterOrEqual(t, gap, retryAfter, "retried after the collector's delay, not the backoff's")
	require.Less(t, gap, retryAfter+3*time.Second)
	require.InDelta(t, 1, counter(t, h.sender.failures, "metrics", "Unavailable"), 0)
}

func TestResourceExhausted(t *testing.T) {
	t.Run("with RetryInfo retried until accepted", func(t *testing.T) {
		col := startCollector(t, "127.0.0.1:0", func(_ context.Context, n int, _ call) (int64, error) {
			if n < 3 {
				return 0, refuse(codes.ResourceExhausted, 20*time.Millisecond)
			}
			return 0, nil
		})
		cfg := testConfig(col.addr)
		cfg.MaxAttempts = 2 // does not apply: the collector said when to come back
		h := newHarness(t, cfg)
		h.append(t, buffer.KindLogs, logsPayload(t, "busy"))
		h.start()
		require.Equal(t, []string{"busy"}, namesOf(col.waitDelivered(t, 1)))
		require.Len(t, col.allCalls(), 4)
		require.InDelta(t, 3, counter(t, h.sender.failures, "logs", "ResourceExhausted"), 0)
	})
	t.Run("without RetryInfo dropped after max attempts", func(t *testing.T) {
		// How gRPC refuses a message over the server's size limit.
		col := startCollector(t, "127.0.0.1:0", func(_ context.Context, _ int, c call) (int64, error) {
			if c.names[0] == "huge" {
				return 0, refuse(codes.ResourceExhausted, 0)
			}
			return 0, nil
		})
		cfg := testConfig(col.addr)
		cfg.MaxAttempts = 3
		h := newHarness(t, cfg)
		h.append(t, buffer.KindLogs, logsPayload(t, "huge", "x"))
		h.append(t, buffer.KindLogs, logsPayload(t, "after"))
		h.start()
		require.Equal(t, []string{"after"}, namesOf(col.waitDelivered(t, 1)))
		require.Len(t, col.allCalls(), 4)
		require.InDelta(t, 1, counter(t, h.sender.dropped, "logs", "retries_exhausted"), 0)
		require.InDelta(t, 2, counter(t, h.sender.droppedItems, "logs", "retries_exhausted"), 0)
	})
}

func TestPermanentErrorDropsTheEntryAndMovesOn(t *testing.T) {
	for _, tc := range []struct {
		code   codes.Code
		reason string
	}{
		{codes.InvalidArgument, "invalid_argument"},
		{codes.Unimplemented, "unimplemented"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			col := startCollector(t, "127.0.0.1:0", func(_ context.Context, _ int, c call) (int64, error) {
				if c.names[0] == "bad" {
					return 0, refuse(tc.code, 0)
				}
				return 0, nil
			})
			h := newHarness(t, testConfig(col.addr))
			h.append(t, buffer.KindMetrics, metricsPayload(t, "bad", "bad2"))
			h.append(t, buffer.KindMetrics, metricsPayload(t, "bad"))
			h.append(t, buffer.KindMetrics, metricsPayload(t, "good"))
			h.start()
			require.Equal(t, []string{"good"}, namesOf(col.waitDelivered(t, 1)))
			h.waitEmpty(t)
			require.Len(t, col.allCalls(), 3, "a permanent refusal is not retried")
			require.InDelta(t, 2, counter(t, h.sender.dropped, "metrics", tc.reason), 0)
			require.InDelta(t, 3, counter(t, h.sender.droppedItems, "metrics", tc.reason), 0)
			require.InDelta(t, 2, counter(t, h.sender.failures, "metrics", tc.code.String()), 0)
			require.Equal(t, 1, h.logs.count("dropped an entry"), "logged once, the second one held back")
			require.Contains(t, h.logs.String(), "refused on purpose")
		})
	}
}

func TestUndecodablePayloadIsDropped(t *testing.T) {
	col := startCollector(t, "127.0.0.1:0", nil)
	h := newHarness(t, testConfig(col.addr))
	h.append(t, buffer.KindLogs, []byte{0xff, 0xff, 0xff})
	h.append(t, buffer.KindLogs, logsPayload(t, "fine"))
	h.start()
	require.Equal(t, []string{"fine"}, namesOf(col.waitDelivered(t, 1)))
	require.InDelta(t, 1, counter(t, h.sender.dropped, "logs", "undecodable"), 0)
	require.Len(t, col.allCalls(), 1)
}

func TestPartialSuccessIsCounted(t *testing.T) {
	col := startCollector(t, "127.0.0.1:0", func(context.Context, int, call) (int64, error) { return 2, nil })
	h := newHarness(t, testConfig(col.addr))
	h.append(t, buffer.KindLogs, logsPayload(t, "a", "b", "c", "d", "e"))
	h.start()
	col.waitDelivered(t, 1)
	h.waitEmpty(t)
	require.NoError(t, h.stop())
	require.InDelta(t, 1, counter(t, h.sender.sent, "logs"), 0)
	require.InDelta(t, 3, counter(t, h.sender.items, "logs"), 0)
	require.InDelta(t, 2, counter(t, h.sender.rejected, "logs"), 0)
	require.Contains(t, h.logs.String(), "records too old")
}

func TestTokenSentAndUnauthenticatedRetried(t *testing.T) {
	var accept atomic.Value
	accept.Store("Bearer other-token")
	col := startCollector(t, "127.0.0.1:0", func(_ context.Context, _ int, c call) (int64, error) {
		if c.auth != accept.Load().(string) {
			return 0, refuse(codes.Unauthenticated, 0)
		}
		return 0, nil
	})
	cfg := testConfig(col.addr)
	cfg.Token = "s3cret"
	cfg.MaxAttempts = 1 // does not apply: a token problem is fixed by the operator, not by dropping
	h := newHarness(t, cfg)
	want := h.appendNamed(t, "a", 0, 3)
	h.start()
	require.Eventually(t, func() bool {
		return counter(t, h.sender.failures, "logs", "Unauthenticated") >= 3
	}, 10*time.Second, 5*time.Millisecond)
	require.InDelta(t, 0.1, testutil.ToFloat64(h.sender.backoffDelay), 1e-9, "waits the longest backoff")
	require.Equal(t, 3, h.buf.Len())

	accept.Store("Bearer s3cret") // the operator fixed the collector's token
	calls := col.waitDelivered(t, 3)
	require.Equal(t, want, namesOf(calls))
	for _, c := range calls {
		require.Equal(t, "Bearer s3cret", c.auth)
	}
	h.waitEmpty(t)
	require.NoError(t, h.stop())
	require.Equal(t, 1, h.logs.count("level=ERROR"), "the credentials problem is logged once")
	require.Contains(t, h.logs.String(), "plaintext connection")
	require.NotContains(t, h.logs.String(), "s3cret", "the token is never logged")
}

// testPKI writes a CA certificate to a file and returns a server certificate it signed, for
// 127.0.0.1 and collector.test.
func testPKI(t *testing.T) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faultline test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "collector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"collector.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLS(t *testing.T) {
	caFile, cert := testPKI(t)
	serverCreds := grpc.Creds(credentials.NewServerTLSFromCert(&cert))

	t.Run("trusted CA", func(t *testing.T) {
		col := startCollector(t, "127.0.0.1:0", nil, serverCreds)
		cfg := testConfig(col.addr)
		cfg.CAFile = caFile
		cfg.ServerName = "collector.test"
		cfg.Token = "s3cret"
		h := newHarness(t, cfg)
		h.append(t, buffer.KindLogs, logsPayload(t, "over tls"))
		h.start()
		calls := col.waitDelivered(t, 1)
		require.Equal(t, []string{"over tls"}, namesOf(calls))
		require.Equal(t, "Bearer s3cret", calls[0].auth)
		require.NotContains(t, h.logs.String(), "plaintext")
	})
	for name, mutate := range map[string]func(*Config){
		"untrusted certificate": func(c *Config) { c.TLS = true }, // system roots do not know the test CA
		"plaintext client":      func(*Config) {},
	} {
		t.Run(name, func(t *testing.T) {
			col := startCollector(t, "127.0.0.1:0", nil, serverCreds)
			cfg := testConfig(col.addr)
			mutate(&cfg)
			h := newHarness(t, cfg)
			h.append(t, buffer.KindLogs, logsPayload(t, "nope"))
			h.start()
			require.Eventually(t, func() bool {
				return counter(t, h.sender.failures, "logs", "Unavailable") >= 2
			}, 10*time.Second, 5*time.Millisecond)
			require.NoError(t, h.stop())
			require.Empty(t, col.allCalls())
			require.Equal(t, 1, h.buf.Len())
		})
	}
}

func TestCancelMidExportKeepsTheEntry(t *testing.T) {
	started := make(chan struct{}, 1)
	col := startCollector(t, "127.0.0.1:0", func(ctx context.Context, _ int, _ call) (int64, error) {
		started <- struct{}{}
		<-ctx.Done() // holds the export until the agent gives up on it
		return 0, ctx.Err()
	})
	h := newHarness(t, testConfig(col.addr))
	h.append(t, buffer.KindLogs, logsPayload(t, "in flight"))
	h.start()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the export never reached the collector")
	}
	require.NoError(t, h.stop(), "cancellation is a normal stop")
	require.Equal(t, 1, h.buf.Len())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e, err := h.buf.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), e.Seq)
	require.Zero(t, counter(t, h.sender.dropped, "logs", "retries_exhausted"))
}

func TestEncodeRoundTrip(t *testing.T) {
	e := buffer.Entry{Seq: 7, Kind: buffer.KindMetrics, Payload: metricsPayload(t, "a", "b")}
	r, err := decode(e)
	require.NoError(t, err)
	require.Equal(t, 2, r.items)
	req := pmetricotlp.NewExportRequest()
	require.NoError(t, req.UnmarshalProto(r.proto), "the stored bytes are the export request itself")
	require.Equal(t, "b", req.Metrics().ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(1).Name())

	e = buffer.Entry{Seq: 8, Kind: buffer.KindLogs, Payload: logsPayload(t, "x", "y", "z")}
	r, err = decode(e)
	require.NoError(t, err)
	require.Equal(t, 3, r.items)

	for name, payload := range map[string][]byte{
		"garbage":             {0xff, 0xff, 0xff},
		"count only":          {0},
		"wrong field":         append([]byte{0}, 0x12, 0x01, 0x00),
		"truncated resource":  append([]byte{1}, 0x0a, 0x05, 0x00),
		"count beyond length": {0x7f, 0x0a, 0x00},
	} {
		_, err := decode(buffer.Entry{Seq: 9, Kind: buffer.KindLogs, Payload: payload})
		if name == "count only" {
			require.NoError(t, err, "an empty request is well-formed")
			continue
		}
		require.Error(t, err, name)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want verdict
		hint time.Duration
	}{
		{refuse(codes.Unavailable, 0), retryForever, 0},
		{refuse(codes.Unavailable, time.Second), retryForever, time.Second},
		{refuse(codes.ResourceExhausted, time.Second), retryForever, time.Second},
		{refuse(codes.ResourceExhausted, 0), retryLimited, 0},
		{refuse(codes.DeadlineExceeded, 0), retryForever, 0},
		{refuse(codes.Unauthenticated, 0), retryForever, 0},
		{refuse(codes.Internal, 0), retryLimited, 0},
		{refuse(codes.InvalidArgument, 0), dropNow, 0},
		{context.DeadlineExceeded, retryForever, 0},
	} {
		v, _, hint := classify(tc.err)
		require.Equal(t, tc.want, v, tc.err.Error())
		require.Equal(t, tc.hint, hint, tc.err.Error())
	}
	require.Equal(t, "invalid_argument", dropReason(codes.InvalidArgument))
	require.Equal(t, "unimplemented", dropReason(codes.Unimplemented))
}
