// Package alerting runs Prometheus's rules manager over the embedded metric store (recording
// and alerting rules, in Prometheus's rule file format) and sends alerts to Alertmanagers
// through Prometheus's notifier (API v2) and, optionally, to a webhook in Alertmanager's
// webhook format. Without rule files it runs the default rule set in defaultrules/ (copied to
// deploy/rules/ as an example). Alerts that belong to an incident of the RCA engine are sent
// with the incident's labels (incident.go), so that Alertmanager pages once per cascade.
package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/strutil"
)

// Tunables that are not flags; Prometheus's defaults.
const (
	resendDelay          = time.Minute // how often a still-firing alert is sent again
	notifierQueueSize    = 10000
	alertmanagerTimeout  = 10 * time.Second
	defaultOutageTolTime = time.Hour
	defaultForGrace      = 10 * time.Minute
)

// Alerting owns the rules manager, the notifier and the webhook sender.
type Alerting struct {
	cfg         Config
	logger      *slog.Logger
	externalURL *url.URL
	amURLs      []*url.URL

	manager   *rules.Manager
	notifier  *notifier.Manager // nil without Alertmanagers
	webhook   *webhookSender    // nil without a webhook URL
	incidents *incidentLabeller

	cancel context.CancelFunc

	mtx      sync.Mutex // serialises Start, Reload and Stop
	started  bool
	stopped  bool
	wg       sync.WaitGroup
	reloadOK prometheus.Gauge
	reloadTS prometheus.Gauge
}

// New validates cfg and builds the rules manager and notifiers; Start runs them. q and engine
// answer the rules' queries, app receives recording rules' results and the ALERTS series.
func New(cfg Config, q storage.Queryable, app storage.Appendable, engine *promql.Engine, logger *slog.Logger, reg prometheus.Registerer) (*Alerting, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if q == nil || app == nil || engine == nil {
		return nil, errors.New("alerting: a queryable, an appendable and a PromQL engine are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	ext, err := parseHTTPURL(cfg.ExternalURL)
	if err != nil {
		return nil, err
	}
	a := &Alerting{cfg: cfg, logger: logger, externalURL: ext}
	a.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "faultline_rules_config_last_reload_successful",
		Help: "Whether the last rule files (re)load succeeded.",
	})
	a.reloadTS = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "faultline_rules_config_last_reload_success_timestamp_seconds",
		Help: "When the rule files were last loaded successfully.",
	})
	reg.MustRegister(a.reloadOK, a.reloadTS)
	a.incidents = newIncidentLabeller(reg)

	if len(cfg.AlertmanagerURLs) > 0 {
		a.notifier = notifier.NewManager(&notifier.Options{
			QueueCapacity:   notifierQueueSize,
			DrainOnShutdown: true,
			Registerer:      reg,
		}, model.UTF8Validation, logger.With("component", "notifier"))
		conf, err := a.notifierConfig()
		if err != nil {
			return nil, err
		}
		if err := a.notifier.ApplyConfig(conf); err != nil {
			return nil, fmt.Errorf("alertmanager config: %w", err)
		}
	}
	if cfg.WebhookURL != "" {
		a.webhook = newWebhookSender(cfg.WebhookURL, ext.String(), logger.With("component", "webhook"), reg)
	}

	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.manager = rules.NewManager(&rules.ManagerOptions{
		ExternalURL:     ext,
		QueryFunc:       rules.EngineQueryFunc(engine, q),
		NotifyFunc:      a.notify,
		Context:         ctx,
		Appendable:      app,
		Queryable:       q,
		Logger:          logger.With("component", "rules"),
		Registerer:      reg,
		OutageTolerance: defaultOutageTolTime,
		ForGracePeriod:  defaultForGrace,
		ResendDelay:     resendDelay,
		GroupLoader:     newGroupLoader(logger.With("component", "rules")),
	})
	return a, nil
}

// notifierConfig turns each Alertmanager URL into one Alertmanager config (scheme, path
// prefix, basic auth), keyed config-N by Prometheus's notifier.
func (a *Alerting) notifierConfig() (*promconfig.Config, error) {
	conf := &promconfig.Config{}
	conf.GlobalConfig.MetricNameValidationScheme = model.UTF8Validation
	for _, s := range a.cfg.AlertmanagerURLs {
		u, err := parseHTTPURL(s)
		if err != nil {
			return nil, fmt.Errorf("alertmanager.url: %w", err)
		}
		amc := promconfig.DefaultAlertmanagerConfig
		amc.Scheme = u.Scheme
		amc.PathPrefix = u.Path
		amc.Timeout = model.Duration(alertmanagerTimeout)
		amc.APIVersion = promconfig.AlertmanagerAPIVersionV2
		if u.User != nil {
			pw, _ := u.User.Password()
			amc.HTTPClientConfig.BasicAuth = &commoncfg.BasicAuth{Username: u.User.Username(), Password: commoncfg.Secret(pw)}
		}
		conf.AlertingConfig.AlertmanagerConfigs = append(conf.AlertingConfig.AlertmanagerConfigs, &amc)
		a.amURLs = append(a.amURLs, &url.URL{
			Scheme: u.Scheme,
			Host:   u.Host,
			Path:   path.Join("/", u.Path, "/api/v2/alerts"),
		})
	}
	return conf, nil
}

