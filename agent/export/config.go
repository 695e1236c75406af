package export

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Config says where and how the agent sends its data.
//
// The connection is plaintext unless TLS is asked for, like the collector's receiver, which
// serves plaintext until it is given a certificate. TLS is on with -collector.tls, and also
// whenever a CA file, a server name or skip-verify is given, since those mean nothing
// without it; with TLS on and no CA file the system's roots verify the collector.
type Config struct {
	Endpoint           string        `yaml:"endpoint"`
	TLS                bool          `yaml:"tls"`
	CAFile             string        `yaml:"tls_ca_file"`
	ServerName         string        `yaml:"tls_server_name"`
	InsecureSkipVerify bool          `yaml:"tls_insecure_skip_verify"`
	Token              string        `yaml:"auth_token"`
	Timeout            time.Duration `yaml:"timeout"`
	Compression        string        `yaml:"compression"`
	InitialBackoff     time.Duration `yaml:"retry_initial_backoff"`
	MaxBackoff         time.Duration `yaml:"retry_max_backoff"`
	// MaxAttempts bounds the attempts for errors that may or may not go away (Internal,
	// Unknown, ResourceExhausted without RetryInfo, ...); then the entry is dropped.
	MaxAttempts int `yaml:"retry_max_attempts"`
}

// RegisterFlags registers the collector connection's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Endpoint, "collector.endpoint", "localhost:4317", "host:port of the Faultline collector's OTLP/gRPC receiver.")
	f.BoolVar(&c.TLS, "collector.tls", false, "Connect with TLS (implied by the other -collector.tls-* flags); otherwise plaintext.")
	f.StringVar(&c.CAFile, "collector.tls-ca-file", "", "PEM file of the CA that signed the collector's certificate; empty means the system's roots. Implies -collector.tls.")
	f.StringVar(&c.ServerName, "collector.tls-server-name", "", "Name to verify the collector's certificate against, if not the endpoint's host. Implies -collector.tls.")
	f.BoolVar(&c.InsecureSkipVerify, "collector.tls-insecure-skip-verify", false, "Do not verify the collector's certificate (testing only). Implies -collector.tls.")
	f.StringVar(&c.Token, "collector.auth-token", "", "Sent as 'authorization: Bearer TOKEN' with every export, for a collector started with -otlp.auth-token.")
	f.DurationVar(&c.Timeout, "collector.timeout", 10*time.Second, "Deadline of one export attempt.")
	f.StringVar(&c.Compression, "collector.compression", "snappy", "Compression of export requests: snappy (cheapest on CPU; every OpenTelemetry Collector receiver takes it), gzip (smallest) or none.")
	f.DurationVar(&c.InitialBackoff, "collector.retry.initial-backoff", 500*time.Millisecond, "Wait before the first retry of a failed export; it grows (with jitter) up to -collector.retry.max-backoff. A RetryInfo delay from the collector takes precedence.")
	f.DurationVar(&c.MaxBackoff, "collector.retry.max-backoff", 30*time.Second, "Longest wait between export retries (also the wait while the collector rejects the auth token).")
	f.IntVar(&c.MaxAttempts, "collector.retry.max-attempts", 10, "Attempts at an entry refused with an error that may be permanent (Internal, Unknown, DataLoss, FailedPrecondition, ResourceExhausted without RetryInfo) before it is dropped. Unavailable and the like are retried without limit.")
}

func (c *Config) useTLS() bool {
	return c.TLS || c.CAFile != "" || c.ServerName != "" || c.InsecureSkipVerify
}

// Validate reports invalid settings, naming them.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("collector.endpoint %q must be host:port: %w", c.Endpoint, err))
	}
	for _, r := range c.Token {
		if r <= ' ' || r > '~' {
			// gRPC refuses such metadata on every call; better to say so at startup.
			errs = append(errs, errors.New("collector.auth_token must be printable ASCII without spaces"))
			break
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("collector.timeout must be positive, got %s", c.Timeout))
	}
	if c.Compression != "snappy" && c.Compression != "gzip" && c.Compression != "none" {
		errs = append(errs, fmt.Errorf("collector.compression must be snappy, gzip or none, got %q", c.Compression))
	}
	if c.InitialBackoff <= 0 {
		errs = append(errs, fmt.Errorf("collector.retry.initial_backoff must be positive, got %s", c.InitialBackoff))
	}
	if c.MaxBackoff < c.InitialBackoff {
		errs = append(errs, fmt.Errorf("collector.retry.max_backoff (%s) must be at least the initial backoff (%s)", c.MaxBackoff, c.InitialBackoff))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("collector.retry.max_attempts must be at least 1, got %d", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// LogValue keeps the token out of logs when the configuration is logged.
func (c Config) LogValue() slog.Value {
	token := ""
	if c.Token != "" {
		token = "<redacted>"
	}
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint),
		slog.Bool("tls", c.useTLS()),
		slog.String("tls_ca_file", c.CAFile),
		slog.String("auth_token", token),
		slog.Duration("timeout", c.Timeout),
		slog.String("compression", c.Compression),
	)
}

// transportCredentials builds the connection's security from the settings.
func (c *Config) transportCredentials() (credentials.TransportCredentials, error) {
	if !c.useTLS() {
		return insecure.NewCredentials(), nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // the operator asked for it, for testing
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read collector.tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("collector.tls-ca-file %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return credentials.NewTLS(tc), nil
}
