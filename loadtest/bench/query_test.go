package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunQueries(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	end := start.Add(40 * time.Second)
	var lookups, searches, badID atomic.Int64
	ids := []string{"0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736", "00000000000000000000000000000bad"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("service") != "telemetrygen" || q.Get("start") != "1700000000" || q.Get("end") != "1700000040" {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		var resp struct {
			Traces []map[string]any `json:"traces"`
		}
		switch q.Get("limit") {
		case "100": // picking IDs
			for _, id := range ids {
				resp.Traces = append(resp.Traces, map[string]any{"trace_id": id, "root_service": "telemetrygen", "span_count": 2})
			}
		case "20":
			searches.Add(1)
		default:
			http.Error(w, "bad limit", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("GET /api/v1/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		lookups.Add(1)
		if strings.HasSuffix(r.PathValue("id"), "bad") {
			badID.Add(1)
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"spans":[]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	plan := QueryPlan{BaseURL: srv.URL, Service: "telemetrygen", Start: start, End: end, Lookups: 30, Searches: 7}
	got, err := RunQueries(context.Background(), srv.Client(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if got.TracesFound != 3 {
		t.Errorf("TracesFound = %d, want 3", got.TracesFound)
	}
	// 30 lookups cycle through 3 IDs: 10 hit the one that answers 404.
	if lookups.Load() != 30 || badID.Load() != 10 {
		t.Errorf("server saw %d lookups, %d of the bad ID; want 30 and 10", lookups.Load(), badID.Load())
	}
	if got.TraceByID.N != 20 || got.TraceByID.Errors != 10 {
		t.Errorf("TraceByID = %+v, want 20 ok and 10 errors", got.TraceByID)
	}
	if got.TraceByID.P50 <= 0 || got.TraceByID.P99 < got.TraceByID.P50 || got.TraceByID.Max < got.TraceByID.P99 {
		t.Errorf("TraceByID percentiles out of order: %+v", got.TraceByID)
	}
	if searches.Load() != 7 || got.Search.N != 7 || got.Search.Errors != 0 {
		t.Errorf("searches: server saw %d, result %+v; want 7 ok", searches.Load(), got.Search)
	}
	if got.FirstError == nil || !strings.Contains(got.FirstError.Error(), "404") {
		t.Errorf("FirstError = %v, want the 404", got.FirstError)
	}
}

func TestRunQueriesNoTraces(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"traces":[]}`))
	}))
	defer srv.Close()
	got, err := RunQueries(context.Background(), srv.Client(), QueryPlan{BaseURL: srv.URL, Service: "s", Lookups: 200, Searches: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got.TracesFound != 0 || got.TraceByID.N != 0 || got.TraceByID.Errors != 0 || got.Search.N != 3 {
		t.Fatalf("got %+v", got)
	}
}

func TestRunQueriesSearchFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such route", http.StatusNotFound)
	}))
	defer srv.Close()
	if _, err := RunQueries(context.Background(), srv.Client(), QueryPlan{BaseURL: srv.URL, Service: "s", Lookups: 1, Searches: 1}); err == nil {
		t.Fatal("want an error when the ID search fails")
	}
}
