package bench

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the child if the harness dies first, so a
// crashed or killed harness leaves no faultline or telemetrygen behind.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
