package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type testConfig struct {
	Name  string        `yaml:"name"`
	Wait  time.Duration `yaml:"wait"`
	Inner struct {
		Count int `yaml:"count"`
	} `yaml:"inner"`
}

func (c *testConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Name, "name", "default", "")
	f.DurationVar(&c.Wait, "wait", time.Second, "")
	f.IntVar(&c.Inner.Count, "inner.count", 1, "")
}

func (c *testConfig) Validate() error {
	if c.Inner.Count < 0 {
		return errors.New("inner.count must not be negative")
	}
	return nil
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("name: fromfile\ninner:\n  count: 5\nwait: 2m\n"), 0o600))
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: x\ntitle: y\n"), 0o600))

	cases := []struct {
		name    string
		args    []string
		want    testConfig
		wantErr string
	}{
		{name: "defaults", want: tc("default", time.Second, 1)},
		{name: "flags", args: []string{"-name=flag", "-inner.count=3"}, want: tc("flag", time.Second, 3)},
		{name: "file", args: []string{"-config.file=" + file}, want: tc("fromfile", 2*time.Minute, 5)},
		{name: "flags override file wherever they stand", args: []string{"-inner.count=9", "-config.file=" + file}, want: tc("fromfile", 2*time.Minute, 9)},
		{name: "unknown key", args: []string{"-config.file=" + bad}, wantErr: "field title not found"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "invalid value", args: []string{"-inner.count=-1"}, wantErr: "inner.count must not be negative"},
		{name: "stray argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg testConfig
			_, err := Load("test", c.args, &cfg, io.Discard)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, cfg)
		})
	}
}

func tc(name string, wait time.Duration, count int) testConfig {
	var c testConfig
	c.Name, c.Wait, c.Inner.Count = name, wait, count
	return c
}

// FuzzDecodeYAML: a configuration file is untrusted input; decoding must fail cleanly.
func FuzzDecodeYAML(f *testing.F) {
	f.Add([]byte("name: x\ninner:\n  count: 5\n"))
	f.Add([]byte("wait: 1h\n"))
	f.Add([]byte("inner: [1, 2]\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("name: !!binary AAAA\n"))
	f.Fuzz(func(_ *testing.T, data []byte) {
		var cfg testConfig
		cfg.RegisterFlags(flag.NewFlagSet("f", flag.ContinueOnError))
		_ = DecodeYAML(data, &cfg)
	})
}
