package alerting

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

// startAlertmanager runs a real Alertmanager (Debian's prometheus-alertmanager) on a free
// 127.0.0.1 port with a temporary storage path and clustering off, and returns its URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	return startAlertmanagerWithConfig(t, `route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
`)
}

// startAlertmanagerWithConfig is startAlertmanager with the given configuration file content.
// Alertmanager refuses to start on an invalid one.
func startAlertmanagerWithConfig(t *testing.T, config string) string {
	t.Helper()
	requireInstalled(t, alertmanagerBin)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(config), 0o600))
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(alertmanagerBin,
		"--config.file="+cfgFile,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--log.level=warn",
	)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", out.String())
		}
	})
	url := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "alertmanager did not become ready")
	return url
}

// requireInstalled fails the test when an Alertmanager program is missing.
func requireInstalled(t *testing.T, bin string) {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing (%v): `make test` installs it (apt-get install -y prometheus-alertmanager); "+
			"install it yourself to run this test alone", bin, err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// amAlert is the part of Alertmanager's API v2 gettableAlert the test looks at.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Fingerprint string            `json:"fingerprint"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State       string   `json:"state"` // active, suppressed or unprocessed
		InhibitedBy []string `json:"inhibitedBy"`
		SilencedBy  []string `json:"silencedBy"`
	} `json:"status"`
}

func getAMAlerts(t *testing.T, base, name string) []amAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?filter=" + fmt.Sprintf("alertname=%q", name))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var alerts []amAlert
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&alerts))
	return alerts
}

// (c) The alert reaches a real Alertmanager firing (API v2), and is resolved there when the
// errors stop.
func TestAlertmanager(t *testing.T) {
	am := startAlertmanager(t)
	e := newEnv(t)
	cfg := defaultConfig()
	cfg.RuleFiles = []string{writeRules(t, testRules)}
	cfg.EvaluationInterval = 200 * time.Millisecond
	cfg.AlertmanagerURLs = []string{am}
	a := e.start(t, cfg, prometheus.NewRegistry())
	require.Equal(t, am+"/api/v2/alerts", a.Alertmanagers()[0].String())

	const name = "TestServiceErrorRate"
	require.Eventually(t, func() bool {
		for _, al := range getAMAlerts(t, am, name) {
			if al.Status.State == "active" && al.Labels["service"] == "checkout" && al.Labels["severity"] == "page" &&
				al.EndsAt.After(time.Now()) {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "the alert should arrive firing in Alertmanager")

	e.setFailing(false)
	require.Eventually(t, func() bool {
		for _, al := range getAMAlerts(t, am, name) {
			// Alertmanager leaves resolved alerts out of its API, or shows them ended.
			if al.EndsAt.After(time.Now()) {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "the alert should be resolved in Alertmanager")
}
