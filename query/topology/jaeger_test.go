package topology

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJaegerDependenciesParams(t *testing.T) {
	api := newAPI(t, openDB(t))
	mux := http.NewServeMux()
	api.RegisterJaeger(mux)
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
			require.NotNil(t, env.Data, "an empty store answers an empty list, not null")
			require.Empty(t, env.Data)
			continue
		}
		require.Len(t, env.Errors, 1)
		require.Contains(t, env.Errors[0].Msg, c.msg)
	}
}
