package mariadbserver

// This file is the mariadbd process: its flags, starting it and waiting
// until it answers, and Kill, Restart and Stop.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool/internal/testserver"
)

// serverFlags are given to both mariadb-install-db and mariadbd: a small,
// fast, throw-away server.
func (s *Server) serverFlags() []string {
	flags := []string{
		"--no-defaults",
		"--datadir=" + filepath.Join(s.dir, "data"),
		// Its own temporary directory: servers bootstrapping at the same
		// time in a shared /tmp clash on temporary table file names.
		"--tmpdir=" + filepath.Join(s.dir, "tmp"),
		"--skip-name-resolve",
		"--skip-log-bin",
		"--innodb-buffer-pool-size=8M",
		"--innodb-log-file-size=4M",
		"--innodb-data-file-path=ibdata1:4M:autoextend",
		"--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0",
		"--innodb-use-native-aio=0",
		"--performance-schema=0",
	}
	if os.Geteuid() == 0 {
		flags = append(flags, "--user=root")
	}
	return flags
}

// start runs mariadbd on s.port and waits until it answers.
func (s *Server) start(ctx context.Context) error {
	logPath := filepath.Join(s.dir, "error.log")
	_ = os.Remove(logPath)
	args := append(s.serverFlags(),
		"--skip-networking=0",
		"--bind-address=127.0.0.1",
		"--port="+strconv.Itoa(s.port),
		"--socket="+filepath.Join(s.dir, "mysqld.sock"),
		"--pid-file="+filepath.Join(s.dir, "mysqld.pid"),
		"--log-error="+logPath,
	)
	args = append(args, s.tlsFlags()...)
	cmd := exec.Command(s.binary, args...)
	// Own process group, and killed with the test binary if it dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mariadbserver: start %s: %w", s.binary, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	err := testserver.WaitUntil(wctx, 20*time.Millisecond, exited, s.probe)
	if err != nil {
		_ = s.Kill()
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("mariadbserver: mariadbd did not answer on %s: %w\n%s", s.Addr(), err, lastLines(string(log), 20))
	}
	return nil
}

// probe opens one root connection and pings it.
func (s *Server) probe(ctx context.Context) error {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = s.Addr()
	cfg.Logger = &mysql.NopLogger{}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	conn, err := connector.Connect(ctx)
	if err != nil {
		return err
	}
	return conn.Close()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Kill stops mariadbd at once with SIGKILL and waits until it is gone. The
// data directory is kept for Restart. Killing a stopped server does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Kill()
	<-exited
	return nil
}

// Restart starts mariadbd again on the same port and data directory, after
// Kill. It returns once the server answers.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return errors.New("mariadbserver: restart: server is running")
	}
	return s.start(ctx)
}

// Stop ends mariadbd (SIGTERM, then SIGKILL after a few seconds) and removes
// its data directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		_ = s.admin.Close()
	}
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("mariadbserver: %w", err)
	}
	return nil
}
