package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// underLoadServer answers searches with no traces for the first empty searches, then with
// ids; lookups of an ID ending in "bad" answer 404. It records the lookups' IDs.
type underLoadServer struct {
	empty    int64
	ids      []string
	searches atomic.Int64
	mu       sync.Mutex
	lookups  []string
	badQuery atomic.Int64
}

func (s *underLoadServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		// The sampler's search: the load's service, 20 traces, faultline's default lookback.
		if q.Get("service") != "frontend" || q.Get("limit") != "20" || q.Has("start") || q.Has("end") {
			s.badQuery.Add(1)
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		var resp struct {
			Traces []map[string]any `json:"traces"`
		}
		resp.Traces = []map[string]any{}
		if s.searches.Add(1) > s.empty {
			for _, id := range s.ids {
				resp.Traces = append(resp.Traces, map[string]any{"trace_id": id})
			}
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("GET /api/v1/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.lookups = append(s.lookups, r.PathValue("id"))
		s.mu.Unlock()
		if strings.HasSuffix(r.PathValue("id"), "bad") {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"spans":[]}`))
	})
	return mux
}

func TestLoadSamplerMax(t *testing.T) {
	s := &underLoadServer{empty: 3, ids: []string{"aa", "bb", "cbad"}}
	srv := httptest.NewServer(s.handler())
	defer srv.Close()

	sampler := LoadSampler{Client: srv.Client(), BaseURL: srv.URL, Service: "frontend", Rate: 200, Max: 12}
	got := sampler.Run(context.Background())

	if s.badQuery.Load() != 0 {
		t.Fatalf("%d searches had the wrong parameters", s.badQuery.Load())
	}
	// 12 ticks: 12 searches, of which the first 3 found nothing, so 9 lookups (the first
	// after search 4), cycling aa, bb, cbad: 3 of them hit the 404.
	if s.searches.Load() != 12 || got.Search.N != 12 || got.Search.Errors != 0 || got.SearchesWithData != 9 {
		t.Errorf("searches: server saw %d; result %+v with data %d; want 12, 12 ok, 9 with data", s.searches.Load(), got.Search, got.SearchesWithData)
	}
	s.mu.Lock()
	lookups := append([]string(nil), s.lookups...)
	s.mu.Unlock()
	if want := "aa bb cbad aa bb cbad aa bb cbad"; strings.Join(lookups, " ") != want {
		t.Errorf("lookups %v, want %s", lookups, want)
	}
	if got.TraceByID.N != 6 || got.TraceByID.Errors != 3 {
		t.Errorf("TraceByID = %+v, want 6 ok and 3 failed", got.TraceByID)
	}
	if got.Rate != 200 || got.Elapsed <= 0 || got.FirstError == nil || !strings.Contains(got.FirstError.Error(), "404") {
		t.Errorf("got %+v", got)
	}
	if got.Search.P50 <= 0 || got.Search.P99 < got.Search.P50 || got.Search.Max < got.Search.P99 {
		t.Errorf("search percentiles out of order: %+v", got.Search)
	}
}

// A failed search keeps the IDs of the last good one: here only the first search answers.
func TestLoadSamplerCyclesAndCountsErrors(t *testing.T) {
	var searches atomic.Int64
	var lookups []string
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/traces", func(w http.ResponseWriter, _ *http.Request) {
		if searches.Add(1) > 1 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"traces":[{"trace_id":"aa"},{"trace_id":"bb"},{"trace_id":"cbad"}]}`))
	})
	mux.HandleFunc("GET /api/v1/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lookups = append(lookups, r.PathValue("id"))
		mu.Unlock()
		if strings.HasSuffix(r.PathValue("id"), "bad") {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	got := LoadSampler{Client: srv.Client(), BaseURL: srv.URL, Service: "telemetrygen", Rate: 200, Max: 7}.Run(context.Background())
	if want := "aa bb cbad aa bb cbad aa"; strings.Join(lookups, " ") != want {
		t.Errorf("lookups %v, want %s", lookups, want)
	}
	if got.Search.N != 1 || got.Search.Errors != 6 || got.SearchesWithData != 1 {
		t.Errorf("Search = %+v, with data %d; want 1 ok, 6 failed", got.Search, got.SearchesWithData)
	}
	if got.TraceByID.N != 5 || got.TraceByID.Errors != 2 {
		t.Errorf("TraceByID = %+v, want 5 ok, 2 failed", got.TraceByID)
	}
	if got.FirstError == nil || !strings.Contains(got.FirstError.Error(), "500") || got.FirstErrorMessage != got.FirstError.Error() {
		t.Errorf("FirstError = %v (%q), want the first 500", got.FirstError, got.FirstErrorMessage)
	}
}

func TestLoadSamplerRateAndStop(t *testing.T) {
	s := &underLoadServer{ids: []string{"aa"}}
	srv := httptest.NewServer(s.handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := LoadSampler{Client: srv.Client(), BaseURL: srv.URL, Service: "frontend", Rate: 10}.Run(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Run took %s after its context ended", took)
	}
	// 10 ticks a second for 1.2 s: 12 at most (the first tick comes after 100 ms).
	if n := s.searches.Load(); n < 5 || n > 12 {
		t.Errorf("server saw %d searches in 1.2 s at 10/s, want 5..12", n)
	}
	if got.Search.N+got.Search.Errors > 12 || got.Search.Errors != 0 {
		t.Errorf("Search = %+v", got.Search)
	}

	// Off: no requests at all.
	before := s.searches.Load()
	got = LoadSampler{Client: srv.Client(), BaseURL: srv.URL, Service: "frontend"}.Run(context.Background())
	if s.searches.Load() != before || got.Rate != 0 || got.Search.N != 0 {
		t.Errorf("a sampler with rate 0 sent requests: %+v", got)
	}
}
