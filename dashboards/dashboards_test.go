package dashboards

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/metricstore"
)

// ownMetrics are the metrics Faultline exposes about itself on /metrics (and the Prometheus
// rules manager's and notifier's, which run inside it) that the dashboards use.
var ownMetrics = []string{
	"faultline_spans_received_total",
	"faultline_spans_stored_total",
	"faultline_spans_refused_total",
	"faultline_ingest_queue_spans",
	"faultline_ingest_queue_capacity_spans",
	"faultline_logs_received_total",
	"faultline_logs_stored_total",
	"faultline_logs_refused_total",
	"faultline_metric_points_received_total",
	"faultline_metric_points_stored_total",
	"faultline_metric_points_refused_total",
	"faultline_spanstore_write_duration_seconds_bucket",
	"faultline_spanstore_disk_bytes",
	"faultline_metricstore_disk_bytes",
	"faultline_servicegraph_series",
	"faultline_servicegraph_pending_spans",
	"faultline_servicegraph_dropped_series_total",
	"faultline_query_request_duration_seconds_bucket",
	"faultline_query_requests_total",
	"faultline_prometheus_api_request_duration_seconds_bucket",
	"faultline_alerting_webhook_sent_total",
	"faultline_alerting_webhook_failed_total",
	"faultline_alerting_webhook_dropped_total",
	"faultline_rules_config_last_reload_successful",
	"prometheus_notifications_sent_total",
	"prometheus_notifications_errors_total",
	"prometheus_notifications_dropped_total",
	"prometheus_rule_evaluation_failures_total",
	"prometheus_rule_group_last_duration_seconds",
}

// hostMetrics are the series faultline-agent's hostmetrics collectors send (the OpenTelemetry
// host-metrics conventions, as the collector-contrib hostmetrics receiver names them), under
// the names Faultline's OTLP translation gives them: system.cpu.utilization (unit 1) becomes
// system_cpu_utilization_ratio, system.disk.io (By, a counter) system_disk_io_bytes_total, and
// so on; units in braces such as {inodes} are dropped. Every series carries host_name.
var hostMetrics = []string{
	"system_cpu_time_seconds_total",
	"system_cpu_utilization_ratio",
	"system_cpu_load_average_1m_ratio",
	"system_cpu_load_average_5m_ratio",
	"system_cpu_load_average_15m_ratio",
	"system_memory_usage_bytes",
	"system_memory_utilization_ratio",
	"system_paging_usage_bytes",
	"system_filesystem_usage_bytes",
	"system_filesystem_utilization_ratio",
	"system_filesystem_inodes_usage",
	"system_disk_io_bytes_total",
	"system_disk_operations_total",
	"system_disk_io_time_seconds_total",
	"system_network_io_bytes_total",
	"system_network_errors_total",
	"system_network_dropped_total",
	"system_network_packets_total",
	"process_cpu_utilization_ratio",
	"process_memory_usage_bytes",
}

// recordedMetrics are the series the embedded default rules record
// (internal/alerting/defaultrules), read from the rules themselves so a renamed rule fails here.
func recordedMetrics(t *testing.T) []string {
	t.Helper()
	files, err := alerting.DefaultRules()
	require.NoError(t, err)
	require.NotEmpty(t, files)
	p := parser.NewParser(parser.Options{})
	var names []string
	for name, b := range files {
		groups, errs := rulefmt.Parse(b, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
		require.Empty(t, errs, "default rules %s", name)
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					names = append(names, r.Record)
				}
			}
		}
	}
	return names
}

func knownMetrics(t *testing.T) map[string]bool {
	known := map[string]bool{}
	for _, n := range []string{metricstore.ServiceRequests, metricstore.ServiceErrors, metricstore.EdgeRequests, metricstore.EdgeErrors} {
		known[n] = true
	}
	for _, h := range []string{metricstore.ServiceDuration, metricstore.EdgeDuration} {
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			known[h+s] = true
		}
	}
	for _, n := range ownMetrics {
		known[n] = true
	}
	for _, n := range hostMetrics {
		known[n] = true
	}
	for _, n := range recordedMetrics(t) {
		known[n] = true
	}
	return known
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Panels     []panel     `json:"panels"` // collapsed rows
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
}

