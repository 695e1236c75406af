//go:build linux

package hostmetrics

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResource(t *testing.T) {
	res := Resource()
	name, err := os.Hostname()
	require.NoError(t, err)
	assert.Equal(t, name, res["host.name"])
	assert.Equal(t, "linux", res["os.type"])
	assert.Equal(t, map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH], res["host.arch"])
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		assert.Equal(t, strings.TrimSpace(string(id)), res["host.id"])
	}
	assert.Contains(t, res["os.description"], "(Linux ")
}

func TestResourceAt(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	for file, content := range map[string]string{
		"etc/hostname":   "the-host\n",
		"etc/machine-id": "0123456789abcdef0123456789abcdef\n",
		"etc/os-release": "NAME=\"Some Linux\"\nPRETTY_NAME=\"Some Linux 7 (x)\"\nID=some\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(root, file), []byte(content), 0o600))
	}
	res := ResourceAt(root)
	assert.Equal(t, "the-host", res["host.name"])
	assert.Equal(t, "0123456789abcdef0123456789abcdef", res["host.id"])
	assert.True(t, strings.HasPrefix(res["os.description"], "Some Linux 7 (x) (Linux "), res["os.description"])

	// Nothing under the root: the agent's own hostname, no machine ID.
	bare := ResourceAt(t.TempDir())
	host, err := os.Hostname()
	require.NoError(t, err)
	assert.Equal(t, host, bare["host.name"])
	assert.NotContains(t, bare, "host.id")
}

func TestHostArch(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "x86", "arm": "arm32", "ppc64le": "ppc64", "s390x": "s390x"} {
		assert.Equal(t, want, hostArch(goarch), goarch)
	}
}

func TestOSReleasePrettyName(t *testing.T) {
	assert.Equal(t, "Debian GNU/Linux 12 (bookworm)", osReleasePrettyName("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"))
	assert.Equal(t, "Alpine", osReleasePrettyName("PRETTY_NAME=Alpine\n"))
	assert.Empty(t, osReleasePrettyName("NAME=x\n"))
}
