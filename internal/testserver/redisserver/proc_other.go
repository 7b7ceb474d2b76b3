//go:build !linux

package redisserver

import "os/exec"

// setDeathSignal does nothing where the kernel offers no parent-death signal;
// Stop, run at test cleanup, still ends the server.
func setDeathSignal(*exec.Cmd) {}
