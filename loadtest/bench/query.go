package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// QueryPlan says which queries to time after ingest.
type QueryPlan struct {
	BaseURL    string // http://127.0.0.1:port
	Service    string
	Start, End time.Time // the ingest window, rounded outwards to whole seconds
	Lookups    int       // GET /api/v1/traces/{id}
	Searches   int       // GET /api/v1/traces?service=&start=&end=&limit=20
}

// searchResponse is the part of the search API's answer the harness reads.
type searchResponse struct {
	Traces []struct {
		TraceID string `json:"trace_id"`
	} `json:"traces"`
}

// SearchURL is the search request for plan's service and window with limit.
func (p QueryPlan) SearchURL(limit int) string {
	q := url.Values{}
	q.Set("service", p.Service)
	q.Set("start", strconv.FormatInt(p.Start.Unix(), 10))
	q.Set("end", strconv.FormatInt(p.End.Unix(), 10))
	q.Set("limit", strconv.Itoa(limit))
	return p.BaseURL + "/api/v1/traces?" + q.Encode()
}

// TraceIDs picks up to 100 trace IDs from a search over the window.
func (p QueryPlan) TraceIDs(ctx context.Context, client *http.Client) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.SearchURL(100), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("search traces: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("search traces: status %s: %s", resp.Status, body)
	}
	var sr searchResponse
	if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil {
		return nil, fmt.Errorf("decode search response: %w", err)
	}
	ids := make([]string, 0, len(sr.Traces))
	for _, t := range sr.Traces {
		if t.TraceID != "" {
			ids = append(ids, t.TraceID)
		}
	}
	return ids, nil
}

// QueryLatencies is what RunQueries measured.
type QueryLatencies struct {
	TracesFound int
	TraceByID   Latency
	Search      Latency
	FirstError  error // the first failed request, if any, for the report
}

// RunQueries times trace-by-ID lookups (cycling through the IDs a search returned) and
// searches, one request at a time on a keep-alive connection, each including reading the
// whole response body.
func RunQueries(ctx context.Context, client *http.Client, p QueryPlan) (QueryLatencies, error) {
	var out QueryLatencies
	ids, err := p.TraceIDs(ctx, client)
	if err != nil {
		return out, err
	}
	out.TracesFound = len(ids)
	var byID []time.Duration
	errs := 0
	if len(ids) > 0 {
		for i := range p.Lookups {
			d, err := timeGet(ctx, client, p.BaseURL+"/api/v1/traces/"+url.PathEscape(ids[i%len(ids)]))
			if err != nil {
				errs++
				if out.FirstError == nil {
					out.FirstError = err
				}
				continue
			}
			byID = append(byID, d)
		}
	}
	out.TraceByID = Summarize(byID, errs)

	var search []time.Duration
	errs = 0
	for range p.Searches {
		d, err := timeGet(ctx, client, p.SearchURL(20))
		if err != nil {
			errs++
			if out.FirstError == nil {
				out.FirstError = err
			}
			continue
		}
		search = append(search, d)
	}
	out.Search = Summarize(search, errs)
	return out, ctx.Err()
}

func timeGet(ctx context.Context, client *http.Client, u string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", u, err)
	}
	_, copyErr := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %s", u, resp.Status)
	}
	if copyErr != nil {
		return 0, fmt.Errorf("GET %s: read body: %w", u, copyErr)
	}
	return d, nil
}
