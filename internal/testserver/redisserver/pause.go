package redisserver

import "syscall"

// Pause stops the running server with SIGSTOP: its sockets stay open and
// the kernel keeps accepting connections, but nothing answers (a hung
// server, not a dead one). Resume it before Kill, Stop or the test's end.
// Pause on a killed server does nothing.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

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
