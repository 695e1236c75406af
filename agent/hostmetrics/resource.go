package hostmetrics

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v4/host"
)

// Resource describes this host with OpenTelemetry resource attributes: host.name (the
// hostname), host.id (the machine ID, when readable), host.arch, os.type and
// os.description. The caller may override any of them (the agent's -host.name).
func Resource() map[string]string {
	return ResourceAt("")
}

// ResourceAt is Resource for a host whose root filesystem is mounted at root (the agent in a
// container, Config.RootPath): the machine ID, hostname file and OS release are read under
// it. An empty root is "/".
func ResourceAt(root string) map[string]string {
	res := map[string]string{
		"host.arch": hostArch(runtime.GOARCH),
		"os.type":   runtime.GOOS,
	}
	if name := hostName(root); name != "" {
		res["host.name"] = name
	}
	for _, p := range []string{"etc/machine-id", "var/lib/dbus/machine-id"} {
		if id := strings.TrimSpace(readSmall(filepath.Join("/", root, p))); id != "" {
			res["host.id"] = id
			break
		}
	}
	if desc := osDescription(root); desc != "" {
		res["os.description"] = desc
	}
	return res
}

// hostName is the host's name; in a container with the host's root mounted, the host's
// /etc/hostname rather than the container's own name.
func hostName(root string) string {
	if root != "" {
		if name := strings.TrimSpace(readSmall(filepath.Join(root, "etc", "hostname"))); name != "" {
			return name
		}
	}
	name, err := os.Hostname()
	if err != nil {
		return ""
	}
	return name
}

// osDescription is the distribution's PRETTY_NAME and the kernel, e.g.
// "Debian GNU/Linux 13 (trixie) (Linux 6.12.1)".
func osDescription(root string) string {
	var pretty string
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if pretty = osReleasePrettyName(readSmall(filepath.Join("/", root, p))); pretty != "" {
			break
		}
	}
	kernel, _ := host.KernelVersionWithContext(context.Background())
	switch {
	case pretty != "" && kernel != "":
		return pretty + " (" + osTypeName(runtime.GOOS) + " " + kernel + ")"
	case pretty != "":
		return pretty
	case kernel != "":
		return osTypeName(runtime.GOOS) + " " + kernel
	default:
		return ""
	}
}

func osReleasePrettyName(content string) string {
	for line := range strings.Lines(content) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

func osTypeName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "darwin":
		return "Darwin"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	default:
		return goos
	}
}

// hostArch maps GOARCH to the host.arch values of the semantic conventions.
func hostArch(goarch string) string {
	switch goarch {
	case "386":
		return "x86"
	case "arm":
		return "arm32"
	case "ppc64", "ppc64le":
		return "ppc64"
	default: // amd64, arm64, s390x are the same in both
		return goarch
	}
}

// readSmall reads a small file, "" when it cannot.
func readSmall(path string) string {
	data, err := os.ReadFile(path) //nolint:gosec // well-known host files
	if err != nil || len(data) > 64<<10 {
		return ""
	}
	return string(bytes.TrimRight(data, "\x00"))
}
