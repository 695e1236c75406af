package query

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJaegerDependenciesParams(t *testing.T) {
	var asked [2]time.Time
	api, err := NewAPI(testCfg, errReader{}, nil, nil)
	require.NoError(t, err)
	// The real source is the topology API (covered end to end in loadtest/e2e); this one
	// records the window it is asked for and knows no links.
	api.SetDependencies(func(_ context.Context, start, end time.Time) ([]Dependency, error) {
		asked = [2]time.Time{start, end}
		return nil, nil
	}, 15*time.Minute)
	mux := http.NewServeMux()
	api.Register(mux)
	cases := []struct {
		query string
		code  int
		msg   string
	}{
		{"", http.StatusOK, ""},
		{"endTs=abc", http.StatusBadRequest, "endTs"},
		{"endTs=-5", http.StatusBadRequest, "endTs"},
		{"lookback=0", http.StatusBadRequest, "lookback"},
		{"lookback=1h", http.StatusBadRequest, "lookback"},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/jaeger/api/dependencies?"+c.query, nil))
		require.Equal(t, c.code, w.Code, c.query)
		var env struct {
			Data   []any `json:"data"`
			Errors []struct {
				Msg string `json:"msg"`
			} `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &env))
		if c.code == http.StatusOK {
			require.NotNil(t, env.Data, "no links is an empty list, not null")
			require.Empty(t, env.Data)
			require.Equal(t, 15*time.Minute, asked[1].Sub(asked[0]), "the default lookback")
			continue
		}
		require.Len(t, env.Errors, 1)
		require.Contains(t, env.Errors[0].Msg, c.msg)
	}

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/jaeger/api/dependencies?endTs=1700000000000&lookback=60000", nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, time.UnixMilli(1700000000000), asked[1])
	require.Equal(t, time.Minute, asked[1].Sub(asked[0]))
}
