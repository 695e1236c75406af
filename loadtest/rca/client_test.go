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

func TestClientIncidents(t *testing.T) {
	const good = `{"incidents":[
	  {"id":"i1","start":"2026-03-01T12:01:00Z","end":"2026-03-01T12:03:30Z","ongoing":false,
	   "root_causes":[{"service":"payment","score":0.9,"kind":"error","evidence":["5xx"]},{"service":"checkout","score":0.1,"kind":"latency","evidence":[]}],
	   "affected":[{"service":"frontend","impact":0.5}],"paths":[["frontend","checkout","payment"]],"exemplar_traces":["abc"]},
	  {"id":"i2","start":"2026-03-01T12:02:00+01:00","end":null,"ongoing":true,"root_causes":[],"affected":[],"paths":[],"exemplar_traces":[]}]}`
	tests := []struct {
		name    string
		status  int
		body    string
		ok      bool
		problem string
		firsts  []string
	}{
		{"two incidents", 200, good, true, "", []string{"payment", ""}},
		{"none", 200, `{"incidents":[]}`, true, "", []string{}},
		{"null incidents", 200, `{"incidents":null}`, true, "", []string{}},
		{"no endpoint yet", 404, `404 page not found`, false, "404 Not Found", nil},
		{"server error", 500, `{"error":"boom"}`, false, "500 Internal Server Error", nil},
		{"not JSON", 200, `<html>faultline</html>`, false, "non-JSON body", nil},
		{"truncated JSON", 200, `{"incidents":[{"id":"i1"`, false, "non-JSON body", nil},
		{"JSON without incidents", 200, `{"root_causes":[]}`, false, "no incidents in the answer", nil},
		{"wrong shape", 200, `{"incidents":{"id":"i1"}}`, false, "malformed answer", nil},
		{"bad time", 200, `{"incidents":[{"id":"i1","start":"yesterday","end":null,"ongoing":true,"root_causes":[]}]}`, false, "malformed answer", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotPath, gotQuery, gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath, gotQuery, gotAuth = r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			a := testClient(t, srv.URL, "s3cret").Incidents(context.Background(), time.Unix(1_700_000_000, 900_000_000), time.Unix(1_700_000_120, 1))
			assert.Equal(t, "/api/v1/incidents", gotPath)
			assert.Equal(t, "end=1700000121&start=1700000000", gotQuery, "start rounded down, end up")
			assert.Equal(t, "Bearer s3cret", gotAuth)
			assert.Equal(t, tt.status, a.Status)
			assert.Equal(t, tt.ok, a.OK)
			assert.Contains(t, a.Problem, tt.problem)
			if !tt.ok {
				assert.Empty(t, a.Incidents)
				return
			}
			assert.Empty(t, a.Problem)
			firsts := []string{}
			for _, i := range a.Incidents {
				firsts = append(firsts, i.FirstRootCause())
			}
			assert.Equal(t, tt.firsts, firsts)
		})
	}
	t.Run("fields", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(good))
		}))
		defer srv.Close()
		a := testClient(t, srv.URL, "").Incidents(context.Background(), time.Now(), time.Now())
		require.True(t, a.OK)
		require.Len(t, a.Incidents, 2)
		closed, open := a.Incidents[0], a.Incidents[1]
		assert.Equal(t, "i1", closed.ID)
		assert.True(t, closed.Start.Equal(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)))
		require.NotNil(t, closed.End)
		assert.True(t, closed.End.Equal(time.Date(2026, 3, 1, 12, 3, 30, 0, time.UTC)))
		assert.False(t, closed.Ongoing)
		assert.Equal(t, RootCause{Service: "payment", Score: 0.9, Kind: "error", Evidence: []byte(`["5xx"]`)}, closed.RootCauses[0])
		assert.Equal(t, []Affected{{Service: "frontend", Impact: 0.5}}, closed.Affected)
		assert.Equal(t, [][]string{{"frontend", "checkout", "payment"}}, closed.Paths)
		assert.Equal(t, []string{"abc"}, closed.ExemplarTraces)
		assert.Equal(t, "i2", open.ID)
		assert.True(t, open.Start.Equal(time.Date(2026, 3, 1, 11, 2, 0, 0, time.UTC)))
		assert.Nil(t, open.End, "null while ongoing")
		assert.True(t, open.Ongoing)
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		a := testClient(t, url, "").Incidents(context.Background(), time.Now(), time.Now())
		assert.False(t, a.OK)
		assert.Equal(t, 0, a.Status)
		assert.Equal(t, "connection refused", a.Problem)
	})
}
