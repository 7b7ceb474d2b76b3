package redisserver

import (
	"os"

	"github.com/actorpool/actorpool/internal/testserver"
)

// Pause stops the running server with SIGSTOP: its sockets stay open and
// the kernel keeps accepting connections, but nothing answers (a hung
// server, not a dead one). Resume it before Kill, Stop or the test's end.
// Pause on a killed server does nothing.
func (s *Server) Pause() error { return s.withProcess(testserver.Pause) }

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() error { return s.withProcess(testserver.Resume) }

// withProcess runs f on the server's process, unless it was killed.
func (s *Server) withProcess(f func(*os.Process) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return f(s.proc.cmd.Process)
}
