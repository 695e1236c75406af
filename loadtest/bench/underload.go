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

// LoadSampler times queries while the generator runs: at Rate ticks per second, one
// search `GET /api/v1/traces?service=Service&limit=20` (faultline's default lookback) and,
// once a search has returned traces, one `GET /api/v1/traces/{id}`, the n-th lookup taking
// ID n modulo the count from the latest search that returned any. One request at a time; when a request takes longer
// than a tick, ticks are skipped, so Rate is an upper bound.
type LoadSampler struct {
	Client  *http.Client
	BaseURL string
	Service string
	Rate    float64 // ticks per second; each tick is one search and at most one lookup
	// Max bounds the ticks (0: no bound besides the context).
	Max int
}

// UnderLoad is what a LoadSampler measured.
type UnderLoad struct {
	Rate              float64 // ticks per second asked for (0: not run)
	Elapsed           time.Duration
	TraceByID         Latency
	Search            Latency
	SearchesWithData  int   // searches that returned at least one trace
	FirstError        error `json:"-"`
	FirstErrorMessage string
}

// Run samples until ctx ends (the generator finished) or Max ticks were done.
func (s LoadSampler) Run(ctx context.Context) UnderLoad {
	out := UnderLoad{Rate: s.Rate}
	if s.Rate <= 0 {
		return out
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / s.Rate)
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()
	var (
		byID, search         []time.Duration
		byIDErrs, searchErrs int
		ids                  []string
		next                 int
	)
	fail := func(err error) {
		if out.FirstError == nil {
			out.FirstError = err
			out.FirstErrorMessage = err.Error()
		}
	}
	u := s.searchURL()
loop:
	for n := 0; s.Max <= 0 || n < s.Max; n++ {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		d, found, err := timeSearch(ctx, s.Client, u)
		switch {
		case ctx.Err() != nil: // cut short by the end of the load: not a sample
		case err != nil:
			searchErrs++
			fail(err)
		default:
			search = append(search, d)
			if len(found) > 0 {
				out.SearchesWithData++
				ids = found // the cycle goes on over the fresher IDs
			}
		}
		if len(ids) == 0 || ctx.Err() != nil {
			continue
		}
		d, err = timeGet(ctx, s.Client, s.BaseURL+"/api/v1/traces/"+url.PathEscape(ids[next%len(ids)]))
		next++
		switch {
		case ctx.Err() != nil:
		case err != nil:
			byIDErrs++
			fail(err)
		default:
			byID = append(byID, d)
		}
	}
	out.Elapsed = time.Since(start)
	out.TraceByID = Summarize(byID, byIDErrs)
	out.Search = Summarize(search, searchErrs)
	return out
}

func (s LoadSampler) searchURL() string {
	q := url.Values{}
	q.Set("service", s.Service)
	q.Set("limit", strconv.Itoa(20))
	return s.BaseURL + "/api/v1/traces?" + q.Encode()
}

// timeSearch is timeGet for a search, also returning the trace IDs in the answer.
func timeSearch(ctx context.Context, client *http.Client, u string) (time.Duration, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	body, readErr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("GET %s: status %s", u, resp.Status)
	}
	if readErr != nil {
		return 0, nil, fmt.Errorf("GET %s: read body: %w", u, readErr)
	}
	var sr searchResponse
	if err := json.Unmarshal(body, &sr); err != nil {
		return 0, nil, fmt.Errorf("GET %s: decode: %w", u, err)
	}
	ids := make([]string, 0, len(sr.Traces))
	for _, t := range sr.Traces {
		if t.TraceID != "" {
			ids = append(ids, t.TraceID)
		}
	}
	return d, ids, nil
}