// notify is the rules manager's NotifyFunc, like cmd/prometheus's: it hands alerts to the
// notifier's queue and the webhook's queue, neither of which blocks. Alerts that belong to an
// incident (SetIncidentOf) go out as copies carrying the incident's labels.
func (a *Alerting) notify(_ context.Context, expr string, alerts ...*rules.Alert) {
	if len(alerts) == 0 {
		return
	}
	alerts = a.incidents.label(alerts)
	if a.notifier != nil {
		rules.SendAlerts(a.notifier, a.externalURL.String())(context.Background(), expr, alerts...)
	}
	if a.webhook != nil {
		a.webhook.enqueue(expr, alerts)
	}
}

func generatorURL(externalURL, expr string) string {
	return externalURL + strutil.TableLinkForExpression(expr)
}

// Start loads the rules and starts the notifier, the webhook sender and the rules manager.
// Invalid rule files are an error naming the file.
func (a *Alerting) Start(_ context.Context) error {
	a.mtx.Lock()
	defer a.mtx.Unlock()
	if a.stopped {
		return errors.New("alerting: stopped")
	}
	if a.started {
		return errors.New("alerting: already started")
	}
	if err := a.loadLocked(); err != nil {
		return err
	}
	a.started = true
	if a.notifier != nil {
		tsets := make(chan map[string][]*targetgroup.Group, 1)
		tgs := map[string][]*targetgroup.Group{}
		for i, u := range a.amURLs {
			key := "config-" + strconv.Itoa(i)
			tgs[key] = []*targetgroup.Group{{
				Source:  key,
				Targets: []model.LabelSet{{model.AddressLabel: model.LabelValue(u.Host)}},
			}}
		}
		tsets <- tgs
		close(tsets) // static targets: Run keeps going until Stop
		a.wg.Go(func() { a.notifier.Run(tsets) })
	}
	if a.webhook != nil {
		a.webhook.start()
	}
	a.wg.Go(a.manager.Run)
	return nil
}

// Reload re-reads the rule files (on SIGHUP). If any is invalid, the running rules stay as
// they are and the error names the file.
func (a *Alerting) Reload() error {
	a.mtx.Lock()
	defer a.mtx.Unlock()
	if a.stopped {
		return errors.New("alerting: stopped")
	}
	return a.loadLocked()
}

func (a *Alerting) loadLocked() error {
	files, err := a.cfg.ruleFiles()
	if err == nil {
		// Check first: Manager.Update only logs which file was bad.
		err = checkRuleFiles(files)
	}
	if err == nil {
		err = a.manager.Update(a.cfg.EvaluationInterval, files, labels.EmptyLabels(), a.externalURL.String(), nil)
	}
	if err != nil {
		a.reloadOK.Set(0)
		return fmt.Errorf("loading rules: %w", err)
	}
	if len(files) == 0 {
		a.logger.Warn("no rule files loaded", "patterns", a.cfg.RuleFiles)
	}
	a.reloadOK.Set(1)
	a.reloadTS.SetToCurrentTime()
	a.logger.Info("rules loaded", "files", len(files), "groups", len(a.manager.RuleGroups()))
	return nil
}

// Stop stops rule evaluation, then the notifier (sending what is queued), then the webhook.
// Rules stop first, so that nothing is handed to a stopped notifier. Safe without Start and
// more than once.
func (a *Alerting) Stop() {
	a.mtx.Lock()
	defer a.mtx.Unlock()
	if a.stopped {
		return
	}
	a.stopped = true
	if a.started {
		a.manager.Stop()
	}
	a.cancel()
	if a.notifier != nil {
		a.notifier.Stop()
	}
	a.wg.Wait()
	if a.webhook != nil {
		a.webhook.stop(a.started)
	}
}

// Manager is the rules manager, for the Prometheus API's /rules and /alerts.
func (a *Alerting) Manager() *rules.Manager { return a.manager }

// Alertmanagers are the Alertmanager endpoints alerts are posted to.
func (a *Alerting) Alertmanagers() []*url.URL {
	out := make([]*url.URL, len(a.amURLs))
	for i, u := range a.amURLs {
		c := *u
		out[i] = &c
	}
	return out
}
