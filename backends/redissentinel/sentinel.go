// Package redissentinel pools the connections of a Redis deployment that
// Sentinel watches: the primary and replicas of a named master, found
// through the sentinels, as a group (package group) that follows the
// sentinels' failovers.
//
// New asks the sentinels for the master's primary and replicas (SENTINEL
// GET-MASTER-ADDR-BY-NAME, SENTINEL REPLICAS) and starts a group with an
// endpoint per server, whose roles the group reads from the servers
// (ROLE). It then listens on a sentinel for +switch-master and +slave: a
// server it did not know becomes an endpoint, and the roles are read again
// at once. Writes (Acquire, With, Commands) go to the primary the
// sentinels announced last, so they move to the new primary as soon as
// the sentinels have promoted it. Leases out on the old primary are not
// taken back: they end as their holders release them, and that server's
// pool stays, serving reads once it is a replica again.
//
// The sentinels and the data servers authenticate apart: SentinelUsername
// and SentinelPassword for the first, Node's Username and Password for the
// others. Neither appears in errors or logs.
package redissentinel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/isnil"
	"github.com/actorpool/actorpool/internal/quiet"
)

// Config configures a Sentinel.
type Config struct {
	// Master is the name the sentinels know the master by. Required.
	Master string
	// Sentinels are "host:port" addresses of one or more sentinels.
	// Required.
	Sentinels []string
	// SentinelUsername and SentinelPassword authenticate to the
	// sentinels.
	SentinelUsername, SentinelPassword string
	// Node is every data server's connection options (Username, Password,
	// TLSConfig, timeouts); its Addr is ignored.
	Node redisbackend.Options
	// Group configures the group: each server's pool (Group.Pool), the
	// picker of replicas for reads, how often roles are read.
	Group group.Config
}

// Sentinel is the group of a master's servers, kept up to date by the
// sentinels. Acquire and With lease from the primary the sentinels named;
// the embedded Group's AcquireRead and WithRead from a replica, and its
// Stats cover every server.
type Sentinel struct {
	*group.Group[*redisbackend.Conn]
	cfg    Config
	sys    *actor.ActorSystem
	ownSys bool

	// sc and sub are the sentinel listened to and the subscription on it;
	// the listen goroutine owns them once started.
	sc   *redis.SentinelClient
	sub  *redis.PubSub
	stop chan struct{} // closed by Close
	// master is the primary's address as the sentinels last announced it.
	master atomic.Pointer[string]
	done   sync.WaitGroup

	mu     sync.Mutex
	cmds   *redis.Client                                                  // Commands, made on first use
	known  map[string]bool                                                // servers that are endpoints, by address
	byPool map[*actorpool.Pool[*redisbackend.Conn]]*redisbackend.Commands // Commands' client of each pool
	closed bool
}

// New finds the master's servers through the sentinels and starts their
// group on sys. It fails when no sentinel answers for the master (with
// their errors) or the configuration is invalid (an error wrapping
// actorpool.ErrInvalidConfig).
func New(ctx context.Context, sys *actor.ActorSystem, cfg Config) (*Sentinel, error) {
	if isnil.Is(sys) {
		return nil, fmt.Errorf("%w: redissentinel.New needs an actor system (or use Open)", actorpool.ErrInvalidConfig)
	}
	return start(ctx, sys, false, cfg)
}

// Open is New on an actor system of the Sentinel's own, which logs
// nothing and is shut down by Close.
func Open(ctx context.Context, cfg Config) (*Sentinel, error) {
	return start(ctx, quiet.System(), true, cfg)
}

func start(ctx context.Context, sys *actor.ActorSystem, own bool, cfg Config) (*Sentinel, error) {
	fail := func(err error) (*Sentinel, error) {
		if own {
			sys.Shutdown()
		}
		return nil, err
	}
	if cfg.Master == "" || len(cfg.Sentinels) == 0 {
		return fail(fmt.Errorf("%w: redissentinel: Master and Sentinels are required", actorpool.ErrInvalidConfig))
	}
	s := &Sentinel{cfg: cfg, sys: sys, ownSys: own, known: map[string]bool{}, stop: make(chan struct{}),
		byPool: map[*actorpool.Pool[*redisbackend.Conn]]*redisbackend.Commands{}}
	addrs, sc, err := s.discover(ctx)
	if err != nil {
		return fail(err)
	}
	s.sc = sc
	s.master.Store(&addrs[0])
	var eps []group.Endpoint[*redisbackend.Conn]
	for _, a := range addrs {
		eps = append(eps, s.endpoint(a))
		s.known[a] = true
	}
	g, err := group.New(sys, cfg.Group, eps...)
	if err != nil {
		s.sc.Close()
		return fail(err)
	}
	s.Group = g
	s.sub = s.sc.Subscribe(context.Background(), events...)
	s.done.Add(1)
	go s.listen()
	return s, nil
}

