package rca

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiWorld is the shop with payments failing half of its requests from minute 6, run for 8
// minutes, with an incident opened by evaluations at 7:00 to 8:00, served at "now" = 8:00.
func apiWorld(t *testing.T) *http.ServeMux {
	t.Helper()
	w := newWorld(t, shop(), scenarioPerStep, during("payments", 6*time.Minute, 0, effect{errRate: 0.5}))
	cfg := defaultConfig()
	engine := w.engine(cfg)
	rec := &recordingAnalyzer{engine: engine}
	tr, err := NewTracker(cfg, rec, nil, "", discardLogger(), nil)
	require.NoError(t, err)
	evals := evaluate(t, w, tr, rec, every(7*time.Minute, 8*time.Minute, 30*time.Second))
	require.Len(t, evals[len(evals)-1].incidents, 1)
	api := NewAPI(engine, tr, discardLogger())
	api.now = func() time.Time { return at(8 * time.Minute) }
	mux := http.NewServeMux()
	api.Register(mux)
	return mux
}

func serve(t *testing.T, h http.Handler, method, path string, q url.Values) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	target := path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(method, target, nil))
	assert.Equal(t, "application/json", rr.Header().Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rr.Body.Bytes(), &body), rr.Body.String())
	return rr, body
}

func rfc3339(d time.Duration) string { return at(d).Format(time.RFC3339) }

func TestAPI(t *testing.T) {
	t.Parallel()
	mux := apiWorld(t)

	t.Run("rca", func(t *testing.T) {
		for name, q := range map[string]url.Values{
			"rfc3339":      {"start": {rfc3339(3 * time.Minute)}, "end": {rfc3339(8 * time.Minute)}},
			"unix seconds": {"start": {strconv.FormatInt(at(3*time.Minute).Unix(), 10)}, "end": {strconv.FormatInt(at(8*time.Minute).Unix(), 10)}},
		} {
			t.Run(name, func(t *testing.T) {
				rr, body := serve(t, mux, http.MethodGet, "/api/v1/rca", q)
				require.Equal(t, http.StatusOK, rr.Code, rr.Body.String())
				assert.Equal(t, at(3*time.Minute).Format(time.RFC3339Nano), body["start"])
				assert.Equal(t, at(8*time.Minute).Format(time.RFC3339Nano), body["end"])
				requireRCAShape(t, body)
				rc := body["root_causes"].([]any)[0].(map[string]any)
				assert.Equal(t, "payments", rc["service"])
				assert.Equal(t, KindError, rc["kind"])
				assert.Equal(t, "service", rc["node_kind"])
			})
		}
	})

	t.Run("rca default window ends now", func(t *testing.T) {
		rr, body := serve(t, mux, http.MethodGet, "/api/v1/rca", nil)
		require.Equal(t, http.StatusOK, rr.Code, rr.Body.String())
		assert.Equal(t, at(8*time.Minute).Format(time.RFC3339Nano), body["end"])
		assert.Equal(t, at(8*time.Minute-defaultConfig().DefaultWindow).Format(time.RFC3339Nano), body["start"])
		requireRCAShape(t, body)
	})

	t.Run("rca before anything happened", func(t *testing.T) {
		rr, body := serve(t, mux, http.MethodGet, "/api/v1/rca",
			url.Values{"start": {rfc3339(-time.Hour)}, "end": {rfc3339(-time.Minute)}})
		require.Equal(t, http.StatusOK, rr.Code, rr.Body.String())
		requireRCAShape(t, body)
		assert.Empty(t, body["root_causes"])
		assert.Contains(t, body["summary"], "Nothing is wrong")
	})

	t.Run("incidents", func(t *testing.T) {
		rr, body := serve(t, mux, http.MethodGet, "/api/v1/incidents",
			url.Values{"start": {rfc3339(0)}, "end": {rfc3339(8 * time.Minute)}, "limit": {"1"}})
		require.Equal(t, http.StatusOK, rr.Code, rr.Body.String())
		require.Contains(t, body, "incidents")
		list := body["incidents"].([]any)
		require.Len(t, list, 1)
		in := list[0].(map[string]any)
		for _, k := range []string{
			"id", "start", "end", "ongoing", "last_seen", "root_cause", "kind",
			"summary", "root_causes", "affected", "paths", "exemplar_traces", "anomalies",
		} {
			assert.Contains(t, in, k)
		}
		assert.Nil(t, in["end"], "ongoing: no end")
		assert.Equal(t, true, in["ongoing"])
		assert.Equal(t, "payments", in["root_cause"])
		assert.Equal(t, KindError, in["kind"])
		assert.NotEmpty(t, in["id"])

		// A window before the incident holds none.
		rr, body = serve(t, mux, http.MethodGet, "/api/v1/incidents",
			url.Values{"start": {rfc3339(0)}, "end": {rfc3339(5 * time.Minute)}})
		require.Equal(t, http.StatusOK, rr.Code, rr.Body.String())
		assert.Equal(t, []any{}, body["incidents"], "an empty list, not null")
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, tt := range []struct {
			name, path string
			q          url.Values
			mention    string
		}{
			{"rca start", "/api/v1/rca", url.Values{"start": {"yesterday"}}, "start"},
			{"rca end", "/api/v1/rca", url.Values{"end": {"2026-13-45T00:00:00Z"}}, "end"},
			{"rca start after end", "/api/v1/rca", url.Values{"start": {rfc3339(8 * time.Minute)}, "end": {rfc3339(time.Minute)}}, "must be before"},
			{"rca start equals end", "/api/v1/rca", url.Values{"start": {rfc3339(time.Minute)}, "end": {rfc3339(time.Minute)}}, "must be before"},
			{"rca before 1970", "/api/v1/rca", url.Values{"start": {"-5"}}, "start"},
			{"incidents start", "/api/v1/incidents", url.Values{"start": {"soon"}}, "start"},
			{"incidents end", "/api/v1/incidents", url.Values{"end": {"later"}}, "end"},
			{"incidents limit zero", "/api/v1/incidents", url.Values{"limit": {"0"}}, "limit"},
			{"incidents limit not a number", "/api/v1/incidents", url.Values{"limit": {"ten"}}, "limit"},
			{"incidents limit too large", "/api/v1/incidents", url.Values{"limit": {"1001"}}, "limit"},
			{"incidents limit negative", "/api/v1/incidents", url.Values{"limit": {"-1"}}, "limit"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				rr, body := serve(t, mux, http.MethodGet, tt.path, tt.q)
				assert.Equal(t, http.StatusBadRequest, rr.Code)
				assert.Contains(t, body["error"], tt.mention)
			})
		}
	})

	t.Run("methods", func(t *testing.T) {
		for _, path := range []string{"/api/v1/rca", "/api/v1/incidents"} {
			for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
				rr, body := serve(t, mux, method, path, nil)
				assert.Equal(t, http.StatusMethodNotAllowed, rr.Code, "%s %s", method, path)
				assert.Equal(t, "GET, HEAD", rr.Header().Get("Allow"))
				assert.Contains(t, body["error"], method)
			}
		}
	})
}

