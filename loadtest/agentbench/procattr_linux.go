package agentbench

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the child if the bench dies first, so a crashed
// or killed bench leaves no agent or node_exporter behind.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
