package mariadbserver

// This file is the bootstrap of a server: Start, which finds the binaries,
// installs a fresh data directory with mariadb-install-db, starts mariadbd
// and creates the database and the user.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool/internal/testserver"
)

// installHint is the end of the message given when a binary is missing.
const installHint = "run make test / scripts/test-deps.sh"

// Start installs a fresh data directory, starts mariadbd on a free loopback
// port, and creates the database and the user. It returns once the server
// answers as that user.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
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
	for _, o := range opts {
		o(s)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("mariadbserver: %w", err)
	}
	if s.tls {
		if err := s.makeCertificates(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("mariadbserver: make TLS certificates: %w", err)
		}
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

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// FromEnv is for examples: it returns the DSN in the environment variable
// name when it is set, and otherwise starts a server (Start, within two
// minutes), says so on stdout, and returns its DSN and a function that
// stops it.
func FromEnv(name string) (dsn string, stop func(), err error) {
	if dsn := os.Getenv(name); dsn != "" {
		return dsn, func() {}, nil
	}
	fmt.Println(name, "is not set: starting a MariaDB server on a free loopback port")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := Start(ctx)
	if err != nil {
		return "", nil, err
	}
	return srv.DSN(), func() { _ = srv.Stop() }, nil
}
