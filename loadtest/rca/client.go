package rca

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// RootCause is one entry of /api/v1/rca's root_causes, best first.
type RootCause struct {
	Service  string          `json:"service"`
	Score    float64         `json:"score"`
	Kind     string          `json:"kind"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// Answer is a GET /api/v1/rca response (shared/DESIGN.md), or why there was none.
type Answer struct {
	// OK is true when Faultline answered 200 with a JSON object holding root_causes. Anything
	// else (404 while the RCA engine does not exist, another status, a body that is not
	// JSON, a connection error) is "no answer" and scores rank 0.
	OK bool `json:"ok"`
	// Status is the HTTP status, 0 when the request failed before one arrived.
	Status int `json:"status"`
	// Problem says why OK is false: "404 Not Found", "non-JSON body", "connection refused".
	Problem        string      `json:"problem,omitempty"`
	RootCauses     []RootCause `json:"root_causes"`
	Affected       []Affected  `json:"affected,omitempty"`
	Paths          [][]string  `json:"paths,omitempty"`
	ExemplarTraces []string    `json:"exemplar_traces,omitempty"`
}

// Affected is one entry of /api/v1/rca's affected list.
type Affected struct {
	Service string  `json:"service"`
	Impact  float64 `json:"impact"`
}

// Rank is the 1-based position of service in the root causes, compared exactly; 0 when it is
// absent or there was no answer.
func (a Answer) Rank(service string) int {
	if !a.OK || service == "" {
		return 0
	}
	for i, rc := range a.RootCauses {
		if rc.Service == service {
			return i + 1
		}
	}
	return 0
}

// Top returns the first n root-cause services.
func (a Answer) Top(n int) []string {
	out := make([]string, 0, n)
	for _, rc := range a.RootCauses {
		if len(out) == n {
			break
		}
		out = append(out, rc.Service)
	}
	return out
}

// Client asks a Faultline query service for root causes and incidents.
type Client struct {
	BaseURL string // http://127.0.0.1:7070
	Token   string // sent as "Authorization: Bearer TOKEN" when set
	HTTP    *http.Client
}

const maxAnswerBytes = 16 << 20

// RCA asks GET /api/v1/rca?start=&end= (Unix seconds; start rounded down, end up). It never
// fails: every kind of failure is an Answer with OK false and the reason in Problem.
func (c *Client) RCA(ctx context.Context, start, end time.Time) Answer {
	status, body, problem := c.get(ctx, "/api/v1/rca", start, end)
	a := Answer{Status: status, Problem: problem}
	if problem != "" {
		return a
	}
	var w struct {
		RootCauses     []RootCause `json:"root_causes"`
		Affected       []Affected  `json:"affected"`
		Paths          [][]string  `json:"paths"`
		ExemplarTraces []string    `json:"exemplar_traces"`
	}
	if a.Problem = decodeAnswer(body, "root_causes", &w); a.Problem != "" {
		return a
	}
	a.OK = true
	a.RootCauses, a.Affected, a.Paths, a.ExemplarTraces = w.RootCauses, w.Affected, w.Paths, w.ExemplarTraces
	return a
}

// decodeAnswer decodes a JSON object that must hold key into w, and says what is wrong with
// it ("" when nothing).
func decodeAnswer(body []byte, key string, w any) string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "non-JSON body"
	}
	if _, ok := fields[key]; !ok {
		return "no " + key + " in the answer"
	}
	if err := json.Unmarshal(body, w); err != nil {
		return "malformed answer: " + err.Error()
	}
	return ""
}

// Incident is one entry of GET /api/v1/incidents: a cascade Faultline saw, from its start
// to its end (nil while it is ongoing), with its root causes best first.
type Incident struct {
	ID             string      `json:"id"`
	Start          time.Time   `json:"start"`
	End            *time.Time  `json:"end"`
	Ongoing        bool        `json:"ongoing"`
	RootCauses     []RootCause `json:"root_causes"`
	Affected       []Affected  `json:"affected,omitempty"`
	Paths          [][]string  `json:"paths,omitempty"`
	ExemplarTraces []string    `json:"exemplar_traces,omitempty"`
}

// FirstRootCause is the incident's top root-cause service, "" when it names none.
func (i Incident) FirstRootCause() string {
	if len(i.RootCauses) == 0 {
		return ""
	}
	return i.RootCauses[0].Service
}

// IncidentsAnswer is a GET /api/v1/incidents response, or why there was none.
type IncidentsAnswer struct {
	// OK is true when Faultline answered 200 with a JSON object holding incidents; anything
	// else (404 while the endpoint does not exist, another status, a body that is not JSON or
	// not of the documented shape, a connection error) is "no answer".
	OK        bool       `json:"ok"`
	Status    int        `json:"status"`
	Problem   string     `json:"problem,omitempty"`
	Incidents []Incident `json:"incidents"`
}

// Incidents asks GET /api/v1/incidents?start=&end= (Unix seconds; start rounded down, end
// up) for the incidents overlapping [start, end]. Like RCA it never fails: a failure is an
// answer with OK false and the reason in Problem.
func (c *Client) Incidents(ctx context.Context, start, end time.Time) IncidentsAnswer {
	status, body, problem := c.get(ctx, "/api/v1/incidents", start, end)
	a := IncidentsAnswer{Status: status, Problem: problem}
	if problem != "" {
		return a
	}
	var w struct {
		Incidents []Incident `json:"incidents"`
	}
	if a.Problem = decodeAnswer(body, "incidents", &w); a.Problem != "" {
		return a
	}
	a.OK = true
	a.Incidents = w.Incidents
	return a
}

// get asks GET path?start=&end= (Unix seconds; start rounded down, end up) and returns the
// status (0 when none arrived) and the body of a 200 answer, or a problem saying why there
// is no usable body.
func (c *Client) get(ctx context.Context, path string, start, end time.Time) (status int, body []byte, problem string) {
	endSecs := end.Unix()
	if end.After(time.Unix(endSecs, 0)) {
		endSecs++
	}
	q := url.Values{"start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(endSecs, 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path+"?"+q.Encode(), http.NoBody)
	if err != nil {
		return 0, nil, err.Error()
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, requestProblem(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return resp.StatusCode, nil, "reading body: " + requestProblem(err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, body, ""
}

// requestProblem shortens a transport error to its cause ("connection refused").
func requestProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return err.Error()
}
