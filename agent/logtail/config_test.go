package logtail

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestConfigFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.NoError(t, c.Validate(), "the defaults are valid, with nothing included")
	assert.Equal(t, StartAtBeginning, c.StartAt)
	assert.Equal(t, time.Second, c.PollInterval)
	assert.Equal(t, 64<<10, c.MaxLineBytes)
	assert.True(t, c.ParseJSON)
	assert.Equal(t, 1000, c.MaxBatchRecords)

	require.NoError(t, fs.Parse([]string{
		"-logs.include=/var/log/*.log, /var/log/app/*.log",
		"-logs.include=/srv/*.log",
		"-logs.exclude=*.gz",
		"-logs.start-at=end",
		"-logs.poll-interval=1s",
		"-logs.multiline-start=^\\S",
		"-logs.parse-json=false",
		"-logs.max-batch-records=10",
	}))
	assert.Equal(t, []string{"/var/log/*.log", "/var/log/app/*.log", "/srv/*.log"}, c.Include)
	assert.Equal(t, []string{"*.gz"}, c.Exclude)
	assert.Equal(t, "/var/log/*.log,/var/log/app/*.log,/srv/*.log", fs.Lookup("logs.include").Value.String())
	assert.Equal(t, StartAtEnd, c.StartAt)
	assert.Equal(t, time.Second, c.PollInterval)
	assert.Equal(t, `^\S`, c.MultilineStart)
	assert.False(t, c.ParseJSON)
	assert.Equal(t, 10, c.MaxBatchRecords)
	require.NoError(t, c.Validate())
}

func TestConfigYAML(t *testing.T) {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("test", flag.ContinueOnError))
	require.NoError(t, yaml.Unmarshal([]byte(`
include: [/var/log/*.log]
exclude: ["*.gz"]
start_at: end
poll_interval: 500ms
multiline_start: '^\d{4}-'
multiline_flush: 2s
max_line_bytes: 1024
parse_json: false
max_batch_records: 50
`), &c))
	assert.Equal(t, []string{"/var/log/*.log"}, c.Include)
	assert.Equal(t, 500*time.Millisecond, c.PollInterval)
	assert.Equal(t, 2*time.Second, c.MultilineFlush)
	assert.Equal(t, 1024, c.MaxLineBytes)
	assert.False(t, c.ParseJSON)
	assert.Equal(t, 256<<10, c.MaxRecordBytes, "unset keys keep their defaults")
	require.NoError(t, c.Validate())
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"bad glob", func(c *Config) { c.Include = []string{"/var/log/[a.log"} }, `logs.include: glob "/var/log/[a.log"`},
		{"bad exclude", func(c *Config) { c.Exclude = []string{"[x"} }, `logs.exclude: glob "[x"`},
		{"empty glob", func(c *Config) { c.Include = []string{""} }, "logs.include: empty glob"},
		{"bad start_at", func(c *Config) { c.StartAt = "middle" }, `logs.start-at must be "beginning" or "end", got "middle"`},
		{"bad regexp", func(c *Config) { c.MultilineStart = "(" }, "logs.multiline-start: error parsing regexp"},
		{"zero poll", func(c *Config) { c.PollInterval = 0 }, "logs.poll-interval must be positive"},
		{"zero flush", func(c *Config) { c.MultilineFlush = 0 }, "logs.multiline-flush must be positive"},
		{"negative rotate wait", func(c *Config) { c.RotateWait = -time.Second }, "logs.rotate-wait must not be negative"},
		{"zero line bytes", func(c *Config) { c.MaxLineBytes = 0 }, "logs.max-line-bytes must be positive"},
		{"huge line bytes", func(c *Config) { c.MaxLineBytes = 1 << 30 }, "logs.max-line-bytes must be at most 64 MiB"},
		{"zero batch", func(c *Config) { c.MaxBatchRecords = 0 }, "logs.max-batch-records must be positive"},
		{"zero record lines", func(c *Config) { c.MaxRecordLines = 0 }, "logs.max-record-lines must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, "/var/log/*.log")
			tc.change(&c)
			require.ErrorContains(t, c.Validate(), tc.want)
		})
	}
}
