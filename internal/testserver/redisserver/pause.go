package redisserver

import (
	"syscall"
	"time"

	"github.com/actorpool/actorpool/internal/testserver"
)

// Pause stops the running server with SIGSTOP: its sockets stay open and
// the kernel keeps accepting connections, but nothing answers (a hung
// server, not a dead one). Resume it before Kill, Stop or the test's end.
// Pause on a killed server does nothing.
func (s *Server) Pause() error {
	if err := s.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc.cmd == nil {
		return nil
	}
	return testserver.AwaitStopped(s.proc.cmd.Process.Pid, 5*time.Second)
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.cmd.Process.Signal(sig)
}
