//go:build !linux

package agentbench

import "os/exec"

func setParentDeathSignal(*exec.Cmd) {}
