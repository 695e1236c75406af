package query

import (
	"context"
	"errors"
	"flag"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/faultline/faultline/internal/spanstore"
)

// errReader is a stub, not a store: a spanstore.Reader whose every call fails, to test the
// 500 path, which the real store cannot be made to take on demand.
type errReader struct{}

var errStoreDown = errors.New("disk on fire")

func (errReader) Trace(context.Context, pcommon.TraceID) (ptrace.Traces, error) {
	return ptrace.Traces{}, errStoreDown
}

func (errReader) FindTraces(context.Context, spanstore.Query) ([]spanstore.TraceSummary, error) {
	return nil, errStoreDown
}
func (errReader) Services(context.Context) ([]string, error) { return nil, errStoreDown }
func (errReader) Operations(context.Context, string) ([]spanstore.Operation, error) {
	return nil, errStoreDown
}

func flagSet(cfg *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	return fs
}
