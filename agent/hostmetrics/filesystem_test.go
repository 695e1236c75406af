//go:build linux

package hostmetrics

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// mountTypes reads mount point -> filesystem type from /proc/self/mountinfo, a parse of its
// own so that the test does not trust gopsutil's.
func mountTypes(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, line := range procLines(t, "/proc/self/mountinfo") {
		pre, post, ok := strings.Cut(line, " - ")
		require.True(t, ok, line)
		out[strings.Fields(pre)[4]] = strings.Fields(post)[0]
	}
	return out
}

func mountpoints(m pmetric.Metric) map[string]bool { return attrValues(m, "mountpoint") }

// gaugeValue reads an unlabelled gauge from a registry.
func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not registered", name)
	return 0
}

// The tests expect the root filesystem to be disk-backed (ext4 on the machines this runs
// on), so that the default exclusions keep it.
func TestFilesystemRoot(t *testing.T) {
	s := newTestScraper(t, only("filesystem"))
	got := s.scrape(t)
	types := mountTypes(t)
	rootType := types["/"]
	require.NotEmpty(t, rootType)

	util := pointsWith(got["system.filesystem.utilization"], "mountpoint", "/")
	require.Len(t, util, 1, "the root filesystem is reported once")
	attrs := util[0].Attributes().AsRaw()
	assert.Equal(t, rootType, attrs["type"])
	assert.Equal(t, "rw", attrs["mode"])
	assert.NotEmpty(t, attrs["device"])
	u := util[0].DoubleValue()
	assert.True(t, u > 0 && u <= 1, "root utilization %v", u)

	usage := map[string]float64{}
	for _, dp := range pointsWith(got["system.filesystem.usage"], "mountpoint", "/") {
		st, _ := dp.Attributes().Get("state")
		usage[st.Str()] = value(dp)
	}
	require.Len(t, usage, 3)
	assert.InDelta(t, usage["used"]/(usage["used"]+usage["free"]), u, 1e-9, "utilization is used/(used+free), as df shows it")
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs("/", &st))
	assert.Equal(t, float64(st.Blocks)*float64(st.Bsize), usage["used"]+usage["free"]+usage["reserved"], "the states add up to the size")

	inodes := map[string]float64{}
	for _, dp := range pointsWith(got["system.filesystem.inodes.usage"], "mountpoint", "/") {
		st, _ := dp.Attributes().Get("state")
		inodes[st.Str()] = value(dp)
	}
	assert.Equal(t, float64(st.Files), inodes["used"]+inodes["free"])
	assert.Positive(t, inodes["used"])
}

func TestFilesystemExclusions(t *testing.T) {
	types := mountTypes(t)
	fsRe := regexp.MustCompile(DefaultFSTypesExclude)
	mpRe := regexp.MustCompile(DefaultMountPointsExclude)
	pseudo := 0
	for _, typ := range types {
		if fsRe.MatchString(typ) {
			pseudo++
		}
	}
	require.Positive(t, pseudo, "this machine mounts proc, sysfs and the like")

	got := newTestScraper(t, only("filesystem")).scrape(t)
	for mp := range mountpoints(got["system.filesystem.usage"]) {
		assert.False(t, mpRe.MatchString(mp), "excluded mount point %s reported", mp)
	}
	for typ := range attrValues(got["system.filesystem.usage"], "type") {
		assert.False(t, fsRe.MatchString(typ), "excluded type %s reported", typ)
	}
	assert.True(t, mountpoints(got["system.filesystem.usage"])["/"])

	// Each regexp on its own takes the root out.
	byType := newTestScraper(t, only("filesystem"), func(c *Config) { c.FSTypesExclude = "^" + regexp.QuoteMeta(types["/"]) + "$" }).scrape(t)
	assert.False(t, mountpoints(byType["system.filesystem.utilization"])["/"])
	byMount := newTestScraper(t, only("filesystem"), func(c *Config) { c.MountPointsExclude = "^/$" }).scrape(t)
	assert.False(t, mountpoints(byMount["system.filesystem.utilization"])["/"])

	// Empty regexps exclude nothing: /proc is measured too.
	all := newTestScraper(t, only("filesystem"), func(c *Config) { c.FSTypesExclude, c.MountPointsExclude = "", "" }).scrape(t)
	assert.True(t, mountpoints(all["system.filesystem.usage"])["/proc"])
	assert.True(t, attrValues(all["system.filesystem.usage"], "type")["proc"])
}

