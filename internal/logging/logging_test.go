package logging

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func decode(t *testing.T, b *bytes.Buffer) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &m), b.String())
	b.Reset()
	return m
}

func TestNew(t *testing.T) {
	_, err := New(&bytes.Buffer{}, "loud", "json")
	require.ErrorContains(t, err, "log.level")
	_, err = New(&bytes.Buffer{}, "info", "xml")
	require.ErrorContains(t, err, "log.format")

	var buf bytes.Buffer
	l, err := New(&buf, "warn", "json")
	require.NoError(t, err)
	l.Info("hidden")
	require.Zero(t, buf.Len(), "below the level")
	l.Warn("shown", "k", 1)
	require.Equal(t, "shown", decode(t, &buf)["msg"])
}

func TestGoKit(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "debug", "json")
	require.NoError(t, err)
	require.NoError(t, GoKit(l).Log("level", "warn", "msg", "module failed", "module", "collector"))
	m := decode(t, &buf)
	require.Equal(t, "WARN", m["level"])
	require.Equal(t, "module failed", m["msg"])
	require.Equal(t, "collector", m["module"])
}

func TestZap(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "info", "json")
	require.NoError(t, err)
	z := Zap(l).Named("otlp").With(zap.String("endpoint", "127.0.0.1:4317"))
	z.Debug("hidden")
	require.Zero(t, buf.Len())
	z.Error("listen failed", zap.Int("attempt", 2))
	m := decode(t, &buf)
	require.Equal(t, "ERROR", m["level"])
	require.Equal(t, "listen failed", m["msg"])
	require.Equal(t, "otlp", m["logger"])
	require.Equal(t, "127.0.0.1:4317", m["endpoint"])
	require.EqualValues(t, 2, m["attempt"])
}
