package standalone

import (
	"flag"
	"io"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/config"
)

// The example file documents every setting with its default: it must load, and it must
// equal the flags' defaults.
func TestExampleConfigIsTheDefaults(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "faultline-agent.example.yaml")
	var fromFile Config
	_, err := config.Load("faultline-agent", []string{"-config.file=" + example}, &fromFile, io.Discard)
	require.NoError(t, err)
	var defaults Config
	defaults.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	require.Equal(t, defaults, fromFile)
	require.Equal(t, DefaultHTTPAddr, defaults.Server.HTTPAddr)
}
