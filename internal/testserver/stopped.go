package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// AwaitStopped returns once every thread of process pid is stopped (a
// SIGSTOP took effect: the kernel delivers it to each thread in its own
// time, and a thread still running may serve a request meanwhile), or an
// error after timeout. It reads /proc/pid/task/*/stat.
func AwaitStopped(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		running, err := runningThreads(pid)
		if err != nil {
			return err
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testserver: %d threads of process %d still run %v after SIGSTOP", running, pid, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// runningThreads counts the threads of pid not in the stopped state.
func runningThreads(pid int) (int, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return 0, fmt.Errorf("testserver: threads of process %d: %v", pid, err)
	}
	running := 0
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		// The state follows the command name, which is in parentheses.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		if fields := strings.Fields(rest); len(fields) > 0 && fields[0] != "T" && fields[0] != "t" {
			running++
		}
	}
	return running, nil
}

// Pause stops p with SIGSTOP and returns once every thread of it has
// stopped (AwaitStopped).
func Pause(p *os.Process) error {
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	return AwaitStopped(p.Pid, 5*time.Second)
}

// Resume lets a paused process run again (SIGCONT).
func Resume(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
