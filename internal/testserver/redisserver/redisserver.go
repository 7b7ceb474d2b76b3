// Package redisserver starts a real redis-server for tests.
//
// Each Server is its own process, bound to a free port on 127.0.0.1, with its
// working directory under the test's temporary directory and persistence off
// (no RDB snapshots, no AOF). It can be killed with SIGKILL and restarted on
// the same port, which is how the tests simulate a server that goes away and
// comes back. Stop runs at test cleanup, so no process outlives its test; on
// Linux the process is also killed by the kernel if the test binary dies
// first.
//
// The binary comes from PATH. When it is missing the test fails (never skips)
// and says how to install it.
package redisserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/internal/testserver"
)

// ObserverName is the client name of the connection Observer uses. Clients
// leaves it out, so that what it returns is what the code under test opened.
const ObserverName = "redisserver-observer"

const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
	missingHint  = "run make test / scripts/test-deps.sh"
)

// Option configures Start.
type Option func(*Server)

// WithPassword makes the server require pw (requirepass): every client must
// authenticate as the default user with it.
func WithPassword(pw string) Option {
	return func(s *Server) { s.password = pw }
}

// WithReplicaOf starts the server as a replica of the server at addr
// ("127.0.0.1:port", no password): replicaof in its configuration, so a
// Restart starts it as a replica again.
func WithReplicaOf(addr string) Option {
	return func(s *Server) { s.replicaOf = addr }
}

// WithCluster starts the server with cluster mode on (cluster-enabled),
// its cluster bus on a free port of its own, and a node timeout of
// nodeTimeout: how long the others wait before they fail it over. Its
// nodes.conf stays in its directory, so a Restart comes back as the same
// node.
func WithCluster(nodeTimeout time.Duration) Option {
	return func(s *Server) { s.clusterTimeout = nodeTimeout }
}

// WithSentinel starts the server as a Redis Sentinel (redis-server
// --sentinel) that monitors the primary at primary ("127.0.0.1:port") as
// master, with a quorum of quorum: it declares the primary down after a
// second without an answer and then fails it over to a replica.
func WithSentinel(master, primary string, quorum int) Option {
	return func(s *Server) { s.sentinel = sentinelOf{master, primary, quorum} }
}

type sentinelOf struct {
	master, primary string
	quorum          int
}

// Server is one redis-server process. Its methods other than Clients and
// Observer must be called from the test goroutine: they fail the test with
// t.Fatalf.
type Server struct {
	t        testing.TB
	bin      string
	dir      string
	port     int
	password string
	tls      bool
	caPool   *x509.CertPool // the CA that signed the server's certificate, when tls

	replicaOf string // "host:port" of the primary (WithReplicaOf), or ""

	sentinel       sentinelOf    // WithSentinel's; master "": not a sentinel
	clusterTimeout time.Duration // WithCluster's node timeout; 0: no cluster mode
	busPort        int           // the cluster bus port, chosen on the first start

	mu       sync.Mutex
	proc     *process      // running process; nil after Kill or Stop. Guarded by mu.
	observer *redis.Client // created on first use by Observer. Guarded by mu.
}

// process is one run of redis-server. exited is closed once Wait returned.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts a redis-server and returns once it answers PING. The server is
// stopped when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:   t,
		bin: testserver.RequireBinary(t, "redis-server", missingHint),
		dir: t.TempDir(),
	}
	for _, o := range opts {
		o(s)
	}
	if s.tls {
		if err := s.makeCertificates(); err != nil {
			t.Fatalf("redisserver: make TLS certificates: %v", err)
		}
	}
	t.Cleanup(s.Stop)

	// A free port can be taken by someone else between FreePort and the
	// server's bind: try a few.
	var lastErr error
	for range 5 {
		port, err := testserver.FreePort()
		if err != nil {
			t.Fatalf("redisserver: %v", err)
		}
		s.port = port
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redisserver: start: %v", lastErr)
	return nil
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return testserver.LoopbackAddr(s.port) }

// Port is the server's TCP port. It stays the same across Restart.
func (s *Server) Port() int { return s.port }

// Password is the password the server requires, or "".
func (s *Server) Password() string { return s.password }

// URL is a redis:// URL (rediss:// with WithTLS) for database 0 of the
// server, with the password when there is one.
func (s *Server) URL() string {
	scheme := "redis://"
	if s.tls {
		scheme = "rediss://"
	}
	if s.password == "" {
		return scheme + s.Addr() + "/0"
	}
	return scheme + ":" + s.password + "@" + s.Addr() + "/0"
}

