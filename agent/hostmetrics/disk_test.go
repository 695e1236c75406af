//go:build linux

package hostmetrics

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// diskstats reads the names of the devices of /proc/diskstats that have done any I/O,
// and of those that have not.
func diskstats(t *testing.T) (used, idle []string) {
	for _, line := range procLines(t, "/proc/diskstats") {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 14, line)
		if strings.Trim(strings.Join(f[3:], ""), "0") == "" {
			idle = append(idle, f[2])
		} else {
			used = append(used, f[2])
		}
	}
	return used, idle
}

func TestDisk(t *testing.T) {
	used, _ := diskstats(t)
	re := regexp.MustCompile(DefaultDevicesExclude)
	var want, excludedSeen []string
	for _, d := range used {
		if re.MatchString(d) {
			excludedSeen = append(excludedSeen, d)
		} else {
			want = append(want, d)
		}
	}
	require.NotEmpty(t, want, "this machine has a disk")

	got := newTestScraper(t, only("disk")).scrape(t)
	for name := range schema {
		if schema[name].collector == "disk" {
			assert.ElementsMatch(t, want, keys(attrValues(got[name], "device")), "%s: the devices in use less the excluded ones (%v)", name, excludedSeen)
		}
	}
	read := 0.0
	for _, dp := range pointsWith(got["system.disk.io"], "direction", "read") {
		read += value(dp)
	}
	assert.Positive(t, read, "the system was read from disk since boot")

	// Excluding one device by name leaves the others.
	dropped := want[0]
	got = newTestScraper(t, only("disk"), func(c *Config) { c.DevicesExclude = "^" + regexp.QuoteMeta(dropped) + "$" }).scrape(t)
	devices := attrValues(got["system.disk.io"], "device")
	assert.False(t, devices[dropped])
	assert.Len(t, devices, len(used)-1, "nothing else excluded, partitions and loop devices included")
}
