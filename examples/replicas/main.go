// Command replicas runs a group of Redis endpoints: a primary and two
// replicas (redis-server --replicaof, on loopback), with the roles read
// from the servers.
//
//	go run ./examples/replicas
//
// It needs redis-server on PATH (make test installs it). It starts the
// three servers, writes through the group (the primary) and reads through
// it (the replicas), and shows on the servers who served what (INFO
// commandstats). Then it switches over under load: writes paused on the
// primary, the first replica promoted (REPLICAOF NO ONE), the old primary
// made its replica. The group reads the new roles and writes follow; a
// write the old primary refused (READONLY) is retried. It prints what
// happened and exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/group"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// server is one redis-server process and an admin client to it.
type server struct {
	name  string
	addr  string
	cmd   *exec.Cmd
	dir   string // its working directory, removed by stop
	admin *redis.Client
}

// startServer starts redis-server on a free loopback port, as a replica of
// primary unless it is "", and waits until it answers.
func startServer(ctx context.Context, name, primary string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	dir, err := os.MkdirTemp("", "replicas-"+name)
	if err != nil {
		return nil, err
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0", "--logfile", dir + "/redis.log"}
	if host, p, ok := strings.Cut(primary, ":"); ok {
		args = append(args, "--replicaof", host, p)
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start redis-server (is it on PATH? make test installs it): %w", err)
	}
	s := &server{name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, dir: dir}
	s.admin = redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	for ctx.Err() == nil {
		if s.admin.Ping(ctx).Err() == nil {
			return s, nil
		}
		time.Sleep(10 * time.Millisecond) // polling the new process
	}
	s.stop()
	return nil, fmt.Errorf("%s did not answer: %w", name, ctx.Err())
}

func (s *server) stop() {
	_ = s.admin.Close()
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.dir)
}

// info reads one field of INFO.
func (s *server) info(ctx context.Context, section, key string) string {
	text, _ := s.admin.Info(ctx, section).Result()
	for _, line := range strings.Split(text, "\r\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return v
		}
	}
	return ""
}

// calls is how many times the server ran command (INFO commandstats).
func (s *server) calls(ctx context.Context, command string) int {
	v := s.info(ctx, "commandstats", "cmdstat_"+command)
	v, _, _ = strings.Cut(strings.TrimPrefix(v, "calls="), ",")
	n, _ := strconv.Atoi(v)
	return n
}

func (s *server) waitSynced(ctx context.Context) error {
	for s.info(ctx, "replication", "master_link_status") != "up" {
		if ctx.Err() != nil {
			return fmt.Errorf("%s never synced: %w", s.name, ctx.Err())
		}
		time.Sleep(10 * time.Millisecond) // polling the server
	}
	return nil
}

func run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	primary, err := startServer(ctx, "primary", "")
	if err != nil {
		return err
	}
	defer primary.stop()
	servers := []*server{primary}
	for _, name := range []string{"replica-1", "replica-2"} {
		r, err := startServer(ctx, name, primary.addr)
		if err != nil {
			return err
		}
		defer r.stop()
		if err := r.waitSynced(ctx); err != nil {
			return err
		}
		servers = append(servers, r)
	}

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	var eps []group.Endpoint[*redisbackend.Conn]
	for _, s := range servers {
		eps = append(eps, group.Endpoint[*redisbackend.Conn]{Name: s.name, Backend: redisbackend.New(redisbackend.Options{Addr: s.addr})})
	}
	g, err := group.New(sys, group.Config{RoleCheckInterval: 100 * time.Millisecond}, eps...)
	if err != nil {
		return err
	}
	defer g.Close(context.Background())

	// Writes and reads through the group.
	for i := range 100 {
		key := fmt.Sprintf("k%d", i)
		if err := g.With(ctx, func(c *redisbackend.Conn) error { return c.Set(ctx, key, i, 0).Err() }); err != nil {
			return err
		}
		if err := g.WithRead(ctx, func(c *redisbackend.Conn) error { return c.Exists(ctx, key).Err() }); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "100 writes (SET) and 100 reads (EXISTS) through the group; as the servers count them")
	fmt.Fprintln(out, "(a write from the group to a replica would be refused: READONLY):")
	for _, s := range servers {
		refused, _, _ := strings.Cut(strings.TrimPrefix(s.info(ctx, "errorstats", "errorstat_READONLY"), "count="), ",")
		if refused == "" {
			refused = "0"
		}
		sets := "  —" // a replica's SETs are the primary's, replicated
		if s == primary {
			sets = fmt.Sprintf("%3d", s.calls(ctx, "set"))
		}
		fmt.Fprintf(out, "  %-9s  SET %s  EXISTS %3d  READONLY %s\n", s.name, sets, s.calls(ctx, "exists"), refused)
	}

	// Switch over under load.
	var written, retried atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				key := fmt.Sprintf("w%d-%d", c, i)
				for ctx.Err() == nil {
					err := g.With(ctx, func(conn *redisbackend.Conn) error { return conn.Set(ctx, key, "v", 0).Err() })
					if err == nil {
						written.Add(1)
						break
					}
					retried.Add(1)
				}
			}
		})
	}
	newPrimary := servers[1]
	err = switchOver(ctx, primary, newPrimary)
	promoted := time.Now()
	if err == nil {
		err = waitFor(ctx, func() bool {
			e, _ := g.Stats().Endpoint(newPrimary.name)
			return e.Role().String() == "primary"
		})
	}
	seen := time.Since(promoted)
	n := written.Load()
	if err == nil {
		err = waitFor(ctx, func() bool { return written.Load() > n+100 })
	}
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return err
	}
	if err := primary.waitSynced(ctx); err != nil {
		return err
	}
	keys, err := newPrimary.admin.DBSize(ctx).Result()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "switch-over under load: the group saw %s as primary within %s; %d writes, %d retried after a refusal\n",
		newPrimary.name, seen.Round(10*time.Millisecond), written.Load(), retried.Load())
	fmt.Fprintf(out, "every acknowledged write is on the new primary: %v\n", keys == 100+written.Load())
	for _, e := range g.Stats().Endpoints() {
		fmt.Fprintf(out, "  %-9s  %s\n", e.Name(), e.Role())
	}
	return nil
}

// switchOver makes next the primary and old its replica, with no write
// lost: writes paused on old until next has all of them.
func switchOver(ctx context.Context, old, next *server) error {
	if err := old.admin.Do(ctx, "CLIENT", "PAUSE", "5000", "WRITE").Err(); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool {
		return next.info(ctx, "replication", "master_repl_offset") == old.info(ctx, "replication", "master_repl_offset")
	}); err != nil {
		return err
	}
	host, port, _ := strings.Cut(next.addr, ":")
	return errors.Join(
		next.admin.Do(ctx, "REPLICAOF", "NO", "ONE").Err(),
		old.admin.Do(ctx, "REPLICAOF", host, port).Err(),
		old.admin.Do(ctx, "CLIENT", "UNPAUSE").Err(),
	)
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(5 * time.Millisecond) // polling state the servers own
	}
	return nil
}