// TestFilesystemHungMount replaces statfs for "/" by a call that blocks until released, the
// way statfs blocks on a dead NFS server: a fault no real mount here can produce.
func TestFilesystemHungMount(t *testing.T) {
	s := newTestScraper(t, only("filesystem"), func(c *Config) { c.MountTimeout = 50 * time.Millisecond })
	fc := collectorOf[*filesystemCollector](t, s.Scraper, "filesystem")
	release := make(chan struct{})
	var calls atomic.Int32
	realStatfs := fc.statfs
	fc.statfs = func(ctx context.Context, path string) (*disk.UsageStat, error) {
		if path == "/" {
			calls.Add(1)
			<-release
		}
		return realStatfs(ctx, path)
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
		fc.inflight.Wait()
	}()

	start := time.Now()
	got := s.scrape(t)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "the scrape waited for the mount timeout")
	assert.False(t, mountpoints(got["system.filesystem.usage"])["/"])
	assert.Equal(t, 1.0, testutil.ToFloat64(fc.skipped.WithLabelValues(skipTimeout)))
	assert.Equal(t, 1.0, gaugeValue(t, s.reg, "faultline_agent_filesystem_stuck_mounts"))
	assert.Equal(t, 1.0, testutil.ToFloat64(s.success.WithLabelValues("filesystem")), "one hung mount does not fail the collector")

	// While the first call hangs, the mount is skipped without another call.
	got = s.scrape(t)
	assert.False(t, mountpoints(got["system.filesystem.usage"])["/"])
	assert.Equal(t, 1.0, testutil.ToFloat64(fc.skipped.WithLabelValues(skipStuck)))
	assert.Equal(t, int32(1), calls.Load())

	close(release)
	released = true
	fc.inflight.Wait()
	assert.Zero(t, gaugeValue(t, s.reg, "faultline_agent_filesystem_stuck_mounts"))
	got = s.scrape(t)
	assert.True(t, mountpoints(got["system.filesystem.usage"])["/"], "measured again once the call returned")
	assert.Equal(t, int32(2), calls.Load())
}

// TestFilesystemHungMountCanceled stops the scrape while a statfs hangs: the scrape returns
// at once and the collector is not counted as failing.
func TestFilesystemHungMountCanceled(t *testing.T) {
	s := newTestScraper(t, only("filesystem"), func(c *Config) { c.MountTimeout = time.Hour })
	fc := collectorOf[*filesystemCollector](t, s.Scraper, "filesystem")
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	realStatfs := fc.statfs
	fc.statfs = func(ctx context.Context, path string) (*disk.UsageStat, error) {
		if path == "/" {
			cancel() // the agent stops while the call hangs
			<-release
		}
		return realStatfs(ctx, path)
	}
	md := s.Scrape(ctx)
	// Still hanging: the next scrape skips the mount until the call returns.
	assert.Equal(t, 1.0, gaugeValue(t, s.reg, "faultline_agent_filesystem_stuck_mounts"))
	close(release)
	fc.inflight.Wait()
	assert.Zero(t, gaugeValue(t, s.reg, "faultline_agent_filesystem_stuck_mounts"))
	assert.Zero(t, md.DataPointCount())
	assert.Zero(t, testutil.ToFloat64(s.errors.WithLabelValues("filesystem")))
	assert.Zero(t, testutil.ToFloat64(fc.skipped.WithLabelValues(skipTimeout)))
}

// TestFilesystemMountError makes statfs of "/" fail (as it does for a FUSE mount of another
// user): that mount is counted and skipped, the others are reported.
func TestFilesystemMountError(t *testing.T) {
	s := newTestScraper(t, only("filesystem"), func(c *Config) { c.FSTypesExclude, c.MountPointsExclude = "", "" })
	fc := collectorOf[*filesystemCollector](t, s.Scraper, "filesystem")
	realStatfs := fc.statfs
	fc.statfs = func(ctx context.Context, path string) (*disk.UsageStat, error) {
		if path == "/" {
			return nil, errors.New("permission denied")
		}
		return realStatfs(ctx, path)
	}
	got := s.scrape(t)
	mps := mountpoints(got["system.filesystem.usage"])
	assert.False(t, mps["/"])
	assert.True(t, mps["/proc"])
	assert.Equal(t, 1.0, testutil.ToFloat64(fc.skipped.WithLabelValues(skipError)))
	assert.Equal(t, 1.0, testutil.ToFloat64(s.success.WithLabelValues("filesystem")))
}