// events are the sentinel announcements followed.
var events = []string{"+switch-master", "+slave"}

// watchEvery is how often the sentinel listened to is checked; when it
// does not answer, the others are asked and one of them is listened to.
const watchEvery = time.Second

// discover asks the sentinels, in turn, for the master's primary and its
// replicas that are up; it returns them and a client of the first
// sentinel that answered, to listen to.
func (s *Sentinel) discover(ctx context.Context) ([]string, *redis.SentinelClient, error) {
	var errs []error
	for _, addr := range s.cfg.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{
			Addr: addr, Username: s.cfg.SentinelUsername, Password: s.cfg.SentinelPassword,
			DisableIdentity:          true,
			DialerRetries:            1, // a sentinel that does not answer: ask the next
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
		hp, err := sc.GetMasterAddrByName(ctx, s.cfg.Master).Result()
		if err != nil {
			_ = sc.Close()
			errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
			continue
		}
		out := []string{net.JoinHostPort(hp[0], hp[1])}
		replicas, err := sc.Replicas(ctx, s.cfg.Master).Result()
		if err != nil {
			_ = sc.Close()
			errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
			continue
		}
		for _, r := range replicas {
			if down(r["flags"]) {
				continue
			}
			out = append(out, net.JoinHostPort(r["ip"], r["port"]))
		}
		return out, sc, nil
	}
	return nil, nil, fmt.Errorf("redissentinel: no sentinel knows master %q: %w", s.cfg.Master, errors.Join(errs...))
}

// down says whether a sentinel's flags for a server say it is not
// serving.
func down(flags string) bool {
	for _, f := range strings.Split(flags, ",") {
		switch f {
		case "s_down", "o_down", "disconnected":
			return true
		}
	}
	return false
}

// endpoint is the group endpoint of the server at addr.
func (s *Sentinel) endpoint(addr string) group.Endpoint[*redisbackend.Conn] {
	opts := s.cfg.Node
	opts.Addr = addr
	return group.Endpoint[*redisbackend.Conn]{Name: addr, Backend: redisbackend.New(opts)}
}

// listen follows the sentinel's announcements until Close. Every
// watchEvery it checks that sentinel; when it does not answer, it asks
// the sentinels again (discover), learns the servers they name, and
// listens to the one that answered.
func (s *Sentinel) listen() {
	defer s.done.Done()
	defer func() {
		_ = s.sub.Close()
		_ = s.sc.Close()
	}()
	msgs := s.sub.Channel()
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case m := <-msgs:
			s.announced(m)
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), watchEvery)
			if s.sc.Ping(ctx).Err() != nil {
				if addrs, sc, err := s.discover(ctx); err == nil {
					_ = s.sub.Close()
					_ = s.sc.Close()
					s.sc, s.sub = sc, sc.Subscribe(context.Background(), events...)
					msgs = s.sub.Channel()
					s.master.Store(&addrs[0])
					for _, a := range addrs {
						s.learn(a)
					}
				}
			}
			cancel()
		}
	}
}

// announced handles one announcement.
func (s *Sentinel) announced(m *redis.Message) {
	f := strings.Fields(m.Payload)
	switch {
	case m.Channel == "+switch-master" && len(f) == 5 && f[0] == s.cfg.Master:
		// <master> <old ip> <old port> <new ip> <new port>
		addr := net.JoinHostPort(f[3], f[4])
		s.master.Store(&addr)
		s.learn(addr)
	case m.Channel == "+slave" && len(f) == 8 && f[5] == s.cfg.Master:
		// slave <name> <ip> <port> @ <master> <master ip> <master port>
		s.learn(net.JoinHostPort(f[2], f[3]))
	}
}

// learn adds the server at addr when it is new and has the roles read
// again at once. A server that could not be added is tried again at the
// next announcement of it.
func (s *Sentinel) learn(addr string) {
	s.mu.Lock()
	add := !s.known[addr]
	s.mu.Unlock()
	if add && s.Group.Add(s.endpoint(addr)) == nil {
		s.mu.Lock()
		s.known[addr] = true
		s.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.Group.CheckRoles(ctx)
}

// Close stops listening to the sentinels and closes the group (each pool
// as Pool.Close: leases out are revoked once ctx ends), then the actor
// system when it is the Sentinel's own. A second Close returns nil.
func (s *Sentinel) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cmds := s.cmds
	s.mu.Unlock()
	close(s.stop)
	s.done.Wait()
	if cmds != nil {
		_ = cmds.Close()
	}
	err := s.Group.Close(ctx)
	if s.ownSys {
		s.sys.Shutdown()
	}
	return err
}