// Kill sends SIGKILL and returns once the process is gone. Open connections
// see the socket closed. Kill on a stopped server does nothing.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Restart starts the server again on the same port, after Kill or Stop, and
// returns once it answers PING. The data is gone: there is no persistence.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		s.t.Fatalf("redisserver: Restart while the server is running: Kill or Stop it first")
	}
	// The port was ours a moment ago; give the kernel a little time if a
	// previous incarnation is still releasing it.
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redisserver: restart on port %d: %v", s.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (SIGTERM, then SIGKILL if it lingers) and closes
// the observer connection. It is safe to call more than once; Start registers
// it as a test cleanup.
func (s *Server) Stop() {
	s.mu.Lock()
	p, obs := s.proc, s.observer
	s.proc, s.observer = nil, nil
	s.mu.Unlock()
	if obs != nil {
		_ = obs.Close()
	}
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// start runs one redis-server process on s.port and waits for PING.
func (s *Server) start() error {
	conf := filepath.Join(s.dir, "redis.conf")
	logFile := filepath.Join(s.dir, "redis.log")
	lines := []string{"bind 127.0.0.1"}
	if s.tls {
		lines = append(lines, s.tlsConfigLines(strconv.Itoa(s.port))...)
	} else {
		lines = append(lines, "port "+strconv.Itoa(s.port))
	}
	lines = append(lines,
		"dir "+s.dir,
		"logfile "+logFile,
		"daemonize no",
		`save ""`,
		"appendonly no",
		"loglevel notice",
		// DEBUG SLEEP stands in for a slow command in tests.
		"enable-debug-command local",
	)
	if s.password != "" {
		lines = append(lines, "requirepass "+s.password)
	}
	if sn := s.sentinel; sn.master != "" {
		host, port, _ := strings.Cut(sn.primary, ":")
		lines = append(lines,
			fmt.Sprintf("sentinel monitor %s %s %s %d", sn.master, host, port, sn.quorum),
			"sentinel down-after-milliseconds "+sn.master+" 1000",
			"sentinel failover-timeout "+sn.master+" 10000",
			"sentinel parallel-syncs "+sn.master+" 1")
	}
	if s.clusterTimeout > 0 {
		if s.busPort == 0 {
			port, err := testserver.FreePort()
			if err != nil {
				return err
			}
			s.busPort = port
		}
		lines = append(lines, "cluster-enabled yes",
			"cluster-config-file "+filepath.Join(s.dir, "nodes.conf"),
			"cluster-port "+strconv.Itoa(s.busPort),
			"cluster-node-timeout "+strconv.FormatInt(s.clusterTimeout.Milliseconds(), 10),
			// A replica whose primary was down long stays eligible: tests
			// fail primaries over one after another.
			"cluster-replica-validity-factor 0")
	}
	if host, port, ok := strings.Cut(s.replicaOf, ":"); ok {
		lines = append(lines, "replicaof "+host+" "+port)
	}
	// A replica syncs at once rather than after the default 5s, in which
	// the primary waits for more replicas to share one transfer.
	lines = append(lines, "repl-diskless-sync-delay 0")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	_ = os.Remove(logFile)

	args := []string{conf}
	if s.sentinel.master != "" {
		args = append(args, "--sentinel")
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err := testserver.WaitUntil(ctx, 10*time.Millisecond, p.exited, s.ping)
	if err != nil {
		_ = cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%w\nredis.log:\n%s", err, tail(logFile, 20))
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// ping speaks just enough RESP to authenticate and PING, so that waiting for
// the server involves no client library and its retries.
func (s *Server) ping(ctx context.Context) error {
	var d interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	} = &net.Dialer{}
	if s.tls {
		d = &tls.Dialer{Config: s.TLSConfig()}
	}
	c, err := d.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(c)
	if s.password != "" {
		if _, err := fmt.Fprintf(c, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(s.password), s.password); err != nil {
			return err
		}
		if line, err := r.ReadString('\n'); err != nil {
			return err
		} else if !strings.HasPrefix(line, "+OK") {
			return errors.New("redisserver: AUTH was refused")
		}
	}
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redisserver: PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StartDetached starts a server outside a test (commands such as
// cmd/poolbench and cmd/soak) on a testserver.Harness named name; stop
// ends it and removes its directory. Its methods that can fail the test
// (Kill, Restart) must run under testserver.Try.
func StartDetached(name string, opts ...Option) (s *Server, stop func(), err error) {
	h := testserver.NewHarness(name)
	if err := testserver.Try(func() { s = Start(h, opts...) }); err != nil {
		h.Close()
		return nil, nil, err
	}
	return s, h.Close, nil
}
