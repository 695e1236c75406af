package promapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/tsdb"
	v1 "github.com/prometheus/prometheus/web/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// base is the time of the first test sample; samples follow every 15s for 10 minutes.
var base = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

const (
	sampleStep  = 15 * time.Second
	sampleCount = 41
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openDB opens a real TSDB and appends two counter series, http_requests_total{job="api"} and
// {job="web"}, rising by 1 and 2 per 15s from base, plus a gauge temperature{room="lab"}.
func openDB(t *testing.T) *tsdb.DB {
	t.Helper()
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = 0
	db, err := tsdb.Open(t.TempDir(), discardLogger(), nil, opts, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	app := db.Appender(context.Background())
	api := labels.FromStrings("__name__", "http_requests_total", "job", "api")
	web := labels.FromStrings("__name__", "http_requests_total", "job", "web")
	temp := labels.FromStrings("__name__", "temperature", "room", "lab")
	for i := range sampleCount {
		ts := base.Add(time.Duration(i) * sampleStep).UnixMilli()
		_, err := app.Append(0, api, ts, float64(i))
		require.NoError(t, err)
		_, err = app.Append(0, web, ts, float64(2*i))
		require.NoError(t, err)
		_, err = app.Append(0, temp, ts, 21.5)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	return db
}

func newEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		Logger:        discardLogger(),
		MaxSamples:    1e6,
		Timeout:       time.Minute,
		LookbackDelta: 5 * time.Minute,
	})
}

type fixture struct {
	srv *httptest.Server
	reg *prometheus.Registry
}

func newFixture(t *testing.T, mutate func(*Deps)) fixture {
	t.Helper()
	db := openDB(t)
	reg := prometheus.NewRegistry()
	d := Deps{
		Engine:     newEngine(),
		Queryable:  db,
		DB:         db,
		DataDir:    db.Dir(),
		Logger:     discardLogger(),
		Registerer: reg,
		Gatherer:   reg,
	}
	if mutate != nil {
		mutate(&d)
	}
	a, err := New(d)
	require.NoError(t, err)
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return fixture{srv: srv, reg: reg}
}

// promResponse is the envelope of every Prometheus API answer.
type promResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func (f fixture) get(t *testing.T, path string, params url.Values) (int, promResponse) {
	t.Helper()
	u := f.srv.URL + Prefix + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	resp, err := http.Get(u)
	require.NoError(t, err)
	return decode(t, resp)
}

func (f fixture) post(t *testing.T, path string, params url.Values) (int, promResponse) {
	t.Helper()
	resp, err := http.Post(f.srv.URL+Prefix+path, "application/x-www-form-urlencoded", strings.NewReader(params.Encode()))
	require.NoError(t, err)
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, promResponse) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var pr promResponse
	require.NoError(t, json.Unmarshal(body, &pr), "body: %s", body)
	return resp.StatusCode, pr
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// call runs one request with GET or POST.
func (f fixture) call(t *testing.T, method, path string, params url.Values) (int, promResponse) {
	if method == http.MethodPost {
		return f.post(t, path, params)
	}
	return f.get(t, path, params)
}

