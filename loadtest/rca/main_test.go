package rca

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/sim"
)

// Main's refusals. No test here runs a scenario: with the real simulator that takes minutes.
func TestMainRefuses(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"remote faultline", []string{"-faultline.url=http://10.1.2.3:7070"}, 2, `"10.1.2.3" is not a loopback address`},
		{"remote faultline by name", []string{"-faultline.url=https://faultline.example.com"}, 2, "is not a loopback address"},
		{"remote OTLP endpoint", []string{"-otlp.endpoint=192.168.1.5:4317"}, 2, `-otlp.endpoint="192.168.1.5:4317": "192.168.1.5" is not a loopback address`},
		{"OTLP endpoint without port", []string{"-otlp.endpoint=127.0.0.1"}, 2, "want HOST:PORT"},
		{"not a URL", []string{"-faultline.url=127.0.0.1:7070"}, 2, "want http://HOST:PORT"},
		{"bad -only", []string{"-only=("}, 2, "-only"},
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined: -nope"},
		{"extra argument", []string{"run"}, 2, "unexpected arguments"},
		{"missing suite", []string{"-suite=testdata/nope.yaml"}, 2, "read suite"},
		{"bad suite", []string{"-suite=testdata/suite_bad.yaml"}, 2, `testdata/suite_bad.yaml: line 5: unknown key "targt"`},
		{"-only matches nothing", []string{"-suite=testdata/suite_good.yaml", "-only=^zzz"}, 2, "no scenario in testdata/suite_good.yaml matches"},
		{"parallel without a binary", []string{"-parallel=2"}, 2, "-parallel=2 needs -faultline.bin"},
		{"negative parallel", []string{"-parallel=-1", "-faultline.bin=testdata/suite_good.yaml"}, 2, "-parallel=-1: must not be negative"},
		{"faultline flag without a binary", []string{"-faultline.flag=-log.level=debug"}, 2, "-faultline.flag applies only with -faultline.bin"},
		{"keep without a binary", []string{"-keep"}, 2, "-keep applies only with -faultline.bin"},
		{"missing binary", []string{"-suite=testdata/suite_good.yaml", "-faultline.bin=testdata/nope", "-parallel=2"}, 2, "-faultline.bin: stat "},
		{"binary ignores the URL", []string{"-suite=testdata/nope.yaml", "-faultline.bin=testdata/suite_good.yaml", "-faultline.url=http://10.1.2.3:7070"}, 2, "read suite"},
		{"faultline down", []string{"-suite=testdata/suite_good.yaml", "-faultline.url=" + closedURL}, 1, "Faultline is not reachable at " + closedURL + ": connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tt.args, &stdout, &stderr)
			assert.Equal(t, tt.code, code, stderr.String())
			assert.Contains(t, stderr.String(), tt.want)
			assert.Empty(t, stdout.String())
		})
	}
}

func TestConfigLoopback(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:7070", "http://localhost:7070", "http://[::1]:7070", "https://127.0.0.2"} {
		c := Config{FaultlineURL: u, OTLPEndpoint: "localhost:4317"}
		assert.NoError(t, c.Validate(), u)
	}
	c := Config{FaultlineURL: "http://127.0.0.1:7070", OTLPEndpoint: "[::1]:4317"}
	assert.NoError(t, c.Validate())
}

func TestSelect(t *testing.T) {
	all := []sim.Scenario{{Name: "shop-error-payment"}, {Name: "shop-none"}, {Name: "chain5-none"}}
	got, err := Select(all, "none$")
	require.NoError(t, err)
	assert.Equal(t, []sim.Scenario{{Name: "shop-none"}, {Name: "chain5-none"}}, got)
	got, err = Select(all, "")
	require.NoError(t, err)
	assert.Len(t, got, 3)
}
