//go:build linux

package hostmetrics

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/config"
)

func TestConfigDefaults(t *testing.T) {
	c := defaultConfig()
	require.NoError(t, c.Validate())
	assert.Equal(t, map[string]bool{
		"cpu": true, "load": true, "memory": true, "filesystem": true, "disk": true, "network": true, "processes": true,
	}, c.Collectors)
	assert.Equal(t, 10, c.TopProcesses)
	assert.Equal(t, DefaultFSTypesExclude, c.FSTypesExclude)
	assert.Equal(t, DefaultMountPointsExclude, c.MountPointsExclude)
	assert.Equal(t, DefaultDevicesExclude, c.DevicesExclude)
	assert.Equal(t, DefaultInterfacesExclude, c.InterfacesExclude)
	assert.Equal(t, 5*time.Second, c.MountTimeout)
	assert.True(t, c.NetworkConnections)
	assert.Empty(t, c.RootPath)
}

func TestConfigFlags(t *testing.T) {
	var c Config
	f := flag.NewFlagSet("agent", flag.ContinueOnError)
	f.SetOutput(io.Discard)
	c.RegisterFlags(f)
	require.NoError(t, f.Parse([]string{
		"-collector.cpu=false", "-collector.processes=0", "-collector.disk",
		"-collector.processes.top=3",
		"-collector.filesystem.fs-types-exclude=^tmpfs$",
		"-collector.filesystem.mount-points-exclude=^/boot$",
		"-collector.filesystem.mount-timeout=2s",
		"-collector.disk.devices-exclude=^sda$",
		"-collector.network.interfaces-exclude=",
		"-collector.network.connections=false",
		"-collector.root-path=/host",
	}))
	assert.False(t, c.enabled("cpu"))
	assert.False(t, c.enabled("processes"))
	assert.True(t, c.enabled("disk"))
	assert.True(t, c.enabled("memory"))
	assert.Equal(t, 3, c.TopProcesses)
	assert.Equal(t, "^tmpfs$", c.FSTypesExclude)
	assert.Equal(t, "^/boot$", c.MountPointsExclude)
	assert.Equal(t, 2*time.Second, c.MountTimeout)
	assert.Equal(t, "^sda$", c.DevicesExclude)
	assert.Empty(t, c.InterfacesExclude)
	assert.False(t, c.NetworkConnections)
	assert.Equal(t, "/host", c.RootPath)
	assert.Error(t, f.Parse([]string{"-collector.load=maybe"}))

	// The usage shows every collector's switch with its default.
	var names []string
	f.VisitAll(func(fl *flag.Flag) {
		if _, ok := fl.Value.(collectorFlag); ok {
			names = append(names, fl.Name)
			assert.Equal(t, "true", fl.DefValue, fl.Name)
		}
	})
	assert.ElementsMatch(t, []string{
		"collector.cpu", "collector.load", "collector.memory", "collector.filesystem",
		"collector.disk", "collector.network", "collector.processes",
	}, names)
}

func TestConfigYAML(t *testing.T) {
	c := defaultConfig()
	require.NoError(t, config.DecodeYAML([]byte("collectors:\n  processes: false\ntop_processes: 4\nmount_timeout: 1s\ndevices_exclude: '^nvme'\n"), &c))
	require.NoError(t, c.Validate())
	assert.False(t, c.enabled("processes"))
	assert.True(t, c.enabled("cpu"), "collectors the file does not name keep their default")
	assert.Equal(t, 4, c.TopProcesses)
	assert.Equal(t, time.Second, c.MountTimeout)
	assert.Equal(t, "^nvme", c.DevicesExclude)

	c = defaultConfig()
	require.NoError(t, config.DecodeYAML([]byte("collectors:\n  cpus: false\n"), &c))
	assert.ErrorContains(t, c.Validate(), `collectors: unknown collector "cpus"`)

	c = defaultConfig()
	assert.ErrorContains(t, config.DecodeYAML([]byte("top: 3\n"), &c), "field top not found")
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"fs types regexp", func(c *Config) { c.FSTypesExclude = "(" }, `collector.filesystem.fs-types-exclude: invalid regexp "("`},
		{"mount points regexp", func(c *Config) { c.MountPointsExclude = "[a-" }, "collector.filesystem.mount-points-exclude: invalid regexp"},
		{"devices regexp", func(c *Config) { c.DevicesExclude = "a**" }, "collector.disk.devices-exclude: invalid regexp"},
		{"interfaces regexp", func(c *Config) { c.InterfacesExclude = `\` }, "collector.network.interfaces-exclude: invalid regexp"},
		{"negative top", func(c *Config) { c.TopProcesses = -1 }, "collector.processes.top must not be negative"},
		{"zero mount timeout", func(c *Config) { c.MountTimeout = 0 }, "collector.filesystem.mount-timeout must be positive"},
		{"unknown collector", func(c *Config) { c.Collectors["gpu"] = true }, `unknown collector "gpu"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			tc.modify(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, err = New(c, nil, nil, nil)
			assert.ErrorContains(t, err, tc.want, "New validates")
		})
	}
	// Every error is reported at once.
	c := defaultConfig()
	c.FSTypesExclude, c.DevicesExclude = "(", "("
	err := c.Validate()
	assert.ErrorContains(t, err, "fs-types-exclude")
	assert.ErrorContains(t, err, "devices-exclude")
}

func TestConfigZeroValueRunsEverything(t *testing.T) {
	// A Config built without RegisterFlags (nil map, no exclusions) is valid apart from the
	// timeout, and runs every collector.
	c := Config{MountTimeout: time.Second}
	require.NoError(t, c.Validate())
	for _, name := range collectorNames() {
		assert.True(t, c.enabled(name), name)
	}
}