// TestAPIIncidentsOff: without a tracker /api/v1/incidents says incidents are off.
func TestAPIIncidentsOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, shop(), 1, noFault)
	mux := http.NewServeMux()
	NewAPI(w.engine(defaultConfig()), nil, discardLogger()).Register(mux)
	rr, body := serve(t, mux, http.MethodGet, "/api/v1/incidents", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rr.Code)
	assert.Contains(t, body["error"], "incidents are off")
	// Bad parameters are still the client's fault.
	rr, _ = serve(t, mux, http.MethodGet, "/api/v1/incidents", url.Values{"limit": {"0"}})
	assert.Equal(t, http.StatusBadRequest, rr.Code)
}

// requireRCAShape checks the fields of GET /api/v1/rca: every list present, never null.
func requireRCAShape(t *testing.T, body map[string]any) {
	t.Helper()
	for _, k := range []string{"start", "end", "summary"} {
		assert.IsType(t, "", body[k], k)
	}
	for _, k := range []string{"root_causes", "affected", "paths", "exemplar_traces", "anomalies"} {
		assert.IsType(t, []any{}, body[k], "%s is a list, not null", k)
	}
	for _, r := range body["root_causes"].([]any) {
		rc := r.(map[string]any)
		for _, k := range []string{"service", "score", "kind", "node_kind", "since", "evidence"} {
			assert.Contains(t, rc, k)
		}
		assert.IsType(t, 0.0, rc["score"])
		for _, e := range rc["evidence"].([]any) {
			ev := e.(map[string]any)
			assert.NotEmpty(t, ev["type"])
			assert.NotEmpty(t, ev["text"])
		}
	}
	for _, a := range body["affected"].([]any) {
		v := a.(map[string]any)
		for _, k := range []string{"service", "impact", "signals", "since"} {
			assert.Contains(t, v, k)
		}
	}
}
