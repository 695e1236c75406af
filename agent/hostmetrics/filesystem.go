package hostmetrics

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/shirou/gopsutil/v4/disk"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func init() {
	registerCollector(registration{
		name: "filesystem",
		help: "space and inodes of mounted filesystems (system.filesystem.*)",
		new:  newFilesystemCollector,
	})
}

// Why a mount was not measured (the reason label of faultline_agent_filesystem_mounts_skipped_total).
const (
	skipError   = "error"   // statfs failed (permission, a mount gone meanwhile)
	skipTimeout = "timeout" // statfs did not answer within the mount timeout
	skipStuck   = "stuck"   // an earlier statfs of the mount has still not returned
)

type filesystemCollector struct {
	env         *collectorEnv
	fsTypes     *regexp.Regexp
	mountPoints *regexp.Regexp
	timeout     time.Duration
	// statfs is disk.UsageWithContext; a test replaces it by a call that hangs, the one
	// fault a real mount cannot be made to produce without a misbehaving file server.
	statfs func(ctx context.Context, path string) (*disk.UsageStat, error)

	mu    sync.Mutex
	stuck map[string]struct{} // paths whose statfs has not returned
	// inflight counts the statfs calls running, stuck ones included, so that a test can
	// wait for them.
	inflight sync.WaitGroup

	seen    map[string]struct{} // mount points of the current scrape
	skipped *prometheus.CounterVec
}

func newFilesystemCollector(env *collectorEnv) (collector, error) {
	c := &filesystemCollector{
		env:     env,
		timeout: env.cfg.MountTimeout,
		statfs:  disk.UsageWithContext,
		stuck:   map[string]struct{}{},
		seen:    map[string]struct{}{},
	}
	var err error
	if c.fsTypes, err = compileExclude(env.cfg.FSTypesExclude); err != nil {
		return nil, err
	}
	if c.mountPoints, err = compileExclude(env.cfg.MountPointsExclude); err != nil {
		return nil, err
	}
	c.skipped = promauto.With(env.reg).NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_filesystem_mounts_skipped_total",
		Help: "Mounts the filesystem collector could not measure, by reason: error (statfs failed), timeout (statfs did not answer within -collector.filesystem.mount-timeout), stuck (an earlier statfs of the mount still hangs).",
	}, []string{"reason"})
	for _, r := range []string{skipError, skipTimeout, skipStuck} {
		c.skipped.WithLabelValues(r)
	}
	promauto.With(env.reg).NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_agent_filesystem_stuck_mounts",
		Help: "Mounts whose statfs has not returned (a hung network filesystem); each holds one goroutine until it does.",
	}, func() float64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return float64(len(c.stuck))
	})
	return c, nil
}

func (c *filesystemCollector) collect(ctx context.Context, ms pmetric.MetricSlice) error {
	parts, err := disk.PartitionsWithContext(ctx, true)
	if len(parts) == 0 {
		if err == nil {
			err = errors.New("no mounts listed")
		}
		return fmt.Errorf("read mounts: %w", err)
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	usage := newSum(ms, "system.filesystem.usage", "By", "Filesystem space used, free (to unprivileged users) and reserved (for root).", false, c.env.bootTime, now)
	util := newGauge(ms, "system.filesystem.utilization", "1", "Share of the filesystem space available to unprivileged users that is used, as df shows it.", now)
	inodes := newSum(ms, "system.filesystem.inodes.usage", "{inodes}", "Filesystem inodes used and free.", false, c.env.bootTime, now)

	clear(c.seen)
	// The last mount on a mount point is the visible one, the one statfs measures: walk
	// backwards and take the first.
	for i := len(parts) - 1; i >= 0; i-- {
		p := &parts[i]
		if _, dup := c.seen[p.Mountpoint]; dup {
			continue
		}
		c.seen[p.Mountpoint] = struct{}{}
		// A bind mount shows a directory of a filesystem measured at its own mount point.
		if excluded(c.fsTypes, p.Fstype) || excluded(c.mountPoints, p.Mountpoint) || slices.Contains(p.Opts, "bind") {
			continue
		}
		u, reason, err := c.usage(ctx, filepath.Join("/", c.env.rootDir, p.Mountpoint))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.skipped.WithLabelValues(reason).Inc()
			continue
		}
		mode := mountMode(p.Opts)
		reserved := uint64(0)
		if u.Total > u.Used+u.Free {
			reserved = u.Total - u.Used - u.Free
		}
		attrs := [...]string{"device", p.Device, "mode", mode, "mountpoint", p.Mountpoint, "type", p.Fstype}
		usage.int(clampInt64(u.Used), append(attrs[:], "state", "used")...)
		usage.int(clampInt64(u.Free), append(attrs[:], "state", "free")...)
		usage.int(clampInt64(reserved), append(attrs[:], "state", "reserved")...)
		util.double(ratio(u.Used, u.Used+u.Free), attrs[:]...)
		inodes.int(clampInt64(u.InodesUsed), append(attrs[:], "state", "used")...)
		inodes.int(clampInt64(u.InodesFree), append(attrs[:], "state", "free")...)
	}
	return nil
}

var (
	errMountStuck   = errors.New("an earlier statfs has not returned")
	errMountTimeout = errors.New("statfs timed out")
)

// usage measures the filesystem at path, giving up after the timeout. The call is left to
// finish in its goroutine (nothing can interrupt a statfs stuck in the kernel); until it
// does, the path is skipped so that a hung mount holds one goroutine, not one per scrape.
func (c *filesystemCollector) usage(ctx context.Context, path string) (*disk.UsageStat, string, error) {
	c.mu.Lock()
	_, stuck := c.stuck[path]
	c.mu.Unlock()
	if stuck {
		return nil, skipStuck, errMountStuck
	}
	type result struct {
		u   *disk.UsageStat
		err error
	}
	ch := make(chan result, 1)
	returned := false // guarded by c.mu
	c.inflight.Add(1)
	go func() {
		defer c.inflight.Done()
		u, err := c.statfs(ctx, path)
		c.mu.Lock()
		returned = true
		delete(c.stuck, path)
		c.mu.Unlock()
		ch <- result{u, err}
	}()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.u, skipError, r.err
	case <-timer.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	if returned {
		c.mu.Unlock()
		r := <-ch // sent right after returned was set
		return r.u, skipError, r.err
	}
	// Abandoned, by the timeout or the caller: either way no second call while it runs.
	c.stuck[path] = struct{}{}
	c.mu.Unlock()
	if ctx.Err() != nil {
		return nil, skipTimeout, ctx.Err()
	}
	return nil, skipTimeout, errMountTimeout
}

func mountMode(opts []string) string {
	switch {
	case slices.Contains(opts, "rw"):
		return "rw"
	case slices.Contains(opts, "ro"):
		return "ro"
	default:
		return "unknown"
	}
}
