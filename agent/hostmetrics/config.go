package hostmetrics

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Default exclusions. They are anchored regexps, matched as given (like node_exporter's).
const (
	// Pseudo and memory-backed filesystems: their usage is kernel state or RAM (already in
	// system.memory.*), and a container host has hundreds of tmpfs and overlay mounts.
	DefaultFSTypesExclude = `^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|efivarfs|erofs|fusectl|fuse\.lxcfs|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|ramfs|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tmpfs|tracefs)$`
	// Kernel trees and the per-container mounts of container runtimes.
	DefaultMountPointsExclude = `^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+|var/lib/kubelet/pods/.+)($|/)`
	// RAM, loop and floppy devices, and partitions, whose I/O the whole disk's counters already include.
	DefaultDevicesExclude = `^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`
	// Loopback, and the per-container and mirror interfaces whose churn multiplies series
	// without adding traffic the physical interfaces and bridges do not already show.
	DefaultInterfacesExclude = `^(lo|veth.*|cali.*|ifb\d+)$`
)

// Config is the host metric collectors' configuration.
type Config struct {
	// Collectors switches collectors on and off by name (cpu, load, memory, filesystem, disk,
	// network, processes); a collector not named keeps its default, which is on.
	Collectors map[string]bool `yaml:"collectors"`
	// TopProcesses is how many processes are reported by CPU and, separately, by memory
	// (the union is sent). 0 sends only the process counts.
	TopProcesses int `yaml:"top_processes"`
	// FSTypesExclude and MountPointsExclude are regexps; a filesystem matching either is not reported.
	FSTypesExclude     string `yaml:"fs_types_exclude"`
	MountPointsExclude string `yaml:"mount_points_exclude"`
	// MountTimeout bounds the statfs of one mount. A mount that does not answer in time
	// (a hung NFS server) is skipped, and skipped again while that call is still stuck.
	MountTimeout time.Duration `yaml:"mount_timeout"`
	// DevicesExclude is a regexp of block devices (as in /proc/diskstats) not reported.
	DevicesExclude string `yaml:"devices_exclude"`
	// InterfacesExclude is a regexp of network interfaces not reported.
	InterfacesExclude string `yaml:"interfaces_exclude"`
	// NetworkConnections counts TCP connections by state (reads /proc/net/tcp and tcp6,
	// whose cost grows with the number of connections).
	NetworkConnections bool `yaml:"network_connections"`
	// RootPath is where the host's root filesystem is mounted when the agent runs in a
	// container (e.g. /host): /proc, /sys, /etc, /run and /dev are read under it, and
	// filesystems are measured at RootPath+mountpoint. Empty: the agent's own root.
	RootPath string `yaml:"root_path"`
}

// RegisterFlags registers the collectors' flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Collectors = make(map[string]bool, len(registry))
	for _, r := range registry {
		c.Collectors[r.name] = true
		f.Var(collectorFlag{cfg: c, name: r.name}, "collector."+r.name, "Collect "+r.help+".")
	}
	f.IntVar(&c.TopProcesses, "collector.processes.top", 10, "Processes reported by CPU use and, separately, by memory use (the union is sent, with pid and name as attributes). 0: process counts only.")
	f.StringVar(&c.FSTypesExclude, "collector.filesystem.fs-types-exclude", DefaultFSTypesExclude, "Regexp of filesystem types not reported.")
	f.StringVar(&c.MountPointsExclude, "collector.filesystem.mount-points-exclude", DefaultMountPointsExclude, "Regexp of mount points not reported.")
	f.DurationVar(&c.MountTimeout, "collector.filesystem.mount-timeout", 5*time.Second, "How long the statfs of one mount may take; a mount that hangs is skipped until its call returns.")
	f.StringVar(&c.DevicesExclude, "collector.disk.devices-exclude", DefaultDevicesExclude, "Regexp of block devices not reported.")
	f.StringVar(&c.InterfacesExclude, "collector.network.interfaces-exclude", DefaultInterfacesExclude, "Regexp of network interfaces not reported.")
	f.BoolVar(&c.NetworkConnections, "collector.network.connections", true, "Count TCP connections by state (system.network.connections); reading them costs more the more connections the host has.")
	f.StringVar(&c.RootPath, "collector.root-path", "", "Where the host's root filesystem is mounted when the agent runs in a container (e.g. /host); /proc, /sys and mount points are read under it. Empty: /.")
}

// Validate reports invalid settings, naming them.
func (c *Config) Validate() error {
	var errs []error
	for name := range c.Collectors {
		if !slices.ContainsFunc(registry, func(r registration) bool { return r.name == name }) {
			errs = append(errs, fmt.Errorf("collectors: unknown collector %q (known: %s)", name, strings.Join(collectorNames(), ", ")))
		}
	}
	if c.TopProcesses < 0 {
		errs = append(errs, fmt.Errorf("collector.processes.top must not be negative, got %d", c.TopProcesses))
	}
	if c.MountTimeout <= 0 {
		errs = append(errs, fmt.Errorf("collector.filesystem.mount-timeout must be positive, got %s", c.MountTimeout))
	}
	for _, r := range []struct{ flag, expr string }{
		{"collector.filesystem.fs-types-exclude", c.FSTypesExclude},
		{"collector.filesystem.mount-points-exclude", c.MountPointsExclude},
		{"collector.disk.devices-exclude", c.DevicesExclude},
		{"collector.network.interfaces-exclude", c.InterfacesExclude},
	} {
		if _, err := compileExclude(r.expr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.flag, err))
		}
	}
	return errors.Join(errs...)
}

// enabled says whether the named collector runs; a name the map lacks runs.
func (c *Config) enabled(name string) bool {
	on, ok := c.Collectors[name]
	return !ok || on
}

// compileExclude compiles an exclusion regexp; empty excludes nothing (nil).
func compileExclude(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regexp %q: %w", expr, err)
	}
	return re, nil
}

// excluded reports whether s matches the exclusion re (nil excludes nothing).
func excluded(re *regexp.Regexp, s string) bool {
	return re != nil && re.MatchString(s)
}

// collectorFlag is -collector.<name>: a boolean flag stored in Config.Collectors, so that
// the flags and the YAML map are one setting.
type collectorFlag struct {
	cfg  *Config
	name string
}

func (f collectorFlag) String() string {
	if f.cfg == nil {
		return "false"
	}
	return strconv.FormatBool(f.cfg.enabled(f.name))
}

func (f collectorFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if f.cfg.Collectors == nil {
		f.cfg.Collectors = map[string]bool{}
	}
	f.cfg.Collectors[f.name] = on
	return nil
}

func (collectorFlag) IsBoolFlag() bool { return true }
