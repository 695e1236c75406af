// Package logging builds Faultline's slog logger and adapts it, in this one place, to the
// logger types of the libraries Faultline embeds: go-kit (dskit) and zap (OpenTelemetry
// Collector).
package logging

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	gokitlog "github.com/go-kit/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config chooses the log level and format of a Faultline binary.
type Config struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// RegisterFlags registers -log.level and -log.format and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Level, "log.level", "info", "Log level: debug, info, warn, error.")
	f.StringVar(&c.Format, "log.format", "logfmt", "Log format: logfmt or json.")
}

// Validate names a bad level or format.
func (c *Config) Validate() error {
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: want debug, info, warn or error", c.Level)
	}
	switch c.Format {
	case "logfmt", "json":
	default:
		return fmt.Errorf("log.format %q: want logfmt or json", c.Format)
	}
	return nil
}

// New returns a structured logger writing to w. format is "logfmt" or "json"; level is one of
// debug, info, warn, error.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "logfmt", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log.format %q: want logfmt or json", format)
	}
}

// GoKit adapts l to go-kit's Logger, which dskit takes. A "level" key chooses the slog level
// and "msg" the message; every other pair becomes an attribute.
func GoKit(l *slog.Logger) gokitlog.Logger { return gokitAdapter{l} }

type gokitAdapter struct{ l *slog.Logger }

func (g gokitAdapter) Log(keyvals ...any) error {
	lvl := slog.LevelInfo
	msg := ""
	attrs := make([]any, 0, len(keyvals))
	for i := 0; i+1 < len(keyvals); i += 2 {
		k := fmt.Sprint(keyvals[i])
		switch k {
		case "level":
			_ = lvl.UnmarshalText([]byte(strings.ToLower(fmt.Sprint(keyvals[i+1]))))
		case "msg":
			msg = fmt.Sprint(keyvals[i+1])
		default:
			attrs = append(attrs, k, keyvals[i+1])
		}
	}
	g.l.Log(context.Background(), lvl, msg, attrs...)
	return nil
}

// Zap returns a zap logger whose entries go to l, for the OpenTelemetry Collector packages.
func Zap(l *slog.Logger) *zap.Logger { return zap.New(zapCore{l: l}) }

type zapCore struct {
	l      *slog.Logger
	fields []zapcore.Field
}

func (c zapCore) Enabled(lvl zapcore.Level) bool {
	return c.l.Enabled(context.Background(), slogLevel(lvl))
}

func (c zapCore) With(fields []zapcore.Field) zapcore.Core {
	return zapCore{l: c.l, fields: append(append([]zapcore.Field(nil), c.fields...), fields...)}
}

func (c zapCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c zapCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	attrs := make([]any, 0, 2*len(enc.Fields)+2)
	if e.LoggerName != "" {
		attrs = append(attrs, "logger", e.LoggerName)
	}
	for k, v := range enc.Fields {
		attrs = append(attrs, k, v)
	}
	c.l.Log(context.Background(), slogLevel(e.Level), e.Message, attrs...)
	return nil
}

func (zapCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}
