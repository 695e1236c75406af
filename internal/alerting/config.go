package alerting

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Config is the rules manager's and the notifiers' configuration.
type Config struct {
	// RuleFiles are globs of Prometheus rule files. Empty means the embedded default rule set
	// (a copy of it is in deploy/rules/), unless DisableDefaultRules is set.
	RuleFiles []string `yaml:"rule_files"`
	// EvaluationInterval is how often rule groups without their own interval are evaluated.
	EvaluationInterval time.Duration `yaml:"evaluation_interval"`
	// AlertmanagerURLs are the Alertmanagers alerts are sent to (API v2), e.g.
	// http://127.0.0.1:9093; a path is a prefix (http://host/am), user:password@ is basic auth.
	AlertmanagerURLs []string `yaml:"alertmanager_urls"`
	// WebhookURL, if set, receives firing and resolved alerts as Alertmanager-webhook JSON.
	WebhookURL string `yaml:"webhook_url"`
	// ExternalURL is Faultline's URL as users reach it; alerts' generator URLs point there.
	ExternalURL string `yaml:"external_url"`
	// DisableDefaultRules turns the embedded default rules off when RuleFiles is empty.
	DisableDefaultRules bool `yaml:"disable_default_rules"`
}

// RegisterFlags registers the alerting flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.RuleFiles = nil
	f.Func("rules.files",
		"Prometheus rule files, as globs (comma-separated or repeated). Empty: the embedded default rules (see deploy/rules/).",
		func(s string) error { c.RuleFiles = appendCSV(c.RuleFiles, s); return nil })
	f.DurationVar(&c.EvaluationInterval, "rules.evaluation-interval", 15*time.Second,
		"How often rule groups without their own interval are evaluated.")
	c.AlertmanagerURLs = nil
	f.Func("alertmanager.url",
		"Alertmanager to send alerts to, e.g. http://127.0.0.1:9093 (comma-separated or repeated).",
		func(s string) error { c.AlertmanagerURLs = appendCSV(c.AlertmanagerURLs, s); return nil })
	f.StringVar(&c.WebhookURL, "alerting.webhook-url", "",
		"If set, firing and resolved alerts are POSTed here as Alertmanager-webhook JSON.")
	f.StringVar(&c.ExternalURL, "alerting.external-url", "http://localhost:7070",
		"Faultline's URL as users reach it, for the generator URLs in alerts.")
	f.BoolVar(&c.DisableDefaultRules, "rules.disable-defaults", false,
		"Do not load the embedded default rules when -rules.files is empty.")
}

func appendCSV(dst []string, s string) []string {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			dst = append(dst, p)
		}
	}
	return dst
}

// Validate reports invalid settings, naming them. Like promtool check rules, it also loads the
// rule files, so that an error names the file, group and rule.
func (c *Config) Validate() error {
	var errs []error
	if c.EvaluationInterval <= 0 {
		errs = append(errs, errors.New("rules.evaluation_interval must be positive"))
	}
	for _, pat := range c.RuleFiles {
		if _, err := filepath.Glob(pat); err != nil {
			errs = append(errs, fmt.Errorf("rules.files: pattern %q: %w", pat, err))
		}
	}
	for _, u := range c.AlertmanagerURLs {
		if _, err := parseHTTPURL(u); err != nil {
			errs = append(errs, fmt.Errorf("alertmanager.url: %w", err))
		}
	}
	if c.WebhookURL != "" {
		if _, err := parseHTTPURL(c.WebhookURL); err != nil {
			errs = append(errs, fmt.Errorf("alerting.webhook_url: %w", err))
		}
	}
	if _, err := parseHTTPURL(c.ExternalURL); err != nil {
		errs = append(errs, fmt.Errorf("alerting.external_url: %w", err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	files, err := c.ruleFiles()
	if err != nil {
		return err
	}
	if err := checkRuleFiles(files); err != nil {
		return err
	}
	return nil
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", s)
	}
	return u, nil
}

// ruleFiles resolves the rule file globs (sorted, deduplicated), or names the embedded
// defaults.
func (c *Config) ruleFiles() ([]string, error) {
	if len(c.RuleFiles) == 0 {
		if c.DisableDefaultRules {
			return nil, nil
		}
		return defaultRuleFiles()
	}
	seen := map[string]bool{}
	var files []string
	for _, pat := range c.RuleFiles {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("rules.files: pattern %q: %w", pat, err)
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
		}
	}
	return files, nil
}
