// Package testserver holds what the test-server harnesses share: picking a
// free loopback port, finding a server binary, and waiting until a freshly
// started server answers.
//
// The harnesses themselves live in sub-packages (redisserver). They start real
// server processes from PATH in a per-test temporary directory, never a system
// service, and stop them when the test ends.
package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
//
// Another process may take it before the caller binds it; harnesses retry
// their start with a new port when that happens.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testserver: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// LoopbackAddr returns "127.0.0.1:port".
func LoopbackAddr(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// RequireBinary returns the path of the executable name found in PATH. When
// it is missing, the test fails (it is never skipped) with a message that
// names the binary and the hint, such as the command that installs it.
func RequireBinary(t testing.TB, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: %s", name, hint)
	}
	return path
}

// WaitUntil calls probe every interval until it returns nil, ctx ends, or
// exited is closed (the server process is gone, so waiting longer is
// pointless). It returns nil once probe succeeds, and otherwise the last probe
// error joined with the reason it stopped.
func WaitUntil(ctx context.Context, interval time.Duration, exited <-chan struct{}, probe func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := probe(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-exited:
			return errors.Join(err, errors.New("testserver: server process exited"))
		case <-t.C:
		}
	}
}
