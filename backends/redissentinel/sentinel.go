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
// at once, so writes (Acquire, With) move to the new primary as soon as
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
// sentinels. Its embedded Group leases: Acquire and With from the
// primary, AcquireRead and WithRead from a replica.
type Sentinel struct {
	*group.Group[*redisbackend.Conn]
	cfg    Config
	sys    *actor.ActorSystem
	ownSys bool

	sc   *redis.SentinelClient // the sentinel listened to
	sub  *redis.PubSub
	done sync.WaitGroup

	mu    sync.Mutex
	known map[string]bool // servers that are endpoints, by address
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
	s := &Sentinel{cfg: cfg, sys: sys, ownSys: own, known: map[string]bool{}}
	addrs, err := s.discover(ctx)
	if err != nil {
		return fail(err)
	}
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
	s.sub = s.sc.Subscribe(context.Background(), "+switch-master", "+slave")
	s.done.Add(1)
	go s.listen(s.sub.Channel())
	return s, nil
}

// discover asks the sentinels, in turn, for the master's primary and its
// replicas that are up; the first that answers is the one listened to.
func (s *Sentinel) discover(ctx context.Context) ([]string, error) {
	var errs []error
	for _, addr := range s.cfg.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{
			Addr: addr, Username: s.cfg.SentinelUsername, Password: s.cfg.SentinelPassword,
			DisableIdentity:          true,
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
		s.sc = sc
		return out, nil
	}
	return nil, fmt.Errorf("redissentinel: no sentinel knows master %q: %w", s.cfg.Master, errors.Join(errs...))
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

// listen follows the sentinel's announcements until Close.
func (s *Sentinel) listen(msgs <-chan *redis.Message) {
	defer s.done.Done()
	for m := range msgs {
		f := strings.Fields(m.Payload)
		switch {
		case m.Channel == "+switch-master" && len(f) == 5 && f[0] == s.cfg.Master:
			// <master> <old ip> <old port> <new ip> <new port>
			s.learn(net.JoinHostPort(f[3], f[4]))
		case m.Channel == "+slave" && len(f) == 8 && f[5] == s.cfg.Master:
			// slave <name> <ip> <port> @ <master> <master ip> <master port>
			s.learn(net.JoinHostPort(f[2], f[3]))
		}
	}
}

// learn adds the server at addr when it is new and has the roles read
// again at once.
func (s *Sentinel) learn(addr string) {
	s.mu.Lock()
	add := !s.known[addr]
	s.known[addr] = true
	s.mu.Unlock()
	if add {
		_ = s.Group.Add(s.endpoint(addr))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.Group.CheckRoles(ctx)
}

// Close stops listening to the sentinel and closes the group (each pool
// as Pool.Close: leases out are revoked once ctx ends), then the actor
// system when it is the Sentinel's own.
func (s *Sentinel) Close(ctx context.Context) error {
	s.mu.Lock()
	sub := s.sub
	s.sub = nil
	s.mu.Unlock()
	if sub == nil {
		return nil
	}
	_ = sub.Close()
	s.done.Wait()
	_ = s.sc.Close()
	err := s.Group.Close(ctx)
	if s.ownSys {
		s.sys.Shutdown()
	}
	return err
}
