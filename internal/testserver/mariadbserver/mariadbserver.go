// Package mariadbserver starts a real MariaDB server for tests.
//
// The server runs from the mariadbd binary on the machine, in a fresh data
// directory under the system temp dir, listening on a free 127.0.0.1 port. It
// has one database and one user with a password (grants are enforced, so a
// wrong password is refused as in production). A package starts it once from
// TestMain with Run and shares it between its tests; Kill, Restart and
// KillSession let tests break it on purpose.
//
// When mariadbd or mariadb-install-db is missing, Start fails with a message
// that says how to install them. It never skips.
package mariadbserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool/internal/testserver"
)

// installHint is the end of the message given when a binary is missing.
const installHint = "run make test / scripts/test-deps.sh"

// startTimeout bounds one start of mariadbd, until it answers a query.
const startTimeout = 30 * time.Second

// Server is one running (or killed) mariadbd process with its data directory.
//
// Its methods are safe for concurrent use.
type Server struct {
	binary string // path of mariadbd
	dir    string // temp dir: data/, the socket, the error log
	port   int    // fixed for the life of the Server, kept across Restart

	database string
	user     string
	password string

	admin *sql.DB // root over TCP; reconnects by itself after Restart

	mu     sync.Mutex // guards cmd and exited
	cmd    *exec.Cmd  // the running process, nil after Kill or Stop
	exited chan struct{}
}

// Run starts a server, stores it in *srv, runs the tests and stops the
// server. Use it from TestMain:
//
//	var srv *mariadbserver.Server
//
//	func TestMain(m *testing.M) { os.Exit(mariadbserver.Run(m, &srv)) }
//
// When the server cannot start, Run prints why and returns 1 without running
// any test.
func Run(m *testing.M, srv **Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Start installs a fresh data directory, starts mariadbd on a free loopback
// port, and creates the database and the user. It returns once the server
// answers as that user.
func Start(ctx context.Context) (*Server, error) {
	binary, err := findMariadbd()
	if err != nil {
		return nil, err
	}
	installer, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		return nil, fmt.Errorf("mariadb-install-db not found: %s", installHint)
	}
	// A short path: the unix socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "mariadb")
	if err != nil {
		return nil, fmt.Errorf("mariadbserver: %w", err)
	}
	s := &Server{
		binary:   binary,
		dir:      dir,
		database: "app",
		user:     "app",
		password: randomPassword(),
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("mariadbserver: %w", err)
	}
	if err := s.install(ctx, installer); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// The port may be taken between FreePort and the bind: try a few.
	for attempt := 0; ; attempt++ {
		if s.port, err = testserver.FreePort(); err != nil {
			break
		}
		if err = s.start(ctx); err == nil || attempt == 4 || !strings.Contains(err.Error(), "already in use") {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = s.Addr()
	cfg.Logger = &mysql.NopLogger{} // it reports dead idle sessions after Kill
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("mariadbserver: %w", err)
	}
	s.admin = sql.OpenDB(connector)
	s.admin.SetMaxIdleConns(2)
	setup := []string{
		"CREATE DATABASE " + s.database,
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", s.user, s.password),
		fmt.Sprintf("GRANT ALL ON %s.* TO '%s'@'%%'", s.database, s.user),
		// SUPER-free process list access is enough for the user to see and
		// kill its own sessions; nothing more is granted.
	}
	for _, q := range setup {
		if _, err := s.admin.ExecContext(ctx, q); err != nil {
			_ = s.Stop()
			return nil, fmt.Errorf("mariadbserver: setup: %w", err)
		}
	}
	return s, nil
}

// findMariadbd looks in PATH, then in /usr/sbin (not in every user's PATH).
func findMariadbd() (string, error) {
	if p, err := exec.LookPath("mariadbd"); err == nil {
		return p, nil
	}
	p := "/usr/sbin/mariadbd"
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p, nil
	}
	return "", fmt.Errorf("mariadbd not found: %s", installHint)
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "pw-" + hex.EncodeToString(b)
}

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

func (s *Server) install(ctx context.Context, installer string) error {
	args := append([]string{"--auth-root-authentication-method=normal", "--skip-test-db"}, s.serverFlags()[1:]...)
	args = append([]string{"--no-defaults"}, args...)
	cmd := exec.CommandContext(ctx, installer, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		// Its advice fills the last lines; the cause comes first.
		return fmt.Errorf("mariadbserver: mariadb-install-db: %w\n%s", err, firstLines(out.String(), 8))
	}
	return nil
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

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return testserver.LoopbackAddr(s.port) }

// Port returns the TCP port; it stays the same across Restart.
func (s *Server) Port() int { return s.port }

// Database returns the name of the database the user may use.
func (s *Server) Database() string { return s.database }

// User returns the name of the non-root user.
func (s *Server) User() string { return s.user }

// Password returns the user's password (random per server).
func (s *Server) Password() string { return s.password }

// DSN returns a go-sql-driver/mysql DSN for the user, the database and the
// TCP address, with the given extra parameters ("parseTime=true", ...).
func (s *Server) DSN(params ...string) string {
	cfg := mysql.NewConfig()
	cfg.User = s.user
	cfg.Passwd = s.password
	cfg.Net = "tcp"
	cfg.Addr = s.Addr()
	cfg.DBName = s.database
	dsn := cfg.FormatDSN()
	if len(params) > 0 {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + strings.Join(params, "&")
	}
	return dsn
}

// Admin returns a root connection pool to the server, for checks and setup.
// Its sessions run as root, so they are not counted by Sessions.
func (s *Server) Admin() *sql.DB { return s.admin }

// Sessions returns the ids of the server sessions of user, from the process
// list. With user "", it counts the sessions of the harness's own user.
func (s *Server) Sessions(ctx context.Context, user string) ([]int64, error) {
	if user == "" {
		user = s.user
	}
	rows, err := s.admin.QueryContext(ctx,
		"SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID", user)
	if err != nil {
		return nil, fmt.Errorf("mariadbserver: process list: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SessionCount returns how many server sessions the harness's user has.
func (s *Server) SessionCount(ctx context.Context) (int, error) {
	ids, err := s.Sessions(ctx, "")
	return len(ids), err
}

// KillSession ends one server session, as KILL <id> does.
func (s *Server) KillSession(ctx context.Context, id int64) error {
	_, err := s.admin.ExecContext(ctx, "KILL CONNECTION "+strconv.FormatInt(id, 10))
	return err
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