// grafanaVar matches $var, ${var} and ${var:format}; they are replaced by PromQL-valid values
// before parsing, as Grafana would.
var grafanaVar = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range|\w+)(?::\w+)?\}?`)

func expand(expr string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		if strings.Contains(m, "__") {
			return "5m"
		}
		return "value"
	})
}

// pickedBy names, per dashboard, the label every selector must match with a variable, so
// that the dashboard's picker (host) applies to every panel.
var pickedBy = map[string]string{"faultline-hosts.json": "host_name"}

var labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*,\s*(\w+)\s*\)$`)

func TestDashboards(t *testing.T) {
	files, err := filepath.Glob("*.json")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"faultline-hosts.json", "faultline-red.json", "faultline-service-graph.json", "faultline-self.json"}, files)
	known := knownMetrics(t)
	p := parser.NewParser(parser.Options{})
	uids := map[string]bool{}

	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			dec := json.NewDecoder(strings.NewReader(string(b)))
			var d dashboard
			require.NoError(t, dec.Decode(&d), "%s is not valid JSON", f)
			require.NotEmpty(t, d.UID)
			require.False(t, uids[d.UID], "duplicate uid %s", d.UID)
			uids[d.UID] = true
			require.NotEmpty(t, d.Title)
			require.GreaterOrEqual(t, d.SchemaVersion, 36)

			checkDS := func(ds *datasource, where string) {
				require.NotNil(t, ds, "%s: no datasource", where)
				require.Equal(t, datasource{Type: "prometheus", UID: "${DS_PROMETHEUS}"}, *ds, where)
			}
			checkMetric := func(name, where string) {
				require.True(t, known[name], "%s: metric %q is not in internal/metricstore/names.go, ownMetrics, hostMetrics or the default recording rules", where, name)
			}

			hasDS := false
			for _, v := range d.Templating.List {
				switch v.Type {
				case "datasource":
					hasDS = v.Name == "DS_PROMETHEUS"
				case "query":
					checkDS(v.Datasource, "variable "+v.Name)
					m := labelValues.FindStringSubmatch(v.Definition)
					require.NotNil(t, m, "variable %s: want label_values(metric, label), got %q", v.Name, v.Definition)
					checkMetric(m[1], "variable "+v.Name)
				}
			}
			require.True(t, hasDS, "a datasource variable DS_PROMETHEUS of type prometheus is required")

			ids := map[int]bool{}
			var walk func(ps []panel)
			exprs := 0
			walk = func(ps []panel) {
				for _, pn := range ps {
					require.False(t, ids[pn.ID], "duplicate panel id %d", pn.ID)
					ids[pn.ID] = true
					walk(pn.Panels)
					if pn.Type == "row" {
						continue
					}
					where := f + ": panel " + pn.Title
					checkDS(pn.Datasource, where)
					require.NotEmpty(t, pn.Targets, where)
					for _, tg := range pn.Targets {
						checkDS(tg.Datasource, where)
						expr, err := p.ParseExpr(expand(tg.Expr))
						require.NoError(t, err, "%s, query %s: %s", where, tg.RefID, tg.Expr)
						exprs++
						parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
							if vs, ok := n.(*parser.VectorSelector); ok {
								require.NotEmpty(t, vs.Name, "%s: selector without a metric name", where)
								checkMetric(vs.Name, where)
								if label := pickedBy[f]; label != "" {
									require.True(t, slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool {
										return m.Name == label && m.Type == labels.MatchRegexp && m.Value == "value"
									}), "%s: %s does not match %s=~\"$variable\"", where, vs, label)
								}
							}
							return nil
						})
					}
				}
			}
			walk(d.Panels)
			require.NotZero(t, exprs)
		})
	}
}