func TestQueryEndpoints(t *testing.T) {
	f := newFixture(t, nil)
	end := base.Add(10 * time.Minute)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			t.Run("query", func(t *testing.T) {
				code, pr := f.call(t, method, "/query", url.Values{
					"query": {`sum by (job) (increase(http_requests_total[5m]))`},
					"time":  {unix(end)},
				})
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, "success", pr.Status)
				var data struct {
					ResultType string `json:"resultType"`
					Result     []struct {
						Metric map[string]string `json:"metric"`
						Value  [2]any            `json:"value"`
					} `json:"result"`
				}
				require.NoError(t, json.Unmarshal(pr.Data, &data))
				assert.Equal(t, "vector", data.ResultType)
				require.Len(t, data.Result, 2)
				got := map[string]string{}
				for _, r := range data.Result {
					assert.InDelta(t, float64(end.Unix()), r.Value[0], 0)
					got[r.Metric["job"]] = r.Value[1].(string)
				}
				// 20 increments of 1 (api) and 2 (web) over 5m at 15s: exactly 20 and 40.
				assert.Equal(t, map[string]string{"api": "20", "web": "40"}, got)
			})

			t.Run("query_range", func(t *testing.T) {
				code, pr := f.call(t, method, "/query_range", url.Values{
					"query": {`http_requests_total{job="api"}`},
					"start": {unix(base)},
					"end":   {unix(base.Add(time.Minute))},
					"step":  {"30s"},
				})
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, "success", pr.Status)
				var data struct {
					ResultType string `json:"resultType"`
					Result     []struct {
						Metric map[string]string `json:"metric"`
						Values [][2]any          `json:"values"`
					} `json:"result"`
				}
				require.NoError(t, json.Unmarshal(pr.Data, &data))
				assert.Equal(t, "matrix", data.ResultType)
				require.Len(t, data.Result, 1)
				assert.Equal(t, map[string]string{"__name__": "http_requests_total", "job": "api"}, data.Result[0].Metric)
				var values []string
				for _, v := range data.Result[0].Values {
					values = append(values, v[1].(string))
				}
				assert.Equal(t, []string{"0", "2", "4"}, values)
			})

			t.Run("series", func(t *testing.T) {
				code, pr := f.call(t, method, "/series", url.Values{
					"match[]": {`http_requests_total`},
					"start":   {unix(base)},
					"end":     {unix(end)},
				})
				require.Equal(t, http.StatusOK, code)
				var data []map[string]string
				require.NoError(t, json.Unmarshal(pr.Data, &data))
				assert.Equal(t, []map[string]string{
					{"__name__": "http_requests_total", "job": "api"},
					{"__name__": "http_requests_total", "job": "web"},
				}, data)
			})

			t.Run("labels", func(t *testing.T) {
				code, pr := f.call(t, method, "/labels", url.Values{})
				require.Equal(t, http.StatusOK, code)
				var data []string
				require.NoError(t, json.Unmarshal(pr.Data, &data))
				assert.Equal(t, []string{"__name__", "job", "room"}, data)
			})

			t.Run("bad query", func(t *testing.T) {
				code, pr := f.call(t, method, "/query", url.Values{"query": {`sum(`}})
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, "error", pr.Status)
				assert.Equal(t, "bad_data", pr.ErrorType)
				assert.NotEmpty(t, pr.Error)
			})

			t.Run("bad range step", func(t *testing.T) {
				code, pr := f.call(t, method, "/query_range", url.Values{
					"query": {`up`}, "start": {unix(end)}, "end": {unix(base)}, "step": {"15s"},
				})
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, "bad_data", pr.ErrorType)
			})
		})
	}
}

func TestLabelValues(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name string
		want []string
	}{
		{"__name__", []string{"http_requests_total", "temperature"}},
		{"job", []string{"api", "web"}},
		{"nothing", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, pr := f.get(t, "/label/"+tt.name+"/values", nil)
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, "success", pr.Status)
			var data []string
			require.NoError(t, json.Unmarshal(pr.Data, &data))
			assert.Equal(t, tt.want, data)
		})
	}
}

func TestRulesAndAlertsWithoutRulesManager(t *testing.T) {
	for name, rr := range map[string]func(context.Context) v1.RulesRetriever{
		"nil func":   nil,
		"nil answer": func(context.Context) v1.RulesRetriever { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(d *Deps) { d.Rules = rr })

			code, pr := f.get(t, "/rules", nil)
			require.Equal(t, http.StatusOK, code)
			assert.JSONEq(t, `{"groups":[]}`, string(pr.Data))

			code, pr = f.get(t, "/alerts", nil)
			require.Equal(t, http.StatusOK, code)
			assert.JSONEq(t, `{"alerts":[]}`, string(pr.Data))
		})
	}
}

type fakeRules struct{ group *rules.Group }

func (f fakeRules) RuleGroups() []*rules.Group { return []*rules.Group{f.group} }
func (f fakeRules) AlertingRules() []*rules.AlertingRule {
	var out []*rules.AlertingRule
	for _, r := range f.group.Rules() {
		if ar, ok := r.(*rules.AlertingRule); ok {
			out = append(out, ar)
		}
	}
	return out
}

