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

// This file is the package's face: the Server type, Run for TestMain, and
// what a test reads from a server (address, credentials, DSN, the root
// pool). Bootstrap is in install.go, the mariadbd process in process.go,
// the process-list helpers in sessions.go.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool/internal/testserver"
)

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

	tls   bool                     // WithTLS
	certs *testserver.Certificates // with TLS: the CA and the server's certificate

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
// any test. opts are Start's.
func Run(m *testing.M, srv **Server, opts ...Option) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	s, err := Start(ctx, opts...)
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

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return testserver.LoopbackAddr(s.port) }

// Socket returns the path of the server's unix socket.
func (s *Server) Socket() string { return filepath.Join(s.dir, "mysqld.sock") }

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
