package agentbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Scrapes counts what a Scraper did.
type Scrapes struct {
	OK     int
	Failed int
	Bytes  int64 // body bytes of the successful scrapes
	Err    string
}

// Scraper fetches a /metrics page at a fixed interval, as a Prometheus would, so that a
// pull-based exporter does its collection work during the measured window.
type Scraper struct {
	Client *http.Client
	URL    string
	Every  time.Duration
}

// Run scrapes at once and then every s.Every until ctx ends, reading each body whole; a
// non-200 answer or a transport error counts as failed (the first one's text is kept).
func (s Scraper) Run(ctx context.Context) Scrapes {
	var res Scrapes
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		n, err := s.scrape(ctx)
		switch {
		case ctx.Err() != nil:
			return res
		case err != nil:
			res.Failed++
			if res.Err == "" {
				res.Err = err.Error()
			}
		default:
			res.OK++
			res.Bytes += n
		}
		select {
		case <-ctx.Done():
			return res
		case <-t.C:
		}
	}
}

func (s Scraper) scrape(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", s.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("scrape %s: %w", s.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("scrape %s: status %s", s.URL, resp.Status)
	}
	return n, nil
}
