package rca

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testClient(t *testing.T, url, token string) *Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &Client{BaseURL: url, Token: token, HTTP: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

func TestClientRCA(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		ok      bool
		problem string
		top     []string
	}{
		{"answer", 200, `{"root_causes":[{"service":"payment","score":0.9,"kind":"error","evidence":["5xx"]},{"service":"checkout","score":0.2,"kind":"latency","evidence":[]}],"affected":[{"service":"frontend","impact":0.5}],"paths":[["frontend","checkout","payment"]],"exemplar_traces":["abc"]}`, true, "", []string{"payment", "checkout"}},
		{"nothing wrong", 200, `{"root_causes":[],"affected":[],"paths":[],"exemplar_traces":[]}`, true, "", []string{}},
		{"null root causes", 200, `{"root_causes":null}`, true, "", []string{}},
		{"no RCA engine", 404, `404 page not found`, false, "404 Not Found", nil},
		{"server error", 500, `{"error":"boom"}`, false, "500 Internal Server Error", nil},
		{"not JSON", 200, `<html>faultline</html>`, false, "non-JSON body", nil},
		{"JSON without root_causes", 200, `{"services":["a"]}`, false, "no root_causes in the answer", nil},
		{"wrong shape", 200, `{"root_causes":{"service":"a"}}`, false, "malformed answer", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotQuery, gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/api/v1/rca", r.URL.Path)
				gotQuery, gotAuth = r.URL.RawQuery, r.Header.Get("Authorization")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := testClient(t, srv.URL, "s3cret")
			start := time.Unix(1_700_000_000, 900_000_000)
			a := c.RCA(context.Background(), start, time.Unix(1_700_000_120, 1))
			assert.Equal(t, "end=1700000121&start=1700000000", gotQuery, "start rounded down, end up")
			assert.Equal(t, "Bearer s3cret", gotAuth)
			assert.Equal(t, tt.status, a.Status)
			assert.Equal(t, tt.ok, a.OK)
			assert.Contains(t, a.Problem, tt.problem)
			if tt.ok {
				assert.Empty(t, a.Problem)
				assert.Equal(t, tt.top, a.Top(5))
			} else {
				assert.Equal(t, 0, a.Rank("payment"))
			}
		})
	}
	t.Run("full answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(tests[0].body))
		}))
		defer srv.Close()
		a := testClient(t, srv.URL, "").RCA(context.Background(), time.Now(), time.Now())
		require.True(t, a.OK)
		assert.Equal(t, RootCause{Service: "payment", Score: 0.9, Kind: "error", Evidence: []byte(`["5xx"]`)}, a.RootCauses[0])
		assert.Equal(t, []Affected{{Service: "frontend", Impact: 0.5}}, a.Affected)
		assert.Equal(t, [][]string{{"frontend", "checkout", "payment"}}, a.Paths)
		assert.Equal(t, []string{"abc"}, a.ExemplarTraces)
	})
	t.Run("no token, no header", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			assert.Empty(t, r.Header.Values("Authorization"))
			_, _ = w.Write([]byte(`{"root_causes":[]}`))
		}))
		defer srv.Close()
		assert.True(t, testClient(t, srv.URL, "").RCA(context.Background(), time.Now(), time.Now()).OK)
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		a := testClient(t, url, "").RCA(context.Background(), time.Now(), time.Now())
		assert.False(t, a.OK)
		assert.Equal(t, 0, a.Status)
		assert.Equal(t, "connection refused", a.Problem)
	})
}