func TestRulesFromRetriever(t *testing.T) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(`rate(http_requests_total[5m]) > 100`)
	require.NoError(t, err)
	rule := rules.NewAlertingRule("HighTraffic", expr, time.Minute, 0,
		labels.FromStrings("severity", "page"), labels.EmptyLabels(), labels.EmptyLabels(), "", false, discardLogger())
	group := rules.NewGroup(rules.GroupOptions{
		Name: "faultline", File: "rules.yaml", Interval: time.Minute, Rules: []rules.Rule{rule},
		Opts: &rules.ManagerOptions{Registerer: prometheus.NewRegistry()},
	})
	f := newFixture(t, func(d *Deps) {
		d.Rules = func(context.Context) v1.RulesRetriever { return fakeRules{group: group} }
	})

	code, pr := f.get(t, "/rules", url.Values{"type": {"alert"}})
	require.Equal(t, http.StatusOK, code)
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name  string            `json:"name"`
				Type  string            `json:"type"`
				Query string            `json:"query"`
				State string            `json:"state"`
				Label map[string]string `json:"labels"`
			} `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, json.Unmarshal(pr.Data, &data))
	require.Len(t, data.Groups, 1)
	assert.Equal(t, "faultline", data.Groups[0].Name)
	require.Len(t, data.Groups[0].Rules, 1)
	r := data.Groups[0].Rules[0]
	assert.Equal(t, "HighTraffic", r.Name)
	assert.Equal(t, "alerting", r.Type)
	assert.Equal(t, rule.State().String(), r.State) // never evaluated
	assert.Equal(t, map[string]string{"severity": "page"}, r.Label)
}

func TestStatusAndMetadata(t *testing.T) {
	am, err := url.Parse("http://alertmanager:9093/api/v2/alerts")
	require.NoError(t, err)
	f := newFixture(t, func(d *Deps) { d.Alertmanagers = func() []*url.URL { return []*url.URL{am} } })

	t.Run("buildinfo", func(t *testing.T) {
		code, pr := f.get(t, "/status/buildinfo", nil)
		require.Equal(t, http.StatusOK, code)
		var data v1.PrometheusVersion
		require.NoError(t, json.Unmarshal(pr.Data, &data))
		// A real binary reports the linked library (v0.315.0: "3.15.0"); test binaries carry no
		// dependency list, so they report the fallback.
		assert.True(t, strings.HasPrefix(data.Version, "3."), data.Version)
		assert.Equal(t, "faultline", data.Branch)
		assert.NotEmpty(t, data.GoVersion)
	})
	t.Run("metadata", func(t *testing.T) {
		code, pr := f.get(t, "/metadata", nil)
		require.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{}`, string(pr.Data))
	})
	t.Run("targets", func(t *testing.T) {
		code, pr := f.get(t, "/targets", nil)
		require.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}`, string(pr.Data))
	})
	t.Run("alertmanagers", func(t *testing.T) {
		code, pr := f.get(t, "/alertmanagers", nil)
		require.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{"activeAlertmanagers":[{"url":"http://alertmanager:9093/api/v2/alerts"}],"droppedAlertmanagers":[]}`, string(pr.Data))
	})
	t.Run("tsdb", func(t *testing.T) {
		code, pr := f.get(t, "/status/tsdb", nil)
		require.Equal(t, http.StatusOK, code)
		var data v1.TSDBStatus
		require.NoError(t, json.Unmarshal(pr.Data, &data))
		assert.Equal(t, uint64(3), data.HeadStats.NumSeries)
	})
	t.Run("runtimeinfo", func(t *testing.T) {
		code, pr := f.get(t, "/status/runtimeinfo", nil)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "success", pr.Status)
	})
	t.Run("exemplars", func(t *testing.T) {
		code, pr := f.get(t, "/query_exemplars", url.Values{"query": {"http_requests_total"}, "start": {unix(base)}, "end": {unix(base.Add(time.Minute))}})
		require.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `[]`, string(pr.Data))
	})
	t.Run("admin off", func(t *testing.T) {
		code, pr := f.post(t, "/admin/tsdb/snapshot", nil)
		assert.Equal(t, http.StatusInternalServerError, code) // as Prometheus answers
		assert.Equal(t, "unavailable", pr.ErrorType)
		assert.Equal(t, "admin APIs disabled", pr.Error)
	})
	t.Run("remote write off", func(t *testing.T) {
		resp, err := http.Post(f.srv.URL+Prefix+"/write", "application/x-protobuf", strings.NewReader(""))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("metrics", func(t *testing.T) {
		mfs, err := f.reg.Gather()
		require.NoError(t, err)
		var names []string
		for _, mf := range mfs {
			names = append(names, mf.GetName())
		}
		assert.Contains(t, names, "faultline_prometheus_api_request_duration_seconds")
	})
}

func TestWithoutDB(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.DB = nil; d.Registerer = nil; d.Gatherer = nil })

	code, pr := f.get(t, "/status/tsdb", nil)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "error", pr.Status)

	code, pr = f.get(t, "/query_exemplars", url.Values{"query": {"http_requests_total"}})
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `[]`, string(pr.Data))

	code, _ = f.get(t, "/query", url.Values{"query": {"1+1"}})
	assert.Equal(t, http.StatusOK, code)
}

func TestNewRequiresEngine(t *testing.T) {
	_, err := New(Deps{})
	require.ErrorIs(t, err, ErrNoQueryEngine)
}

func TestNotFoundUnderPrefix(t *testing.T) {
	f := newFixture(t, nil)
	resp, err := http.Get(f.srv.URL + Prefix + "/no_such_endpoint")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestPrometheusVersion(t *testing.T) {
	tests := []struct {
		mod, want string
		ok        bool
	}{
		{"v0.315.0", "3.15.0", true},
		{"v0.300.1", "3.0.1", true},
		{"v0.54.1", "", false},
		{"v2.0.0", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := prometheusVersion(tt.mod)
		assert.Equal(t, tt.ok, ok, tt.mod)
		assert.Equal(t, tt.want, got, tt.mod)
	}
}
